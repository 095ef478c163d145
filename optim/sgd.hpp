// Stochastic gradient descent with PyTorch's momentum, dampening, Nesterov
// and (L2, coupled) weight decay:
//
//   g = grad + weight_decay * p
//   buf = g                                  on a parameter's first step
//   buf = momentum * buf + (1 - dampening) * g   afterwards
//   g = nesterov ? g + momentum * buf : buf    (when momentum > 0)
//   p -= lr * g
#pragma once

#include <tapegrad/optim/optimizer.hpp>

namespace tapegrad::optim {

// LibTorch-style options: SGDOptions(0.1).momentum(0.9).nesterov(true).
class SGDOptions {
public:
    explicit SGDOptions(double lr) : lr_(lr) {}
    SGDOptions& lr(double v) { lr_ = v; return *this; }
    SGDOptions& momentum(double v) { momentum_ = v; return *this; }
    SGDOptions& dampening(double v) { dampening_ = v; return *this; }
    SGDOptions& nesterov(bool v) { nesterov_ = v; return *this; }
    SGDOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
    double lr() const { return lr_; }
    double momentum() const { return momentum_; }
    double dampening() const { return dampening_; }
    bool nesterov() const { return nesterov_; }
    double weight_decay() const { return weight_decay_; }

    // Throws tapegrad::Error explaining the first invalid option.
    void validate() const;

private:
    double lr_;
    double momentum_ = 0;
    double dampening_ = 0;
    bool nesterov_ = false;
    double weight_decay_ = 0;
};

template <class T>
class SGD : public Optimizer<T> {
public:
    SGD(std::vector<Tensor<T>> params, const SGDOptions& options);
    void step() override;
    const SGDOptions& options() const { return options_; }

protected:
    bool knows_buffer(const std::string& name) const override { return name == "momentum_buffer"; }

private:
    SGDOptions options_;
};

extern template class SGD<float>;
extern template class SGD<double>;

}  // namespace tapegrad::optim
