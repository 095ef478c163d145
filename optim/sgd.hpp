// Stochastic gradient descent with PyTorch's momentum, dampening, Nesterov
// and (L2, coupled) weight decay:
//
//   g = grad + weight_decay * p
//   buf = g                                  on a parameter's first step
//   buf = momentum * buf + (1 - dampening) * g   afterwards
//   g = nesterov ? g + momentum * buf : buf    (when momentum > 0)
//   p -= lr * g
#pragma once

#include <tapegrad/autograd/options.hpp>
#include <tapegrad/optim/optimizer.hpp>

namespace tapegrad::optim {

// SGDOptions(0.1).momentum(0.9).nesterov(true); autograd/options.hpp says how options work.
class SGDOptions {
public:
    static constexpr const char* options_name = "SGDOptions";
    explicit SGDOptions(double lr) { this->lr(lr); }

    TAPEGRAD_OPTION(double, lr, allowed::positive_finite(value), "finite and > 0");
    TAPEGRAD_OPTION(double, momentum, allowed::zero_to_below_one(value), "in [0, 1)") = 0;
    TAPEGRAD_OPTION(double, dampening, value >= 0 && value <= 1, "in [0, 1]") = 0;
    TAPEGRAD_OPTION_ANY(bool, nesterov) = false;
    TAPEGRAD_OPTION(double, weight_decay, allowed::non_negative_finite(value), "finite and >= 0") = 0;

public:
    // The rule that ties options together, checked by SGD once all are set:
    // Nesterov needs momentum > 0 and dampening 0. Throws tapegrad::Error.
    void validate() const;
};

template <class T>
class SGD : public Optimizer<T> {
public:
    SGD(std::vector<Tensor<T>> params, const SGDOptions& options);
    void step() override;
    const SGDOptions& options() const { return options_; }
    double lr() const override { return options_.lr(); }
    void set_lr(double lr) override { options_.lr(lr); }

protected:
    bool knows_buffer(const std::string& name) const override { return name == "momentum_buffer"; }

private:
    SGDOptions options_;
};

extern template class SGD<float>;
extern template class SGD<double>;

}  // namespace tapegrad::optim
