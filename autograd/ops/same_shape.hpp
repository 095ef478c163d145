// Elementwise values written straight into a new tensor, for the ops that run
// on tiny tensors (a long tape of scalars, a small network's biases).
#pragma once

#include <xtensor/xassign.hpp>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad::detail {

// Whether two xtensor shapes are equal, compared inline: their operator==
// calls memcmp, which on the one- or two-element shapes of a tiny op was a
// visible part of its cost (CHANGELOG.md, "Performance history", issue #19).
template <class S1, class S2>
inline bool shapes_equal(const S1& a, const S2& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i] != b[i]) return false;
    return true;
}

// `expr`, an elementwise expression over `first` and `rest` (and scalars), in
// a new tensor. When all those arrays have one shape, the values are written
// in place by xtensor's own assignment loop, past the broadcasting, resizing
// and moves of `Array<T> v = expr; Tensor<T>(std::move(v))`, which on a tiny
// tensor cost several times the loop. It is the loop xtensor itself runs for
// equal shapes (a trivial broadcast), with the same SIMD and scalar steps, so
// the values are bit-identical. Other shapes broadcast through Array as before.
template <class T, class E, class... Rest>
Tensor<T> evaluate(const E& expr, const Array<T>& first, const Rest&... rest) {
    if (!(detail::shapes_equal(rest.shape(), first.shape()) && ...)) return Tensor<T>(Array<T>(expr));
    Tensor<T> out = uninitialized<T>(first.shape());
    xt::assign_data(out.data_mut(), expr, /*trivial_broadcast=*/true);
    return out;
}

}  // namespace tapegrad::detail
