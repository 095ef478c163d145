// max_pool2d, avg_pool2d, avg_pool2d_input_grad, take, put_add: gradients
// over several geometries, forward values against naive loops written here,
// PyTorch's max-pool ties, and the errors.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <tuple>

#include "check.hpp"

using namespace tapegrad;
using namespace tapegrad::testing;

namespace {

// Distinct values 0.1 apart in random order: no two inputs of a pooling
// window tie, and the central differences of gradcheck (eps 1e-6) never
// change which one is the maximum.
Tensor<double> distinct(const Shape& shape, std::uint64_t seed) {
    std::vector<double> v(checked_element_count("distinct", shape, sizeof(double)));
    std::iota(v.begin(), v.end(), 0.0);
    std::shuffle(v.begin(), v.end(), std::mt19937_64(seed));
    for (double& e : v) e = 0.1 * e - 1.0;
    return Tensor<double>::from_data(v, shape, true);
}

}  // namespace

TEST_CASE("max_pool2d, take and put_add: gradcheck and gradgradcheck") {
    struct PoolCase {
        Shape in;
        Size2 kernel, stride, padding, dilation;
    };
    const std::vector<PoolCase> cases = {
        {{2, 2, 4, 4}, 2, Size2(), 0, 1},        // the CNN's: kernel 2, stride 2
        {{1, 1, 5, 5}, 3, 2, 1, 1},              // padding, odd size, batch 1
        {{1, 2, 5, 6}, {2, 3}, {1, 2}, {1, 1}, 1},  // non-square, overlapping windows
        {{2, 1, 7, 6}, 2, 1, 1, 2},              // dilation 2
        {{1, 1, 3, 3}, 1, 1, 0, 1},              // a 1x1 window: the identity
    };
    std::uint64_t seed = 800;
    for (const auto& c : cases) {
        INFO("input ", shape_name(c.in), " kernel ", size2_str(c.kernel), " stride ", size2_str(c.stride), " padding ",
             size2_str(c.padding), " dilation ", size2_str(c.dilation));
        check_gradients(
            Op::max_pool2d,
            [c](const TL& t) { return TL{max_pool2d(t[0], c.kernel, c.stride, c.padding, c.dilation)}; },
            {distinct(c.in, ++seed)});
    }
    // take and put_add with repeated and unused positions.
    const std::vector<std::tuple<Shape, std::vector<std::size_t>, Shape>> moves = {
        {{3, 4}, {0, 11, 3, 3, 7}, {5}},
        {{2, 3}, {5, 5, 0, 1}, {2, 2}},
        {{1}, {0, 0, 0}, {3, 1}},
        {{4}, {2}, {}},
    };
    for (const auto& [big, positions, small] : moves) {
        INFO(shape_name(big), " <-> ", shape_name(small));
        const FlatIndex index = std::make_shared<std::vector<std::size_t>>(positions);
        check_gradients(Op::take, [index, small = small](const TL& t) { return TL{take(t[0], index, small)}; },
                        {randn(big, ++seed)});
        check_gradients(Op::put_add, [index, big = big](const TL& t) { return TL{put_add(t[0], index, big)}; },
                        {randn(small, ++seed)});
    }
}

TEST_CASE("take and put_add: values and errors") {
    const FlatIndex index = std::make_shared<std::vector<std::size_t>>(std::vector<std::size_t>{2, 0, 2});
    auto a = Tensor<double>::of({10.0, 20.0, 30.0});
    CHECK(take(a, index, {3}).data() == Array<double>(xt::xarray<double>{30.0, 10.0, 30.0}));
    CHECK(put_add(a, index, {4}).data() == Array<double>(xt::xarray<double>{20.0, 0.0, 40.0, 0.0}));
    CHECK_THROWS_WITH_AS(take(a, index, {2}), "take: 3 indices for 2 elements (from (3,) to (2,))", Error);
    CHECK_THROWS_WITH_AS(put_add(a, index, {2}), "put_add: index 2 is out of range for 2 elements (from (3,) to (2,))",
                         Error);
    CHECK_THROWS_WITH_AS(take(a, FlatIndex(), {3}), "take: no index (from (3,) to (3,))", Error);
}

