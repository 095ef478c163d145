// Gradient formulas written once and evaluated the fast way when that is safe.
// Not a second way to write a backward: the backward is still the lambda given
// to record() (tape.hpp); this changes how its formula is evaluated, not what.
#pragma once

#include <xtensor/xarray.hpp>

#include <tapegrad/autograd/ops/same_shape.hpp>
#include <tapegrad/autograd/tape.hpp>

namespace tapegrad::detail {

// Evaluates `f(args...)`, a gradient formula written once as a generic lambda
// over its operands, in one of two ways:
//  - when the backward pass is being recorded (create_graph: grad_enabled() is
//    true inside backward), on the Tensors, so that every step is a recorded
//    op and the gradient can be differentiated again (gradgradcheck);
//  - otherwise on their arrays: xtensor composes the expression lazily and
//    evaluates it in one vectorised loop, with no temporary arrays and no
//    graph nodes (written in place when the operands have one shape,
//    same_shape.hpp).
// The formula may use only operators and unqualified calls such as exp(y),
// which find tapegrad's ops for Tensors and xtensor's functions for arrays.
template <class T, class F, class... Args>
Tensor<T> grad_formula(const F& f, const Args&... args) {
    if (grad_enabled()) return f(args...);
    return evaluate<T>(f(args.data()...), args.data()...);
}

}  // namespace tapegrad::detail
