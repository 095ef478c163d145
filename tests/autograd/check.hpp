// Helpers shared by the autograd tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <type_traits>

#include <doctest/doctest.h>
#include <xtensor/xio.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include <tapegrad/autograd/gradcheck.hpp>
#include <tapegrad/autograd/ops.hpp>

#include "op_coverage.hpp"

namespace tapegrad::testing {

using TL = TensorList<double>;
using Fn = DiffFunction<double>;

// Standard normal values: smooth ops are checked at generic points.
inline Tensor<double> randn(const Shape& shape, std::uint64_t seed, bool requires_grad = true) {
    return Tensor<double>::normal(shape, 0.0, 1.0, seed, requires_grad);
}

// Values in [0.5, 2]: for log, sqrt, pow with fractional exponents, divisors.
inline Tensor<double> positive(const Shape& shape, std::uint64_t seed, bool requires_grad = true) {
    return Tensor<double>::uniform(shape, 0.5, 2.0, seed, requires_grad);
}

// Values with |x| in [0.2, 2] and random sign: for abs and relu, whose
// derivative jumps at 0, where central differences with eps 1e-6 must not land.
inline Tensor<double> away_from_zero(const Shape& shape, std::uint64_t seed, bool requires_grad = true) {
    Tensor<double> mag = Tensor<double>::uniform(shape, 0.2, 2.0, seed);
    Tensor<double> sign = Tensor<double>::uniform(shape, -1.0, 1.0, seed + 1);
    xt::xarray<double> v = mag.data() * xt::where(sign.data() < 0.0, -1.0, 1.0);
    return Tensor<double>(v, requires_grad);
}

// An op's backward may evaluate its formula a faster way when it runs
// unrecorded (tape.hpp): gradcheck checks that evaluation against central
// differences, gradgradcheck the derivative of the recorded one
// (create_graph). This ties the two: for one seeded output gradient, both
// must give the same input gradients. They are double evaluations of one
// formula that differ at most in summation order, a few ulps (~1e-16
// relative); any error in a formula is of the order of the gradient itself.
inline bool check_recorded_matches_unrecorded(const Fn& f, const TL& inputs) {
    TL outputs;
    {
        EnableGradGuard recording;
        outputs = f(inputs);
    }
    Tensor<double> contracted;
    for (std::size_t o = 0; o < outputs.size(); ++o) {
        if (!outputs[o].requires_grad()) continue;
        Tensor<double> v = Tensor<double>::normal(outputs[o].shape(), 0.0, 1.0, 101 + o);
        Tensor<double> term = sum(mul(outputs[o], v));
        contracted = contracted.defined() ? add(contracted, term) : term;
    }
    if (!contracted.defined()) return false;
    auto input_grads = [&](bool create_graph) {
        for (const auto& x : inputs) x.impl()->grad.reset();
        contracted.backward(/*retain_graph=*/true, create_graph);
        std::vector<Array<double>> grads;
        for (const auto& x : inputs)
            if (x.grad().defined()) grads.push_back(x.grad().data());
        for (const auto& x : inputs) x.impl()->grad.reset();
        return grads;
    };
    const std::vector<Array<double>> unrecorded = input_grads(false), recorded = input_grads(true);
    REQUIRE(unrecorded.size() == recorded.size());
    bool same = true;
    for (std::size_t i = 0; i < unrecorded.size(); ++i) {
        INFO("input gradient ", i, " recorded vs unrecorded");
        const bool close = xt::allclose(recorded[i], unrecorded[i], 1e-12, 1e-12);
        CHECK(close);
        same = same && close;
    }
    return same;
}

// First and second derivatives of `f`, a use of `op`, against central
// differences, at the default tolerances (eps 1e-6, atol 1e-5, rtol 1e-3): in
// double the truncation error is ~eps^2 = 1e-12 and rounding ~1e-16/eps =
// 1e-10, far inside them. When both pass, the op is recorded as covered on
// these input shapes (op_coverage.hpp).
inline void check_gradients(Op op, const Fn& f, const TL& inputs) {
    CAPTURE(op_key(op));
    REQUIRE_MESSAGE(op_differentiable(op), "a TAPEGRAD_NOGRAD_OP is checked by check_no_gradient");
    GradcheckReport first = gradcheck(f, inputs);
    INFO("first derivatives: ", first.summary());
    CHECK(first.passed);
    CHECK(first.checked > 0);
    GradcheckReport second = gradgradcheck(f, inputs);
    INFO("second derivatives: ", second.summary());
    CHECK(second.passed);
    CHECK(second.checked > 0);
    const bool same_both_ways = check_recorded_matches_unrecorded(f, inputs);
    if (first.passed && first.checked > 0 && second.passed && second.checked > 0 && same_both_ways)
        record_passed(op, shape_case(inputs));
}

// For an entry TAPEGRAD_NOGRAD_OP: `f`, a use of `op`, gives `expected` on
// `inputs` exactly (same shape, same values; computed by the test another
// way, e.g. a loop), and its result takes no gradient although every input
// requires one and recording is on: a Tensor result is a leaf that requires
// none (indices are plain arrays, gradient-free by their type). When both
// hold, the op is recorded as covered on these input shapes.
template <class F, class Expected>
void check_no_gradient(Op op, F&& f, const TL& inputs, const Expected& expected) {
    CAPTURE(op_key(op));
    REQUIRE_MESSAGE(!op_differentiable(op), "a TAPEGRAD_OP is checked by check_gradients");
    const bool inputs_require = std::all_of(inputs.begin(), inputs.end(), [](const auto& x) { return x.requires_grad(); });
    CHECK_MESSAGE(inputs_require, "every input must require a gradient, to show that the result takes none");
    EnableGradGuard recording;
    const auto result = f(inputs);
    bool no_gradient = true, same = false;
    if constexpr (std::is_same_v<std::decay_t<decltype(result)>, Tensor<double>>) {
        no_gradient = !result.requires_grad() && result.is_leaf();
        // Element by element: xtensor's iterators over an empty array offset
        // a null pointer (UBSan's report), and the empty shapes are cases here.
        same = result.shape() == Shape(expected.shape().begin(), expected.shape().end());
        for (std::size_t i = 0; same && i < result.size(); ++i) {
            const double r = result.data().flat(i), e = expected.flat(i);
            same = r == e || (std::isnan(r) && std::isnan(e));
        }
        INFO("result ", result.data(), "\nexpected ", expected);
        CHECK(same);
    } else {
        static_assert(std::is_same_v<std::decay_t<decltype(result)>, Indices>, "a mask Tensor<double> or Indices");
        same = result.shape() == expected.shape();
        for (std::size_t i = 0; same && i < result.size(); ++i) same = result.flat(i) == expected.flat(i);
        INFO("result ", result, "\nexpected ", expected);
        CHECK(same);
    }
    CHECK(no_gradient);
    if (inputs_require && no_gradient && same) record_passed(op, shape_case(inputs));
}

inline std::string shape_name(const Shape& s) { return shape_str(s); }

// The output extent of a convolution or pool along one axis, PyTorch's
// formula written here apart from the library's (autograd/ops/window.hpp).
inline std::size_t out_extent(std::size_t in, std::size_t k, std::size_t s, std::size_t p, std::size_t d) {
    return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

}  // namespace tapegrad::testing
