// Parameter-free activation modules, so they can sit inside a Sequential.
#pragma once

#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

template <class T>
class Sigmoid : public Module<T> {
public:
    Tensor<T> forward(const Tensor<T>& input) override;

protected:
    std::string type_name() const override { return "Sigmoid"; }
};

template <class T>
class Tanh : public Module<T> {
public:
    Tensor<T> forward(const Tensor<T>& input) override;

protected:
    std::string type_name() const override { return "Tanh"; }
};

template <class T>
class ReLU : public Module<T> {
public:
    Tensor<T> forward(const Tensor<T>& input) override;

protected:
    std::string type_name() const override { return "ReLU"; }
};

// "sigmoid", "tanh" or "relu"; anything else throws tapegrad::Error.
bool is_activation_name(const std::string& name);
template <class T>
typename Module<T>::Ptr make_activation(const std::string& name);

extern template class Sigmoid<float>;
extern template class Sigmoid<double>;
extern template class Tanh<float>;
extern template class Tanh<double>;
extern template class ReLU<float>;
extern template class ReLU<double>;

}  // namespace tapegrad::nn
