/// \file
/// Loss modules: thin, reusable wrappers that fix the reduction, as
/// torch.nn.CrossEntropyLoss and torch.nn.MSELoss.
#pragma once

#include <tapegrad/autograd/ops.hpp>

namespace tapegrad::nn {

/// Softmax cross-entropy from raw logits (tapegrad::cross_entropy), fused and
/// numerically stable, so the network ends without a softmax. Not a Module:
/// it has no parameters and takes two arguments.
template <class T>
class CrossEntropyLoss {
public:
    /// Reduction::Mean averages over the batch, Reduction::Sum adds up.
    explicit CrossEntropyLoss(Reduction reduction = Reduction::Mean) : reduction_(reduction) {}
    /// logits (batch, classes) with one class index per row.
    ///
    /// A scalar tensor. Throws tapegrad::Error, naming the op and shapes, when
    /// the logits are not 2-D, the batch is empty, the label count differs
    /// from the batch or a label is outside [0, classes).
    Tensor<T> operator()(const Tensor<T>& logits, const Labels& labels) const;
    /// logits with a target distribution of the same shape (one-hot or probabilities).
    ///
    /// A scalar tensor; throws tapegrad::Error when the logits are not 2-D,
    /// the shapes differ or the batch is empty.
    Tensor<T> operator()(const Tensor<T>& logits, const Tensor<T>& targets) const;

private:
    Reduction reduction_;
};

/// Squared error between a prediction and a target (tapegrad::mse_loss).
template <class T>
class MSELoss {
public:
    /// Reduction::Mean averages over every element, Reduction::Sum adds up.
    explicit MSELoss(Reduction reduction = Reduction::Mean) : reduction_(reduction) {}
    /// The mean (or sum) of (input - target)^2, a scalar tensor. The shapes
    /// must match exactly (no broadcasting); otherwise tapegrad::Error.
    Tensor<T> operator()(const Tensor<T>& input, const Tensor<T>& target) const;

private:
    Reduction reduction_;
};

extern template class CrossEntropyLoss<float>;
extern template class CrossEntropyLoss<double>;
extern template class MSELoss<float>;
extern template class MSELoss<double>;

}  // namespace tapegrad::nn
