// The one BLAS entry point of tapegrad (defined in backend/blas.cpp), shared by
// matmul, the convolutions and bench/tapegrad_bench.
#pragma once

#include <cstddef>
#include <string>

namespace tapegrad::detail {

// C = alpha op(A) op(B) + beta C on dense row-major buffers (lda, ldb, ldc are
// row strides); op = transpose where the flag is set.
template <class T>
void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a, std::size_t lda,
          const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc);

// The same product on the calling thread alone, in Eigen (gemm_one_thread.cpp):
// what gemm() runs while a OneThreadProductsGuard (blas.hpp) is alive on the
// thread. Other bits than the BLAS's, the same ones on every call.
template <class T>
void gemm_on_this_thread(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
                         std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc);

// The OpenBLAS kernel tapegrad forces where OpenBLAS fell back to one without
// AVX2 on a CPU that has it: SkylakeX with AVX-512 F, CD, BW, DQ and VL; with
// AVX2 and FMA, Zen on AMD's and Hygon's CPUs (OpenBLAS's AVX2 kernels tuned
// for their caches) and Haswell on others; else null (nothing to force).
// The bench forces PyTorch's OpenBLAS by the same rule (bench/machine.py).
const char* best_openblas_kernel(bool avx512_for_skylakex, bool avx2_fma, const std::string& vendor);

// Which BLAS kernel runs, e.g. "OpenBLAS SkylakeX (chosen by tapegrad; OpenBLAS
// picked Prescott)". Also makes the choice, if it has not been made yet.
std::string blas_kernel();

}  // namespace tapegrad::detail
