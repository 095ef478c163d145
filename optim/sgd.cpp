#include "optim/sgd.hpp"

#include <cmath>

#include "autograd/tape.hpp"

namespace tapegrad::optim {

void SGDOptions::validate() const {
    const std::string where = "SGD: ";
    if (!(lr_ > 0) || !std::isfinite(lr_)) throw Error(where + "lr must be finite and > 0, got " + std::to_string(lr_));
    if (!(momentum_ >= 0 && momentum_ < 1)) throw Error(where + "momentum must be in [0, 1), got " + std::to_string(momentum_));
    if (!(dampening_ >= 0 && dampening_ <= 1))
        throw Error(where + "dampening must be in [0, 1], got " + std::to_string(dampening_));
    if (!(weight_decay_ >= 0) || !std::isfinite(weight_decay_))
        throw Error(where + "weight_decay must be finite and >= 0, got " + std::to_string(weight_decay_));
    if (nesterov_ && (momentum_ <= 0 || dampening_ != 0))
        throw Error(where + "nesterov needs momentum > 0 and dampening = 0");
}

namespace {
const SGDOptions& validated(const SGDOptions& options) {
    options.validate();
    return options;
}
}  // namespace

template <class T>
SGD<T>::SGD(std::vector<Tensor<T>> params, const SGDOptions& options)
    : Optimizer<T>(std::move(params), validated(options).lr()), options_(options) {}

template <class T>
void SGD<T>::step() {
    NoGradGuard no_grad;
    const T momentum = T(options_.momentum()), dampening = T(options_.dampening());
    const T weight_decay = T(options_.weight_decay()), lr = T(this->lr());
    const bool nesterov = options_.nesterov();
    for (std::size_t i = 0; i < this->params().size(); ++i) {
        Tensor<T> param = this->params()[i];
        const Tensor<T> grad = param.grad();
        if (!grad.defined()) continue;
        // One pass over raw pointers per parameter, no temporary arrays: the
        // update used to allocate a copy of every gradient and a new momentum
        // buffer per step (~7% of a training epoch). The .grad tensor may be
        // shared, so it is only read. Each element goes through the same
        // float operations, in the same order, as the formulas in sgd.hpp
        // (and PyTorch), so trajectories are unchanged.
        xt::xarray<T>& p_array = param.data_mut();
        T* p = p_array.data();
        const T* gr = grad.data().data();
        const std::size_t n = p_array.size();
        auto decayed = [&](std::size_t j) { return weight_decay != T(0) ? gr[j] + weight_decay * p[j] : gr[j]; };
        if (momentum == T(0)) {
            for (std::size_t j = 0; j < n; ++j) p[j] -= lr * decayed(j);
        } else {
            auto& buffers = this->slot(i).buffers;
            auto found = buffers.find("momentum_buffer");
            const bool first = found == buffers.end();
            if (first) found = buffers.emplace("momentum_buffer", xt::xarray<T>::from_shape(p_array.shape())).first;
            T* buf = found->second.data();
            const T keep = T(1) - dampening;
            for (std::size_t j = 0; j < n; ++j) {
                const T g = decayed(j);
                buf[j] = first ? g : momentum * buf[j] + keep * g;
                p[j] -= lr * (nesterov ? g + momentum * buf[j] : buf[j]);
            }
        }
        ++this->slot(i).steps;
    }
}

template class SGD<float>;
template class SGD<double>;

}  // namespace tapegrad::optim
