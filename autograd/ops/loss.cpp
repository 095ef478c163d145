// Losses. nll_loss and cross_entropy over class targets have nodes of their
// own: one pass over the rows for ignore_index, label smoothing and every
// reduction, and cross_entropy's gradient the one fused formula
// (softmax - smoothed one-hot) * scale. Cross-entropy against a target
// distribution is composed from log_softmax, and the Huber loss a where() of
// its two pieces. Binary cross-entropy has a node of its own: its stable form
// is built of max and |x|, whose kinks at 0 would give a composition the wrong
// gradient at x = 0.
#include <cmath>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xmath.hpp>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/options.hpp>

namespace tapegrad {

namespace {
// One class target per row of an input (..., C) seen as (rows, C), checked:
// targets of the input's shape without its last axis, each in [0, C) or
// ignore_index. scale(i) is what row i's loss is multiplied by in the result:
// 0 when ignored, 1 / (targets not ignored) for Mean, else 1.
struct ClassTargets {
    std::vector<std::int64_t> data;  // a copy: the backward keeps it
    Shape shape;
    std::size_t rows, classes, counted = 0;
    std::int64_t ignore_index;
    Reduction reduction;

    ClassTargets(const char* op, const Shape& input, const Indices& targets, std::int64_t ignore, Reduction r)
        : data(targets.begin(), targets.end()), shape(targets.shape().begin(), targets.shape().end()),
          ignore_index(ignore), reduction(r) {
        const Shape expected = input.empty() ? Shape{} : Shape(input.begin(), input.end() - 1);
        if (input.empty() || shape != expected)
            throw Error(std::string(op) + ": targets of shape " + shape_str(shape) + " for input of shape " +
                        shape_str(input) + " (expects the input as (..., classes) and targets of shape (...))");
        classes = input.back();
        rows = 1;
        for (std::size_t extent : expected) rows *= extent;
        for (std::size_t i = 0; i < rows; ++i) {
            if (ignored(i)) continue;
            if (data[i] < 0 || std::size_t(data[i]) >= classes)
                throw Error(std::string(op) + ": target " + std::to_string(data[i]) + " at index " +
                            std::to_string(i) + " is outside [0, " + std::to_string(classes) + ")");
            ++counted;
        }
    }
    bool ignored(std::size_t i) const { return data[i] == ignore_index; }
    template <class T>
    T scale(std::size_t i) const {
        if (ignored(i)) return T(0);
        return reduction == Reduction::Mean ? T(1) / T(counted) : T(1);
    }
    // The label-smoothed one-hot of row i at class c: (1 - eps) at the target,
    // plus eps / C everywhere (0 in an ignored row, whose scale is 0 anyway).
    template <class T>
    T smoothed_one_hot(std::size_t i, std::size_t c, T eps) const {
        if (ignored(i)) return T(0);
        return (std::size_t(data[i]) == c ? T(1) - eps : T(0)) + eps / T(classes);
    }
    // The per-row losses as the result: themselves for None (the targets'
    // shape), else their sum, divided for Mean (0 / 0 = NaN when none counts,
    // as PyTorch).
    template <class T>
    Array<T> result(Array<T> losses) const {
        if (reduction == Reduction::None) return losses;
        Array<T> out = Array<T>::from_shape({});
        out() = xt::sum(losses)();
        if (reduction == Reduction::Mean) out() /= T(counted);
        return out;
    }
    // The targets' shape with an axis of 1 added, (..., 1): one value per
    // row that broadcasts along the classes.
    Shape column() const {
        Shape column = shape;
        column.push_back(1);
        return column;
    }
    // grad_output as a factor of each row: g itself for a scalar result,
    // g reshaped to (..., 1) for None.
    template <class T>
    Tensor<T> per_row(const Tensor<T>& g) const {
        return reduction == Reduction::None ? reshape(g, column()) : g;
    }
};

template <class T>
Tensor<T> nll_loss_of(const Tensor<T>& log_probs, const ClassTargets& targets) {
    const std::size_t classes = targets.classes;
    // The gradient is -scale_i at each (i, target_i): keep it as a constant tensor.
    Array<T> pick = xt::zeros<T>(log_probs.shape());
    Array<T> losses = xt::zeros<T>(targets.shape);
    for (std::size_t i = 0; i < targets.rows; ++i) {
        if (targets.ignored(i)) continue;
        const std::size_t at = i * classes + std::size_t(targets.data[i]);
        losses.data()[i] = -log_probs.data().data()[at];
        pick.data()[at] = -targets.scale<T>(i);
    }
    return record<T>("nll_loss", targets.result(std::move(losses)), {log_probs},
                     [pick = Tensor<T>(std::move(pick)), targets](const Inputs<T>&, const Tensor<T>&, const Tensor<T>& g) {
                         return Gradients<T>{mul(pick, targets.per_row(g))};
                     });
}

template <class T>
Tensor<T> cross_entropy_of(const Tensor<T>& logits, const ClassTargets& targets, double label_smoothing) {
    const std::size_t classes = targets.classes;
    const T eps = T(label_smoothing), spread = eps / T(classes);
    Array<T> lsm = [&] {
        NoGradGuard values_only;
        return log_softmax(logits, -1).data();
    }();
    Array<T> losses = xt::zeros<T>(targets.shape);
    for (std::size_t i = 0; i < targets.rows; ++i) {
        if (targets.ignored(i)) continue;
        const T* row = lsm.data() + i * classes;
        // Without smoothing the other classes do not enter at all, so a -inf
        // logit elsewhere leaves the loss finite, as in PyTorch.
        T smooth = 0;
        if (eps > 0)
            for (std::size_t c = 0; c < classes; ++c) smooth -= row[c];
        losses.data()[i] = (T(1) - eps) * -row[targets.data[i]] + spread * smooth;
    }
    // d loss / d logits = (softmax - q) * scale_i * g_i, row by row.
    return record<T>("cross_entropy", targets.result(std::move(losses)), {logits},
                     [lsm = std::move(lsm), targets, eps](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
        const std::size_t classes = targets.classes;
        const bool scalar = targets.reduction != Reduction::None;
        if (grad_enabled()) {  // recorded (create_graph): the same formula in ops
            Array<T> q_all = Array<T>::from_shape(in[0].shape());
            Array<T> scales = Array<T>::from_shape(targets.column());
            for (std::size_t i = 0; i < targets.rows; ++i) {
                for (std::size_t c = 0; c < classes; ++c) q_all.data()[i * classes + c] = targets.smoothed_one_hot(i, c, eps);
                scales.data()[i] = targets.scale<T>(i);
            }
            return Gradients<T>{mul(sub(softmax(in[0], -1), Tensor<T>(std::move(q_all))),
                                    mul(Tensor<T>(std::move(scales)), targets.per_row(g)))};
        }
        Array<T> grad = Array<T>::from_shape(in[0].shape());
        for (std::size_t i = 0; i < targets.rows; ++i) {
            const T k = targets.scale<T>(i) * g.data().data()[scalar ? 0 : i];
            for (std::size_t c = 0, at = i * classes; c < classes; ++c, ++at)
                grad.data()[at] = (std::exp(lsm.data()[at]) - targets.smoothed_one_hot(i, c, eps)) * k;
        }
        return Gradients<T>{Tensor<T>(std::move(grad))};
    });
}

// Labels as the Indices of shape (N) they are.
Indices as_indices(const Labels& labels) { return xt::adapt(labels, Shape{labels.size()}); }
}  // namespace

template <class T>
Tensor<T> nll_loss(const Tensor<T>& log_probs, const Labels& labels, const NLLLossOptions& options) {
    return nll_loss(log_probs, as_indices(labels), options);
}

template <class T>
Tensor<T> nll_loss(const Tensor<T>& log_probs, const Indices& targets, const NLLLossOptions& options) {
    return nll_loss_of(log_probs, ClassTargets("nll_loss", log_probs.shape(), targets, options.ignore_index(),
                                               options.reduction()));
}

template <class T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const Labels& labels, const CrossEntropyOptions& options) {
    return cross_entropy(logits, as_indices(labels), options);
}

