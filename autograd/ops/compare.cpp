// maximum minimum clamp where: each output element is one of the inputs'
// elements. Which one is piecewise constant, so the gradient is the output's
// gradient times a constant 0/1 mask (1/2 at ties of maximum and minimum).
#include <cmath>
#include <utility>

#include <xtensor/xbroadcast.hpp>
#include <xtensor/xoperation.hpp>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/ops/mask.hpp>

namespace tapegrad {

namespace {
// The gradients of inputs (a, b) of an op whose output takes a fraction `to_a`
// of each element from a and the rest from b; `to_a` is constant, of the
// output's shape.
template <class T>
Gradients<T> split_gradient(const Inputs<T>& in, const Tensor<T>& g, Array<T> to_a) {
    const Tensor<T> wa(std::move(to_a));
    return Gradients<T>{in[0].requires_grad() ? sum_to(mul(g, wa), in[0].shape()) : Tensor<T>(),
                         in[1].requires_grad() ? sum_to(mul(g, rsub(T(1), wa)), in[1].shape()) : Tensor<T>()};
}
}  // namespace

// NaN where a or b is NaN, as in PyTorch, else `chosen`: a SIMD max or min
// returns its second operand when either is NaN, so NaN could vanish.
template <class T, class Chosen>
Array<T> nan_or(const Array<T>& a, const Array<T>& b, Chosen&& chosen) {
    return xt::where(xt::isnan(a) || xt::isnan(b), a + b, std::forward<Chosen>(chosen));
}

template <class T>
Tensor<T> maximum(const Tensor<T>& a, const Tensor<T>& b) {
    broadcast_shapes("maximum", a.shape(), b.shape());
    return record<T>("maximum", nan_or(a.data(), b.data(), xt::maximum(a.data(), b.data())), {a, b},
                     [](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
                         const auto& x = in[0].data();
                         const auto& y = in[1].data();
                         return split_gradient(in, g, Array<T>(xt::where(x > y, T(1), xt::where(x < y, T(0), T(0.5)))));
                     });
}

template <class T>
Tensor<T> minimum(const Tensor<T>& a, const Tensor<T>& b) {
    broadcast_shapes("minimum", a.shape(), b.shape());
    return record<T>("minimum", nan_or(a.data(), b.data(), xt::minimum(a.data(), b.data())), {a, b},
                     [](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
                         const auto& x = in[0].data();
                         const auto& y = in[1].data();
                         return split_gradient(in, g, Array<T>(xt::where(x < y, T(1), xt::where(x > y, T(0), T(0.5)))));
                     });
}

template <class T>
Tensor<T> where(const Tensor<T>& condition, const Tensor<T>& a, const Tensor<T>& b) {
    const Shape shape = broadcast_shapes("where", broadcast_shapes("where", condition.shape(), a.shape()), b.shape());
    detail::check_mask("where", "condition", condition);
    Array<T> out = xt::where(xt::not_equal(condition.data(), T(0)), a.data(), b.data());
    // The mask is a constant of the graph: only its values are kept.
    return record<T>("where", std::move(out), {a, b},
                     [mask = condition.data(), shape](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
                         return split_gradient(in, g, Array<T>(xt::broadcast(mask, shape)));
                     });
}

template <class T>
Tensor<T> clamp(const Tensor<T>& a, std::optional<Scalar<T>> low, std::optional<Scalar<T>> high) {
    if (!low && !high) throw Error("clamp: give at least one of min and max");
    if ((low && std::isnan(*low)) || (high && std::isnan(*high))) throw Error("clamp: a bound is NaN");
    Array<T> out = a.data();
    if (low) out = xt::maximum(out, *low);
    if (high) out = xt::minimum(out, *high);  // after min: min > max gives max everywhere, as in PyTorch
    out = xt::where(xt::isnan(a.data()), a.data(), out);  // NaN stays NaN, as in PyTorch
    return record<T>("clamp", std::move(out), {a}, [low, high](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
        const auto& x = in[0].data();
        // Bounds included: an element at a bound passes its gradient, as in PyTorch.
        Array<T> inside = xt::ones<T>(x.shape());
        if (low) inside = xt::where(x >= *low, inside, T(0));
        if (high) inside = xt::where(x <= *high, inside, T(0));
        return Gradients<T>{mul(g, Tensor<T>(std::move(inside)))};
    });
}

}  // namespace tapegrad

#define TAPEGRAD_INSTANTIATE_compare 1
#include <tapegrad/autograd/ops/instantiate.hpp>
