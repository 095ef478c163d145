// Losses, composed from primitives where that costs no speed: cross-entropy is
// nll_loss(log_softmax(logits)), whose gradient is softmax - onehot, and the
// Huber loss a where() of its two pieces. Binary cross-entropy has a node of
// its own: its stable form is built of max and |x|, whose kinks at 0 would
// give a composition the wrong gradient at x = 0.
#include <cmath>

#include <xtensor/xmath.hpp>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/options.hpp>

namespace tapegrad {

namespace {
template <class T>
T reduction_scale(Reduction r, std::size_t batch) {
    return r == Reduction::Mean ? T(1) / T(batch) : T(1);
}
}  // namespace

template <class T>
Tensor<T> nll_loss(const Tensor<T>& log_probs, const Labels& labels, Reduction r) {
    if (log_probs.dim() != 2)
        throw Error("nll_loss: expects (batch, classes) log-probabilities, got shape " + shape_str(log_probs.shape()));
    const std::size_t batch = log_probs.shape()[0], classes = log_probs.shape()[1];
    if (labels.size() != batch)
        throw Error("nll_loss: " + std::to_string(labels.size()) + " labels for a batch of shape " +
                    shape_str(log_probs.shape()));
    if (batch == 0) throw Error("nll_loss: empty batch");
    const T scale = reduction_scale<T>(r, batch);
    // The gradient is -scale at each (i, label_i): keep it as a constant tensor.
    Array<T> pick = xt::zeros<T>({batch, classes});
    T total = 0;
    for (std::size_t i = 0; i < batch; ++i) {
        const std::int64_t y = labels[i];
        if (y < 0 || std::size_t(y) >= classes)
            throw Error("nll_loss: label " + std::to_string(y) + " at index " + std::to_string(i) +
                        " is outside [0, " + std::to_string(classes) + ")");
        total -= log_probs.data().data()[i * classes + std::size_t(y)];
        pick.data()[i * classes + std::size_t(y)] = -scale;
    }
    Array<T> out = Array<T>::from_shape({});
    out() = total * scale;
    return record<T>("nll_loss", std::move(out), {log_probs},
                     [pick = Tensor<T>(std::move(pick))](const Inputs<T>&, const Tensor<T>&, const Tensor<T>& g) {
                         return Gradients<T>{mul(pick, g)};
                     });
}

template <class T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const Labels& labels, Reduction r) {
    if (logits.dim() != 2)
        throw Error("cross_entropy: expects (batch, classes) logits, got shape " + shape_str(logits.shape()));
    return nll_loss(log_softmax(logits, 1), labels, r);
}

template <class T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const Tensor<T>& targets, Reduction r) {
    if (logits.dim() != 2)
        throw Error("cross_entropy: expects (batch, classes) logits, got shape " + shape_str(logits.shape()));
    if (targets.shape() != logits.shape())
        throw Error("cross_entropy: targets of shape " + shape_str(targets.shape()) + " for logits of shape " +
                    shape_str(logits.shape()));
    if (logits.shape()[0] == 0) throw Error("cross_entropy: empty batch");
    Tensor<T> total = neg(sum(mul(targets, log_softmax(logits, 1))));
    return r == Reduction::Mean ? mul(total, T(1) / T(logits.shape()[0])) : total;
}

template <class T>
Tensor<T> mse_loss(const Tensor<T>& input, const Tensor<T>& target, Reduction r) {
    if (input.shape() != target.shape())
        throw Error("mse_loss: input of shape " + shape_str(input.shape()) + " and target of shape " +
                    shape_str(target.shape()) + " differ");
    Tensor<T> diff = sub(input, target);
    Tensor<T> sq = mul(diff, diff);
    return r == Reduction::Mean ? mean(sq) : sum(sq);
}

namespace {
// The mean or the sum of per-element losses; `op` names the loss when there
// is nothing to average.
template <class T>
Tensor<T> reduce_elements(const char* op, const Tensor<T>& losses, Reduction r) {
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