template <class T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const Indices& targets, const CrossEntropyOptions& options) {
    const ClassTargets checked("cross_entropy", logits.shape(), targets, options.ignore_index(), options.reduction());
    return cross_entropy_of(logits, checked, options.label_smoothing());
}

template <class T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const Tensor<T>& targets, const CrossEntropyOptions& options) {
    if (logits.dim() == 0 || targets.shape() != logits.shape())
        throw Error("cross_entropy: targets of shape " + shape_str(targets.shape()) + " for logits of shape " +
                    shape_str(logits.shape()) + " (a target distribution has the logits' shape (..., classes))");
    if (options.ignore_index() >= 0)
        throw Error("cross_entropy: ignore_index " + std::to_string(options.ignore_index()) +
                    " with a target distribution (ignore_index is for class targets, as in PyTorch)");
    const std::size_t classes = logits.shape().back();
    const T eps = T(options.label_smoothing());
    const Tensor<T> smoothed = eps > 0 ? add(mul(targets, T(1) - eps), eps / T(classes)) : targets;
    Tensor<T> losses = neg(sum(mul(smoothed, log_softmax(logits, -1)), -1));  // one per row
    switch (options.reduction()) {
        case Reduction::None: return losses;
        case Reduction::Sum: return sum(losses);
        case Reduction::Mean: break;
    }
    return mul(sum(losses), T(1) / T(losses.size()));  // no rows: 0 * inf = NaN, as PyTorch's 0 / 0
}

