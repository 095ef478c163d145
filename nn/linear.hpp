// Linear: y = x W^T + b, with x of shape (batch, in).
//
// The weight is stored (out, in) as in PyTorch, so a state dict or .npz
// carries over to torch unchanged. The transpose costs nothing: matmul hands
// it to BLAS as a flag, forward and backward alike.
#pragma once

#include <cstdint>
#include <optional>

#include <tapegrad/autograd/options.hpp>
#include <tapegrad/nn/init.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

// LinearOptions(784, 100).bias(true).init(Init::XavierUniform).seed(42).
// Without a seed the layer draws one from tapegrad::draw_seed() (see
// autograd/random.hpp), so two layers built alike start differently.
class LinearOptions {
public:
    static constexpr const char* options_name = "LinearOptions";
    LinearOptions(std::size_t in_features, std::size_t out_features) {
        this->in_features(in_features);
        this->out_features(out_features);
    }
    TAPEGRAD_OPTION(std::size_t, in_features, value > 0, "> 0");
    TAPEGRAD_OPTION(std::size_t, out_features, value > 0, "> 0");
    TAPEGRAD_OPTION_ANY(bool, bias) = true;
    TAPEGRAD_OPTION_ANY(Init, init) = Init::PyTorchDefault;
    // The weight draws from derive_seed(seed, 0), the bias from derive_seed(seed, 1).
    TAPEGRAD_OPTION_ANY(std::optional<std::uint64_t>, seed);
};

template <class T>
class Linear : public Module<T> {
public:
    explicit Linear(const LinearOptions& options);
    Linear(std::size_t in_features, std::size_t out_features) : Linear(LinearOptions(in_features, out_features)) {}

    Tensor<T> forward(const Tensor<T>& input) override;

    Tensor<T> weight() const { return weight_; }
    Tensor<T> bias() const { return bias_; }  // undefined when built without bias
    std::size_t in_features() const { return options_.in_features(); }
    std::size_t out_features() const { return options_.out_features(); }
    // The options it was built with, the seed filled in when it was drawn.
    const LinearOptions& options() const { return options_; }

protected:
    std::string type_name() const override { return "Linear"; }
    std::string extra_repr() const override;

private:
    LinearOptions options_;
    Tensor<T> weight_, bias_;
};

extern template class Linear<float>;
extern template class Linear<double>;

}  // namespace tapegrad::nn
