// Shared by the ops that take an axis argument.
#pragma once

#include <tapegrad/autograd/ops.hpp>

namespace tapegrad {

// normalize_axis(op, axis, shape): in ops.hpp, which its compositions
// (transpose(a, dim0, dim1), split, chunk) need too.
using detail::normalize_axis;

// `shape` with dimension `axis` set to 1: a reduction's keepdims shape.
inline Shape keepdims_shape(Shape shape, std::size_t axis) {
    shape[axis] = 1;
    return shape;
}

}  // namespace tapegrad
