/// \file
/// Linear: y = x W^T + b, with x of shape (..., in).
///
/// The weight is stored (out, in) as in PyTorch, so a state dict or .npz
/// carries over to torch unchanged. The transpose costs nothing: matmul hands
/// it to BLAS as a flag, forward and backward alike.
#pragma once

#include <cstdint>
#include <optional>

#include <tapegrad/autograd/options.hpp>
#include <tapegrad/nn/init.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// LinearOptions(784, 100).bias(true).init(Init::XavierUniform).seed(42).
/// Without a seed the layer draws one from tapegrad::draw_seed() (see
/// autograd/random.hpp), so two layers built alike start differently.
///
/// Each option has a chainable setter `name(value)` and a getter `name()`
/// (see autograd/options.hpp); a setter given a value out of range throws
/// tapegrad::Error naming the option and the value, and changes nothing.
class LinearOptions {
public:
    /// The class name that option errors start with.
    static constexpr const char* options_name = "LinearOptions";
    /// The two required sizes; throws tapegrad::Error if either is 0.
    LinearOptions(std::size_t in_features, std::size_t out_features) {
        this->in_features(in_features);
        this->out_features(out_features);
    }
    /// Size of each input row (> 0).
    TAPEGRAD_OPTION(std::size_t, in_features, value > 0, "> 0");
    /// Size of each output row (> 0).
    TAPEGRAD_OPTION(std::size_t, out_features, value > 0, "> 0");
    /// Whether to add a learned bias b; default true.
    TAPEGRAD_OPTION_ANY(bool, bias) = true;
    /// How the weight and bias start; default Init::PyTorchDefault.
    TAPEGRAD_OPTION_ANY(Init, init) = Init::PyTorchDefault;
    /// The weight draws from derive_seed(seed, 0), the bias from derive_seed(seed, 1).
    /// Unset by default: the layer then draws one.
    TAPEGRAD_OPTION_ANY(std::optional<std::uint64_t>, seed);
};

/// A fully connected layer, y = x W^T + b, as torch.nn.Linear. Its parameters
/// are "weight", shape (out_features, in_features), and "bias", shape
/// (out_features,), unless built without one.
template <class T>
class Linear : public Module<T> {
public:
    /// Initialises the weight and bias as options.init() says, from
    /// options.seed() or a drawn seed.
    explicit Linear(const LinearOptions& options);
    /// Linear(LinearOptions(in_features, out_features)): the defaults for the rest.
    Linear(std::size_t in_features, std::size_t out_features) : Linear(LinearOptions(in_features, out_features)) {}

    /// x W^T + b for `input` of shape (..., in_features), giving (...,
    /// out_features), as torch: (batch, in) is one product; other ranks
    /// (a sequence's (batch, time, in), a single (in,)) are reshaped to rows
    /// of one. Throws tapegrad::Error naming the layer and the shape for an
    /// input whose last axis is not in_features (or a 0-d one).
    Tensor<T> forward(const Tensor<T>& input) override;

    /// The weight parameter, shape (out_features, in_features): a handle, so
    /// writing through it changes the layer.
    Tensor<T> weight() const { return weight_; }
    /// The bias parameter, shape (out_features,); a handle like weight().
    /// Undefined when built without bias.
    Tensor<T> bias() const { return bias_; }  // undefined when built without bias
    /// Size of each input row.
    std::size_t in_features() const { return options_.in_features(); }
    /// Size of each output row.
    std::size_t out_features() const { return options_.out_features(); }
    /// The options it was built with, the seed filled in when it was drawn.
    const LinearOptions& options() const { return options_; }

protected:
    /// "Linear".
    std::string type_name() const override { return "Linear"; }
    /// "in_features=..., out_features=..., bias=true|false".
    std::string extra_repr() const override;

private:
    LinearOptions options_;
    Tensor<T> weight_, bias_;
};

extern template class Linear<float>;
extern template class Linear<double>;

}  // namespace tapegrad::nn
