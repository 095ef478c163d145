/// \file
/// Stochastic gradient descent with PyTorch's momentum, dampening, Nesterov
/// and (L2, coupled) weight decay:
///
/// \verbatim
///   g = grad + weight_decay * p
///   buf = g                                  on a parameter's first step
///   buf = momentum * buf + (1 - dampening) * g   afterwards
///   g = nesterov ? g + momentum * buf : buf    (when momentum > 0)
///   p -= lr * g
/// \endverbatim
#pragma once

#include <array>

#include <tapegrad/autograd/options.hpp>
#include <tapegrad/optim/optimizer.hpp>

namespace tapegrad::optim {

/// SGDOptions(0.1).momentum(0.9).nesterov(true); autograd/options.hpp says how options work.
/// Each option has a getter and a chainable setter of its name; a setter
/// throws tapegrad::Error on a value outside the option's range.
class SGDOptions {
public:
    /// The name error messages give this class.
    static constexpr const char* options_name = "SGDOptions";
    /// The learning rate is required; the other options keep their defaults.
    /// Throws tapegrad::Error unless lr is finite and >= 0.
    explicit SGDOptions(double lr) { this->lr(lr); }

    /// The learning rate: the step is lr * g. Schedulers change it.
    TAPEGRAD_OPTION(double, lr, allowed::non_negative_finite(value), "finite and >= 0");
    /// The momentum factor; 0 (the default) is plain SGD, without a momentum buffer.
    TAPEGRAD_OPTION(double, momentum, allowed::zero_to_below_one(value), "in [0, 1)") = 0;
    /// How much of each new gradient the momentum buffer leaves out; default 0.
    TAPEGRAD_OPTION(double, dampening, value >= 0 && value <= 1, "in [0, 1]") = 0;
    /// Nesterov momentum (needs momentum > 0 and dampening 0); default false.
    TAPEGRAD_OPTION_ANY(bool, nesterov) = false;
    /// The L2 penalty added to the gradient as weight_decay * p; default 0.
    TAPEGRAD_OPTION(double, weight_decay, allowed::non_negative_finite(value), "finite and >= 0") = 0;

public:
    /// The rule that ties options together, checked by SGD once all are set:
    /// Nesterov needs momentum > 0 and dampening 0. Throws tapegrad::Error.
    void validate() const;
};

/// SGD's state of one parameter (SGD::param_state()).
template <class T>
struct SGDParamState {
    /// Updates applied to the parameter so far; saved as "<index>.step".
    std::int64_t step = 0;
    /// buf of sgd.hpp, made on the parameter's first step when momentum > 0;
    /// saved as "<index>.momentum_buffer", PyTorch's name.
    std::optional<xt::xarray<T>> momentum_buffer;
    /// The buffers by their saved names, for OptimizerWithState.
    static auto buffers() { return std::array{std::pair{"momentum_buffer", &SGDParamState::momentum_buffer}}; }
};

/// Stochastic gradient descent (see sgd.hpp for the update), as torch.optim.SGD.
/// Keeps an SGDParamState per parameter.
template <class T>
class SGD : public OptimizerWithState<T, SGDParamState<T>> {
public:
    /// Throws tapegrad::Error as Optimizer's constructor does, or when the
    /// options break the rule of SGDOptions::validate().
    SGD(std::vector<Tensor<T>> params, const SGDOptions& options);
    void step() override;
    /// The options in use; set_lr() (a scheduler) changes their lr.
    const SGDOptions& options() const { return options_; }
    double lr() const override { return options_.lr(); }
    void set_lr(double lr) override { options_.lr(lr); }
    /// options().momentum(), which OneCycleLR cycles as PyTorch does.
    std::optional<double> momentum() const override { return options_.momentum(); }
    /// Sets options().momentum(); throws tapegrad::Error unless it is in
    /// [0, 1) and, with Nesterov, > 0 (and then changes nothing).
    void set_momentum(double momentum) override;

private:
    SGDOptions options_;
};

extern template class SGD<float>;
extern template class SGD<double>;

}  // namespace tapegrad::optim
