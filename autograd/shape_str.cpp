// shape_str and checked_element_count (declared in error.hpp): apart from
// tensor.cpp so that code which only reports shapes in errors (the file
// readers, and the fuzz targets built from them alone) need not link the tape
// and the ops.
#include <algorithm>
#include <cstddef>
#include <limits>
#include <sstream>

#include <tapegrad/autograd/error.hpp>

namespace tapegrad {

std::string shape_str(const Shape& shape) {
    std::ostringstream os;
    os << '(';
    for (std::size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
    if (shape.size() == 1) os << ',';
    os << ')';
    return os.str();
}

namespace {
// Whether the product of extents [first, last) fits in a signed stride.
template <class It>
bool product_fits_stride(It first, It last) {
    const auto max_stride = static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max());
    std::size_t n = 1;
    for (; first != last; ++first) {
        if (*first != 0 && n > max_stride / *first) return false;
        n *= *first;
    }
    return true;
}
}  // namespace

std::size_t checked_element_count(const char* op, const Shape& shape, std::size_t element_bytes) {
    const auto too_large = [&] { return Error(std::string(op) + ": shape " + shape_str(shape) + " is too large to allocate"); };
    const auto first_zero = std::find(shape.begin(), shape.end(), std::size_t(0));
    if (first_zero != shape.end()) {
        // Empty. But xtensor still multiplies extents into strides, in a
        // signed type: from the last extent back to the rightmost zero
        // (row-major), or from the first up to the leftmost zero
        // (column-major, as a Fortran-ordered .npy is read). (0, 3, 1e17, 37)
        // overflows there; (2^62, 0, 2^62) does not.
        const auto last_zero = std::find(shape.rbegin(), shape.rend(), std::size_t(0)).base();
        if (!product_fits_stride(shape.begin(), first_zero) || !product_fits_stride(last_zero, shape.end()))
            throw too_large();
        return 0;
    }
    const std::size_t max_elements = std::min<std::size_t>(
        std::numeric_limits<std::size_t>::max() / std::max<std::size_t>(element_bytes, 1),
        static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max()));
    std::size_t n = 1;
    for (std::size_t d : shape) {
        if (n > max_elements / d) throw too_large();
        n *= d;
    }
    return n;
}

}  // namespace tapegrad
