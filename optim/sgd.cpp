#include <tapegrad/optim/sgd.hpp>

#include <cmath>

#include <xtensor/xnoalias.hpp>

#include <tapegrad/autograd/tape.hpp>

namespace tapegrad::optim {

void SGDOptions::validate() const {
    if (nesterov_ && (momentum_ <= 0 || dampening_ != 0))
        throw Error(std::string(options_name) + ": nesterov needs momentum > 0 and dampening = 0, got momentum " +
                    detail::option_value_text(momentum_) + ", dampening " + detail::option_value_text(dampening_));
}

namespace {
const SGDOptions& validated(const SGDOptions& options) {
    options.validate();
    return options;
}

// The momentum step of sgd.hpp in one pass over the parameter, its buffer and
// its gradient, instead of one pass for the buffer and one for the
// parameter. Every element sees the same operations in the same order as the
// two xtensor expressions, which xsimd evaluates without fused multiply-adds;
// GCC would contract this loop's a * b + c into FMAs (its C++ default is
// -ffp-contract=fast, clang's is "on") and change the last bit of the
// trajectories, hence the attribute and the pragma.
template <class T>
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("fp-contract=off")))
#endif
void update_with_momentum(T* p, T* buf, const T* g, std::size_t n, T lr, T momentum, T keep, bool nesterov) {
#ifdef __clang__
#pragma clang fp contract(off)
#endif
    if (nesterov) {
        for (std::size_t i = 0; i < n; ++i) {
            buf[i] = momentum * buf[i] + keep * g[i];
            p[i] -= lr * (g[i] + momentum * buf[i]);
        }
    } else {
        for (std::size_t i = 0; i < n; ++i) {
            buf[i] = momentum * buf[i] + keep * g[i];
            p[i] -= lr * buf[i];
        }
    }
}
}  // namespace

template <class T>
SGD<T>::SGD(std::vector<Tensor<T>> params, const SGDOptions& options)
    : OptimizerWithState<T, SGDParamState<T>>(std::move(params)), options_(validated(options)) {}

template <class T>
void SGD<T>::set_momentum(double momentum) {
    SGDOptions changed = options_;
    validated(changed.momentum(momentum));
    options_ = changed;
}

template <class T>
void SGD<T>::step() {
    NoGradGuard no_grad;
    const T momentum = T(options_.momentum()), dampening = T(options_.dampening());
    const T weight_decay = T(options_.weight_decay()), lr = T(this->lr());
    for (std::size_t i = 0; i < this->params().size(); ++i) {
        Tensor<T> param = this->params()[i];
        const Tensor<T> grad = param.grad();
        if (!grad.defined()) continue;
        auto& p = param.data_mut();
        // No temporary arrays: the update used to copy every gradient and
        // build the momentum buffer and lr * g anew per step (~7% of a
        // training epoch). xt::noalias evaluates each expression straight
        // into its target; without it xtensor's a = e and a -= e evaluate e
        // into a temporary first, in case a aliases it (here only element
        // for element, which is safe). The expressions are the ones written
        // in sgd.hpp, and xtensor evaluates them as it did with temporaries,
        // so the rounding, and the trajectories, are the same bit for bit.
        // The .grad tensor may be shared, so it is only read; it is copied
        // only when weight decay must be added to it.
        Array<T> decayed;
        if (weight_decay != T(0)) decayed = grad.data() + weight_decay * p;
        const Array<T>& g = weight_decay != T(0) ? decayed : grad.data();
        if (momentum == T(0)) {
            xt::noalias(p) -= lr * g;
        } else {
            std::optional<xt::xarray<T>>& momentum_buffer = this->slot(i).momentum_buffer;
            const bool first_step = !momentum_buffer;
            if (first_step) momentum_buffer = g;
            xt::xarray<T>& buf = *momentum_buffer;
            if (!first_step && buf.size() == p.size() && g.size() == p.size()) {
                update_with_momentum(p.data(), buf.data(), g.data(), p.size(), lr, momentum, T(1) - dampening,
                                     options_.nesterov());
            } else {
                if (!first_step) xt::noalias(buf) = momentum * buf + (T(1) - dampening) * g;
                if (options_.nesterov())
                    xt::noalias(p) -= lr * (g + momentum * buf);
                else
                    xt::noalias(p) -= lr * buf;
            }
        }
        ++this->slot(i).step;
    }
}

template class SGD<float>;
template class SGD<double>;

}  // namespace tapegrad::optim
