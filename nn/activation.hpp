/// \file
/// Parameter-free activation modules, so they can sit inside a Sequential.
#pragma once

#include <cmath>
#include <string>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/options.hpp>
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

/// The options of LeakyReLU, each with a chainable setter and a getter
/// (autograd/options.hpp): LeakyReLUOptions().negative_slope(0.2).
class LeakyReLUOptions {
public:
    /// The class name that option errors start with.
    static constexpr const char* options_name = "LeakyReLUOptions";
    /// The slope where x < 0; default 0.01, as PyTorch's. Finite.
    TAPEGRAD_OPTION(double, negative_slope, std::isfinite(value), "finite") = 0.01;
};

/// Elementwise x for x > 0, negative_slope * x elsewhere, as torch.nn.LeakyReLU.
template <class T>
class LeakyReLU : public Module<T> {
public:
    /// The defaults, or the options given.
    explicit LeakyReLU(const LeakyReLUOptions& options = {}) : options_(options) {}
    /// LeakyReLU(LeakyReLUOptions().negative_slope(negative_slope)).
    explicit LeakyReLU(double negative_slope) : LeakyReLU(LeakyReLUOptions().negative_slope(negative_slope)) {}
    /// tapegrad::leaky_relu(input, negative_slope): any shape, same shape out.
    Tensor<T> forward(const Tensor<T>& input) override;
    /// The options it was built with.
    const LeakyReLUOptions& options() const { return options_; }

protected:
    /// "LeakyReLU".
    std::string type_name() const override { return "LeakyReLU"; }
    /// "negative_slope=0.01".
    std::string extra_repr() const override;

private:
    LeakyReLUOptions options_;
};

/// The options of GELU (autograd/options.hpp): GELUOptions().approximate(GeluApproximate::Tanh).
class GELUOptions {
public:
    /// The class name that option errors start with.
    static constexpr const char* options_name = "GELUOptions";
    /// The exact form with erf (default, as PyTorch's) or the tanh approximation.
    TAPEGRAD_OPTION_ANY(GeluApproximate, approximate) = GeluApproximate::None;
};

/// Elementwise x Phi(x), Phi the standard normal distribution function, as
/// torch.nn.GELU.
template <class T>
class GELU : public Module<T> {
public:
    /// The defaults, or the options given.
    explicit GELU(const GELUOptions& options = {}) : options_(options) {}
    /// GELU(GELUOptions().approximate(approximate)).
    explicit GELU(GeluApproximate approximate) : GELU(GELUOptions().approximate(approximate)) {}
    /// tapegrad::gelu(input, approximate): any shape, same shape out.
    Tensor<T> forward(const Tensor<T>& input) override;
    /// The options it was built with.
    const GELUOptions& options() const { return options_; }

protected:
    /// "GELU".
    std::string type_name() const override { return "GELU"; }
    /// "approximate='none'" or "approximate='tanh'", as PyTorch prints it.
    std::string extra_repr() const override;

private:
    GELUOptions options_;
};

/// The options of Softplus (autograd/options.hpp): SoftplusOptions().beta(2).threshold(10).
class SoftplusOptions {
public:
    /// The class name that option errors start with.
    static constexpr const char* options_name = "SoftplusOptions";
    /// The sharpness: log(1 + e^(beta x)) / beta; default 1. Finite and > 0.
    TAPEGRAD_OPTION(double, beta, allowed::positive_finite(value), "finite and > 0") = 1;
    /// Above beta x > threshold the output is x itself; default 20. Not NaN.
    TAPEGRAD_OPTION(double, threshold, !std::isnan(value), "a number (not NaN)") = 20;
};

/// Elementwise log(1 + e^(beta x)) / beta, linear above the threshold, as
/// torch.nn.Softplus.
template <class T>
class Softplus : public Module<T> {
public:
    /// The defaults, or the options given.
    explicit Softplus(const SoftplusOptions& options = {}) : options_(options) {}
    /// tapegrad::softplus(input, beta, threshold): any shape, same shape out.
    Tensor<T> forward(const Tensor<T>& input) override;
    /// The options it was built with.
    const SoftplusOptions& options() const { return options_; }

protected:
    /// "Softplus".
    std::string type_name() const override { return "Softplus"; }
    /// "beta=1, threshold=20".
    std::string extra_repr() const override;

private:
    SoftplusOptions options_;
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
extern template class LeakyReLU<float>;
extern template class LeakyReLU<double>;
extern template class GELU<float>;
extern template class GELU<double>;
extern template class Softplus<float>;
extern template class Softplus<double>;

}  // namespace tapegrad::nn
