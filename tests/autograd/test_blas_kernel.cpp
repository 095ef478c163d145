// Users get OpenBLAS's fast kernel without setting anything (bench/README.md):
// on a CPU with AVX2, the kernel that runs must be one that uses it.
#include <cstdlib>
#include <string>

#include <doctest/doctest.h>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/ops/gemm.hpp>

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
