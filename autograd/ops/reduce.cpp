// sum mean max min logsumexp, and the indices of maxima and minima (argmax,
// argmin): the gradient of a reduction spreads the output gradient back over
// the reduced elements (all of them for sum, the one selected for max and min).
#include <cmath>
#include <functional>
#include <utility>

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

namespace {
// Along the middle axis of `a` seen as (outer, n, inner) (n > 0), the index
// of each slice's extreme: its first NaN if it holds one (NaN is the maximum
// and the minimum, as in PyTorch), else its first element that no later one
// is `better` than. Row-major, shape (outer, inner).
template <class T, class Better>
Indices extreme_indices(const T* a, std::size_t outer, std::size_t n, std::size_t inner, Better better) {
    Indices found = Indices::from_shape({outer, inner});
    for (std::size_t o = 0; o < outer; ++o)
        for (std::size_t i = 0; i < inner; ++i) {
            const T* slice = a + o * n * inner + i;
            std::size_t best = 0;
            for (std::size_t j = 1; j < n && !std::isnan(slice[best * inner]); ++j)
                if (std::isnan(slice[j * inner]) || better(slice[j * inner], slice[best * inner])) best = j;
            found(o, i) = std::int64_t(best);
        }
    return found;
}

// The extremes of `a` along `axis` (`better`: std::greater for the maximum),
// with their indices along it in the reduced (or kept, size 1) shape.
template <class T, class Better>
std::pair<Array<T>, Indices> extremes_along(const char* op, const Tensor<T>& a, int axis, bool keepdims, Better better) {
    const std::size_t ax = normalize_axis(op, axis, a.shape());
    const Shape shape = a.shape();
    if (shape[ax] == 0) throw Error(std::string(op) + ": axis " + std::to_string(axis) + " of shape " + shape_str(shape) + " is empty");
    std::size_t outer = 1, inner = 1;
    for (std::size_t i = 0; i < ax; ++i) outer *= shape[i];
    for (std::size_t i = ax + 1; i < shape.size(); ++i) inner *= shape[i];
    const std::size_t n = shape[ax];
    Indices at = extreme_indices(a.data().data(), outer, n, inner, better);
    Array<T> values = Array<T>::from_shape({outer, inner});
    for (std::size_t o = 0; o < outer; ++o)
        for (std::size_t i = 0; i < inner; ++i)
            values(o, i) = a.data().data()[(o * n + std::size_t(at(o, i))) * inner + i];
    Shape reduced = keepdims_shape(shape, ax);
    if (!keepdims) reduced.erase(reduced.begin() + std::ptrdiff_t(ax));
    values.reshape(reduced);
    at.reshape(reduced);
    return {std::move(values), std::move(at)};
}

// Records `values`, the elements of `a` at `indices` along `axis` (kept or
// not): the gradient goes to those elements alone.
template <class T>
Tensor<T> record_selected(const char* name, const Tensor<T>& a, int axis, Array<T> values, Indices indices) {
    const std::size_t ax = normalize_axis(name, axis, a.shape());
    return record<T>(name, std::move(values), {a},
                     [ax, indices = std::move(indices)](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
                         // One-hot along the axis at the selected elements: the gradient's path.
                         const Shape shape = in[0].shape();
                         const Shape kept = keepdims_shape(shape, ax);
                         std::size_t inner = 1;
                         for (std::size_t i = ax + 1; i < shape.size(); ++i) inner *= shape[i];
                         const std::size_t n = shape[ax];
                         Array<T> mask = xt::zeros<T>(shape);
                         for (std::size_t e = 0; e < indices.size(); ++e)
                             mask.data()[((e / inner) * n + std::size_t(indices.data()[e])) * inner + e % inner] = T(1);
                         return Gradients<T>{mul(broadcast_to(reshape(g, kept), shape), Tensor<T>(std::move(mask)))};
                     });
}
}  // namespace

template <class T>
Tensor<T> max(const Tensor<T>& a, int axis, bool keepdims) {
    auto [values, indices] = extremes_along("max", a, axis, keepdims, std::greater<T>());
    return record_selected("max", a, axis, std::move(values), std::move(indices));
}

template <class T>
Tensor<T> min(const Tensor<T>& a, int axis, bool keepdims) {
    auto [values, indices] = extremes_along("min", a, axis, keepdims, std::less<T>());
    return record_selected("min", a, axis, std::move(values), std::move(indices));
}

template <class T>
ValuesIndices<T> max_with_indices(const Tensor<T>& a, int axis, bool keepdims) {
    auto [values, indices] = extremes_along("max_with_indices", a, axis, keepdims, std::greater<T>());
    Tensor<T> selected = record_selected("max_with_indices", a, axis, std::move(values), indices);
    return {std::move(selected), std::move(indices)};
}

template <class T>
ValuesIndices<T> min_with_indices(const Tensor<T>& a, int axis, bool keepdims) {
    auto [values, indices] = extremes_along("min_with_indices", a, axis, keepdims, std::less<T>());
    Tensor<T> selected = record_selected("min_with_indices", a, axis, std::move(values), indices);
    return {std::move(selected), std::move(indices)};
}

template <class T>
Indices argmax(const Tensor<T>& a, int axis, bool keepdims) {
    return extremes_along("argmax", a, axis, keepdims, std::greater<T>()).second;
}

template <class T>
Indices argmin(const Tensor<T>& a, int axis, bool keepdims) {
    return extremes_along("argmin", a, axis, keepdims, std::less<T>()).second;
}

namespace {
// The flat (row-major) index of the extreme of all of `a`, shape ().
template <class T, class Better>
Indices flat_extreme_index(const char* op, const Tensor<T>& a, Better better) {
    if (a.size() == 0) throw Error(std::string(op) + ": tensor of shape " + shape_str(a.shape()) + " is empty");
    Indices at = extreme_indices(a.data().data(), 1, a.size(), 1, better);
    at.reshape(std::vector<std::size_t>{});
    return at;
}
}  // namespace

template <class T>
Indices argmax(const Tensor<T>& a) {
    return flat_extreme_index("argmax", a, std::greater<T>());
}

template <class T>
Indices argmin(const Tensor<T>& a) {
    return flat_extreme_index("argmin", a, std::less<T>());
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
