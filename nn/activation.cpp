#include <tapegrad/nn/activation.hpp>

#include <tapegrad/autograd/ops.hpp>

namespace tapegrad::nn {

template <class T>
Tensor<T> Sigmoid<T>::forward(const Tensor<T>& input) { return sigmoid(input); }
template <class T>
Tensor<T> Tanh<T>::forward(const Tensor<T>& input) { return tanh(input); }
template <class T>
Tensor<T> ReLU<T>::forward(const Tensor<T>& input) { return relu(input); }

template <class T>
Tensor<T> LeakyReLU<T>::forward(const Tensor<T>& input) { return leaky_relu(input, T(options_.negative_slope())); }
template <class T>
std::string LeakyReLU<T>::extra_repr() const {
    return "negative_slope=" + detail::option_value_text(options_.negative_slope());
}

template <class T>
Tensor<T> GELU<T>::forward(const Tensor<T>& input) { return gelu(input, options_.approximate()); }
template <class T>
std::string GELU<T>::extra_repr() const {
    return options_.approximate() == GeluApproximate::Tanh ? "approximate='tanh'" : "approximate='none'";
}

template <class T>
Tensor<T> Softplus<T>::forward(const Tensor<T>& input) {
    return softplus(input, T(options_.beta()), T(options_.threshold()));
}
template <class T>
std::string Softplus<T>::extra_repr() const {
    return "beta=" + detail::option_value_text(options_.beta()) +
           ", threshold=" + detail::option_value_text(options_.threshold());
}

bool is_activation_name(const std::string& name) { return name == "sigmoid" || name == "tanh" || name == "relu"; }

template <class T>
typename Module<T>::Ptr make_activation(const std::string& name) {
    if (name == "sigmoid") return std::make_shared<Sigmoid<T>>();
    if (name == "tanh") return std::make_shared<Tanh<T>>();
    if (name == "relu") return std::make_shared<ReLU<T>>();
    throw Error("unknown activation '" + name + "' (expected sigmoid, tanh or relu)");
}

template class Sigmoid<float>;
template class Sigmoid<double>;
template class Tanh<float>;
template class Tanh<double>;
template class ReLU<float>;
template class ReLU<double>;
template class LeakyReLU<float>;
template class LeakyReLU<double>;
template class GELU<float>;
template class GELU<double>;
template class Softplus<float>;
template class Softplus<double>;
template Module<float>::Ptr make_activation<float>(const std::string&);
template Module<double>::Ptr make_activation<double>(const std::string&);

}  // namespace tapegrad::nn
