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
    for (std::size_t i = 0; i < this->params().size(); ++i) {
        Tensor<T> param = this->params()[i];
        const Tensor<T> grad = param.grad();
        if (!grad.defined()) continue;
        // A fresh array: the .grad tensor may be shared, so it is never written.
        xt::xarray<T> g = weight_decay != T(0) ? xt::xarray<T>(grad.data() + weight_decay * param.data()) : grad.data();
        if (momentum != T(0)) {
            auto& buffers = this->slot(i).buffers;
            auto found = buffers.find("momentum_buffer");
            if (found == buffers.end()) {
                found = buffers.emplace("momentum_buffer", g).first;
            } else {
                xt::xarray<T>& buf = found->second;
                buf = momentum * buf + (T(1) - dampening) * g;
            }
            if (options_.nesterov())
                g += momentum * found->second;
            else
                g = found->second;
        }
        param.data_mut() -= lr * g;
        ++this->slot(i).steps;
    }
}

template class SGD<float>;
template class SGD<double>;

}  // namespace tapegrad::optim