namespace {
// max_pool2d by its definition: padding is -inf, windows scanned row-major;
// `chosen` (if given) counts how often each input is a window's first maximum.
Array<double> naive_max_pool(const Array<double>& x, Size2 k, Size2 s, Size2 p, Size2 d, Array<double>* chosen = nullptr) {
    const std::size_t N = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
    const std::size_t OH = out_extent(H, k.h, s.h, p.h, d.h), OW = out_extent(W, k.w, s.w, p.w, d.w);
    Array<double> y = xt::zeros<double>(Shape{N, C, OH, OW});
    for (std::size_t n = 0; n < N; ++n)
        for (std::size_t c = 0; c < C; ++c)
            for (std::size_t oh = 0; oh < OH; ++oh)
                for (std::size_t ow = 0; ow < OW; ++ow) {
                    double best = -std::numeric_limits<double>::infinity();
                    long best_h = -1, best_w = -1;
                    for (std::size_t i = 0; i < k.h; ++i)
                        for (std::size_t j = 0; j < k.w; ++j) {
                            const long ih = long(oh * s.h + i * d.h) - long(p.h);
                            const long iw = long(ow * s.w + j * d.w) - long(p.w);
                            if (ih < 0 || iw < 0 || ih >= long(H) || iw >= long(W)) continue;
                            if (best_h < 0 || x(n, c, ih, iw) > best) best = x(n, c, ih, iw), best_h = ih, best_w = iw;
                        }
                    y(n, c, oh, ow) = best;
                    if (chosen) (*chosen)(n, c, best_h, best_w) += 1;
                }
    return y;
}

// avg_pool2d by its definition (PyTorch's divisor rule: the window clipped
// to the padded input, or to the input alone without count_include_pad).
Array<double> naive_avg_pool(const Array<double>& x, Size2 k, Size2 s, Size2 p, bool count_pad) {
    const std::size_t N = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
    const std::size_t OH = out_extent(H, k.h, s.h, p.h, 1), OW = out_extent(W, k.w, s.w, p.w, 1);
    Array<double> y = xt::zeros<double>(Shape{N, C, OH, OW});
    for (std::size_t n = 0; n < N; ++n)
        for (std::size_t c = 0; c < C; ++c)
            for (std::size_t oh = 0; oh < OH; ++oh)
                for (std::size_t ow = 0; ow < OW; ++ow) {
                    double total = 0;
                    std::size_t inside = 0, padded = 0;
                    for (std::size_t i = 0; i < k.h; ++i)
                        for (std::size_t j = 0; j < k.w; ++j) {
                            const long ih = long(oh * s.h + i) - long(p.h), iw = long(ow * s.w + j) - long(p.w);
                            if (ih < long(H + p.h) && iw < long(W + p.w)) ++padded;
                            if (ih < 0 || iw < 0 || ih >= long(H) || iw >= long(W)) continue;
                            total += x(n, c, ih, iw);
                            ++inside;
                        }
                    y(n, c, oh, ow) = total / double(count_pad ? padded : inside);
                }
    return y;
}
}  // namespace

TEST_CASE("max_pool2d and avg_pool2d: values against naive loops") {
    struct Case {
        Shape in;
        Size2 kernel, stride, padding, dilation;
    };
    const std::vector<Case> cases = {{{2, 3, 6, 6}, 2, 2, 0, 1}, {{1, 2, 7, 5}, 3, 2, 1, 1}, {{1, 1, 6, 7}, {2, 3}, {1, 2}, {1, 1}, 1},
                                     {{2, 1, 7, 8}, 3, 1, 1, 2}, {{1, 1, 5, 5}, 4, 3, 2, 1}};
    std::uint64_t seed = 900;
    for (const auto& c : cases) {
        INFO("input ", shape_name(c.in), " kernel ", size2_str(c.kernel), " stride ", size2_str(c.stride));
        auto x = randn(c.in, ++seed, false);
        // Exactly: the maximum is one of the inputs.
        CHECK(max_pool2d(x, c.kernel, c.stride, c.padding, c.dilation).data() ==
              naive_max_pool(x.data(), c.kernel, c.stride, c.padding, c.dilation));
        if (c.dilation != Size2(1)) continue;
        for (bool count_pad : {true, false}) {
            // Sums of at most 16 values in another order: a few ulps.
            CHECK(xt::allclose(avg_pool2d(x, c.kernel, c.stride, c.padding, count_pad).data(),
                               naive_avg_pool(x.data(), c.kernel, c.stride, c.padding, count_pad), 1e-14, 1e-14));
        }
    }
    CHECK(max_pool2d(Tensor<float>::ones({1, 1, 4, 4}), 2).shape() == Shape{1, 1, 2, 2});
}

