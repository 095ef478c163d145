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
    const std::size_t in = in_features(), out = out_features();
    const Shape shape = input.shape();
    if (shape.empty() || shape.back() != in)
        throw Error("Linear(" + std::to_string(in) + ", " + std::to_string(out) + "): expects input of shape (..., " +
                    std::to_string(in) + "), got " + shape_str(shape));
    const auto product = [&](const Tensor<T>& rows) {
        return bias_.defined() ? linear(rows, weight_, bias_) : matmul(rows, weight_, false, true);
    };
    if (shape.size() == 2) return product(input);
    // Other ranks, as torch: the leading axes are rows of one product.
    Shape rows_out(shape.begin(), shape.end() - 1);
    rows_out.push_back(out);
    return reshape(product(reshape(input, {input.size() / in, in})), rows_out);
}

template <class T>
std::string Linear<T>::extra_repr() const {
    return "in_features=" + std::to_string(in_features()) + ", out_features=" + std::to_string(out_features()) +
           ", bias=" + (bias_.defined() ? "true" : "false");
}

template class Linear<float>;
template class Linear<double>;

}  // namespace tapegrad::nn
