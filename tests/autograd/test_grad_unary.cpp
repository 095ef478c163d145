// gradcheck and gradgradcheck of exp log pow sqrt abs log1p erf sigmoid tanh
// relu leaky_relu softplus gelu, and their forward values against the C
// library (and PyTorch's, for the activations with parameters).
#include <cmath>

#include "check.hpp"

using namespace tapegrad;
using namespace tapegrad::testing;

namespace {
const std::vector<Shape> kShapes = {{5}, {3, 4}, {2, 3, 2}, {}, {1, 3}};

struct UnaryCase {
    Op op;
    const char* name;
    Fn f;
    Tensor<double> (*make)(const Shape&, std::uint64_t, bool);
    double (*reference)(double);
};

const std::vector<UnaryCase> kCases = {
    {Op::exp, "exp", [](const TL& x) { return TL{exp(x[0])}; }, randn, [](double v) { return std::exp(v); }},
    {Op::log, "log", [](const TL& x) { return TL{log(x[0])}; }, positive, [](double v) { return std::log(v); }},
    {Op::pow, "pow 3", [](const TL& x) { return TL{pow(x[0], 3.0)}; }, randn, [](double v) { return v * v * v; }},
    {Op::pow, "pow 2.5", [](const TL& x) { return TL{pow(x[0], 2.5)}; }, positive, [](double v) { return std::pow(v, 2.5); }},
    {Op::pow, "pow -1.5", [](const TL& x) { return TL{pow(x[0], -1.5)}; }, positive, [](double v) { return std::pow(v, -1.5); }},
    {Op::sqrt, "sqrt", [](const TL& x) { return TL{sqrt(x[0])}; }, positive, [](double v) { return std::sqrt(v); }},
    {Op::abs, "abs", [](const TL& x) { return TL{abs(x[0])}; }, away_from_zero, [](double v) { return std::fabs(v); }},
    {Op::sigmoid, "sigmoid", [](const TL& x) { return TL{sigmoid(x[0])}; }, randn, [](double v) { return 1 / (1 + std::exp(-v)); }},
    {Op::tanh, "tanh", [](const TL& x) { return TL{tanh(x[0])}; }, randn, [](double v) { return std::tanh(v); }},
    {Op::relu, "relu", [](const TL& x) { return TL{relu(x[0])}; }, away_from_zero, [](double v) { return v > 0 ? v : 0.0; }},
    {Op::log1p, "log1p", [](const TL& x) { return TL{log1p(x[0])}; }, positive, [](double v) { return std::log1p(v); }},
    {Op::erf, "erf", [](const TL& x) { return TL{erf(x[0])}; }, randn, [](double v) { return std::erf(v); }},
    {Op::leaky_relu, "leaky_relu", [](const TL& x) { return TL{leaky_relu(x[0])}; }, away_from_zero,
     [](double v) { return v > 0 ? v : 0.01 * v; }},
    {Op::leaky_relu, "leaky_relu 0.2", [](const TL& x) { return TL{leaky_relu(x[0], 0.2)}; }, away_from_zero,
     [](double v) { return v > 0 ? v : 0.2 * v; }},
    {Op::softplus, "softplus", [](const TL& x) { return TL{softplus(x[0])}; }, randn,
     [](double v) { return std::log(1 + std::exp(v)); }},
    // beta 2, threshold 1: normal values fall on both sides of x = 0.5, none
    // within eps of it (where the value jumps by e^-1 / 2).
    {Op::softplus, "softplus beta 2 threshold 1", [](const TL& x) { return TL{softplus(x[0], 2.0, 1.0)}; }, randn,
     [](double v) { return 2 * v > 1 ? v : std::log(1 + std::exp(2 * v)) / 2; }},
    // x Phi(x), with Phi(x) = erfc(-x / sqrt 2) / 2 (the code uses erf).
    {Op::gelu, "gelu", [](const TL& x) { return TL{gelu(x[0])}; }, randn,
     [](double v) { return v * std::erfc(-v / std::sqrt(2.0)) / 2; }},
    {Op::gelu, "gelu tanh", [](const TL& x) { return TL{gelu(x[0], GeluApproximate::Tanh)}; }, randn,
     [](double v) { return 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))); }},
};
}  // namespace

TEST_CASE("unary ops and activations: first and second derivatives") {
    for (const auto& c : kCases)
        for (const Shape& s : kShapes) {
            CAPTURE(c.name);
            INFO(shape_name(s));
            check_gradients(c.op, c.f, {c.make(s, 11, true)});
        }
}

