/// \file
/// The core every layer shares: tapegrad::Error, the one exception type, and
/// Shape with the helpers error messages use. Its own header, free of xtensor
/// and the tape, so that code which only reads and writes files (io/) or
/// reports errors (data/, dist/) need not include all of tensor.hpp;
/// tensor.hpp includes it.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace tapegrad {

/// A tensor's shape: the extent of each axis, outermost first; {} is a scalar.
using Shape = std::vector<std::size_t>;

/// Every error tapegrad raises on bad input: shape mismatches, misuse of the
/// tape, corrupt files. Catch this to handle any of them. what() names the
/// operation and the shapes, or the file.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A shape as error messages write it, e.g. "(2, 3)".
std::string shape_str(const Shape& shape);

/// The number of elements of `shape`. Throws an Error naming `op` and the shape
/// when that many elements of `element_bytes` bytes each would overflow
/// size_t: a product that wraps around (3 * 0x5555555555555556 is 2 in 64 bits)
/// would let a huge shape pass for a small one, and every later access would
/// run off the end of its buffer.
std::size_t checked_element_count(const char* op, const Shape& shape, std::size_t element_bytes);

}  // namespace tapegrad
