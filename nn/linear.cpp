#include <tapegrad/nn/linear.hpp>

#include <tapegrad/autograd/ops.hpp>

namespace tapegrad::nn {

template <class T>
Linear<T>::Linear(std::size_t in_features, std::size_t out_features, bool bias, Init init, std::uint64_t seed)
    : in_(in_features), out_(out_features) {
    if (in_features == 0 || out_features == 0) throw Error("Linear: in_features and out_features must be positive");
    weight_ = this->register_parameter("weight", init_weight<T>(init, in_, out_, derive_seed(seed, 0)));
    if (bias) bias_ = this->register_parameter("bias", init_bias<T>(init, in_, out_, derive_seed(seed, 1)));
}

template <class T>
Tensor<T> Linear<T>::forward(const Tensor<T>& input) {
    if (input.dim() != 2 || input.shape()[1] != in_)
        throw Error("Linear(" + std::to_string(in_) + ", " + std::to_string(out_) + "): expects input of shape (batch, " +
                    std::to_string(in_) + "), got " + shape_str(input.shape()));
    Tensor<T> out = matmul(input, weight_, false, true);
    return bias_.defined() ? add(out, bias_) : out;
}

template <class T>
std::string Linear<T>::extra_repr() const {
    return "in_features=" + std::to_string(in_) + ", out_features=" + std::to_string(out_) +
           ", bias=" + (bias_.defined() ? "true" : "false");
}

template class Linear<float>;
template class Linear<double>;

}  // namespace tapegrad::nn