TEST_CASE("unary ops and activations: forward values against <cmath>") {
    for (const auto& c : kCases) {
        CAPTURE(c.name);
        Tensor<double> x = c.make({7}, 3, false);
        Tensor<double> y = c.f({x})[0];
        for (std::size_t i = 0; i < 7; ++i) CHECK(y.at({i}) == doctest::Approx(c.reference(x.at({i}))).epsilon(1e-12));
    }
}

TEST_CASE("pow with exponent 0 has a zero gradient, also at x = 0") {
    auto x = Tensor<double>::of({0.0, 2.0}, true);
    sum(pow(x, 0.0)).backward();
    CHECK(x.grad().at({0}) == 0.0);
    CHECK(x.grad().at({1}) == 0.0);
}

TEST_CASE("relu and abs: gradient 0 at exactly 0, as in PyTorch") {
    auto x = Tensor<double>::of({-1.0, 0.0, 2.0}, true);
    sum(relu(x) + abs(x)).backward();
    CHECK(x.grad().at({0}) == -1.0);
    CHECK(x.grad().at({1}) == 0.0);
    CHECK(x.grad().at({2}) == 2.0);
}

TEST_CASE("sigmoid saturates without NaN in float") {
    auto x = Tensor<float>::of({-1000.0f, 1000.0f}, true);
    auto y = sigmoid(x);
    CHECK(y.at({0}) == 0.0f);
    CHECK(y.at({1}) == 1.0f);
    sum(y).backward();
    CHECK(x.grad().at({0}) == 0.0f);
    CHECK(x.grad().at({1}) == 0.0f);
}

TEST_CASE("gelu, softplus: values as PyTorch 1.13 computes them") {
    // torch.nn.functional.gelu / softplus in float64 at these points.
    auto x = Tensor<double>::of({-3.0, -0.5, 0.0, 0.7, 2.5});
    const std::vector<double> exact = {-0.00404969409489031, -0.15426876936299344, 0.0, 0.5306254434438489,
                                       2.4844758366855597};
    const std::vector<double> tanh_form = {-0.0036373920817729943, -0.15428599017485606, 0.0, 0.5305701347051167,
                                           2.484915733910001};
    auto y = gelu(x), yt = gelu(x, GeluApproximate::Tanh);
    for (std::size_t i = 0; i < 5; ++i) {
        CHECK(y.at({i}) == doctest::Approx(exact[i]).epsilon(1e-14));
        CHECK(yt.at({i}) == doctest::Approx(tanh_form[i]).epsilon(1e-14));
    }
    // Above the threshold (20) softplus is x itself; just below it is not.
    auto s = softplus(Tensor<double>::of({-30.0, -1.0, 0.0, 1.0, 19.0, 21.0}));
    const std::vector<double> torch_softplus = {9.357622968839737e-14, 0.31326168751822286, 0.6931471805599453,
                                                1.3132616875182228,    19.000000005602796,  21.0};
    for (std::size_t i = 0; i < 6; ++i) CHECK(s.at({i}) == doctest::Approx(torch_softplus[i]).epsilon(1e-14));
    // Float: e^(beta x) overflows where the linear part is taken, and makes no NaN.
    auto big = Tensor<float>::of({100.0f, 1000.0f}, true);
    auto sb = softplus(big);
    CHECK(sb.data() == xt::xarray<float>{100.0f, 1000.0f});
    sum(sb).backward();
    CHECK(big.grad().data() == xt::xarray<float>{1.0f, 1.0f});
}

TEST_CASE("log1p keeps the digits of tiny arguments that log(1 + x) loses") {
    auto y = log1p(Tensor<double>::of({1e-12, -1e-12}));
    CHECK(y.at({0}) == doctest::Approx(1e-12 - 0.5e-24).epsilon(1e-15));
    CHECK(y.at({1}) == doctest::Approx(-1e-12 - 0.5e-24).epsilon(1e-15));
}

TEST_CASE("leaky_relu: slope negative_slope at exactly 0, as in PyTorch; softplus refuses a bad beta") {
    // torch.nn.functional.leaky_relu(x, 0.1) of [-1, 0, 1]: gradient [0.1, 0.1, 1].
    auto x = Tensor<double>::of({-1.0, 0.0, 1.0}, true);
    auto y = leaky_relu(x, 0.1);
    CHECK(y.data() == xt::xarray<double>{-0.1, 0, 1});
    sum(y).backward();
    CHECK(x.grad().data() == xt::xarray<double>{0.1, 0.1, 1});
    CHECK_THROWS_WITH_AS(softplus(x, 0.0), "softplus: beta must be finite and > 0, got 0", Error);
    CHECK_THROWS_WITH_AS(softplus(x, -1.0), "softplus: beta must be finite and > 0, got -1", Error);
}
