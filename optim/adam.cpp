#include <tapegrad/optim/adam.hpp>

#include <cmath>

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

#include <tapegrad/autograd/tape.hpp>

namespace tapegrad::optim {

template <class Derived>
void AdamOptionsBase<Derived>::validate(const char* optimizer) const {
    const std::string where = std::string(optimizer) + ": ";
    if (!(lr_ > 0) || !std::isfinite(lr_)) throw Error(where + "lr must be finite and > 0, got " + std::to_string(lr_));
    if (!(beta1_ >= 0 && beta1_ < 1)) throw Error(where + "beta1 must be in [0, 1), got " + std::to_string(beta1_));
    if (!(beta2_ >= 0 && beta2_ < 1)) throw Error(where + "beta2 must be in [0, 1), got " + std::to_string(beta2_));
    if (!(eps_ >= 0) || !std::isfinite(eps_)) throw Error(where + "eps must be finite and >= 0, got " + std::to_string(eps_));
    if (!(weight_decay_ >= 0) || !std::isfinite(weight_decay_))
        throw Error(where + "weight_decay must be finite and >= 0, got " + std::to_string(weight_decay_));
}
template class AdamOptionsBase<AdamOptions>;
template class AdamOptionsBase<AdamWOptions>;

template <class T>
Adam<T>::Adam(std::vector<Tensor<T>> params, const AdamOptions& options)
    : Adam((options.validate("Adam"), std::move(params)), options.lr(), options.beta1(), options.beta2(),
           options.eps(), options.weight_decay(), options.amsgrad(), false) {}

template <class T>
Adam<T>::Adam(std::vector<Tensor<T>> params, double lr, double beta1, double beta2, double eps, double weight_decay,
              bool amsgrad, bool decoupled_weight_decay)
    : Optimizer<T>(std::move(params), lr),
      beta1_(beta1), beta2_(beta2), eps_(eps), weight_decay_(weight_decay),
      amsgrad_(amsgrad), decoupled_(decoupled_weight_decay) {}

template <class T>
bool Adam<T>::knows_buffer(const std::string& name) const {
    return name == "exp_avg" || name == "exp_avg_sq" || (amsgrad_ && name == "max_exp_avg_sq");
}

template <class T>
void Adam<T>::step() {
    NoGradGuard no_grad;
    const double lr = this->lr();
    for (std::size_t i = 0; i < this->params().size(); ++i) {
        Tensor<T> param = this->params()[i];
        const Tensor<T> grad = param.grad();
        if (!grad.defined()) continue;
        auto& slot = this->slot(i);
        auto& buffers = slot.buffers;
        const std::int64_t step = ++slot.steps;
        auto& p = param.data_mut();
        // The .grad tensor may be shared, so it is only read; it is copied
        // only when (coupled) weight decay must be added to it.
        Array<T> decayed;
        const bool coupled_decay = weight_decay_ != 0 && !decoupled_;
        if (weight_decay_ != 0) {
            if (decoupled_) {
                xt::noalias(p) *= T(1 - lr * weight_decay_);
            } else {
                decayed = grad.data() + T(weight_decay_) * p;
            }
        }
        const Array<T>& g = coupled_decay ? decayed : grad.data();
        for (const char* name : {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"})
            if (knows_buffer(name) && !buffers.count(name)) buffers[name] = xt::zeros_like(p);
        xt::xarray<T>& exp_avg = buffers["exp_avg"];
        xt::xarray<T>& exp_avg_sq = buffers["exp_avg_sq"];
        // xt::noalias: each update is evaluated straight into its buffer. Without
        // it, xtensor's computed assignments (a += e, a = e) evaluate `e` into
        // a temporary array first, in case `a` aliases it (here it only does
        // element for element, which is safe). The expressions, and so the
        // rounding, are the same as before.
        xt::noalias(exp_avg) += T(1 - beta1_) * (g - exp_avg);  // torch: exp_avg.lerp_(grad, 1 - beta1)
        xt::noalias(exp_avg_sq) = T(beta2_) * exp_avg_sq + T(1 - beta2_) * g * g;
        const double bias_correction1 = 1 - std::pow(beta1_, double(step));
        const double bias_correction2_sqrt = std::sqrt(1 - std::pow(beta2_, double(step)));
        const xt::xarray<T>* second_moment = &exp_avg_sq;
        if (amsgrad_) {
            xt::xarray<T>& max_exp_avg_sq = buffers["max_exp_avg_sq"];
            xt::noalias(max_exp_avg_sq) = xt::maximum(max_exp_avg_sq, exp_avg_sq);
            second_moment = &max_exp_avg_sq;
        }
        const T step_size = T(lr / bias_correction1);
        xt::noalias(p) -= step_size * exp_avg / (xt::sqrt(*second_moment) / T(bias_correction2_sqrt) + T(eps_));
    }
}

template <class T>
AdamW<T>::AdamW(std::vector<Tensor<T>> params, const AdamWOptions& options)
    : Adam<T>((options.validate("AdamW"), std::move(params)), options.lr(), options.beta1(), options.beta2(),
              options.eps(), options.weight_decay(), options.amsgrad(), true) {}

template class Adam<float>;
template class Adam<double>;
template class AdamW<float>;
template class AdamW<double>;

}  // namespace tapegrad::optim
