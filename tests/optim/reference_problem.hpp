// The toy problem of reference_trajectories.py: one parameter p of 4 values,
// loss = 0.5 * sum(a * p^2) + sum(b * tanh(p)).
#pragma once

#include <vector>

#include <doctest/doctest.h>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/optim/optimizer.hpp>

namespace reference {

using Trajectory = std::vector<std::vector<double>>;

template <class T>
tapegrad::Tensor<T> initial_parameter() {
    return tapegrad::Tensor<T>::from_data({T(0.5), T(-1.5), T(2.0), T(-0.25)}, {4}, true);
}

template <class T>
void compute_gradient(const tapegrad::Tensor<T>& p) {
    using namespace tapegrad;
    const auto a = Tensor<T>::from_data({1, 2, 0.5, 3}, {4});
    const auto b = Tensor<T>::from_data({T(0.3), T(-0.7), T(1.1), T(0.2)}, {4});
    (sum(a * p * p) * T(0.5) + sum(b * tanh(p))).backward();
}

// Runs the optimizer one step at a time and compares p after every step.
template <class T>
void check_trajectory(tapegrad::optim::Optimizer<T>& optimizer, tapegrad::Tensor<T> p, const Trajectory& expected,
                      double tolerance) {
    for (std::size_t step = 0; step < expected.size(); ++step) {
        optimizer.zero_grad();
        compute_gradient(p);
        optimizer.step();
        for (std::size_t i = 0; i < 4; ++i) {
            CAPTURE(step);
            CAPTURE(i);
            CHECK(double(p.at({i})) == doctest::Approx(expected[step][i]).epsilon(tolerance).scale(1.0));
        }
    }
}

}  // namespace reference
