// The sliding-window geometry that convolution (ops/conv.cpp) and pooling
// (ops/pool.cpp) share.
#pragma once

#include <cstddef>
#include <limits>
#include <string>

namespace tapegrad::detail {

// Signed offsets into an image: a window may start in the padding.
using Index = std::ptrdiff_t;

// The output extent along one axis: (in + 2 pad - span) / stride + 1 for a
// kernel spanning span = dil (k - 1) + 1 input pixels. Throws fail(why) when
// the span exceeds the padded input, or when either or the stride does not
// fit in an Index (the kernels' signed offsets; PyTorch's geometry is int64).
template <class Fail>
std::size_t output_extent(std::size_t in, std::size_t k, std::size_t stride, std::size_t pad, std::size_t dil,
                          const Fail& fail) {
    constexpr std::size_t most = std::numeric_limits<Index>::max();
    if (in > most || stride > most) throw fail("the input or the stride is too large");
    if (pad > (most - in) / 2 || k - 1 > (most - 1) / dil) throw fail("the padding or the dilated kernel is too large");
    const std::size_t span = dil * (k - 1) + 1, padded = in + 2 * pad;
    if (span > padded)
        throw fail("the kernel spans " + std::to_string(span) + " pixels, more than the padded input's " +
                   std::to_string(padded));
    return (padded - span) / stride + 1;
}

}  // namespace tapegrad::detail
