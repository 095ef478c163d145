// Adam and AdamW with PyTorch's update (torch.optim.Adam, single-tensor path):
//
//   t += 1;  g = grad (+ weight_decay * p for Adam; AdamW instead p *= 1 - lr * weight_decay)
//   m = m + (1 - beta1) * (g - m);   v = beta2 * v + (1 - beta2) * g^2
//   v_hat = amsgrad ? max(v_hat, v) : v
//   p -= lr / (1 - beta1^t) * m / (sqrt(v_hat) / sqrt(1 - beta2^t) + eps)
#pragma once

#include <tapegrad/optim/optimizer.hpp>

namespace tapegrad::optim {

// Shared option setters; Derived fixes the defaults (AdamW decays by 1e-2).
template <class Derived>
class AdamOptionsBase {
public:
    Derived& lr(double v) { lr_ = v; return self(); }
    Derived& betas(double beta1, double beta2) { beta1_ = beta1; beta2_ = beta2; return self(); }
    Derived& eps(double v) { eps_ = v; return self(); }
    Derived& weight_decay(double v) { weight_decay_ = v; return self(); }
    Derived& amsgrad(bool v) { amsgrad_ = v; return self(); }
    double lr() const { return lr_; }
    double beta1() const { return beta1_; }
    double beta2() const { return beta2_; }
    double eps() const { return eps_; }
    double weight_decay() const { return weight_decay_; }
    bool amsgrad() const { return amsgrad_; }

    // Throws tapegrad::Error explaining the first invalid option.
    void validate(const char* optimizer) const;

protected:
    AdamOptionsBase(double lr, double weight_decay) : lr_(lr), weight_decay_(weight_decay) {}

private:
    Derived& self() { return static_cast<Derived&>(*this); }
    double lr_;
    double beta1_ = 0.9, beta2_ = 0.999;
    double eps_ = 1e-8;
    double weight_decay_;
    bool amsgrad_ = false;
};

struct AdamOptions : AdamOptionsBase<AdamOptions> {
    explicit AdamOptions(double lr = 1e-3) : AdamOptionsBase(lr, 0) {}
};
struct AdamWOptions : AdamOptionsBase<AdamWOptions> {
    explicit AdamWOptions(double lr = 1e-3) : AdamOptionsBase(lr, 1e-2) {}
};

template <class T>
class Adam : public Optimizer<T> {
public:
    Adam(std::vector<Tensor<T>> params, const AdamOptions& options = AdamOptions());
    void step() override;

protected:
    // The one difference between Adam and AdamW: where weight decay goes.
    Adam(std::vector<Tensor<T>> params, double lr, double beta1, double beta2, double eps, double weight_decay,
         bool amsgrad, bool decoupled_weight_decay);
    bool knows_buffer(const std::string& name) const override;

private:
    double beta1_, beta2_, eps_, weight_decay_;
    bool amsgrad_, decoupled_;
};

template <class T>
class AdamW : public Adam<T> {
public:
    AdamW(std::vector<Tensor<T>> params, const AdamWOptions& options = AdamWOptions());
};

extern template class Adam<float>;
extern template class Adam<double>;
extern template class AdamW<float>;
extern template class AdamW<double>;

}  // namespace tapegrad::optim
