// sigmoid tanh relu: the derivative of the first two is written with the
// output, which the forward pass already computed.
#include <xtensor/xmath.hpp>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/ops/fused.hpp>

namespace tapegrad {

template <class T>
Tensor<T> sigmoid(const Tensor<T>& a) {
    // 1/(1+e^-x) overflows e^-x for x << 0 in float, but to +inf, and 1/inf = 0
    // is the right limit: no NaN arises.
    return record<T>("sigmoid", T(1) / (T(1) + xt::exp(-a.data())), {a},
                     [](const TensorList<T>&, const Tensor<T>& out, const Tensor<T>& g) {
                         return TensorList<T>{detail::grad_formula<T>(
                             [](const auto& gy, const auto& y) { return gy * (y * (T(1) - y)); }, g, out)};
                     });
}

template <class T>
Tensor<T> tanh(const Tensor<T>& a) {
    return record<T>("tanh", xt::tanh(a.data()), {a}, [](const TensorList<T>&, const Tensor<T>& out, const Tensor<T>& g) {
        return TensorList<T>{
            detail::grad_formula<T>([](const auto& gy, const auto& y) { return gy * (T(1) - y * y); }, g, out)};
    });
}

template <class T>
Tensor<T> relu(const Tensor<T>& a) {
    return record<T>("relu", xt::maximum(a.data(), T(0)), {a}, [](const TensorList<T>& in, const Tensor<T>&, const Tensor<T>& g) {
        // The 0/1 mask is piecewise constant: a constant in the graph.
        return TensorList<T>{mul(g, Tensor<T>(Array<T>(xt::cast<T>(in[0].data() > T(0)))))};
    });
}

}  // namespace tapegrad

#define TAPEGRAD_INSTANTIATE_activation 1
#include <tapegrad/autograd/ops/instantiate.hpp>
