/// \file
/// Conv2d: a 2-D convolution layer over batches of images (N, C, H, W), as
/// torch.nn.Conv2d. The weight is stored (out_channels, in_channels / groups,
/// kh, kw) as in PyTorch, so a state dict carries over unchanged.
#pragma once

#include <cstdint>
#include <optional>

#include <tapegrad/autograd/conv_geometry.hpp>
#include <tapegrad/autograd/options.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// Conv2dOptions(1, 16, 5).padding(2).stride(1).seed(42). Sizes take one
/// number for both axes or an (h, w) pair: `.kernel_size({5, 3})`.
/// Without a seed the layer draws one from tapegrad::draw_seed() (see
/// autograd/random.hpp), so two layers built alike start differently.
///
/// Each option has a chainable setter `name(value)` and a getter `name()`
/// (see autograd/options.hpp); a setter given a value out of range throws
/// tapegrad::Error naming the option and the value, and changes nothing.
/// That the channels divide into the groups is checked when the layer is built.
class Conv2dOptions {
public:
    /// The class name that option errors start with.
    static constexpr const char* options_name = "Conv2dOptions";
    /// The required sizes; throws tapegrad::Error if any is 0.
    Conv2dOptions(std::size_t in_channels, std::size_t out_channels, Size2 kernel_size) {
        this->in_channels(in_channels);
        this->out_channels(out_channels);
        this->kernel_size(kernel_size);
    }
    /// Channels of the input (> 0).
    TAPEGRAD_OPTION(std::size_t, in_channels, value > 0, "> 0");
    /// Channels of the output (> 0).
    TAPEGRAD_OPTION(std::size_t, out_channels, value > 0, "> 0");
    /// Kernel height and width (> 0).
    TAPEGRAD_OPTION(Size2, kernel_size, value.h > 0 && value.w > 0, "> 0 along both axes");
    /// Step between output positions (> 0); default 1.
    TAPEGRAD_OPTION(Size2, stride, value.h > 0 && value.w > 0, "> 0 along both axes") = Size2(1);
    /// Zeros added on each side of the input; default 0.
    TAPEGRAD_OPTION_ANY(Size2, padding) = Size2(0);
    /// Spacing between kernel taps (> 0); default 1.
    TAPEGRAD_OPTION(Size2, dilation, value.h > 0 && value.w > 0, "> 0 along both axes") = Size2(1);
    /// Channel groups (> 0), dividing both channel counts; default 1.
    TAPEGRAD_OPTION(std::size_t, groups, value > 0, "> 0") = 1;
    /// Whether to add a learned bias per output channel; default true.
    TAPEGRAD_OPTION_ANY(bool, bias) = true;
    /// The weight draws from derive_seed(seed, 0), the bias from derive_seed(seed, 1).
    /// Unset by default: the layer then draws one.
    TAPEGRAD_OPTION_ANY(std::optional<std::uint64_t>, seed);

public:
    /// Stride, padding, dilation and groups as the conv2d op takes them.
    Conv2dGeometry geometry() const {
        return Conv2dGeometry().stride(stride_).padding(padding_).dilation(dilation_).groups(groups_);
    }
};

/// A 2-D convolution layer, as torch.nn.Conv2d: conv2d(input, weight, bias)
/// (autograd/ops.hpp). Its parameters are "weight", shape (out_channels,
/// in_channels / groups, kh, kw), and "bias", shape (out_channels,), unless
/// built without one. Both start as PyTorch's: U(-1/sqrt(fan_in),
/// 1/sqrt(fan_in)) with fan_in = in_channels / groups * kh * kw
/// (kaiming_uniform_ with a = sqrt(5) for the weight).
template <class T>
class Conv2d : public Module<T> {
public:
    /// Initialises the weight and bias from options.seed() or a drawn seed.
    /// Throws tapegrad::Error if the channels do not divide into the groups.
    explicit Conv2d(const Conv2dOptions& options);

    /// The convolution of `input` (N, in_channels, H, W), giving (N,
    /// out_channels, OH, OW). Throws tapegrad::Error naming the layer and the
    /// shape for an input of another rank or channel count, or one smaller
    /// than the (padded) kernel.
    Tensor<T> forward(const Tensor<T>& input) override;

    /// The weight parameter, shape (out_channels, in_channels / groups, kh,
    /// kw): a handle, so writing through it changes the layer.
    Tensor<T> weight() const { return weight_; }
    /// The bias parameter, shape (out_channels,); a handle like weight().
    /// Undefined when built without bias.
    Tensor<T> bias() const { return bias_; }
    /// The options it was built with, the seed filled in when it was drawn.
    const Conv2dOptions& options() const { return options_; }

protected:
    /// "Conv2d".
    std::string type_name() const override { return "Conv2d"; }
    /// As PyTorch prints it: "1, 16, kernel_size=(5, 5), stride=(1, 1)", then
    /// padding, dilation, groups and bias=false where they differ from the defaults.
    std::string extra_repr() const override;

private:
    Conv2dOptions options_;
    Tensor<T> weight_, bias_;
};

extern template class Conv2d<float>;
extern template class Conv2d<double>;

}  // namespace tapegrad::nn
