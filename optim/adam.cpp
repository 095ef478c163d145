#include <tapegrad/optim/adam.hpp>

#include <cmath>

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

#include <tapegrad/autograd/tape.hpp>

namespace tapegrad::optim {

template <class T, class Options>
void AdamUpdate<T, Options>::step() {
    NoGradGuard no_grad;
    const double lr = options_.lr(), weight_decay = options_.weight_decay(), eps = options_.eps();
    const auto [beta1, beta2] = options_.betas();
    const bool amsgrad = options_.amsgrad(), decoupled = decoupled_weight_decay;
    // The gradient and the moments have their parameter's size (set_grad and
    // load_state check the shapes) unless the parameter was given values of
    // another shape since; xtensor would then throw halfway through the
    // parameters, so check them all before anything changes.
    for (std::size_t i = 0; i < this->params().size(); ++i) {
        const Tensor<T>& param = this->params()[i];
        const Tensor<T> grad = param.grad();
        auto wrong_size = [&](const std::string& what, std::size_t size) {
            return Error("Adam: parameter " + std::to_string(i) + " has shape " + shape_str(param.shape()) + ", its " +
                         what + " has " + std::to_string(size) + " elements");
        };
        if (grad.defined() && grad.size() != param.size()) throw wrong_size("gradient", grad.size());
        for (const auto& [name, buffer] : AdamParamState<T>::buffers()) {
            const std::optional<xt::xarray<T>>& b = this->slot(i).*buffer;
            if (b && b->size() != param.size()) throw wrong_size(name, b->size());
        }
    }
    for (std::size_t i = 0; i < this->params().size(); ++i) {
        Tensor<T> param = this->params()[i];
        const Tensor<T> grad = param.grad();
        if (!grad.defined()) continue;
        AdamParamState<T>& state = this->slot(i);
        const std::int64_t step = ++state.step;
        auto& p = param.data_mut();
        // The .grad tensor may be shared, so it is only read; it is copied
        // only when (coupled) weight decay must be added to it.
        Array<T> decayed;
        const bool coupled_decay = weight_decay != 0 && !decoupled;
        if (weight_decay != 0) {
            if (decoupled) {
                xt::noalias(p) *= T(1 - lr * weight_decay);
            } else {
                decayed = grad.data() + T(weight_decay) * p;
            }
        }
        const Array<T>& g = coupled_decay ? decayed : grad.data();
        if (!state.exp_avg) state.exp_avg = xt::zeros_like(p);
        if (!state.exp_avg_sq) state.exp_avg_sq = xt::zeros_like(p);
        if (amsgrad && !state.max_exp_avg_sq) state.max_exp_avg_sq = xt::zeros_like(p);
        xt::xarray<T>& exp_avg = *state.exp_avg;
        xt::xarray<T>& exp_avg_sq = *state.exp_avg_sq;
        // xt::noalias: each update is evaluated straight into its buffer. Without
        // it, xtensor's computed assignments (a += e, a = e) evaluate `e` into
        // a temporary array first, in case `a` aliases it (here it only does
        // element for element, which is safe). The expressions, and so the
        // rounding, are the same as before.
        xt::noalias(exp_avg) += T(1 - beta1) * (g - exp_avg);  // torch: exp_avg.lerp_(grad, 1 - beta1)
        xt::noalias(exp_avg_sq) = T(beta2) * exp_avg_sq + T(1 - beta2) * g * g;
        const double bias_correction1 = 1 - std::pow(beta1, double(step));
        const double bias_correction2_sqrt = std::sqrt(1 - std::pow(beta2, double(step)));
        const xt::xarray<T>* second_moment = &exp_avg_sq;
        if (amsgrad) {
            xt::xarray<T>& max_exp_avg_sq = *state.max_exp_avg_sq;
            xt::noalias(max_exp_avg_sq) = xt::maximum(max_exp_avg_sq, exp_avg_sq);
            second_moment = &max_exp_avg_sq;
        }
        const T step_size = T(lr / bias_correction1);
        xt::noalias(p) -= step_size * exp_avg / (xt::sqrt(*second_moment) / T(bias_correction2_sqrt) + T(eps));
    }
}

template class AdamUpdate<float, AdamOptions>;
template class AdamUpdate<double, AdamOptions>;
template class AdamUpdate<float, AdamWOptions>;
template class AdamUpdate<double, AdamWOptions>;

}  // namespace tapegrad::optim