TEST_CASE("max_pool2d: with many ties, each window's gradient goes to its first maximum") {
    // Values in {0, 1, 2}: most windows tie. The gradient of the sum counts,
    // per input, the windows that chose it; the naive loop says which should.
    struct Geometry {
        Size2 kernel, stride, padding, dilation;
    };
    std::uint64_t seed = 950;
    for (const auto& [kernel, stride, padding, dilation] :
         std::vector<Geometry>{{2, 2, 0, 1}, {3, 1, 1, 1}, {3, 2, 1, 2}, {{2, 3}, {1, 2}, {1, 0}, {2, 1}}}) {
        INFO("kernel ", size2_str(kernel), " stride ", size2_str(stride), " padding ", size2_str(padding), " dilation ",
             size2_str(dilation));
        auto x = Tensor<double>(xt::floor(Tensor<double>::uniform({2, 2, 7, 6}, 0.0, 3.0, ++seed).data()), true);
        Array<double> chosen = xt::zeros<double>(x.shape());
        const Array<double> expected = naive_max_pool(x.data(), kernel, stride, padding, dilation, &chosen);
        auto y = max_pool2d(x, kernel, stride, padding, dilation);
        CHECK(y.data() == expected);
        sum(y).backward();
        CHECK(x.grad().data() == chosen);
    }
}

TEST_CASE("max_pool2d: ties go where PyTorch sends them") {
    // Made by torch 1.13 (F.max_pool2d, then backward with the given output
    // gradient): each window's gradient goes to its first maximum in
    // row-major order.
    auto x = Tensor<double>::from_data({1, 3, 3, 0, 3, 2, 1, 1, 0, 0, 5, 5, 0, 5, 5, 0}, {1, 1, 4, 4}, true);
    auto y = max_pool2d(x, 2);
    CHECK(y.data() == Array<double>(xt::xarray<double>{{{{3, 3}, {5, 5}}}}));
    y.backward(Tensor<double>::from_data({1, 10, 100, 1000}, {1, 1, 2, 2}));
    CHECK(x.grad().data() ==
          Array<double>(xt::xarray<double>{{{{0, 1, 10, 0}, {0, 0, 0, 0}, {0, 0, 1000, 0}, {0, 100, 0, 0}}}}));
    // All equal with padding 1, stride 1: the first input pixel of each window.
    auto ones = Tensor<double>::ones({1, 1, 3, 3}, true);
    std::vector<double> g(16);
    std::iota(g.begin(), g.end(), 1.0);
    max_pool2d(ones, 2, 1, 1).backward(Tensor<double>::from_data(g, {1, 1, 4, 4}));
    CHECK(ones.grad().data() == Array<double>(xt::xarray<double>{{{{14, 10, 12}, {19, 11, 12}, {27, 15, 16}}}}));
    // A NaN wins its window, the last one if several (each NaN met takes
    // over); a window of -inf sends its gradient to its first pixel. torch
    // 1.13 on [[nan, 1, -inf, -inf], [nan, 2, -inf, -inf]], kernel 2, output
    // gradient [1, 10]: values [nan, -inf], input gradient [[0, 0, 10, 0], [1, 0, 0, 0]].
    const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
    auto odd = Tensor<double>::from_data({nan, 1, -inf, -inf, nan, 2, -inf, -inf}, {1, 1, 2, 4}, true);
    auto pooled = max_pool2d(odd, 2);
    CHECK(std::isnan(pooled.at({0, 0, 0, 0})));
    CHECK(pooled.at({0, 0, 0, 1}) == -inf);
    pooled.backward(Tensor<double>::from_data({1, 10}, {1, 1, 1, 2}));
    CHECK(odd.grad().data() == Array<double>(xt::xarray<double>{{{{0, 0, 10, 0}, {1, 0, 0, 0}}}}));
}

