// conv2d's float backend: where the build has oneDNN (meson option
// `onednn`), float convolutions run there (autograd/backend/conv_onednn.cpp)
// while double stays on im2col. These tests hold the float results of all
// three passes to the double ones of the same (float-valued) operands, check
// that a call repeated, also on another thread, gives the same bits, and that
// what oneDNN does not take runs on im2col. Without oneDNN they check
// im2col's float path the same way.
#include <cmath>
#include <cstring>
#include <limits>
#include <thread>

#include <xtensor/xsort.hpp>

#include <tapegrad/autograd/backend/conv_onednn.hpp>

#include "check.hpp"

using namespace tapegrad;

namespace {

struct Case {
    std::size_t N, C, H, W, O, kh, kw;
    Conv2dGeometry geometry;
};

// Stride, padding, dilation, groups, 1x1 kernels, batch 1, odd and
// non-square sizes, depthwise, and the issue-#12 CNN's two layers.
std::vector<Case> cases() {
    return {
        {2, 3, 7, 5, 4, 3, 3, Conv2dGeometry()},
        {1, 2, 9, 8, 3, 3, 2, Conv2dGeometry().stride(2).padding(1)},
        {3, 4, 11, 7, 6, 2, 3, Conv2dGeometry().dilation(2).groups(2).padding({1, 0})},
        {2, 5, 6, 6, 7, 1, 1, Conv2dGeometry()},
        {1, 4, 7, 9, 4, 1, 1, Conv2dGeometry().stride(2).groups(4)},
        {2, 3, 13, 10, 5, 2, 3, Conv2dGeometry().stride({2, 3}).dilation({1, 2}).padding({0, 2})},
        {1, 6, 5, 5, 6, 3, 3, Conv2dGeometry().groups(6).padding(1)},
        {1, 1, 4, 4, 1, 4, 4, Conv2dGeometry()},
        {4, 1, 28, 28, 16, 5, 5, Conv2dGeometry().padding(2)},
        {4, 16, 14, 14, 32, 5, 5, Conv2dGeometry().padding(2)},
    };
}

std::string describe(const Case& c) {
    const auto& g = c.geometry;
    return "input " + shape_str({c.N, c.C, c.H, c.W}) + " weight " + shape_str({c.O, c.C / g.groups(), c.kh, c.kw}) +
           " stride " + size2_str(g.stride()) + " padding " + size2_str(g.padding()) + " dilation " +
           size2_str(g.dilation()) + " groups " + std::to_string(g.groups());
}

Shape output_shape(const Case& c) {
    const auto& g = c.geometry;
    auto extent = [](std::size_t in, std::size_t k, std::size_t s, std::size_t p, std::size_t d) {
        return (in + 2 * p - d * (k - 1) - 1) / s + 1;
    };
    return {c.N, c.O, extent(c.H, c.kh, g.stride().h, g.padding().h, g.dilation().h),
            extent(c.W, c.kw, g.stride().w, g.padding().w, g.dilation().w)};
}

Tensor<float> random_float(const Shape& shape, std::uint64_t seed) {
    return Tensor<float>(xt::cast<float>(Tensor<double>::normal(shape, 0.0, 1.0, seed).data()));
}
Tensor<double> to_double(const Tensor<float>& t) { return Tensor<double>(xt::cast<double>(t.data())); }
Tensor<double> abs_double(const Tensor<float>& t) { return Tensor<double>(xt::abs(xt::cast<double>(t.data()))); }

// Float against double on the same float values. Any order of summing K
// products (FMA or not, split across threads or not) in float is off the
// exact sum by at most gamma_K = K u / (1 - K u), u = 2^-24, times the sum
// of the products' magnitudes (Higham, Accuracy and Stability, 3.1); the
// double result is exact to ~1e-16 of that. `magnitude` is that sum, the
// same pass on the operands' absolute values, and `terms` the largest K.
void check_close(const Tensor<float>& got, const Tensor<double>& exact, const Tensor<double>& magnitude,
                 std::size_t terms, const std::string& what) {
    INFO(what);
    REQUIRE(got.shape() == exact.shape());
    const double u = std::ldexp(1.0, -24), gamma = double(terms) * u / (1 - double(terms) * u);
    std::size_t bad = 0;
    for (std::size_t i = 0; i < got.size(); ++i)
        if (!(std::abs(double(got.data().flat(i)) - exact.data().flat(i)) <= gamma * magnitude.data().flat(i) + 1e-30))
            ++bad;
    CHECK(bad == 0);
}

bool same_bits(const Tensor<float>& a, const Tensor<float>& b) {
    return a.shape() == b.shape() && std::memcmp(a.data().data(), b.data().data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("conv backend: float conv2d and its gradients agree with double within the float rounding bound") {
    std::uint64_t seed = 100;
    for (const Case& c : cases()) {
        const auto& g = c.geometry;
        const Shape xs{c.N, c.C, c.H, c.W}, ws{c.O, c.C / g.groups(), c.kh, c.kw}, ys = output_shape(c);
        const Tensor<float> x = random_float(xs, ++seed), w = random_float(ws, ++seed), b = random_float({c.O}, ++seed),
                            dy = random_float(ys, ++seed);
        const std::size_t taps = c.C / g.groups() * c.kh * c.kw;
        check_close(conv2d(x, w, b, g), conv2d(to_double(x), to_double(w), to_double(b), g),
                    conv2d(abs_double(x), abs_double(w), abs_double(b), g), taps + 1, "forward, " + describe(c));
        check_close(conv2d_input_grad(dy, w, xs, g), conv2d_input_grad(to_double(dy), to_double(w), xs, g),
                    conv2d_input_grad(abs_double(dy), abs_double(w), xs, g), c.O / g.groups() * c.kh * c.kw,
                    "input grad, " + describe(c));
        check_close(conv2d_weight_grad(x, dy, ws, g), conv2d_weight_grad(to_double(x), to_double(dy), ws, g),
                    conv2d_weight_grad(abs_double(x), abs_double(dy), ws, g), c.N * ys[2] * ys[3],
                    "weight grad, " + describe(c));
    }
}

TEST_CASE("conv backend: a repeated call gives the same bits, on this thread and another") {
    const Case c = cases()[9];  // the CNN's second layer: large enough to be split across threads
    const auto& g = c.geometry;
    const Shape xs{c.N, c.C, c.H, c.W}, ws{c.O, c.C / g.groups(), c.kh, c.kw};
    const Tensor<float> x = random_float(xs, 1), w = random_float(ws, 2), b = random_float({c.O}, 3),
                        dy = random_float(output_shape(c), 4);
    auto passes = [&] {
        return std::vector<Tensor<float>>{conv2d(x, w, b, g), conv2d_input_grad(dy, w, xs, g),
                                          conv2d_weight_grad(x, dy, ws, g)};
    };
    const auto first = passes(), again = passes();
    std::vector<Tensor<float>> elsewhere;
    std::thread([&] { elsewhere = passes(); }).join();
    for (std::size_t i = 0; i < first.size(); ++i) {
        CHECK(same_bits(first[i], again[i]));
        CHECK(same_bits(first[i], elsewhere[i]));
    }
}

TEST_CASE("conv backend: oneDNN takes float convolutions when built in; an empty batch runs on im2col") {
    const bool built_in = !detail::onednn_backend().empty();
    MESSAGE("float conv2d backend: " << (built_in ? detail::onednn_backend() : std::string("im2col")));
    CHECK((detail::onednn_threads() >= 1) == built_in);
    const detail::OnednnConv d{2, 3, 6, 6, 4, 3, 3, 4, 4, 1, 1, 1, 0, 0, 1, 1};
    std::vector<float> x(2 * 3 * 6 * 6, 1.0f), w(4 * 3 * 3 * 3, 0.5f), y(2 * 4 * 4 * 4, -1.0f);
    CHECK(detail::onednn_conv_forward(d, x.data(), w.data(), nullptr, y.data()) == built_in);
    if (built_in) CHECK(y[0] == doctest::Approx(27 * 0.5f));

    // oneDNN is not asked about empty tensors (nothing to write): im2col's
    // path makes the empty results, and the gradient of the weight is zero.
    detail::OnednnConv empty = d;
    empty.N = 0;
    CHECK_FALSE(detail::onednn_conv_weight_grad(empty, x.data(), y.data(), w.data()));
    const Tensor<float> none = random_float({0, 3, 6, 6}, 5), weight = random_float({4, 3, 3, 3}, 6);
    CHECK(conv2d(none, weight, Tensor<float>(), Conv2dGeometry()).shape() == Shape{0, 4, 4, 4});
    const Tensor<float> gw = conv2d_weight_grad(none, random_float({0, 4, 4, 4}, 7), weight.shape(), Conv2dGeometry());
    CHECK(xt::amax(xt::abs(gw.data()))() == 0.0f);

    // Extents past int, which oneDNN's kernels hold in ints, neither: a
    // stride of 2^40 leaves one output position, computed by im2col.
    detail::OnednnConv far = d;
    far.stride_h = far.stride_w = std::size_t(1) << 40, far.OH = far.OW = 1;
    CHECK_FALSE(detail::onednn_conv_forward(far, x.data(), w.data(), nullptr, y.data()));
    const Tensor<float> image = random_float({2, 3, 6, 6}, 8);
    const Tensor<float> strided = conv2d(image, weight, Tensor<float>(), Conv2dGeometry().stride(std::size_t(1) << 40));
    const Tensor<double> exact =
        conv2d(Tensor<double>(xt::cast<double>(image.data())), Tensor<double>(xt::cast<double>(weight.data())),
               Tensor<double>(), Conv2dGeometry().stride(std::size_t(1) << 40));
    REQUIRE(strided.shape() == Shape{2, 4, 1, 1});
    // 27 products of N(0, 1) values: float rounding stays far below 1e-4.
    for (std::size_t i = 0; i < strided.size(); ++i)
        CHECK(strided.data().flat(i) == doctest::Approx(exact.data().flat(i)).epsilon(1e-4).scale(1));
}
