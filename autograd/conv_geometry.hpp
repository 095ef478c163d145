/// \file
/// The geometry arguments of the convolution and pooling ops (autograd/ops.hpp,
/// sections "Convolution" and "Pooling"): Size2, an (height, width) pair that a
/// single number also makes, as PyTorch's "int or tuple" arguments; Conv2dGeometry,
/// the stride, padding, dilation and groups of a convolution; and FlatIndex,
/// the positions take and put_add (max_pool2d's gradient) move values by.
///
/// \code
///   auto y = conv2d(x, w, b, Conv2dGeometry().stride(2).padding(1));
///   auto z = conv2d(x, w, Tensor<float>(), Conv2dGeometry().padding({2, 1}).groups(4));
/// \endcode
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <tapegrad/autograd/options.hpp>

namespace tapegrad {

/// An extent or step along height and width. Made from one number (both the
/// same: `Size2(3)`, or just `3` where a Size2 is expected) or two
/// (`Size2(5, 3)`, or `{5, 3}`: height first).
struct Size2 {
    std::size_t h = 0;  ///< along the height (rows)
    std::size_t w = 0;  ///< along the width (columns)
    /// {0, 0}: for pooling strides, "the kernel size" (PyTorch's stride=None).
    Size2() = default;
    /// The same extent along both axes.
    Size2(std::size_t both) : h(both), w(both) {}  // NOLINT: implicit, as PyTorch's int-or-tuple
    /// Height and width.
    Size2(std::size_t height, std::size_t width) : h(height), w(width) {}
    /// Both extents equal.
    friend bool operator==(const Size2& a, const Size2& b) { return a.h == b.h && a.w == b.w; }
    /// Either extent differs.
    friend bool operator!=(const Size2& a, const Size2& b) { return !(a == b); }
};

/// "(h, w)", as error messages and module printouts write it.
std::string size2_str(const Size2& s);

/// How an option error shows a Size2 (found by argument-dependent lookup from
/// TAPEGRAD_OPTION's setters).
inline std::string option_value_text(const Size2& s) { return size2_str(s); }

/// Stride, padding, dilation and groups of a 2-D convolution, as PyTorch's
/// conv2d arguments, with their defaults 1, 0, 1 and 1. Every setter checks
/// its value (autograd/options.hpp) and chains:
/// `Conv2dGeometry().stride(2).padding({1, 2}).groups(2)`.
class Conv2dGeometry {
public:
    /// The class name that option errors start with.
    static constexpr const char* options_name = "Conv2dGeometry";
    /// Step between output positions, in input pixels (> 0); default 1.
    TAPEGRAD_OPTION(Size2, stride, value.h > 0 && value.w > 0, "> 0 along both axes") = Size2(1);
    /// Zeros added on each side of the input (top and bottom, left and right); default 0.
    TAPEGRAD_OPTION_ANY(Size2, padding) = Size2(0);
    /// Spacing between kernel taps (> 0); default 1, a dense kernel.
    TAPEGRAD_OPTION(Size2, dilation, value.h > 0 && value.w > 0, "> 0 along both axes") = Size2(1);
    /// Channel groups (> 0): input and output channels are split into this many
    /// groups, and output group g sees input group g only; default 1.
    TAPEGRAD_OPTION(std::size_t, groups, value > 0, "> 0") = 1;
};

/// Row-major (flat) positions in a tensor, one per element of another: for
/// take and put_add, e.g. where each output of max_pool2d was taken from.
/// Shared and immutable, so graph nodes hold it without copying it.
using FlatIndex = std::shared_ptr<const std::vector<std::size_t>>;

}  // namespace tapegrad
