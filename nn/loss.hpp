// Loss modules: thin, reusable wrappers that fix the reduction, as
// torch.nn.CrossEntropyLoss and torch.nn.MSELoss.
#pragma once

#include <tapegrad/autograd/ops.hpp>

namespace tapegrad::nn {

template <class T>
class CrossEntropyLoss {
public:
    explicit CrossEntropyLoss(Reduction reduction = Reduction::Mean) : reduction_(reduction) {}
    // logits (batch, classes) with one class index per row.
    Tensor<T> operator()(const Tensor<T>& logits, const Labels& labels) const;
    // logits with a target distribution of the same shape (one-hot or probabilities).
    Tensor<T> operator()(const Tensor<T>& logits, const Tensor<T>& targets) const;

private:
    Reduction reduction_;
};

template <class T>
class MSELoss {
public:
    explicit MSELoss(Reduction reduction = Reduction::Mean) : reduction_(reduction) {}
    Tensor<T> operator()(const Tensor<T>& input, const Tensor<T>& target) const;

private:
    Reduction reduction_;
};

extern template class CrossEntropyLoss<float>;
extern template class CrossEntropyLoss<double>;
extern template class MSELoss<float>;
extern template class MSELoss<double>;

}  // namespace tapegrad::nn
