// conv2d, conv2d_input_grad, conv2d_weight_grad: gradients over several
// geometries, forward values against a naive loop written here, and the
// errors. (Pooling: test_grad_pool.cpp.)
#include <limits>

#include "check.hpp"

using namespace tapegrad;
using namespace tapegrad::testing;

namespace {

// One convolution to check: input (N, C, H, W), weight (O, C / groups, kh, kw).
struct ConvCase {
    std::size_t N, C, H, W, O, kh, kw;
    Conv2dGeometry geometry;
    bool bias;
};

// Small shapes (gradcheck is quadratic in the element count) covering each
// path: plain, stride 2 with padding, dilation 2 with groups, 1x1 kernels
// (whose columns are the image itself) with and without stride, odd and
// non-square sizes, batch 1.
std::vector<ConvCase> conv_cases() {
    return {
        {2, 2, 5, 4, 3, 3, 3, Conv2dGeometry(), true},
        {1, 1, 5, 5, 2, 3, 2, Conv2dGeometry().stride(2).padding(1), true},
        {1, 4, 5, 6, 2, 2, 2, Conv2dGeometry().dilation(2).groups(2).padding({1, 0}), false},
        {2, 3, 3, 3, 2, 1, 1, Conv2dGeometry(), true},
        {1, 2, 5, 4, 4, 1, 1, Conv2dGeometry().stride(2).groups(2), true},
        {2, 1, 6, 5, 1, 2, 3, Conv2dGeometry().stride({2, 1}).dilation({1, 2}).padding({0, 2}), true},
    };
}

std::string describe(const ConvCase& c) {
    return "input " + shape_str({c.N, c.C, c.H, c.W}) + " weight " + shape_str({c.O, c.C / c.geometry.groups(), c.kh, c.kw}) +
           " stride " + size2_str(c.geometry.stride()) + " padding " + size2_str(c.geometry.padding()) + " dilation " +
           size2_str(c.geometry.dilation()) + " groups " + std::to_string(c.geometry.groups());
}

Shape output_shape(const ConvCase& c) {
    const auto& g = c.geometry;
    return {c.N, c.O, out_extent(c.H, c.kh, g.stride().h, g.padding().h, g.dilation().h),
            out_extent(c.W, c.kw, g.stride().w, g.padding().w, g.dilation().w)};
}

// conv2d by its definition, one multiply-add at a time.
template <class T>
Array<T> naive_conv2d(const Array<T>& x, const Array<T>& w, const Array<T>* b, const Conv2dGeometry& g) {
    const std::size_t N = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
    const std::size_t O = w.shape()[0], Cg = w.shape()[1], kh = w.shape()[2], kw = w.shape()[3];
    const std::size_t Og = O / g.groups();
    const std::size_t OH = out_extent(H, kh, g.stride().h, g.padding().h, g.dilation().h);
    const std::size_t OW = out_extent(W, kw, g.stride().w, g.padding().w, g.dilation().w);
    Array<T> y = xt::zeros<T>(Shape{N, O, OH, OW});
    for (std::size_t n = 0; n < N; ++n)
        for (std::size_t o = 0; o < O; ++o)
            for (std::size_t oh = 0; oh < OH; ++oh)
                for (std::size_t ow = 0; ow < OW; ++ow) {
                    T total = b ? (*b)(o) : T(0);
                    for (std::size_t ci = 0; ci < Cg; ++ci)
                        for (std::size_t i = 0; i < kh; ++i)
                            for (std::size_t j = 0; j < kw; ++j) {
                                const long ih = long(oh * g.stride().h + i * g.dilation().h) - long(g.padding().h);
                                const long iw = long(ow * g.stride().w + j * g.dilation().w) - long(g.padding().w);
                                if (ih < 0 || iw < 0 || ih >= long(H) || iw >= long(W)) continue;
                                total += x(n, (o / Og) * Cg + ci, ih, iw) * w(o, ci, i, j);
                            }
                    y(n, o, oh, ow) = total;
                }
    return y;
}

double dot(const Array<double>& a, const Array<double>& b) { return xt::sum(a * b)(); }

}  // namespace

