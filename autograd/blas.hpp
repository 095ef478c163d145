/// \file
/// The BLAS behind matmul: its threads, and products on one thread without it.
///
/// tapegrad's matrix products run in OpenBLAS (or the BLAS it was built
/// with). OpenBLAS's thread count is one setting for the whole process, and a
/// product's last bits depend on it: OpenBLAS sums a long inner dimension in
/// other blocks on one thread than on several (measured on the MNIST
/// example's 200 x 100 x 784 product, SkylakeX kernel: 15,897 of 20,000
/// outputs differ between 1 and 2 threads; 2, 3, 4 and 8 threads agree; the
/// Haswell kernel differs between every count). So tapegrad never changes it
/// per product: every product runs with the count chosen once, before
/// training, and results do not depend on what other threads are doing. A
/// bit-exact repeat or resume needs the same kernel and the same count.
///
/// Float convolutions, in a build with oneDNN (meson option `onednn`), run in
/// oneDNN instead, on GNU OpenMP. Their thread count is blas_threads() when
/// the environment sets `OMP_WAIT_POLICY` (PASSIVE recommended), and 1
/// otherwise: OpenMP's default waiting spins, which on a busy machine made
/// two-thread convolutions 12x slower (docs/performance.md), and OpenMP reads
/// that variable only when it loads, before tapegrad can set it. For a given
/// count their results are bit-reproducible too.
#pragma once

#include <cstdint>

namespace tapegrad {

/// Sets the number of threads of every BLAS product from now on (OpenBLAS's
/// own default: OPENBLAS_NUM_THREADS, or all cores). Process-wide: call it
/// before training, while no other thread is running a tapegrad op. Throws
/// Error for n < 1; does nothing for a BLAS without thread control.
void set_blas_threads(int n);

/// The thread count products run with; 0 for a BLAS without thread control.
int blas_threads();

/// RAII: while one is alive on this thread, this thread's matrix products
/// (matmul, linear, the convolutions' im2col products) run on this thread
/// alone, in Eigen's GEMM instead of the BLAS, and the BLAS's process-wide
/// thread count is left alone: other threads compute exactly what they would
/// without it. For code that runs its own threads, each with one-thread
/// products (train::TrainerOptions::shards does). Its products are
/// bit-reproducible, but not bit-identical to the BLAS's. Guards nest.
class OneThreadProductsGuard {
public:
    /// Products on this thread alone from now on.
    OneThreadProductsGuard();
    /// Restores what the constructor found.
    ~OneThreadProductsGuard();
    OneThreadProductsGuard(const OneThreadProductsGuard&) = delete;
    OneThreadProductsGuard& operator=(const OneThreadProductsGuard&) = delete;

private:
    bool previous_;
};

/// Whether a OneThreadProductsGuard is alive on this thread.
bool one_thread_products();

/// RAII: while one is alive on this thread, it counts the multiply-adds of
/// the thread's matrix products and convolutions (m * n * k for an (m, k) by
/// (k, n) product): a measure of work that does not depend on timing or
/// load. train::TrainerOptions::shards' default weighs a batch by it.
/// Guards nest; each counts what runs while it is the innermost.
class ProductWorkCounter {
public:
    /// Counts this thread's products from now on.
    ProductWorkCounter();
    /// Gives the count back to the counter found by the constructor.
    ~ProductWorkCounter();
    ProductWorkCounter(const ProductWorkCounter&) = delete;
    ProductWorkCounter& operator=(const ProductWorkCounter&) = delete;
    /// The multiply-adds counted so far.
    std::uint64_t multiply_adds() const { return multiply_adds_; }

private:
    friend void count_multiply_adds(std::uint64_t n);
    std::uint64_t multiply_adds_ = 0;
    ProductWorkCounter* previous_;
};

/// Adds n to the innermost ProductWorkCounter of this thread, if any: called
/// by every product and convolution.
void count_multiply_adds(std::uint64_t n);

}  // namespace tapegrad