TEST_CASE("avg_pool2d and its input gradient: gradcheck, gradgradcheck, PyTorch's values") {
    struct Case {
        Shape in;
        Size2 kernel, stride, padding;
    };
    const std::vector<Case> cases = {
        {{2, 2, 4, 4}, 2, Size2(), 0}, {{1, 1, 5, 5}, 3, 2, 1}, {{1, 2, 5, 6}, {2, 3}, {1, 2}, {1, 1}}, {{1, 1, 3, 3}, 1, 1, 0}};
    std::uint64_t seed = 1000;
    for (const auto& c : cases)
        for (bool count_pad : {true, false}) {
            INFO("input ", shape_name(c.in), " kernel ", size2_str(c.kernel), " count_include_pad ", count_pad);
            check_gradients(Op::avg_pool2d,
                            [c, count_pad](const TL& t) { return TL{avg_pool2d(t[0], c.kernel, c.stride, c.padding, count_pad)}; },
                            {randn(c.in, ++seed)});
            const Size2 stride = c.stride == Size2() ? c.kernel : c.stride;
            const Shape out = avg_pool2d(Tensor<double>::zeros(c.in), c.kernel, c.stride, c.padding).shape();
            check_gradients(Op::avg_pool2d_input_grad,
                            [c, stride, count_pad](const TL& t) {
                                return TL{avg_pool2d_input_grad(t[0], c.in, c.kernel, stride, c.padding, count_pad)};
                            },
                            {randn(out, ++seed)});
        }
    // torch 1.13: F.avg_pool2d(torch.arange(9.).reshape(1, 1, 3, 3), 2, stride=1, padding=1, count_include_pad=...)
    auto x = Tensor<double>::from_data({0, 1, 2, 3, 4, 5, 6, 7, 8}, {1, 1, 3, 3});
    CHECK(avg_pool2d(x, 2, 1, 1, false).data() ==
          Array<double>(xt::xarray<double>{{{{0, 0.5, 1.5, 2}, {1.5, 2, 3, 3.5}, {4.5, 5, 6, 6.5}, {6, 6.5, 7.5, 8}}}}));
    CHECK(avg_pool2d(x, 2, 1, 1, true).data() ==
          Array<double>(xt::xarray<double>{
              {{{0, 0.25, 0.75, 0.5}, {0.75, 2, 3, 1.75}, {2.25, 5, 6, 3.25}, {1.5, 3.25, 3.75, 2}}}}));
}

TEST_CASE("pools: bad shapes and geometries are errors naming the op and the shapes") {
    auto x = Tensor<double>::zeros({1, 2, 5, 5});
    CHECK_THROWS_WITH_AS(max_pool2d(Tensor<double>::zeros({2, 5, 5}), 2),
                         "max_pool2d: the input must be 4-D (N, C, H, W) (input (2, 5, 5), kernel (2, 2), stride (2, 2), "
                         "padding (0, 0), dilation (1, 1))",
                         Error);
    CHECK_THROWS_WITH_AS(max_pool2d(x, 0), doctest::Contains("max_pool2d: the kernel must be > 0"), Error);
    CHECK_THROWS_WITH_AS(max_pool2d(x, 2, {0, 1}), doctest::Contains("the stride must be > 0"), Error);
    CHECK_THROWS_WITH_AS(max_pool2d(x, 2, 2, 0, {1, 0}), doctest::Contains("the dilation must be > 0"), Error);
    CHECK_THROWS_WITH_AS(max_pool2d(x, 2, 2, 2), doctest::Contains("the padding must be at most half the kernel"), Error);
    CHECK_THROWS_WITH_AS(avg_pool2d(x, 6), doctest::Contains("avg_pool2d: the kernel spans 6 pixels, more than the padded input's 5"),
                         Error);
    // Dilated taps that skip every input pixel of a window (here at -1 and
    // 2 of a 2-pixel axis), where PyTorch would point outside the input.
    CHECK_THROWS_WITH_AS(max_pool2d(Tensor<double>::zeros({1, 1, 2, 2}), 2, 1, 1, 3),
                         doctest::Contains("a window holds padding only"), Error);
    CHECK_THROWS_WITH_AS(avg_pool2d_input_grad(Tensor<double>::zeros({1, 2, 3, 3}), {1, 2, 5, 5}, 2, 2, 0, true),
                         "avg_pool2d_input_grad: the output gradient has shape (1, 2, 3, 3), the pooled output (1, 2, 2, 2)",
                         Error);
}
