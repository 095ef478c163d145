// gradcheck and gradgradcheck of exp log pow sqrt abs sigmoid tanh relu,
// and their forward values against the C library.
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
