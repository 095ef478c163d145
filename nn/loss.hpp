/// \file
/// Loss modules: thin, reusable wrappers that fix the reduction (and a loss's
/// settings), as torch.nn.NLLLoss, CrossEntropyLoss, MSELoss,
/// BCEWithLogitsLoss and HuberLoss.
#pragma once

#include <utility>

#include <tapegrad/autograd/ops.hpp>

namespace tapegrad::nn {

/// Negative log-likelihood of log-probabilities (tapegrad::nll_loss), as
/// torch.nn.NLLLoss. Not a Module: it has no parameters and takes two arguments.
template <class T>
class NLLLoss {
public:
    /// The reduction and ignore_index (a Reduction alone converts).
    explicit NLLLoss(const NLLLossOptions& options = NLLLossOptions()) : options_(options) {}
    /// log_probs (N, C) with one class per row; throws tapegrad::Error, naming
    /// the op and the shapes, when the shapes do not fit or a target is
    /// outside [0, C) and not ignored.
    Tensor<T> operator()(const Tensor<T>& log_probs, const Labels& labels) const;
    /// log_probs (..., C) with targets of shape (...).
    Tensor<T> operator()(const Tensor<T>& log_probs, const Indices& targets) const;
    /// The options it was made with.
    const NLLLossOptions& options() const noexcept { return options_; }

private:
    NLLLossOptions options_;
};

/// Softmax cross-entropy from raw logits (tapegrad::cross_entropy), fused and
/// numerically stable, so the network ends without a softmax; as
/// torch.nn.CrossEntropyLoss. Not a Module: it has no parameters and takes
/// two arguments.
template <class T>
class CrossEntropyLoss {
public:
    /// The reduction, ignore_index and label_smoothing (a Reduction alone
    /// converts: CrossEntropyLoss<float>(Reduction::Sum)).
    explicit CrossEntropyLoss(const CrossEntropyOptions& options = CrossEntropyOptions()) : options_(options) {}
    /// logits (N, C) with one class index per row.
    ///
    /// Throws tapegrad::Error, naming the op and shapes, when the label count
    /// differs from the rows or a label is outside [0, C) and not ignored.
    Tensor<T> operator()(const Tensor<T>& logits, const Labels& labels) const;
    /// logits (..., C) with class targets of shape (...), e.g. (B, T, C)
    /// against (B, T) tokens.
    Tensor<T> operator()(const Tensor<T>& logits, const Indices& targets) const;
    /// logits with a target distribution of the same shape (one-hot or probabilities).
    ///
    /// Throws tapegrad::Error when the shapes differ.
    Tensor<T> operator()(const Tensor<T>& logits, const Tensor<T>& targets) const;
    /// The options it was made with.
    const CrossEntropyOptions& options() const noexcept { return options_; }

private:
    CrossEntropyOptions options_;
};

/// Squared error between a prediction and a target (tapegrad::mse_loss).
template <class T>
class MSELoss {
public:
    /// Reduction::Mean averages over every element, Reduction::Sum adds up,
    /// Reduction::None gives each element's loss.
    explicit MSELoss(Reduction reduction = Reduction::Mean) : reduction_(reduction) {}
    /// (input - target)^2, reduced. The shapes must match exactly (no
    /// broadcasting); otherwise tapegrad::Error.
    Tensor<T> operator()(const Tensor<T>& input, const Tensor<T>& target) const;

private:
    Reduction reduction_;
};

/// Binary cross-entropy from logits (tapegrad::binary_cross_entropy_with_logits),
/// stable for any logit, so the network ends without a sigmoid.
template <class T>
class BCEWithLogitsLoss {
public:
    /// Reduction::Mean averages over every element, Reduction::Sum adds up,
    /// Reduction::None gives each element's loss. pos_weight, if given, weighs the positive term (one weight per class
    /// along the last axis); it must not require a gradient.
    explicit BCEWithLogitsLoss(Reduction reduction = Reduction::Mean, Tensor<T> pos_weight = Tensor<T>())
        : reduction_(reduction), pos_weight_(std::move(pos_weight)) {}
    /// The loss of logits and targets in [0, 1] of the same shape, reduced;
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
    /// Reduction::Mean averages over every element, Reduction::Sum adds up,
    /// Reduction::None gives each element's loss. delta must be finite and > 0, else tapegrad::Error.
    explicit HuberLoss(Reduction reduction = Reduction::Mean, T delta = 1);
    /// The loss, reduced; the shapes must match exactly, else tapegrad::Error.
    Tensor<T> operator()(const Tensor<T>& input, const Tensor<T>& target) const;

private:
    Reduction reduction_;
    T delta_;
};

extern template class NLLLoss<float>;
extern template class NLLLoss<double>;
extern template class CrossEntropyLoss<float>;
extern template class CrossEntropyLoss<double>;
extern template class MSELoss<float>;
extern template class MSELoss<double>;
extern template class BCEWithLogitsLoss<float>;
extern template class BCEWithLogitsLoss<double>;
extern template class HuberLoss<float>;
extern template class HuberLoss<double>;

}  // namespace tapegrad::nn
