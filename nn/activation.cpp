#include <tapegrad/nn/activation.hpp>

#include <tapegrad/autograd/ops.hpp>

namespace tapegrad::nn {

template <class T>
Tensor<T> Sigmoid<T>::forward(const Tensor<T>& input) { return sigmoid(input); }
template <class T>
Tensor<T> Tanh<T>::forward(const Tensor<T>& input) { return tanh(input); }
template <class T>
Tensor<T> ReLU<T>::forward(const Tensor<T>& input) { return relu(input); }

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
template Module<float>::Ptr make_activation<float>(const std::string&);
template Module<double>::Ptr make_activation<double>(const std::string&);

}  // namespace tapegrad::nn
