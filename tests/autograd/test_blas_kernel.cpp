// Users get OpenBLAS's fast kernel without setting anything (bench/README.md):
// on a CPU with AVX2, the kernel that runs must be one that uses it.
#include <array>
#include <cmath>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <tapegrad/autograd/blas.hpp>
#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/backend/gemm.hpp>

using namespace tapegrad;

TEST_CASE("OpenBLAS runs a kernel this CPU supports, not its SSE3 fallback") {
    const std::string kernel = detail::blas_kernel();
    INFO("BLAS: ", kernel);
    if (kernel.rfind("OpenBLAS ", 0) != 0 || std::getenv("OPENBLAS_CORETYPE")) {
        MESSAGE("not an OpenBLAS with run-time kernel choice, or the user chose the kernel: nothing to check");
        return;
    }
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2")) {
        MESSAGE("this CPU has no AVX2: any kernel is right");
        return;
    }
    const std::string name = kernel.substr(9, kernel.find(' ', 9) - 9);
    for (const char* fallback : {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Sandybridge", "Atom"})
        CHECK(name != fallback);
#endif
    // And the products it computes are still right.
    auto a = Tensor<float>::of({{1.0f, 2.0f}, {3.0f, 4.0f}});
    CHECK(matmul(a, a).at({1, 1}) == 22.0f);
}

TEST_CASE("the kernel tapegrad forces follows the bench's rule (bench/machine.py, best_kernel)") {
    // (AVX-512 for SkylakeX, AVX2 + FMA, vendor) -> kernel, as machine.py's selftest cases.
    CHECK(std::string(detail::best_openblas_kernel(true, true, "GenuineIntel")) == "SkylakeX");
    CHECK(std::string(detail::best_openblas_kernel(true, true, "AuthenticAMD")) == "SkylakeX");  // Zen 4 and 5
    CHECK(std::string(detail::best_openblas_kernel(false, true, "AuthenticAMD")) == "Zen");      // Zen 3
    CHECK(std::string(detail::best_openblas_kernel(false, true, "HygonGenuine")) == "Zen");
    CHECK(std::string(detail::best_openblas_kernel(false, true, "GenuineIntel")) == "Haswell");
    CHECK(detail::best_openblas_kernel(false, false, "GenuineIntel") == nullptr);
}

TEST_CASE("OneThreadProductsGuard: the same products as the BLAS, up to rounding, and no process-wide change") {
    const int threads_before = blas_threads();
    CHECK_FALSE(one_thread_products());
    for (bool ta : {false, true})
        for (bool tb : {false, true})
            for (const auto& mnk : {std::array<std::size_t, 3>{5, 7, 3}, {1, 1, 1}, {33, 17, 65}, {4, 3, 0}}) {
                const std::size_t m = mnk[0], n = mnk[1], k = mnk[2];
                CAPTURE(ta);
                CAPTURE(tb);
                CAPTURE(m);
                CAPTURE(n);
                CAPTURE(k);
                const auto a = Tensor<double>::normal(ta ? Shape{k, m} : Shape{m, k}, 0, 1, 1);
                const auto b = Tensor<double>::normal(tb ? Shape{n, k} : Shape{k, n}, 0, 1, 2);
                const Tensor<double> by_blas = matmul(a, b, ta, tb);
                Tensor<double> alone;
                {
                    OneThreadProductsGuard one_thread;
                    CHECK(one_thread_products());
                    {
                        OneThreadProductsGuard nested;
                    }
                    CHECK(one_thread_products());  // the inner guard restored what it found
                    alone = matmul(a, b, ta, tb);
                    CHECK(blas_threads() == threads_before);
                }
                CHECK_FALSE(one_thread_products());
                REQUIRE(alone.shape() == by_blas.shape());
                // k products of N(0, 1) values summed in another order: the
                // difference is rounding, a few ulps of sqrt(k).
                CHECK(xt::amax(xt::abs(alone.data() - by_blas.data()))() <= 1e-13 * double(k + 1));
            }
    // BLAS's beta: 0 overwrites C, NaN included; 1 adds to it (linear's bias).
    std::vector<double> c(4, std::nan("")), a{1, 2, 3, 4}, b{1, 0, 0, 1};
    {
        OneThreadProductsGuard one_thread;
        detail::gemm<double>(false, false, 2, 2, 2, 1.0, a.data(), 2, b.data(), 2, 0.0, c.data(), 2);
        CHECK(c == std::vector<double>{1, 2, 3, 4});
        detail::gemm<double>(false, false, 2, 2, 2, 2.0, a.data(), 2, b.data(), 2, 1.0, c.data(), 2);
        CHECK(c == std::vector<double>{3, 6, 9, 12});
    }
}

TEST_CASE("ProductWorkCounter counts the multiply-adds of this thread's products and convolutions") {
    const Tensor<float> a = Tensor<float>::ones({3, 4}), b = Tensor<float>::ones({4, 5});
    const Tensor<float> images = Tensor<float>::ones({2, 3, 6, 6}), kernels = Tensor<float>::ones({4, 3, 3, 3});
    ProductWorkCounter outer;
    matmul(a, b);
    CHECK(outer.multiply_adds() == 3 * 5 * 4);
    {
        const ProductWorkCounter inner;  // the innermost counts alone
        // 2 images x 4 channels out x 4x4 positions x (3 channels x 3x3 taps),
        // whether oneDNN or im2col's products compute it.
        conv2d(images, kernels, Tensor<float>());
        CHECK(inner.multiply_adds() == 2 * 4 * 16 * 27);
        conv2d(Tensor<double>::ones({2, 3, 6, 6}), Tensor<double>::ones({4, 3, 3, 3}), Tensor<double>());
        CHECK(inner.multiply_adds() == 2 * (2 * 4 * 16 * 27));
    }
    CHECK(outer.multiply_adds() == 3 * 5 * 4);
    // Another thread's products are its own.
    std::thread([&] { matmul(a, b); }).join();
    CHECK(outer.multiply_adds() == 3 * 5 * 4);
}
