#include <tapegrad/nn/loss.hpp>

namespace tapegrad::nn {

template <class T>
Tensor<T> CrossEntropyLoss<T>::operator()(const Tensor<T>& logits, const Labels& labels) const {
    return cross_entropy(logits, labels, reduction_);
}

template <class T>
Tensor<T> CrossEntropyLoss<T>::operator()(const Tensor<T>& logits, const Tensor<T>& targets) const {
    return cross_entropy(logits, targets, reduction_);
}

template <class T>
Tensor<T> MSELoss<T>::operator()(const Tensor<T>& input, const Tensor<T>& target) const {
    return mse_loss(input, target, reduction_);
}

template class CrossEntropyLoss<float>;
template class CrossEntropyLoss<double>;
template class MSELoss<float>;
template class MSELoss<double>;

}  // namespace tapegrad::nn
