/// \file
/// Adam and AdamW with PyTorch's update (torch.optim.Adam, single-tensor path):
///
/// \verbatim
///   t += 1;  g = grad (+ weight_decay * p for Adam; AdamW instead p *= 1 - lr * weight_decay)
///   m = m + (1 - beta1) * (g - m);   v = beta2 * v + (1 - beta2) * g^2
///   v_hat = amsgrad ? max(v_hat, v) : v
///   p -= lr / (1 - beta1^t) * m / (sqrt(v_hat) / sqrt(1 - beta2^t) + eps)
/// \endverbatim
#pragma once

#include <array>
#include <utility>

#include <tapegrad/autograd/options.hpp>
#include <tapegrad/optim/optimizer.hpp>

namespace tapegrad::optim {

/// Adam's (beta1, beta2): the decay rates of the moving averages of the
/// gradient and of its square.
using AdamBetas = std::pair<double, double>;  // (beta1, beta2)

/// AdamOptions(1e-3).betas({0.9, 0.999}).eps(1e-8).weight_decay(0).amsgrad(false)
///
/// Each option has a getter and a chainable setter of its name; a setter
/// throws tapegrad::Error on a value outside the option's range.
class AdamOptions {
public:
    /// The name error messages give this class.
    static constexpr const char* options_name = "AdamOptions";
    /// Throws tapegrad::Error unless lr is finite and >= 0.
    explicit AdamOptions(double lr = 1e-3) { this->lr(lr); }
    /// The learning rate (the step size before bias correction); default 1e-3.
    TAPEGRAD_OPTION(double, lr, allowed::non_negative_finite(value), "finite and >= 0");
    /// (beta1, beta2), the decay rates of the averages m and v; default (0.9, 0.999).
    TAPEGRAD_OPTION(AdamBetas, betas,
                    allowed::zero_to_below_one(value.first) && allowed::zero_to_below_one(value.second),
                    "(beta1, beta2) with both in [0, 1)") = {0.9, 0.999};
    /// Added to the denominator for numerical stability; default 1e-8.
    TAPEGRAD_OPTION(double, eps, allowed::non_negative_finite(value), "finite and >= 0") = 1e-8;
    /// The L2 penalty added to the gradient as weight_decay * p; default 0.
    TAPEGRAD_OPTION(double, weight_decay, allowed::non_negative_finite(value), "finite and >= 0") = 0;
    /// Divide by the largest v seen so far (AMSGrad) rather than by v; default false.
    TAPEGRAD_OPTION_ANY(bool, amsgrad) = false;
};

/// The same options with AdamW's default weight decay. Written out again, as
/// in LibTorch, because each class's setters must return that class.
class AdamWOptions {
public:
    /// The name error messages give this class.
    static constexpr const char* options_name = "AdamWOptions";
    /// Throws tapegrad::Error unless lr is finite and >= 0.
    explicit AdamWOptions(double lr = 1e-3) { this->lr(lr); }
    /// The learning rate (the step size before bias correction); default 1e-3.
    TAPEGRAD_OPTION(double, lr, allowed::non_negative_finite(value), "finite and >= 0");
    /// (beta1, beta2), the decay rates of the averages m and v; default (0.9, 0.999).
    TAPEGRAD_OPTION(AdamBetas, betas,
                    allowed::zero_to_below_one(value.first) && allowed::zero_to_below_one(value.second),
                    "(beta1, beta2) with both in [0, 1)") = {0.9, 0.999};
    /// Added to the denominator for numerical stability; default 1e-8.
    TAPEGRAD_OPTION(double, eps, allowed::non_negative_finite(value), "finite and >= 0") = 1e-8;
    /// Decoupled weight decay: each step first scales p by 1 - lr * weight_decay; default 1e-2.
    TAPEGRAD_OPTION(double, weight_decay, allowed::non_negative_finite(value), "finite and >= 0") = 1e-2;
    /// Divide by the largest v seen so far (AMSGrad) rather than by v; default false.
    TAPEGRAD_OPTION_ANY(bool, amsgrad) = false;
};

/// Adam's and AdamW's state of one parameter (param_state()). The buffers are
/// made, as zeros, on the parameter's first step, and saved under PyTorch's
/// names as "<index>.exp_avg" and so on.
template <class T>
struct AdamParamState {
    /// t of adam.hpp, the updates applied to the parameter so far; saved as "<index>.step".
    std::int64_t step = 0;
    std::optional<xt::xarray<T>> exp_avg;         ///< m of adam.hpp
    std::optional<xt::xarray<T>> exp_avg_sq;      ///< v of adam.hpp
    std::optional<xt::xarray<T>> max_exp_avg_sq;  ///< v_hat of adam.hpp, with amsgrad only
    /// The buffers by their saved names, for OptimizerWithState.
    static auto buffers() {
        return std::array{std::pair{"exp_avg", &AdamParamState::exp_avg},
                          std::pair{"exp_avg_sq", &AdamParamState::exp_avg_sq},
                          std::pair{"max_exp_avg_sq", &AdamParamState::max_exp_avg_sq}};
    }
};

/// Adam and AdamW run the same update from their own options; only where the
/// weight decay goes differs (into the gradient, or straight onto p).
/// Use it through Adam or AdamW. Keeps an AdamParamState per parameter.
template <class T, class Options>
class AdamUpdate : public OptimizerWithState<T, AdamParamState<T>> {
public:
    /// Throws tapegrad::Error as Optimizer's constructor does.
    AdamUpdate(std::vector<Tensor<T>> params, const Options& options)
        : OptimizerWithState<T, AdamParamState<T>>(std::move(params)), options_(options) {}
    /// Applies one update (see adam.hpp) to every parameter that has a
    /// gradient; the others are skipped and their state is left as it was.
    void step() override;
    /// The options in use; set_lr() (a scheduler) changes their lr.
    const Options& options() const { return options_; }
    /// The learning rate in use, options().lr().
    double lr() const override { return options_.lr(); }
    /// Sets options().lr(); throws tapegrad::Error unless lr is finite and >= 0.
    void set_lr(double lr) override { options_.lr(lr); }
    /// beta1, which OneCycleLR cycles as PyTorch does.
    std::optional<double> momentum() const override { return options_.betas().first; }
    /// Sets beta1; throws tapegrad::Error unless it is in [0, 1).
    void set_momentum(double beta1) override { options_.betas({beta1, options_.betas().second}); }

protected:
    /// "exp_avg", "exp_avg_sq", and "max_exp_avg_sq" with amsgrad only.
    bool knows_buffer(const std::string& name) const override {
        return (options_.amsgrad() || name != "max_exp_avg_sq") &&
               OptimizerWithState<T, AdamParamState<T>>::knows_buffer(name);
    }

private:
    static constexpr bool decoupled_weight_decay = std::is_same_v<Options, AdamWOptions>;
    Options options_;
};

/// Adam (Kingma and Ba), as torch.optim.Adam: weight decay is added to the
/// gradient. See adam.hpp for the update.
template <class T>
class Adam : public AdamUpdate<T, AdamOptions> {
public:
    /// Throws tapegrad::Error as Optimizer's constructor does.
    explicit Adam(std::vector<Tensor<T>> params, const AdamOptions& options = AdamOptions())
        : AdamUpdate<T, AdamOptions>(std::move(params), options) {}
};

/// AdamW (Loshchilov and Hutter), as torch.optim.AdamW: weight decay shrinks
/// the parameters directly, apart from the adaptive step.
template <class T>
class AdamW : public AdamUpdate<T, AdamWOptions> {
public:
    /// Throws tapegrad::Error as Optimizer's constructor does.
    explicit AdamW(std::vector<Tensor<T>> params, const AdamWOptions& options = AdamWOptions())
        : AdamUpdate<T, AdamWOptions>(std::move(params), options) {}
};

extern template class AdamUpdate<float, AdamOptions>;
extern template class AdamUpdate<double, AdamOptions>;
extern template class AdamUpdate<float, AdamWOptions>;
extern template class AdamUpdate<double, AdamWOptions>;

}  // namespace tapegrad::optim
