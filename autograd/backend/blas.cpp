// The BLAS behind every product (blas.hpp, backend/gemm.hpp): the one gemm
// entry point, the OpenBLAS kernel choice, its thread count, and the per-thread
// switches (one-thread products, the multiply-add counter).
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <string>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif

#include <xtensor-blas/xblas.hpp>

#include <tapegrad/autograd/backend/gemm.hpp>
#include <tapegrad/autograd/blas.hpp>
#include <tapegrad/autograd/tensor.hpp>

// OpenBLAS built with DYNAMIC_ARCH (Debian's, most distributions') chooses its
// kernels once, when it loads, from the CPU model; OPENBLAS_CORETYPE is read
// only then. A release that does not know a newer CPU (0.3.21 and Sapphire/
// Emerald Rapids, family 6 model 207) falls back to its Prescott (SSE3) kernel:
// sgemm at ~32 GFLOP/s where its SkylakeX kernel reaches ~130-157. These entry
// points (exported by such builds) let us redo that choice after loading.
// Weak, so that any other BLAS links too: then they are null and we do nothing.
extern "C" {
void gotoblas_dynamic_init(void) __attribute__((weak));
int openblas_get_num_threads(void) __attribute__((weak));
void openblas_set_num_threads(int) __attribute__((weak));
void gotoblas_dynamic_quit(void) __attribute__((weak));
char* openblas_get_corename(void) __attribute__((weak));
}

namespace tapegrad {

namespace detail {

const char* best_openblas_kernel(bool avx512_for_skylakex, bool avx2_fma, const std::string& vendor) {
    if (avx512_for_skylakex) return "SkylakeX";
    if (avx2_fma) return vendor == "AuthenticAMD" || vendor == "HygonGenuine" ? "Zen" : "Haswell";
    return nullptr;
}

namespace {

std::string lower(const char* s) {
    std::string out(s ? s : "");
    for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// CPUID's vendor string ("GenuineIntel", "AuthenticAMD", ...).
std::string cpu_vendor() {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return "";
    char vendor[13] = {};
    std::memcpy(vendor, &ebx, 4);
    std::memcpy(vendor + 4, &edx, 4);
    std::memcpy(vendor + 8, &ecx, 4);
    return vendor;
}
#endif

// The best OpenBLAS kernel this CPU (and OS: __builtin_cpu_supports checks
// that the OS saves the AVX-512 registers) can run, or null.
const char* best_kernel_for_cpu() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    const bool skylakex = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
                          __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
                          __builtin_cpu_supports("avx512vl");
    const bool avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return best_openblas_kernel(skylakex, avx2_fma, cpu_vendor());
#else
    return nullptr;
#endif
}

// Kernels without AVX2: on a CPU that has it, OpenBLAS chose one of these
// only because it did not recognise the model.
bool is_fallback_kernel(const std::string& core) {
    static const char* const old[] = {"prescott", "core2",     "penryn",   "dunnington", "nehalem", "sandybridge",
                                      "atom",     "nano",      "katmai",   "coppermine", "northwood", "banias",
                                      "athlon",   "opteron",   "opteron_sse3", "barcelona", "bobcat"};
    return std::any_of(std::begin(old), std::end(old), [&](const char* name) { return core == name; });
}

std::string choose_kernel() {
    if (!gotoblas_dynamic_init || !gotoblas_dynamic_quit || !openblas_get_corename)
        return "a BLAS without run-time kernel choice";  // not OpenBLAS DYNAMIC_ARCH: leave it
    const std::string picked = openblas_get_corename();
    if (std::getenv("OPENBLAS_CORETYPE")) return "OpenBLAS " + picked + " (OPENBLAS_CORETYPE)";  // the user's word
    const char* best = best_kernel_for_cpu();
    if (!best || !is_fallback_kernel(lower(picked.c_str()))) return "OpenBLAS " + picked;
    // gotoblas_dynamic_init reads OPENBLAS_CORETYPE as at load time; unset it
    // again so that child processes choose for themselves.
    setenv("OPENBLAS_CORETYPE", best, 1);
    gotoblas_dynamic_quit();
    gotoblas_dynamic_init();
    unsetenv("OPENBLAS_CORETYPE");
    return "OpenBLAS " + std::string(openblas_get_corename()) + " (chosen by tapegrad; OpenBLAS picked " + picked + ")";
}

// Made before tapegrad's first BLAS call; OpenBLAS must not be running a call
// on another thread at that moment (the kernel table is swapped under it).
const std::string& kernel_choice() {
    static const std::string choice = choose_kernel();
    return choice;
}

}  // namespace

std::string blas_kernel() { return kernel_choice(); }

template <class T>
void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a, std::size_t lda,
          const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
    if (m == 0 || n == 0) return;
    count_multiply_adds(std::uint64_t(m) * n * k);
    if (k == 0) {  // BLAS may leave C alone when k = 0; the product is still beta C
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < n; ++j) c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
        return;
    }
    if (one_thread_products()) {
        gemm_on_this_thread(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    kernel_choice();
    // Every product runs with OpenBLAS's one thread count (blas.hpp), never
    // changed here. Until issue #11, products under 4M multiply-adds set it
    // to 1 for the call, as they ran faster so; but the setting is process-
    // wide, so a large product on another thread at that moment ran on one
    // thread too and came out different in its last bits.
    using cxxblas::Transpose;
    cxxblas::gemm<int>(cxxblas::StorageOrder::RowMajor, ta ? Transpose::Trans : Transpose::NoTrans,
                       tb ? Transpose::Trans : Transpose::NoTrans, int(m), int(n), int(k), alpha, a, int(lda), b,
                       int(ldb), beta, c, int(ldc));
}

template void gemm(bool, bool, std::size_t, std::size_t, std::size_t, float, const float*, std::size_t, const float*,
                   std::size_t, float, float*, std::size_t);
template void gemm(bool, bool, std::size_t, std::size_t, std::size_t, double, const double*, std::size_t,
                   const double*, std::size_t, double, double*, std::size_t);

}  // namespace detail

namespace {
thread_local bool products_on_this_thread = false;
}  // namespace

OneThreadProductsGuard::OneThreadProductsGuard() : previous_(products_on_this_thread) {
    products_on_this_thread = true;
}
OneThreadProductsGuard::~OneThreadProductsGuard() { products_on_this_thread = previous_; }

namespace {
thread_local ProductWorkCounter* work_counter = nullptr;
}  // namespace

ProductWorkCounter::ProductWorkCounter() : previous_(work_counter) { work_counter = this; }
ProductWorkCounter::~ProductWorkCounter() { work_counter = previous_; }
void count_multiply_adds(std::uint64_t n) {
    if (work_counter) work_counter->multiply_adds_ += n;
}
bool one_thread_products() { return products_on_this_thread; }

void set_blas_threads(int n) {
    if (n < 1) throw Error("set_blas_threads: the thread count must be at least 1, got " + std::to_string(n));
    detail::kernel_choice();  // the kernel first: choosing it restarts OpenBLAS
    if (openblas_set_num_threads) openblas_set_num_threads(n);
}

int blas_threads() {
    detail::kernel_choice();
    return openblas_get_num_threads ? openblas_get_num_threads() : 0;
}

}  // namespace tapegrad
