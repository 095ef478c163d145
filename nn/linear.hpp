// Linear: y = x W^T + b, with x of shape (batch, in).
//
// The weight is stored (out, in) as in PyTorch, so a state dict or .npz
// carries over to torch unchanged. The transpose costs nothing: matmul hands
// it to BLAS as a flag, forward and backward alike.
#pragma once

#include <cstdint>

#include <tapegrad/nn/init.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

template <class T>
class Linear : public Module<T> {
public:
    Linear(std::size_t in_features, std::size_t out_features, bool bias = true, Init init = Init::PyTorchDefault,
           std::uint64_t seed = 0);

    Tensor<T> forward(const Tensor<T>& input) override;

    Tensor<T> weight() const { return weight_; }
    Tensor<T> bias() const { return bias_; }  // undefined when built without bias
    std::size_t in_features() const { return in_; }
    std::size_t out_features() const { return out_; }

protected:
    std::string type_name() const override { return "Linear"; }
    std::string extra_repr() const override;

private:
    std::size_t in_, out_;
    Tensor<T> weight_, bias_;
};

extern template class Linear<float>;
extern template class Linear<double>;

}  // namespace tapegrad::nn
