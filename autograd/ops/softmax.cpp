// softmax and log_softmax along an axis. Both subtract the maximum first, so
// exp never overflows (logits of 1000 are fine); log_softmax never takes the
// log of a rounded-to-zero probability.
#include <algorithm>

#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/ops/axis.hpp>
#include <tapegrad/autograd/ops/fused.hpp>

namespace tapegrad {

namespace {
// Along the last axis, the case of every classifier, the ops below run as
// loops over contiguous rows: xtensor's general path (a keepdims reduction,
// then a broadcast subtraction) walks a (200, 10) batch through its generic
// steppers, ~22 us for log_softmax against ~5 us this way. exp and log still
// go through xtensor on whole arrays, so they stay vectorised.
template <class T>
struct Rows {
    std::size_t count, width;
    explicit Rows(const Array<T>& a)
        : count(a.size() == 0 ? 0 : a.size() / a.shape().back()), width(a.size() == 0 ? 0 : a.shape().back()) {}
};

// exp(x), into an array of its own.
template <class T>
Array<T> exp_of(const Array<T>& x) {
    return Array<T>(xt::exp(x));
}

// x - max(x), row by row.
template <class T>
Array<T> shifted_rows(const Array<T>& a, Rows<T> rows) {
    Array<T> out = Array<T>::from_shape(a.shape());
    for (std::size_t r = 0; r < rows.count; ++r) {
        const T* x = a.data() + r * rows.width;
        T* y = out.data() + r * rows.width;
        const T m = *std::max_element(x, x + rows.width);
        for (std::size_t j = 0; j < rows.width; ++j) y[j] = x[j] - m;
    }
    return out;
}

// sum(f(a[r, j], b[r, j]) for j), one per row.
template <class T, class F>
Array<T> row_sums(const Array<T>& a, const Array<T>& b, Rows<T> rows, F f) {
    Array<T> sums = Array<T>::from_shape({rows.count});
    for (std::size_t r = 0; r < rows.count; ++r) {
        const T* x = a.data() + r * rows.width;
        const T* y = b.data() + r * rows.width;
        T total = 0;
        for (std::size_t j = 0; j < rows.width; ++j) total += f(x[j], y[j]);
        sums(r) = total;
    }
    return sums;
}

template <class T>
Array<T> softmax_last_axis(const Array<T>& a) {
    const Rows<T> rows(a);
    Array<T> e = exp_of(shifted_rows(a, rows));
    const Array<T> totals = row_sums(e, e, rows, [](T x, T) { return x; });
    for (std::size_t r = 0; r < rows.count; ++r)
        for (std::size_t j = 0; j < rows.width; ++j) e.data()[r * rows.width + j] /= totals(r);
    return e;
}

template <class T>
Array<T> log_softmax_last_axis(const Array<T>& a) {
    const Rows<T> rows(a);
    Array<T> shifted = shifted_rows(a, rows);
    const Array<T> e = exp_of(shifted);
    const Array<T> log_totals = xt::log(row_sums(e, e, rows, [](T x, T) { return x; }));
    for (std::size_t r = 0; r < rows.count; ++r)
        for (std::size_t j = 0; j < rows.width; ++j) shifted.data()[r * rows.width + j] -= log_totals(r);
    return shifted;
}

// Along any axis: reductions with keepdims, then broadcasting.
// (An empty array is its own result: xtensor's immediate amax reads out of
// bounds on one with an empty leading dimension.)
template <class T>
Array<T> softmax_any_axis(const Array<T>& a, std::size_t ax) {
    if (a.size() == 0) return a;
    const auto keep = xt::keep_dims | xt::evaluation_strategy::immediate;
    Array<T> e = xt::exp(a - xt::amax(a, {ax}, keep));
    Array<T> total = xt::sum(e, {ax}, keep);
    e /= total;
    return e;
}

template <class T>
Array<T> log_softmax_any_axis(const Array<T>& a, std::size_t ax) {
    if (a.size() == 0) return a;
    const auto keep = xt::keep_dims | xt::evaluation_strategy::immediate;
    Array<T> shifted = a - xt::amax(a, {ax}, keep);
    Array<T> log_total = xt::log(xt::sum(xt::exp(shifted), {ax}, keep));
    shifted -= log_total;
    return shifted;
}

// out * (g - sum(g * out)), the gradient of softmax, row by row.
template <class T>
Array<T> softmax_grad_last_axis(const Array<T>& g, const Array<T>& out) {
    const Rows<T> rows(out);
    const Array<T> dots = row_sums(g, out, rows, [](T x, T y) { return x * y; });
    Array<T> grad = Array<T>::from_shape(out.shape());
    for (std::size_t r = 0; r < rows.count; ++r)
        for (std::size_t j = 0, i = r * rows.width; j < rows.width; ++j, ++i)
            grad.data()[i] = out.data()[i] * (g.data()[i] - dots(r));
    return grad;
}

// g - exp(out) * sum(g), the gradient of log_softmax, row by row.
template <class T>
Array<T> log_softmax_grad_last_axis(const Array<T>& g, const Array<T>& out) {
    const Rows<T> rows(out);
    const Array<T> totals = row_sums(g, g, rows, [](T x, T) { return x; });
    Array<T> grad = exp_of(out);
    for (std::size_t r = 0; r < rows.count; ++r)
        for (std::size_t j = 0, i = r * rows.width; j < rows.width; ++j, ++i)
            grad.data()[i] = g.data()[i] - grad.data()[i] * totals(r);
    return grad;
}
}  // namespace

template <class T>
Tensor<T> softmax(const Tensor<T>& a, int axis) {
    const std::size_t ax = normalize_axis("softmax", axis, a.shape());
    const bool last = ax + 1 == a.dim();
    Array<T> e = last ? softmax_last_axis(a.data()) : softmax_any_axis(a.data(), ax);
    return record<T>("softmax", std::move(e), {a}, [axis, last](const Inputs<T>&, const Tensor<T>& out, const Tensor<T>& g) {
        if (last && !grad_enabled()) return Gradients<T>{Tensor<T>(softmax_grad_last_axis(g.data(), out.data()))};
        // J^T g = out * (g - sum(g * out)), recorded when create_graph asks
        const Tensor<T> dot = sum(mul(g, out), axis, true);
        return Gradients<T>{detail::grad_formula<T>(
            [](const auto& gy, const auto& y, const auto& s) { return y * (gy - s); }, g, out, dot)};
    });
}

template <class T>
Tensor<T> log_softmax(const Tensor<T>& a, int axis) {
    const std::size_t ax = normalize_axis("log_softmax", axis, a.shape());
    const bool last = ax + 1 == a.dim();
    Array<T> shifted = last ? log_softmax_last_axis(a.data()) : log_softmax_any_axis(a.data(), ax);
    return record<T>("log_softmax", std::move(shifted), {a}, [axis, last](const Inputs<T>&, const Tensor<T>& out, const Tensor<T>& g) {
        if (last && !grad_enabled()) return Gradients<T>{Tensor<T>(log_softmax_grad_last_axis(g.data(), out.data()))};
        // J^T g = g - softmax * sum(g), with softmax = exp(out), recorded when create_graph asks
        const Tensor<T> total = sum(g, axis, true);
        return Gradients<T>{detail::grad_formula<T>(
            [](const auto& gy, const auto& y, const auto& s) { return gy - exp(y) * s; }, g, out, total)};
    });
}

}  // namespace tapegrad

#define TAPEGRAD_INSTANTIATE_softmax 1
#include <tapegrad/autograd/ops/instantiate.hpp>