TEST_CASE("conv2d and both of its gradients: gradcheck and gradgradcheck over several geometries") {
    std::uint64_t seed = 600;
    for (const ConvCase& c : conv_cases()) {
        INFO(describe(c));
        const Shape in{c.N, c.C, c.H, c.W}, wshape{c.O, c.C / c.geometry.groups(), c.kh, c.kw};
        const Shape out = output_shape(c);
        const Conv2dGeometry g = c.geometry;
        Tensor<double> x = randn(in, ++seed), w = randn(wshape, ++seed), b = randn({c.O}, ++seed);
        if (c.bias)
            check_gradients(Op::conv2d, [g](const TL& t) { return TL{conv2d(t[0], t[1], t[2], g)}; }, {x, w, b});
        else
            check_gradients(Op::conv2d, [g](const TL& t) { return TL{conv2d(t[0], t[1], Tensor<double>(), g)}; }, {x, w});
        Tensor<double> grad = randn(out, ++seed);
        check_gradients(Op::conv2d_input_grad,
                        [g, in](const TL& t) { return TL{conv2d_input_grad(t[0], t[1], in, g)}; }, {grad, w});
        check_gradients(Op::conv2d_weight_grad,
                        [g, wshape](const TL& t) { return TL{conv2d_weight_grad(t[0], t[1], wshape, g)}; }, {x, grad});
    }
}

TEST_CASE_TEMPLATE("conv2d: forward values against a naive loop; its gradients are its adjoints", T, float, double) {
    // float: sums of at most 3 * 3 * 4 products of N(0, 1) values, rounding
    // ~1e-6 relative to terms of order 1; 1e-4 leaves room and still catches
    // any wrong tap (an error of order 1).
    const T tol = std::is_same_v<T, float> ? T(1e-4) : T(1e-10);
    std::uint64_t seed = 700;
    for (const ConvCase& c : conv_cases()) {
        INFO(describe(c));
        const Shape in{c.N, c.C, c.H, c.W}, wshape{c.O, c.C / c.geometry.groups(), c.kh, c.kw};
        auto x = Tensor<T>::normal(in, T(0), T(1), ++seed), w = Tensor<T>::normal(wshape, T(0), T(1), ++seed);
        auto b = Tensor<T>::normal({c.O}, T(0), T(1), ++seed);
        Tensor<T> y = conv2d(x, w, c.bias ? b : Tensor<T>(), c.geometry);
        const Array<T> expected = naive_conv2d<T>(x.data(), w.data(), c.bias ? &b.data() : nullptr, c.geometry);
        REQUIRE(y.shape() == output_shape(c));
        CHECK(xt::allclose(y.data(), expected, tol, tol));
        if constexpr (std::is_same_v<T, double>) {
            // Adjoints of the naive (bias-free) convolution A_w x = A_x w:
            // <A_w x, G> = <x, input_grad(G, w)> and <A_x w, G> = <w, weight_grad(x, G)>.
            auto G = Tensor<T>::normal(y.shape(), T(0), T(1), ++seed);
            const double lhs = dot(naive_conv2d<T>(x.data(), w.data(), nullptr, c.geometry), G.data());
            CHECK(dot(x.data(), conv2d_input_grad(G, w, in, c.geometry).data()) == doctest::Approx(lhs).epsilon(1e-12));
            CHECK(dot(w.data(), conv2d_weight_grad(x, G, wshape, c.geometry).data()) ==
                  doctest::Approx(lhs).epsilon(1e-12));
        }
    }
}

