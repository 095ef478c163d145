#include <tapegrad/nn/loss.hpp>

#include <cmath>

#include <tapegrad/autograd/options.hpp>

namespace tapegrad::nn {

template <class T>
Tensor<T> NLLLoss<T>::operator()(const Tensor<T>& log_probs, const Labels& labels) const {
    return nll_loss(log_probs, labels, options_);
}

template <class T>
Tensor<T> NLLLoss<T>::operator()(const Tensor<T>& log_probs, const Indices& targets) const {
    return nll_loss(log_probs, targets, options_);
}

template <class T>
Tensor<T> CrossEntropyLoss<T>::operator()(const Tensor<T>& logits, const Labels& labels) const {
    return cross_entropy(logits, labels, options_);
}

template <class T>
Tensor<T> CrossEntropyLoss<T>::operator()(const Tensor<T>& logits, const Indices& targets) const {
    return cross_entropy(logits, targets, options_);
}

template <class T>
Tensor<T> CrossEntropyLoss<T>::operator()(const Tensor<T>& logits, const Tensor<T>& targets) const {
    return cross_entropy(logits, targets, options_);
}

template <class T>
Tensor<T> MSELoss<T>::operator()(const Tensor<T>& input, const Tensor<T>& target) const {
    return mse_loss(input, target, reduction_);
}

template <class T>
Tensor<T> BCEWithLogitsLoss<T>::operator()(const Tensor<T>& logits, const Tensor<T>& targets) const {
    return binary_cross_entropy_with_logits(logits, targets, reduction_, pos_weight_);
}

template <class T>
HuberLoss<T>::HuberLoss(Reduction reduction, T delta) : reduction_(reduction), delta_(delta) {
    if (!(std::isfinite(delta) && delta > 0))
        throw Error("HuberLoss: delta must be finite and > 0, got " + detail::option_value_text(double(delta)));
}

template <class T>
Tensor<T> HuberLoss<T>::operator()(const Tensor<T>& input, const Tensor<T>& target) const {
    return huber_loss(input, target, reduction_, delta_);
}

template class NLLLoss<float>;
template class NLLLoss<double>;
template class CrossEntropyLoss<float>;
template class CrossEntropyLoss<double>;
template class MSELoss<float>;
template class MSELoss<double>;
template class BCEWithLogitsLoss<float>;
template class BCEWithLogitsLoss<double>;
template class HuberLoss<float>;
template class HuberLoss<double>;

}  // namespace tapegrad::nn
