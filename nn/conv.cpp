#include <tapegrad/nn/conv.hpp>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/nn/init.hpp>

namespace tapegrad::nn {

template <class T>
Conv2d<T>::Conv2d(const Conv2dOptions& options) : options_(options) {
    const std::size_t in = options_.in_channels(), out = options_.out_channels(), groups = options_.groups();
    if (in % groups != 0 || out % groups != 0)
        throw Error("Conv2d: in_channels " + std::to_string(in) + " and out_channels " + std::to_string(out) +
                    " must both divide into " + std::to_string(groups) + " groups");
    const Size2 k = options_.kernel_size();
    // Before fan_in multiplies the extents (a product that wraps would give a
    // weight of fewer values than its shape claims) and before a seed is drawn.
    checked_element_count("Conv2d", {out, in / groups, k.h, k.w}, sizeof(T));
    if (!options_.seed()) options_.seed(draw_seed());
    const std::uint64_t seed = *options_.seed();
    // PyTorch's default is Linear's with the kernel's taps as the fan-in: the
    // weight drawn as (out, fan_in), then given its 4-D shape.
    const std::size_t fan_in = in / groups * k.h * k.w;
    Array<T> w = init_weight<T>(Init::PyTorchDefault, fan_in, out, derive_seed(seed, 0)).data();
    w.reshape({out, in / groups, k.h, k.w});
    weight_ = this->register_parameter("weight", Tensor<T>(std::move(w)));
    if (options_.bias())
        bias_ = this->register_parameter("bias", init_bias<T>(Init::PyTorchDefault, fan_in, out, derive_seed(seed, 1)));
}

template <class T>
Tensor<T> Conv2d<T>::forward(const Tensor<T>& input) {
    const std::size_t in = options_.in_channels();
    if (input.dim() != 4 || input.shape()[1] != in)
        throw Error("Conv2d(" + extra_repr() + "): expects input of shape (N, " + std::to_string(in) + ", H, W), got " +
                    shape_str(input.shape()));
    return conv2d(input, weight_, bias_, options_.geometry());
}

template <class T>
std::string Conv2d<T>::extra_repr() const {
    const Conv2dOptions& o = options_;
    std::string text = std::to_string(o.in_channels()) + ", " + std::to_string(o.out_channels()) +
                       ", kernel_size=" + size2_str(o.kernel_size()) + ", stride=" + size2_str(o.stride());
    if (o.padding() != Size2(0)) text += ", padding=" + size2_str(o.padding());
    if (o.dilation() != Size2(1)) text += ", dilation=" + size2_str(o.dilation());
    if (o.groups() != 1) text += ", groups=" + std::to_string(o.groups());
    if (!o.bias()) text += ", bias=false";
    return text;
}

template class Conv2d<float>;
template class Conv2d<double>;

}  // namespace tapegrad::nn