TEST_CASE("conv2d: a hand-computed value") {
    // 1 channel 3x3 input, 2x2 kernel of ones, bias 0.5: window sums + 0.5.
    auto x = Tensor<double>::from_data({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
    auto w = Tensor<double>::ones({1, 1, 2, 2});
    auto y = conv2d(x, w, Tensor<double>::of({0.5}));
    CHECK(y.shape() == Shape{1, 1, 2, 2});
    CHECK(y.data() == Array<double>(xt::xarray<double>{{{{12.5, 16.5}, {24.5, 28.5}}}}));
    // padding 1, stride 2: windows at rows/cols -1 and 1.
    auto z = conv2d(x, w, Tensor<double>(), Conv2dGeometry().stride(2).padding(1));
    CHECK(z.data() == Array<double>(xt::xarray<double>{{{{1, 5}, {11, 28}}}}));
}

TEST_CASE("conv2d: bad shapes and geometries are errors naming the op and the shapes") {
    auto x = Tensor<double>::zeros({1, 3, 5, 5});
    auto w = Tensor<double>::zeros({4, 3, 3, 3});
    CHECK_THROWS_WITH_AS(conv2d(Tensor<double>::zeros({3, 5, 5}), w),
                         "conv2d: the input must be 4-D (N, C, H, W) (input (3, 5, 5), weight (4, 3, 3, 3), stride (1, 1), "
                         "padding (0, 0), dilation (1, 1), groups 1)",
                         Error);
    CHECK_THROWS_WITH_AS(conv2d(x, Tensor<double>::zeros({4, 3, 3})), doctest::Contains("the weight must be 4-D"), Error);
    CHECK_THROWS_WITH_AS(conv2d(x, Tensor<double>::zeros({4, 2, 3, 3})),
                         doctest::Contains("conv2d: the weight expects 2 input channels per group, the input has 3"),
                         Error);
    CHECK_THROWS_WITH_AS(conv2d(x, Tensor<double>::zeros({4, 1, 3, 3}), Tensor<double>(), Conv2dGeometry().groups(2)),
                         doctest::Contains("input channels 3 and output channels 4 must both divide into 2 groups"),
                         Error);
    CHECK_THROWS_WITH_AS(conv2d(x, Tensor<double>::zeros({4, 3, 6, 3})),
                         doctest::Contains("the kernel spans 6 pixels, more than the padded input's 5"), Error);
    CHECK_THROWS_WITH_AS(conv2d(x, w, Tensor<double>(), Conv2dGeometry().dilation(3)),
                         doctest::Contains("the kernel spans 7 pixels"), Error);
    CHECK(conv2d(x, Tensor<double>::zeros({4, 3, 6, 3}), Tensor<double>(), Conv2dGeometry().padding({1, 0})).shape() ==
          Shape{1, 4, 2, 3});
    CHECK_THROWS_WITH_AS(conv2d(x, Tensor<double>::zeros({4, 3, 0, 3})), doctest::Contains("the kernel is empty"), Error);
    CHECK_THROWS_WITH_AS(conv2d(x, w, Tensor<double>::zeros({3})),
                         "conv2d: the bias has shape (3,), expected (4,) for weight (4, 3, 3, 3)", Error);
    CHECK_THROWS_WITH_AS(Conv2dGeometry().stride(0), "Conv2dGeometry: stride must be > 0 along both axes, got (0, 0)",
                         Error);
    CHECK_THROWS_WITH_AS(Conv2dGeometry().dilation({1, 0}),
                         "Conv2dGeometry: dilation must be > 0 along both axes, got (1, 0)", Error);
    CHECK_THROWS_WITH_AS(Conv2dGeometry().groups(0), "Conv2dGeometry: groups must be > 0, got 0", Error);
    // The gradients check the output gradient's shape against the convolution's.
    CHECK_THROWS_WITH_AS(conv2d_input_grad(Tensor<double>::zeros({1, 4, 3, 2}), w, {1, 3, 5, 5}),
                         "conv2d_input_grad: the output gradient has shape (1, 4, 3, 2), the convolution's output (1, 4, 3, 3)",
                         Error);
    CHECK_THROWS_WITH_AS(conv2d_weight_grad(x, Tensor<double>::zeros({2, 4, 3, 3}), {4, 3, 3, 3}),
                         doctest::Contains("conv2d_weight_grad: the output gradient has shape (2, 4, 3, 3)"), Error);
    CHECK_THROWS_AS(conv2d_weight_grad(x, Tensor<double>::zeros({1, 4, 3, 3}), {4, 3, 3}), Error);
    // A huge shape is refused before anything is allocated.
    CHECK_THROWS_WITH_AS(conv2d_input_grad(Tensor<double>::zeros({1, 1, 1, 1}), Tensor<double>::zeros({1, 1, 1, 1}),
                                           {std::size_t(1) << 62, 1, 1, 1}),
                         doctest::Contains("conv2d_input_grad"), Error);
    CHECK_THROWS_WITH_AS(conv2d_weight_grad(Tensor<double>::zeros({0, 1, 1, 1}), Tensor<double>::zeros({0, 1, 1, 1}),
                                            {std::size_t(1) << 62, 1, 1, 1}),
                         doctest::Contains("conv2d_weight_grad"), Error);
    const std::size_t huge = std::numeric_limits<std::size_t>::max() / 2;
    CHECK_THROWS_WITH_AS(conv2d(x, w, Tensor<double>(), Conv2dGeometry().padding(huge)),
                         doctest::Contains("conv2d: the padding or the dilated kernel is too large"), Error);
    CHECK_THROWS_WITH_AS(conv2d(x, w, Tensor<double>(), Conv2dGeometry().dilation({1, huge + 1})),
                         doctest::Contains("conv2d: the padding or the dilated kernel is too large"), Error);
    CHECK_THROWS_WITH_AS(max_pool2d(x, {3, 3}, 1, 1, huge + 1), doctest::Contains("max_pool2d: the padding or the dilated"),
                         Error);
}

TEST_CASE("conv2d: an empty batch gives an empty output and gradient") {
    auto x = Tensor<double>::zeros({0, 2, 4, 4}, true);
    auto w = Tensor<double>::ones({3, 2, 3, 3}, true);
    auto y = conv2d(x, w, Tensor<double>::zeros({3}, true));
    CHECK(y.shape() == Shape{0, 3, 2, 2});
    sum(y).backward();
    CHECK(x.grad().shape() == Shape{0, 2, 4, 4});
    CHECK(w.grad().data() == Array<double>(xt::zeros<double>(Shape{3, 2, 3, 3})));
}
