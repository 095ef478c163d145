// shape_str and checked_element_count: apart from tensor.cpp so that code which only reports shapes in errors (the
// file readers, and the fuzz targets built from them alone) need not link the
// tape and the ops.
#include <algorithm>
#include <limits>
#include <sstream>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

std::string shape_str(const Shape& shape) {
    std::ostringstream os;
    os << '(';
    for (std::size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
    if (shape.size() == 1) os << ',';
    os << ')';
    return os.str();
}

std::size_t checked_element_count(const char* op, const Shape& shape, std::size_t element_bytes) {
    for (std::size_t d : shape)
        if (d == 0) return 0;  // empty, however large the other dimensions
    const std::size_t max_elements = std::numeric_limits<std::size_t>::max() / std::max<std::size_t>(element_bytes, 1);
    std::size_t n = 1;
    for (std::size_t d : shape) {
        if (n > max_elements / d)
            throw Error(std::string(op) + ": shape " + shape_str(shape) + " is too large to allocate");
        n *= d;
    }
    return n;
}

}  // namespace tapegrad
