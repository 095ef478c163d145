// Shared by the ops that take an axis argument.
#pragma once

#include <string>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

// Maps a possibly negative axis (-1 = last) into [0, dim), or throws naming op.
inline std::size_t normalize_axis(const char* op, int axis, const Shape& shape) {
    const int dim = int(shape.size());
    if (axis < -dim || axis >= dim)
        throw Error(std::string(op) + ": axis " + std::to_string(axis) + " is out of range for shape " +
                    shape_str(shape));
    return std::size_t(axis < 0 ? axis + dim : axis);
}

// `shape` with dimension `axis` set to 1: a reduction's keepdims shape.
inline Shape keepdims_shape(Shape shape, std::size_t axis) {
    shape[axis] = 1;
    return shape;
}

}  // namespace tapegrad
