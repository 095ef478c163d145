// exp log pow sqrt abs log1p erf.
#include <cmath>

#include <xtensor/xmath.hpp>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/ops/same_shape.hpp>

namespace tapegrad {

template <class T>
Tensor<T> exp(const Tensor<T>& a) {
    return record<T>("exp", detail::evaluate<T>(xt::exp(a.data()), a.data()), {a}, [](const Inputs<T>&, const Tensor<T>& out, const Tensor<T>& g) {
        return Gradients<T>{mul(g, out)};
    });
}

template <class T>
Tensor<T> log(const Tensor<T>& a) {
    return record<T>("log", detail::evaluate<T>(xt::log(a.data()), a.data()), {a}, [](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
        return Gradients<T>{div(g, in[0])};
    });
}

template <class T>
Tensor<T> pow(const Tensor<T>& a, Scalar<T> p) {
    return record<T>("pow", detail::evaluate<T>(xt::pow(a.data(), p), a.data()), {a}, [p](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
        // x^0 is constant; spelling that out avoids 0 * x^-1 = NaN at x = 0.
        if (p == T(0)) return Gradients<T>{Tensor<T>::zeros(in[0].shape())};
        return Gradients<T>{mul(g, mul(pow(in[0], p - T(1)), p))};
    });
}

template <class T>
Tensor<T> sqrt(const Tensor<T>& a) {
    return record<T>("sqrt", detail::evaluate<T>(xt::sqrt(a.data()), a.data()), {a}, [](const Inputs<T>&, const Tensor<T>& out, const Tensor<T>& g) {
        return Gradients<T>{div(mul(g, T(0.5)), out)};
    });
}

template <class T>
Tensor<T> abs(const Tensor<T>& a) {
    return record<T>("abs", detail::evaluate<T>(xt::abs(a.data()), a.data()), {a}, [](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
        // sign(x) is piecewise constant, so it enters the graph as a constant
        // (0 at x = 0, as in PyTorch).
        return Gradients<T>{mul(g, Tensor<T>(xt::sign(in[0].data())))};
    });
}

template <class T>
Tensor<T> log1p(const Tensor<T>& a) {
    return record<T>("log1p", detail::evaluate<T>(xt::log1p(a.data()), a.data()), {a}, [](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
        return Gradients<T>{div(g, add(in[0], T(1)))};
    });
}

template <class T>
Tensor<T> erf(const Tensor<T>& a) {
    return record<T>("erf", detail::evaluate<T>(xt::erf(a.data()), a.data()), {a}, [](const Inputs<T>& in, const Tensor<T>&, const Tensor<T>& g) {
        // d erf(x) = 2/sqrt(pi) e^(-x^2) dx
        const Tensor<T>& x = in[0];
        return Gradients<T>{mul(g, mul(exp(neg(mul(x, x))), T(M_2_SQRTPI)))};
    });
}

}  // namespace tapegrad

#define TAPEGRAD_INSTANTIATE_unary 1
#include <tapegrad/autograd/ops/instantiate.hpp>