namespace {
// The per-element losses reduced: themselves (None), their sum or their
// mean; `op` names the loss when there is nothing to average.
template <class T>
Tensor<T> reduce_elements(const char* op, const Tensor<T>& losses, Reduction r) {
    if (r == Reduction::None) return losses;
    if (r == Reduction::Sum) return sum(losses);
    if (losses.size() == 0) throw Error(std::string(op) + ": the mean of an empty input of shape " + shape_str(losses.shape()));
    return mean(losses);
}

template <class T>
void check_same_shape(const char* op, const char* first, const Tensor<T>& a, const char* second, const Tensor<T>& b) {
    if (a.shape() != b.shape())
        throw Error(std::string(op) + ": " + first + " of shape " + shape_str(a.shape()) + " and " + second +
                    " of shape " + shape_str(b.shape()) + " differ");
}
}  // namespace

template <class T>
Tensor<T> mse_loss(const Tensor<T>& input, const Tensor<T>& target, Reduction r) {
    check_same_shape("mse_loss", "input", input, "target", target);
    Tensor<T> diff = sub(input, target);
    return reduce_elements("mse_loss", mul(diff, diff), r);
}


template <class T>
Tensor<T> binary_cross_entropy_with_logits(const Tensor<T>& logits, const Tensor<T>& targets, Reduction r,
                                           const Tensor<T>& pos_weight) {
    constexpr const char* op = "binary_cross_entropy_with_logits";
    check_same_shape(op, "logits", logits, "targets", targets);
    const bool weighted = pos_weight.defined();
    if (weighted && broadcast_shapes(op, pos_weight.shape(), logits.shape()) != logits.shape())
        throw Error(std::string(op) + ": pos_weight of shape " + shape_str(pos_weight.shape()) +
                    " does not broadcast to the logits' shape " + shape_str(logits.shape()));
    if (weighted && pos_weight.requires_grad())
        throw Error(std::string(op) + ": pos_weight gets no gradient (as in PyTorch); pass it without requires_grad");
    const auto& x = logits.data();
    const auto& t = targets.data();
    // softplus(-x) = log(1 + e^-x) = max(-x, 0) + log(1 + e^-|x|), never overflowing.
    const auto softplus_neg = xt::maximum(-x, T(0)) + xt::log1p(xt::exp(-xt::abs(x)));
    Array<T> losses = weighted ? Array<T>((T(1) - t) * x + (T(1) + (pos_weight.data() - T(1)) * t) * softplus_neg)
                               : Array<T>((T(1) - t) * x + softplus_neg);
    // With w = 1 + (p - 1) t: dl/dx = w sigmoid(x) - p t, dl/dt = (p - 1) softplus(-x) - x (p = 1 unweighted).
    Tensor<T> elements = record<T>(op, std::move(losses), {logits, targets},
                                   [p = pos_weight, weighted](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
        const Tensor<T>&xi = in[0], &ti = in[1];
        Gradients<T> grads(2);
        if (xi.requires_grad())
            grads[0] = g * (weighted ? ((p - T(1)) * ti + T(1)) * sigmoid(xi) - p * ti : sigmoid(xi) - ti);
        if (ti.requires_grad()) grads[1] = g * (weighted ? (p - T(1)) * softplus(-xi) - xi : -xi);
        return grads;
    });
    return reduce_elements(op, elements, r);
}

template <class T>
Tensor<T> huber_loss(const Tensor<T>& input, const Tensor<T>& target, Reduction r, Scalar<T> delta) {
    check_same_shape("huber_loss", "input", input, "target", target);
    if (!(std::isfinite(delta) && delta > 0))
        throw Error("huber_loss: delta must be finite and > 0, got " + detail::option_value_text(double(delta)));
    const Tensor<T> d = sub(input, target);
    const Tensor<T> quadratic(Array<T>(xt::cast<T>(xt::abs(d.data()) < delta)));
    const Tensor<T> losses = where(quadratic, mul(mul(d, d), T(0.5)), mul(add(abs(d), T(-0.5) * delta), delta));
    return reduce_elements("huber_loss", losses, r);
}

}  // namespace tapegrad

#define TAPEGRAD_INSTANTIATE_loss 1
#include <tapegrad/autograd/ops/instantiate.hpp>
