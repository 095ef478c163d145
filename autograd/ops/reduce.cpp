// sum mean max logsumexp: the gradient of a reduction spreads the output gradient back
// over the reduced elements (all of them for sum, the maximum for max).
#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/ops/axis.hpp>

namespace tapegrad {

template <class T>
Tensor<T> sum(const Tensor<T>& a) {
    return record<T>("sum", xt::sum(a.data(), xt::evaluation_strategy::immediate), {a},
                     [](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
                         return Gradients<T>{broadcast_to(g, in[0].shape())};
                     });
}

template <class T>
Tensor<T> sum(const Tensor<T>& a, int axis, bool keepdims) {
    const std::size_t ax = normalize_axis("sum", axis, a.shape());
    // An empty tensor sums to zeros (or to nothing): xtensor's immediate
    // reducer reads out of bounds on one with an empty leading dimension (a
    // crash in softmax's recorded backward of a (0, n) batch).
    Array<T> out = a.size() == 0 ? Array<T>(xt::zeros<T>(keepdims_shape(a.shape(), ax)))
                                 : Array<T>(xt::sum(a.data(), {ax}, xt::keep_dims | xt::evaluation_strategy::immediate));
    if (!keepdims) {
        Shape s = a.shape();
        s.erase(s.begin() + std::ptrdiff_t(ax));
        out.reshape(s);
    }
    return record<T>("sum_axis", std::move(out), {a}, [ax](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
        const Shape kept = keepdims_shape(in[0].shape(), ax);
        return Gradients<T>{broadcast_to(g.shape() == kept ? g : reshape(g, kept), in[0].shape())};
    });
}

template <class T>
Tensor<T> mean(const Tensor<T>& a) {
    if (a.size() == 0) throw Error("mean: tensor of shape " + shape_str(a.shape()) + " is empty");
    return mul(sum(a), T(1) / T(a.size()));
}

template <class T>
Tensor<T> mean(const Tensor<T>& a, int axis, bool keepdims) {
    const std::size_t ax = normalize_axis("mean", axis, a.shape());
    if (a.shape()[ax] == 0) throw Error("mean: axis " + std::to_string(axis) + " of shape " + shape_str(a.shape()) + " is empty");
    return mul(sum(a, axis, keepdims), T(1) / T(a.shape()[ax]));
}

template <class T>
Tensor<T> max(const Tensor<T>& a, int axis, bool keepdims) {
    const std::size_t ax = normalize_axis("max", axis, a.shape());
    if (a.shape()[ax] == 0) throw Error("max: axis " + std::to_string(axis) + " of shape " + shape_str(a.shape()) + " is empty");
    const Shape kept = keepdims_shape(a.shape(), ax);
    // Empty when another dimension is 0 (xtensor's immediate amax would read
    // out of bounds, as its sum does).
    Shape reduced = a.shape();
    reduced.erase(reduced.begin() + std::ptrdiff_t(ax));
    Array<T> out = a.size() == 0 ? Array<T>(Array<T>::from_shape(reduced))
                                 : Array<T>(xt::amax(a.data(), {ax}, xt::evaluation_strategy::immediate));
    // One-hot mask of the first maximum along the axis: the gradient's path.
    Array<T> mask = xt::zeros<T>(a.shape());
    {
        const auto& shape = a.shape();
        std::size_t outer = 1, inner = 1;
        for (std::size_t i = 0; i < ax; ++i) outer *= shape[i];
        for (std::size_t i = ax + 1; i < shape.size(); ++i) inner *= shape[i];
        const std::size_t n = shape[ax];
        const T* src = a.data().data();
        for (std::size_t o = 0; o < outer; ++o)
            for (std::size_t i = 0; i < inner; ++i) {
                std::size_t best = 0;
                for (std::size_t j = 1; j < n; ++j)
                    if (src[(o * n + j) * inner + i] > src[(o * n + best) * inner + i]) best = j;
                mask.data()[(o * n + best) * inner + i] = T(1);
            }
    }
    if (keepdims) out.reshape(kept);
    return record<T>("max", std::move(out), {a},
                     [kept, mask = Tensor<T>(std::move(mask))](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
                         return Gradients<T>{mul(broadcast_to(reshape(g, kept), in[0].shape()), mask)};
                     });
}

template <class T>
Tensor<T> logsumexp(const Tensor<T>& a, int axis, bool keepdims) {
    const std::size_t ax = normalize_axis("logsumexp", axis, a.shape());
    // log sum exp(a) = log sum exp(a - m) + m for any constant m; the maximum
    // keeps exp from overflowing. An infinite maximum (a slice of -inf, or
    // holding +inf) shifts by 0 instead, so that inf - inf makes no NaN.
    const Shape kept = keepdims_shape(a.shape(), ax);
    Array<T> m = a.size() == 0 ? Array<T>(xt::zeros<T>(kept))
                               : Array<T>(xt::amax(a.data(), {ax}, xt::keep_dims | xt::evaluation_strategy::immediate));
    m = xt::where(xt::isfinite(m), m, T(0));
    const Tensor<T> shift(std::move(m));
    const Tensor<T> out = add(log(sum(exp(sub(a, shift)), axis, true)), shift);
    if (keepdims) return out;
    Shape reduced = a.shape();
    reduced.erase(reduced.begin() + std::ptrdiff_t(ax));
    return reshape(out, reduced);
}

}  // namespace tapegrad

#define TAPEGRAD_INSTANTIATE_reduce 1
#include <tapegrad/autograd/ops/instantiate.hpp>
