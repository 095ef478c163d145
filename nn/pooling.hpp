/// \file
/// MaxPool2d and AvgPool2d: pooling layers over batches of images (N, C, H, W),
/// as torch.nn.MaxPool2d and torch.nn.AvgPool2d, wrapping the max_pool2d and
/// avg_pool2d ops (autograd/ops.hpp). They have no parameters.
#pragma once

#include <tapegrad/autograd/conv_geometry.hpp>
#include <tapegrad/autograd/options.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// MaxPool2dOptions(2), MaxPool2dOptions(3).stride(2).padding(1). Sizes take
/// one number for both axes or an (h, w) pair. The padding must be at most
/// half the kernel, checked when the layer is built (as PyTorch does).
class MaxPool2dOptions {
public:
    /// The class name that option errors start with.
    static constexpr const char* options_name = "MaxPool2dOptions";
    /// The window's size; throws tapegrad::Error if 0.
    MaxPool2dOptions(Size2 kernel_size) { this->kernel_size(kernel_size); }  // NOLINT: MaxPool2dOptions(2) reads well
    /// Window height and width (> 0).
    TAPEGRAD_OPTION(Size2, kernel_size, value.h > 0 && value.w > 0, "> 0 along both axes");
    /// Step between windows (> 0); default (0, 0), which means the kernel size.
    TAPEGRAD_OPTION(Size2, stride, value == Size2() || (value.h > 0 && value.w > 0),
                    "> 0 along both axes, or (0, 0) for the kernel size") = Size2();
    /// Pixels of -inf added on each side; default 0.
    TAPEGRAD_OPTION_ANY(Size2, padding) = Size2(0);
    /// Spacing between window taps (> 0); default 1.
    TAPEGRAD_OPTION(Size2, dilation, value.h > 0 && value.w > 0, "> 0 along both axes") = Size2(1);
};

/// The maximum of each window, as torch.nn.MaxPool2d: max_pool2d(input, ...)
/// for input (N, C, H, W).
template <class T>
class MaxPool2d : public Module<T> {
public:
    /// Throws tapegrad::Error if the padding is over half the kernel.
    explicit MaxPool2d(const MaxPool2dOptions& options);
    /// max_pool2d of `input` (N, C, H, W); throws tapegrad::Error naming the
    /// op and the shape for an input of another rank or smaller than a window.
    Tensor<T> forward(const Tensor<T>& input) override;
    /// The options it was built with.
    const MaxPool2dOptions& options() const { return options_; }

protected:
    /// "MaxPool2d".
    std::string type_name() const override { return "MaxPool2d"; }
    /// As PyTorch prints it: "kernel_size=2, stride=2, padding=0, dilation=1".
    std::string extra_repr() const override;

private:
    MaxPool2dOptions options_;
};

/// AvgPool2dOptions(2), AvgPool2dOptions(3).stride(1).padding(1).count_include_pad(false).
class AvgPool2dOptions {
public:
    /// The class name that option errors start with.
    static constexpr const char* options_name = "AvgPool2dOptions";
    /// The window's size; throws tapegrad::Error if 0.
    AvgPool2dOptions(Size2 kernel_size) { this->kernel_size(kernel_size); }  // NOLINT: AvgPool2dOptions(2) reads well
    /// Window height and width (> 0).
    TAPEGRAD_OPTION(Size2, kernel_size, value.h > 0 && value.w > 0, "> 0 along both axes");
    /// Step between windows (> 0); default (0, 0), which means the kernel size.
    TAPEGRAD_OPTION(Size2, stride, value == Size2() || (value.h > 0 && value.w > 0),
                    "> 0 along both axes, or (0, 0) for the kernel size") = Size2();
    /// Pixels of zeros added on each side; default 0.
    TAPEGRAD_OPTION_ANY(Size2, padding) = Size2(0);
    /// Whether padding counts in each window's divisor; default true, as PyTorch.
    TAPEGRAD_OPTION_ANY(bool, count_include_pad) = true;
};

/// The mean of each window, as torch.nn.AvgPool2d: avg_pool2d(input, ...)
/// for input (N, C, H, W).
template <class T>
class AvgPool2d : public Module<T> {
public:
    /// Throws tapegrad::Error if the padding is over half the kernel.
    explicit AvgPool2d(const AvgPool2dOptions& options);
    /// avg_pool2d of `input` (N, C, H, W); throws tapegrad::Error naming the
    /// op and the shape for an input of another rank or smaller than a window.
    Tensor<T> forward(const Tensor<T>& input) override;
    /// The options it was built with.
    const AvgPool2dOptions& options() const { return options_; }

protected:
    /// "AvgPool2d".
    std::string type_name() const override { return "AvgPool2d"; }
    /// As PyTorch prints it: "kernel_size=2, stride=2, padding=0", then
    /// count_include_pad=false if so.
    std::string extra_repr() const override;

private:
    AvgPool2dOptions options_;
};

extern template class MaxPool2d<float>;
extern template class MaxPool2d<double>;
extern template class AvgPool2d<float>;
extern template class AvgPool2d<double>;

}  // namespace tapegrad::nn
