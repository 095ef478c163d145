/// \file
/// Parameter-free activation modules, so they can sit inside a Sequential.
#pragma once

#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// Elementwise logistic function 1 / (1 + exp(-x)), as torch.nn.Sigmoid.
template <class T>
class Sigmoid : public Module<T> {
public:
    /// tapegrad::sigmoid(input): any shape, same shape out.
    Tensor<T> forward(const Tensor<T>& input) override;

protected:
    /// "Sigmoid".
    std::string type_name() const override { return "Sigmoid"; }
};

/// Elementwise hyperbolic tangent, as torch.nn.Tanh.
template <class T>
class Tanh : public Module<T> {
public:
    /// tapegrad::tanh(input): any shape, same shape out.
    Tensor<T> forward(const Tensor<T>& input) override;

protected:
    /// "Tanh".
    std::string type_name() const override { return "Tanh"; }
};

/// Elementwise max(x, 0), as torch.nn.ReLU.
template <class T>
class ReLU : public Module<T> {
public:
    /// tapegrad::relu(input): any shape, same shape out.
    Tensor<T> forward(const Tensor<T>& input) override;

protected:
    /// "ReLU".
    std::string type_name() const override { return "ReLU"; }
};

/// Whether make_activation knows `name`: "sigmoid", "tanh" or "relu"
/// (lower case, exactly). Never throws; MLPOptions validates with it.
bool is_activation_name(const std::string& name);
/// A new activation module for "sigmoid", "tanh" or "relu"; anything else
/// throws tapegrad::Error.
template <class T>
typename Module<T>::Ptr make_activation(const std::string& name);

extern template class Sigmoid<float>;
extern template class Sigmoid<double>;
extern template class Tanh<float>;
extern template class Tanh<double>;
extern template class ReLU<float>;
extern template class ReLU<double>;

}  // namespace tapegrad::nn
