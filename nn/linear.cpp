#include <tapegrad/nn/linear.hpp>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/random.hpp>

namespace tapegrad::nn {

template <class T>
Linear<T>::Linear(const LinearOptions& options) : options_(options) {
    if (!options_.seed()) options_.seed(draw_seed());
    const std::uint64_t seed = *options_.seed();
    const std::size_t in = options_.in_features(), out = options_.out_features();
    weight_ = this->register_parameter("weight", init_weight<T>(options_.init(), in, out, derive_seed(seed, 0)));
    if (options_.bias())
        bias_ = this->register_parameter("bias", init_bias<T>(options_.init(), in, out, derive_seed(seed, 1)));
}

template <class T>
Tensor<T> Linear<T>::forward(const Tensor<T>& input) {
    const std::size_t in = in_features();
    if (input.dim() != 2 || input.shape()[1] != in)
        throw Error("Linear(" + std::to_string(in) + ", " + std::to_string(out_features()) +
                    "): expects input of shape (batch, " + std::to_string(in) + "), got " + shape_str(input.shape()));
    return bias_.defined() ? linear(input, weight_, bias_) : matmul(input, weight_, false, true);
}

template <class T>
std::string Linear<T>::extra_repr() const {
    return "in_features=" + std::to_string(in_features()) + ", out_features=" + std::to_string(out_features()) +
           ", bias=" + (bias_.defined() ? "true" : "false");
}

template class Linear<float>;
template class Linear<double>;

}  // namespace tapegrad::nn
