// Matrix products on the calling thread alone, for OneThreadProductsGuard
// (blas.hpp): Eigen's GEMM, which runs on the thread that calls it and has no
// process-wide thread setting. OpenBLAS's thread count is one setting for the
// whole process (0.3.21 has no per-call or per-thread count), so a thread
// that wants one-thread products beside threads that want several cannot
// get them from it without changing what the others compute.
//
// Measured single-threaded, float, on the MLP's products (AMD EPYC Zen 5,
// AVX-512): Eigen 93-121 GFLOP/s where OpenBLAS's Cooperlake kernel ran
// 98-176 and its Haswell kernel 73-99 (bench/README.md, "Both cores");
// BLIS 0.9.0, the other per-call library in Debian, did not recognise the CPU
// (30 GFLOP/s without a process-wide override) and exports the same BLAS
// symbols as OpenBLAS.

// Eigen parallelises products only under OpenMP; these run on one thread
// whatever flags the translation unit gets.
#define EIGEN_DONT_PARALLELIZE
// This file alone is compiled with hidden visibility (meson.build, its own
// static library inside tapegrad's): Eigen's inline functions and their
// statics (its cache sizes, which set its blocking and so its bits) stay the
// library's own, not merged with those of a program that uses another
// Eigen, other flags or other cache sizes.
#include <Eigen/Core>

#include <tapegrad/autograd/backend/gemm.hpp>

namespace tapegrad::detail {

template <class T>
void gemm_on_this_thread(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
                         std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
    using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using Stride = Eigen::OuterStride<>;
    using Index = Eigen::Index;
    // op(A) is m x k, op(B) k x n: the stored matrices, transposed by view.
    const Eigen::Map<const RowMajor, 0, Stride> A(a, Index(ta ? k : m), Index(ta ? m : k), Stride(Index(lda)));
    const Eigen::Map<const RowMajor, 0, Stride> B(b, Index(tb ? n : k), Index(tb ? k : n), Stride(Index(ldb)));
    Eigen::Map<RowMajor, 0, Stride> C(c, Index(m), Index(n), Stride(Index(ldc)));
    // BLAS's beta: 0 overwrites C (NaN in C included), else scales it.
    if (beta == T(0))
        C.setZero();
    else if (beta != T(1))
        C *= beta;
    if (k == 0) return;
    // One expression per case, so that Eigen calls its GEMM on the views
    // without a temporary.
    if (!ta && !tb)
        C.noalias() += alpha * A * B;
    else if (ta && !tb)
        C.noalias() += alpha * A.transpose() * B;
    else if (!ta && tb)
        C.noalias() += alpha * A * B.transpose();
    else
        C.noalias() += alpha * A.transpose() * B.transpose();
}

template void gemm_on_this_thread(bool, bool, std::size_t, std::size_t, std::size_t, float, const float*, std::size_t,
                                  const float*, std::size_t, float, float*, std::size_t);
template void gemm_on_this_thread(bool, bool, std::size_t, std::size_t, std::size_t, double, const double*,
                                  std::size_t, const double*, std::size_t, double, double*, std::size_t);

}  // namespace tapegrad::detail
