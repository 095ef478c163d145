// Adam and AdamW with PyTorch's update (torch.optim.Adam, single-tensor path):
//
//   t += 1;  g = grad (+ weight_decay * p for Adam; AdamW instead p *= 1 - lr * weight_decay)
//   m = m + (1 - beta1) * (g - m);   v = beta2 * v + (1 - beta2) * g^2
//   v_hat = amsgrad ? max(v_hat, v) : v
//   p -= lr / (1 - beta1^t) * m / (sqrt(v_hat) / sqrt(1 - beta2^t) + eps)
#pragma once

#include <utility>

#include <tapegrad/autograd/options.hpp>
#include <tapegrad/optim/optimizer.hpp>

namespace tapegrad::optim {

using AdamBetas = std::pair<double, double>;  // (beta1, beta2)

// AdamOptions(1e-3).betas({0.9, 0.999}).eps(1e-8).weight_decay(0).amsgrad(false)
class AdamOptions {
public:
    static constexpr const char* options_name = "AdamOptions";
    explicit AdamOptions(double lr = 1e-3) { this->lr(lr); }
    TAPEGRAD_OPTION(double, lr, allowed::positive_finite(value), "finite and > 0");
    TAPEGRAD_OPTION(AdamBetas, betas,
                    allowed::zero_to_below_one(value.first) && allowed::zero_to_below_one(value.second),
                    "(beta1, beta2) with both in [0, 1)") = {0.9, 0.999};
    TAPEGRAD_OPTION(double, eps, allowed::non_negative_finite(value), "finite and >= 0") = 1e-8;
    TAPEGRAD_OPTION(double, weight_decay, allowed::non_negative_finite(value), "finite and >= 0") = 0;
    TAPEGRAD_OPTION_ANY(bool, amsgrad) = false;
};

// The same options with AdamW's default weight decay. Written out again, as
// in LibTorch, because each class's setters must return that class.
class AdamWOptions {
public:
    static constexpr const char* options_name = "AdamWOptions";
    explicit AdamWOptions(double lr = 1e-3) { this->lr(lr); }
    TAPEGRAD_OPTION(double, lr, allowed::positive_finite(value), "finite and > 0");
    TAPEGRAD_OPTION(AdamBetas, betas,
                    allowed::zero_to_below_one(value.first) && allowed::zero_to_below_one(value.second),
                    "(beta1, beta2) with both in [0, 1)") = {0.9, 0.999};
    TAPEGRAD_OPTION(double, eps, allowed::non_negative_finite(value), "finite and >= 0") = 1e-8;
    TAPEGRAD_OPTION(double, weight_decay, allowed::non_negative_finite(value), "finite and >= 0") = 1e-2;
    TAPEGRAD_OPTION_ANY(bool, amsgrad) = false;
};

// Adam and AdamW run the same update from their own options; only where the
// weight decay goes differs (into the gradient, or straight onto p).
template <class T, class Options>
class AdamUpdate : public Optimizer<T> {
public:
    AdamUpdate(std::vector<Tensor<T>> params, const Options& options)
        : Optimizer<T>(std::move(params)), options_(options) {}
    void step() override;
    const Options& options() const { return options_; }
    double lr() const override { return options_.lr(); }
    void set_lr(double lr) override { options_.lr(lr); }

protected:
    bool knows_buffer(const std::string& name) const override;

private:
    static constexpr bool decoupled_weight_decay = std::is_same_v<Options, AdamWOptions>;
    Options options_;
};

template <class T>
class Adam : public AdamUpdate<T, AdamOptions> {
public:
    explicit Adam(std::vector<Tensor<T>> params, const AdamOptions& options = AdamOptions())
        : AdamUpdate<T, AdamOptions>(std::move(params), options) {}
};

template <class T>
class AdamW : public AdamUpdate<T, AdamWOptions> {
public:
    explicit AdamW(std::vector<Tensor<T>> params, const AdamWOptions& options = AdamWOptions())
        : AdamUpdate<T, AdamWOptions>(std::move(params), options) {}
};

extern template class AdamUpdate<float, AdamOptions>;
extern template class AdamUpdate<double, AdamOptions>;
extern template class AdamUpdate<float, AdamWOptions>;
extern template class AdamUpdate<double, AdamWOptions>;

}  // namespace tapegrad::optim
