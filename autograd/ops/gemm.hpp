// The one BLAS entry point of tapegrad (defined in ops/matmul.cpp), shared by
// matmul, the fused kernels and bench/tapegrad_bench.
#pragma once

#include <cstddef>
#include <string>

namespace tapegrad::detail {

// C = alpha op(A) op(B) + beta C on dense row-major buffers (lda, ldb, ldc are
// row strides); op = transpose where the flag is set.
template <class T>
void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a, std::size_t lda,
          const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc);

// Which BLAS kernel runs, e.g. "OpenBLAS SkylakeX (chosen by tapegrad; OpenBLAS
// picked Prescott)". Also makes the choice, if it has not been made yet.
std::string blas_kernel();

}  // namespace tapegrad::detail
