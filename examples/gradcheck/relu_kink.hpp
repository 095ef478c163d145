// ReLU's derivative jumps at 0. A central difference whose two evaluations
// put some pre-activation on opposite sides of 0 measures the average of two
// slopes, not the derivative, and differs from backprop legitimately. So for
// ReLU we only check at points where that cannot happen, and prove it:
//
// Perturbing one parameter of Linear layer l by at most eps moves its
// pre-activations z_l by at most eps * max(1, max|a_{l-1}|) (a weight times
// its input, or a bias), and ReLU is 1-Lipschitz, so layer m > l moves by at
// most ||W_m||_inf times the move of layer m-1. If every |z| exceeds that
// reach, no step of +-eps crosses the kink, and the loss is smooth along it.
#pragma once

#include <vector>

#include "input_pool.hpp"
#include <tapegrad/nn/sequential.hpp>

namespace gradcheck_example {

struct KinkMargins {
    std::vector<double> closest;  // per hidden layer: the smallest |pre-activation| over the batch
    std::vector<double> reach;    // per hidden layer: the most a +-eps step of one parameter moves one
    bool clear() const;           // closest > reach in every hidden layer
};

// The margins of `net` (Linear layers with 1-Lipschitz activations between)
// on the rows of `inputs`.
KinkMargins kink_margins(tapegrad::nn::Sequential<double>& net, const xt::xarray<double>& inputs, double eps);

// The first `batch` pool rows, in pool order, whose pre-activations all clear
// the reach computed over the whole pool (which bounds the reach over any
// batch drawn from it). Throws tapegrad::Error if the pool runs out.
std::vector<std::size_t> rows_clear_of_kink(tapegrad::nn::Sequential<double>& net, const InputPool& pool,
                                            std::size_t batch, double eps);

}  // namespace gradcheck_example
