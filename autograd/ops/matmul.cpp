// matmul through BLAS gemm. Transposes travel as flags, so neither the forward
// nor the backward pass ever copies a matrix to transpose it.
#include <xtensor-blas/xblas.hpp>

#include "autograd/ops.hpp"

namespace tapegrad {

namespace {
// C = op(A) op(B) on row-major buffers.
template <class T>
xt::xarray<T> gemm(const xt::xarray<T>& a, const xt::xarray<T>& b, bool ta, bool tb) {
    const std::size_t m = ta ? a.shape()[1] : a.shape()[0];
    const std::size_t k = ta ? a.shape()[0] : a.shape()[1];
    const std::size_t n = tb ? b.shape()[0] : b.shape()[1];
    xt::xarray<T> c = xt::xarray<T>::from_shape({m, n});
    if (m == 0 || n == 0) return c;
    if (k == 0) {
        c.fill(T(0));
        return c;
    }
    using cxxblas::Transpose;
    cxxblas::gemm<int>(cxxblas::StorageOrder::RowMajor, ta ? Transpose::Trans : Transpose::NoTrans,
                       tb ? Transpose::Trans : Transpose::NoTrans, int(m), int(n), int(k), T(1), a.data(),
                       int(a.shape()[1]), b.data(), int(b.shape()[1]), T(0), c.data(), int(n));
    return c;
}
}  // namespace

template <class T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b, bool ta, bool tb) {
    if (a.dim() != 2 || b.dim() != 2)
        throw Error("matmul: expects 2-D tensors, got shapes " + shape_str(a.shape()) + " and " + shape_str(b.shape()));
    const std::size_t ka = ta ? a.shape()[0] : a.shape()[1];
    const std::size_t kb = tb ? b.shape()[1] : b.shape()[0];
    if (ka != kb)
        throw Error(std::string("matmul: shapes ") + shape_str(a.shape()) + (ta ? "^T" : "") + " and " +
                    shape_str(b.shape()) + (tb ? "^T" : "") + " are not aligned (" + std::to_string(ka) +
                    " != " + std::to_string(kb) + ")");
    return record<T>("matmul", gemm(a.data(), b.data(), ta, tb), {a, b},
                     [ta, tb](const TensorList<T>& in, const Tensor<T>&, const Tensor<T>& g) {
                         const Tensor<T>& A = in[0];
                         const Tensor<T>& B = in[1];
                         // With C = op(A) op(B) and G = dC: d op(A) = G op(B)^T, d op(B) = op(A)^T G,
                         // then undo op on each side. All four cases, transposes as flags:
                         Tensor<T> ga, gb;
                         const bool need_a = A.requires_grad(), need_b = B.requires_grad();
                         if (!ta && !tb) {
                             if (need_a) ga = matmul(g, B, false, true);
                             if (need_b) gb = matmul(A, g, true, false);
                         } else if (ta && !tb) {
                             if (need_a) ga = matmul(B, g, false, true);
                             if (need_b) gb = matmul(A, g, false, false);
                         } else if (!ta && tb) {
                             if (need_a) ga = matmul(g, B, false, false);
                             if (need_b) gb = matmul(g, A, true, false);
                         } else {
                             if (need_a) ga = matmul(B, g, true, true);
                             if (need_b) gb = matmul(g, A, true, true);
                         }
                         return TensorList<T>{ga, gb};
                     });
}

template Tensor<float> matmul(const Tensor<float>&, const Tensor<float>&, bool, bool);
template Tensor<double> matmul(const Tensor<double>&, const Tensor<double>&, bool, bool);

}  // namespace tapegrad
