// Why Tensor<T> stores xt::xarray<T> (any rank) rather than xt::xtensor<T, N>:
// the same expressions on both containers, at the training step's sizes and at
// the tape benchmark's 1x1. Run: ninja -C build bench/xarray_vs_xtensor &&
// build/bench/xarray_vs_xtensor. Figures are in the comment in autograd/tensor.hpp.
#include <xtensor/xarray.hpp>
#include <xtensor/xtensor.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>
#include <chrono>
#include <cstdio>
template <class F> double best_us(F f, int reps = 2000) {
    double best = 1e30;
    for (int r = 0; r < 5; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < reps; ++i) f();
        double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / reps;
        if (us < best) best = us;
    }
    return best;
}
volatile float sink;
int main() {
    xt::xarray<float> a = xt::ones<float>({200, 100}), b = xt::ones<float>({100});
    xt::xtensor<float, 2> ta = xt::ones<float>({200, 100}); xt::xtensor<float, 1> tb = xt::ones<float>({100});
    xt::xarray<float> s1 = xt::ones<float>({1, 1}); xt::xtensor<float,2> ts1 = xt::ones<float>({1,1});
    std::printf("sigmoid 200x100   xarray %.2f us  xtensor %.2f us\n",
        best_us([&]{ xt::xarray<float> r = 1.0f / (1.0f + xt::exp(-a)); sink = r(0); }),
        best_us([&]{ xt::xtensor<float,2> r = 1.0f / (1.0f + xt::exp(-ta)); sink = r(0); }));
    std::printf("bias add (200,100)+(100)  xarray %.2f us  xtensor %.2f us\n",
        best_us([&]{ xt::xarray<float> r = a + b; sink = r(0); }),
        best_us([&]{ xt::xtensor<float,2> r = ta + tb; sink = r(0); }));
    std::printf("mul same shape 200x100  xarray %.2f us  xtensor %.2f us\n",
        best_us([&]{ xt::xarray<float> r = a * a; sink = r(0); }),
        best_us([&]{ xt::xtensor<float,2> r = ta * ta; sink = r(0); }));
    std::printf("mul 1x1 (tape-sized)  xarray %.3f us  xtensor %.3f us\n",
        best_us([&]{ xt::xarray<float> r = s1 * s1; sink = r(0); }, 200000),
        best_us([&]{ xt::xtensor<float,2> r = ts1 * ts1; sink = r(0); }, 200000));
    std::printf("sum axis 0 (200,100)->(100)  xarray %.2f us  xtensor %.2f us\n",
        best_us([&]{ xt::xarray<float> r = xt::sum(a, {0}, xt::evaluation_strategy::immediate); sink = r(0); }),
        best_us([&]{ xt::xtensor<float,1> r = xt::sum(ta, {0}, xt::evaluation_strategy::immediate); sink = r(0); }));
}
