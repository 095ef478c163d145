// sigmoid tanh relu leaky_relu softplus gelu: the derivative of the first two
// is written with the output, which the forward pass already computed.
#include <cmath>

#include <xtensor/xmath.hpp>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/ops/fused.hpp>
#include <tapegrad/autograd/ops/same_shape.hpp>
#include <tapegrad/autograd/options.hpp>

namespace tapegrad {

template <class T>
Tensor<T> sigmoid(const Tensor<T>& a) {
    // 1/(1+e^-x) overflows e^-x for x << 0 in float, but to +inf, and 1/inf = 0
    // is the right limit: no NaN arises.
    return record<T>("sigmoid", detail::evaluate<T>(T(1) / (T(1) + xt::exp(-a.data())), a.data()), {a},
                     [](const Inputs<T>&, const Tensor<T>& out, const Tensor<T>& g) {
                         return Gradients<T>{detail::grad_formula<T>(
                             [](const auto& gy, const auto& y) { return gy * (y * (T(1) - y)); }, g, out)};
                     });
}

template <class T>
Tensor<T> tanh(const Tensor<T>& a) {
    return record<T>("tanh", detail::evaluate<T>(xt::tanh(a.data()), a.data()), {a}, [](const Inputs<T>&, const Tensor<T>& out, const Tensor<T>& g) {
        return Gradients<T>{
            detail::grad_formula<T>([](const auto& gy, const auto& y) { return gy * (T(1) - y * y); }, g, out)};
    });
}

template <class T>
Tensor<T> relu(const Tensor<T>& a) {
    // xt::maximum(x, y) is select(x > y, x, y), scalar and SIMD alike: with 0
    // first, NaN (0 > NaN is false) passes, as in PyTorch; maximum(a, 0) made
    // relu(NaN) = 0.
    return record<T>("relu", detail::evaluate<T>(xt::maximum(T(0), a.data()), a.data()), {a},
                     [](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
                         // The 0/1 mask is piecewise constant: a constant in the graph. 0 where
                         // x <= 0, so that NaN passes the gradient, as PyTorch's threshold_backward.
                         return Gradients<T>{mul(g, Tensor<T>(Array<T>(xt::cast<T>(!(in[0].data() <= T(0))))))};
                     });
}

template <class T>
Tensor<T> leaky_relu(const Tensor<T>& a, Scalar<T> negative_slope) {
    return record<T>("leaky_relu", xt::where(a.data() > T(0), a.data(), negative_slope * a.data()), {a},
                     [negative_slope](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
                         // The slope, 1 or negative_slope, is piecewise constant (negative_slope at 0, as in PyTorch).
                         return Gradients<T>{
                             mul(g, Tensor<T>(Array<T>(xt::where(in[0].data() > T(0), T(1), negative_slope))))};
                     });
}

template <class T>
Tensor<T> softplus(const Tensor<T>& a, Scalar<T> beta, Scalar<T> threshold) {
    if (!(std::isfinite(beta) && beta > 0))
        throw Error("softplus: beta must be finite and > 0, got " + detail::option_value_text(double(beta)));
    const auto bx = beta * a.data();
    // exp overflows to inf only where bx > threshold, whose elements are not taken.
    Array<T> out = xt::where(bx > threshold, a.data(), xt::log1p(xt::exp(bx)) / beta);
    return record<T>("softplus", std::move(out), {a}, [beta, threshold](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
        // The derivative is sigmoid(beta x), and 1 on the linear part above threshold.
        const Tensor<T> linear(Array<T>(xt::cast<T>(beta * in[0].data() > threshold)));
        return Gradients<T>{detail::grad_formula<T>(
            [beta](const auto& gy, const auto& x, const auto& lin) {
                return gy * (lin + (T(1) - lin) / (T(1) + exp(-(x * beta))));
            },
            g, in[0], linear)};
    });
}

template <class T>
Tensor<T> gelu(const Tensor<T>& a, GeluApproximate approximate) {
    if (approximate == GeluApproximate::Tanh) {  // composed: its gradient is that of its ops
        const T k = T(std::sqrt(2 / M_PI));
        return mul(mul(a, T(0.5)), add(tanh(mul(add(a, mul(pow(a, T(3)), T(0.044715))), k)), T(1)));
    }
    const auto& x = a.data();
    return record<T>("gelu", T(0.5) * x * (T(1) + xt::erf(x * T(M_SQRT1_2))), {a},
                     [](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
                         // d/dx x Phi(x) = Phi(x) + x phi(x), phi(x) = e^(-x^2/2) / sqrt(2 pi)
                         return Gradients<T>{detail::grad_formula<T>(
                             [](const auto& gy, const auto& v) {
                                 return gy * (T(0.5) * (T(1) + erf(v * T(M_SQRT1_2))) +
                                              v * exp(v * v * T(-0.5)) * T(0.5 * M_2_SQRTPI * M_SQRT1_2));
                             },
                             g, in[0])};
                     });
}

}  // namespace tapegrad

#define TAPEGRAD_INSTANTIATE_activation 1
#include <tapegrad/autograd/ops/instantiate.hpp>
