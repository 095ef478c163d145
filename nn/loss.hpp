/// \file
/// Loss modules: thin, reusable wrappers that fix the reduction (and a loss's
/// settings), as torch.nn.CrossEntropyLoss, MSELoss, BCEWithLogitsLoss and
/// HuberLoss.
#pragma once

#include <utility>

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

/// Binary cross-entropy from logits (tapegrad::binary_cross_entropy_with_logits),
/// stable for any logit, so the network ends without a sigmoid.
template <class T>
class BCEWithLogitsLoss {
public:
    /// Reduction::Mean averages over every element, Reduction::Sum adds up.
    /// pos_weight, if given, weighs the positive term (one weight per class
    /// along the last axis); it must not require a gradient.
    explicit BCEWithLogitsLoss(Reduction reduction = Reduction::Mean, Tensor<T> pos_weight = Tensor<T>())
        : reduction_(reduction), pos_weight_(std::move(pos_weight)) {}
    /// A scalar tensor from logits and targets in [0, 1] of the same shape;
    /// throws tapegrad::Error, naming the op and the shapes, when the shapes
    /// differ, pos_weight does not broadcast to them, or Mean meets no elements.
    Tensor<T> operator()(const Tensor<T>& logits, const Tensor<T>& targets) const;

private:
    Reduction reduction_;
    Tensor<T> pos_weight_;
};

/// The Huber loss (tapegrad::huber_loss): squared error below delta, linear
/// above, as torch.nn.HuberLoss.
template <class T>
class HuberLoss {
public:
    /// Reduction::Mean averages over every element, Reduction::Sum adds up.
    /// delta must be finite and > 0, else tapegrad::Error.
    explicit HuberLoss(Reduction reduction = Reduction::Mean, T delta = 1);
    /// A scalar tensor; the shapes must match exactly, else tapegrad::Error.
    Tensor<T> operator()(const Tensor<T>& input, const Tensor<T>& target) const;

private:
    Reduction reduction_;
    T delta_;
};

extern template class CrossEntropyLoss<float>;
extern template class CrossEntropyLoss<double>;
extern template class MSELoss<float>;
extern template class MSELoss<double>;
extern template class BCEWithLogitsLoss<float>;
extern template class BCEWithLogitsLoss<double>;
extern template class HuberLoss<float>;
extern template class HuberLoss<double>;

}  // namespace tapegrad::nn
