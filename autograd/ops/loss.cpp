// Losses, composed from primitives where that costs no speed: cross-entropy is
// nll_loss(log_softmax(logits)), whose gradient is softmax - onehot.
#include <tapegrad/autograd/ops.hpp>

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
                     [pick = Tensor<T>(std::move(pick))](const TensorList<T>&, const Tensor<T>&, const Tensor<T>& g) {
                         return TensorList<T>{mul(pick, g)};
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

}  // namespace tapegrad

#define TAPEGRAD_INSTANTIATE_loss 1
#include <tapegrad/autograd/ops/instantiate.hpp>
