// eq ne lt le gt ge, logical_and/or/xor/not, isnan isinf isfinite: masks of 0s
// and 1s. They take no gradient (PyTorch's derivatives.yaml marks them
// non-differentiable), so none records a tape node: each returns a plain tensor.
#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include <tapegrad/autograd/ops.hpp>

namespace tapegrad {

namespace {
// The 0/1 mask of a boolean expression over `a` and `b`, after checking that
// their shapes broadcast (naming `op`). xtensor's comparisons are IEEE's:
// NaN is unequal to everything, so only != holds for it.
template <class T, class Condition>
Tensor<T> mask_of(const char* op, const Tensor<T>& a, const Tensor<T>& b, Condition condition) {
    broadcast_shapes(op, a.shape(), b.shape());
    return Tensor<T>(Array<T>(xt::cast<T>(condition(a.data(), b.data()))));
}

template <class T, class Condition>
Tensor<T> mask_of(const Tensor<T>& a, Condition condition) {
    return Tensor<T>(Array<T>(xt::cast<T>(condition(a.data()))));
}
}  // namespace

// One pair of definitions per comparison: tensor against tensor, and against
// a scalar. (xtensor's == and != compare whole arrays to one bool; its
// elementwise forms are xt::equal and xt::not_equal.)
#define TAPEGRAD_COMPARISON(name, xt_function)                                                               \
    template <class T>                                                                                       \
    Tensor<T> name(const Tensor<T>& a, const Tensor<T>& b) {                                                 \
        return mask_of(#name, a, b, [](const auto& x, const auto& y) { return xt::xt_function(x, y); });    \
    }                                                                                                        \
    template <class T>                                                                                       \
    Tensor<T> name(const Tensor<T>& a, Scalar<T> s) {                                                        \
        return mask_of(a, [s](const auto& x) { return xt::xt_function(x, s); });                            \
    }
TAPEGRAD_COMPARISON(eq, equal)
TAPEGRAD_COMPARISON(ne, not_equal)
TAPEGRAD_COMPARISON(lt, less)
TAPEGRAD_COMPARISON(le, less_equal)
TAPEGRAD_COMPARISON(gt, greater)
TAPEGRAD_COMPARISON(ge, greater_equal)
#undef TAPEGRAD_COMPARISON

template <class T>
Tensor<T> logical_and(const Tensor<T>& a, const Tensor<T>& b) {
    return mask_of("logical_and", a, b, [](const auto& x, const auto& y) { return xt::not_equal(x, T(0)) && xt::not_equal(y, T(0)); });
}

template <class T>
Tensor<T> logical_or(const Tensor<T>& a, const Tensor<T>& b) {
    return mask_of("logical_or", a, b, [](const auto& x, const auto& y) { return xt::not_equal(x, T(0)) || xt::not_equal(y, T(0)); });
}

template <class T>
Tensor<T> logical_xor(const Tensor<T>& a, const Tensor<T>& b) {
    return mask_of("logical_xor", a, b, [](const auto& x, const auto& y) { return xt::not_equal(xt::not_equal(x, T(0)), xt::not_equal(y, T(0))); });
}

template <class T>
Tensor<T> logical_not(const Tensor<T>& a) {
    return mask_of(a, [](const auto& x) { return xt::equal(x, T(0)); });
}

template <class T>
Tensor<T> isnan(const Tensor<T>& a) {
    return mask_of(a, [](const auto& x) { return xt::isnan(x); });
}

template <class T>
Tensor<T> isinf(const Tensor<T>& a) {
    return mask_of(a, [](const auto& x) { return xt::isinf(x); });
}

template <class T>
Tensor<T> isfinite(const Tensor<T>& a) {
    return mask_of(a, [](const auto& x) { return xt::isfinite(x); });
}

}  // namespace tapegrad

#define TAPEGRAD_INSTANTIATE_logic 1
#include <tapegrad/autograd/ops/instantiate.hpp>
