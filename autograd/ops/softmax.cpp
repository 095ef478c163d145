// softmax and log_softmax along an axis. Both subtract the maximum first, so
// exp never overflows (logits of 1000 are fine); log_softmax never takes the
// log of a rounded-to-zero probability.
#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>

#include "autograd/ops.hpp"
#include "autograd/ops/axis.hpp"
#include "autograd/ops/fused.hpp"

namespace tapegrad {

template <class T>
Tensor<T> softmax(const Tensor<T>& a, int axis) {
    const std::size_t ax = normalize_axis("softmax", axis, a.shape());
    const auto keep = xt::keep_dims | xt::evaluation_strategy::immediate;
    Array<T> e = xt::exp(a.data() - xt::amax(a.data(), {ax}, keep));
    Array<T> total = xt::sum(e, {ax}, keep);
    e /= total;
    return record<T>("softmax", std::move(e), {a}, [axis](const TensorList<T>&, const Tensor<T>& out, const Tensor<T>& g) {
        // J^T g = out * (g - sum(g * out))
        const Tensor<T> dot = sum(mul(g, out), axis, true);
        return TensorList<T>{detail::grad_formula<T>(
            [](const auto& gy, const auto& y, const auto& s) { return y * (gy - s); }, g, out, dot)};
    });
}

template <class T>
Tensor<T> log_softmax(const Tensor<T>& a, int axis) {
    const std::size_t ax = normalize_axis("log_softmax", axis, a.shape());
    const auto keep = xt::keep_dims | xt::evaluation_strategy::immediate;
    Array<T> shifted = a.data() - xt::amax(a.data(), {ax}, keep);
    Array<T> log_total = xt::log(xt::sum(xt::exp(shifted), {ax}, keep));
    shifted -= log_total;
    return record<T>("log_softmax", std::move(shifted), {a}, [axis](const TensorList<T>&, const Tensor<T>& out, const Tensor<T>& g) {
        // J^T g = g - softmax * sum(g), with softmax = exp(out)
        const Tensor<T> total = sum(g, axis, true);
        return TensorList<T>{detail::grad_formula<T>(
            [](const auto& gy, const auto& y, const auto& s) { return gy - exp(y) * s; }, g, out, total)};
    });
}

#define TAPEGRAD_INSTANTIATE(T)                          \
    template Tensor<T> softmax(const Tensor<T>&, int);   \
    template Tensor<T> log_softmax(const Tensor<T>&, int);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
