// gradcheck and gradgradcheck of maximum minimum clamp where, their forward
// values against loops over the broadcast elements, the gradient at ties and
// at the bounds (PyTorch 1.13's), and their errors.
#include <algorithm>
#include <cmath>
#include <limits>

#include <xtensor/xadapt.hpp>

#include "../common/error_of.hpp"
#include "check.hpp"

using namespace tapegrad;
using namespace tapegrad::testing;

namespace {
// Same shape, a row vector, a column against a 3-D tensor, a 0-d scalar, a
// size-1 dimension against a matrix.
const std::vector<std::pair<Shape, Shape>> kBroadcastCases = {
    {{3, 4}, {3, 4}}, {{3, 4}, {4}}, {{2, 1, 4}, {3, 1}}, {{3, 4}, {}}, {{1}, {2, 3}},
};

// 0/1 values, about half of each.
Tensor<double> mask(const Shape& shape, std::uint64_t seed) {
    return Tensor<double>(xt::cast<double>(Tensor<double>::uniform(shape, 0, 1, seed).data() > 0.5));
}
}  // namespace

TEST_CASE("maximum, minimum: gradients with broadcasting") {
    // Normal values: ties have probability 0, so both are differentiable there.
    for (const auto& [sa, sb] : kBroadcastCases) {
        INFO(shape_name(sa), " with ", shape_name(sb));
        check_gradients(Op::maximum, [](const TL& x) { return TL{maximum(x[0], x[1])}; }, {randn(sa, 1), randn(sb, 2)});
        check_gradients(Op::minimum, [](const TL& x) { return TL{minimum(x[0], x[1])}; }, {randn(sa, 3), randn(sb, 4)});
    }
}

TEST_CASE("maximum, minimum: values against a loop over the broadcast pairs") {
    Tensor<double> a = randn({3, 4}, 5, false), b = randn({4}, 6, false);
    Tensor<double> hi = maximum(a, b), lo = minimum(b, a);
    REQUIRE(hi.shape() == Shape{3, 4});
    REQUIRE(lo.shape() == Shape{3, 4});
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 4; ++j) {
            CHECK(hi.at({i, j}) == std::max(a.at({i, j}), b.at({j})));
            CHECK(lo.at({i, j}) == std::min(a.at({i, j}), b.at({j})));
        }
}

TEST_CASE("maximum, minimum: ties split the gradient in half, as in PyTorch") {
    // torch.maximum(a, b).sum().backward() with a = [1, 2, 3], b = [2, 2, 1]
    // gives a.grad = [0, 0.5, 1], b.grad = [1, 0.5, 0]; minimum the reverse.
    auto a = Tensor<double>::of({1.0, 2.0, 3.0}, true), b = Tensor<double>::of({2.0, 2.0, 1.0}, true);
    sum(maximum(a, b)).backward();
    CHECK(a.grad().data() == xt::xarray<double>{0, 0.5, 1});
    CHECK(b.grad().data() == xt::xarray<double>{1, 0.5, 0});
    a.zero_grad();
    b.zero_grad();
    sum(minimum(a, b)).backward();
    CHECK(a.grad().data() == xt::xarray<double>{1, 0.5, 0});
    CHECK(b.grad().data() == xt::xarray<double>{0, 0.5, 1});
    // A broadcast scalar collects the halves from every tie.
    auto s = Tensor<double>::scalar(2.0, true), v = Tensor<double>::of({2.0, 2.0, 5.0}, true);
    sum(maximum(s, v)).backward();
    CHECK(s.grad().item() == 1.0);
    CHECK(v.grad().data() == xt::xarray<double>{0.5, 0.5, 1});
}

TEST_CASE("clamp: gradients with both bounds and with one") {
    // Normal values land within eps = 1e-6 of a bound with probability ~1e-6.
    const std::vector<std::pair<std::optional<double>, std::optional<double>>> bounds = {
        {-0.5, 0.5}, {0.2, std::nullopt}, {std::nullopt, -0.3}};
    for (const auto& [low, high] : bounds)
        for (const Shape& s : {Shape{7}, Shape{3, 4}, Shape{2, 3, 2}, Shape{}, Shape{1, 5}}) {
            INFO(shape_name(s), " min ", low.value_or(-1e9), " max ", high.value_or(1e9));
            check_gradients(Op::clamp, [low = low, high = high](const TL& x) { return TL{clamp(x[0], low, high)}; },
                            {randn(s, 7)});
        }
}

TEST_CASE("clamp: values, gradient at the bounds and min > max, as PyTorch 1.13") {
    // torch.clamp(x, 1, 2) of [0, 1, 2, 3]: [1, 1, 2, 2], gradient [0, 1, 1, 0].
    auto x = Tensor<double>::of({0.0, 1.0, 2.0, 3.0}, true);
    auto y = clamp(x, 1.0, 2.0);
    CHECK(y.data() == xt::xarray<double>{1, 1, 2, 2});
    sum(y).backward();
    CHECK(x.grad().data() == xt::xarray<double>{0, 1, 1, 0});
    x.zero_grad();
    // torch.clamp(x, 2, 1): every element 1, gradient 0.
    auto z = clamp(x, 2.0, 1.0);
    CHECK(z.data() == xt::xarray<double>{1, 1, 1, 1});
    sum(z).backward();
    CHECK(x.grad().data() == xt::xarray<double>{0, 0, 0, 0});
    CHECK(clamp(x, std::nullopt, 1.5).data() == xt::xarray<double>{0, 1, 1.5, 1.5});
    CHECK(clamp(Tensor<float>::of({-3.0f, 3.0f}), 0.0).data() == xt::xarray<float>{0, 3});
}

TEST_CASE("relu, maximum, minimum, clamp keep NaN and infinities as PyTorch 1.13") {
    // Before, relu(NaN) = 0, maximum(NaN, 1) = 1 and clamp(NaN, 0, 1.5) = 0: a
    // NaN weight in a ReLU network reached the loss as a number. Values from
    // torch.relu, torch.maximum, torch.minimum and torch.clamp.
    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    const auto same = [](const Array<double>& got, const std::vector<double>& want) {
        if (got.size() != want.size()) return false;
        for (std::size_t i = 0; i < want.size(); ++i)
            if (!(std::isnan(want[i]) ? std::isnan(got.data()[i]) : got.data()[i] == want[i])) return false;
        return true;
    };
    // Seventeen elements: the SIMD body and its scalar tail both see NaN.
    std::vector<double> values{nan, -inf, inf, -1, 0, 2};
    while (values.size() < 17) values.push_back(values.size() % 2 ? nan : -3.0);
    const Tensor<double> x(Array<double>(xt::adapt(values, {values.size()})), true);
    std::vector<double> want_relu, want_max, want_min, want_clamp, want_grad;
    for (const double v : values) {
        want_relu.push_back(std::isnan(v) ? nan : v < 0 ? 0 : v);
        want_max.push_back(std::isnan(v) ? nan : std::max(v, 1.0));
        want_min.push_back(std::isnan(v) ? nan : std::min(v, 1.0));
        want_clamp.push_back(std::isnan(v) ? nan : std::min(std::max(v, 0.0), 1.5));
        want_grad.push_back(v <= 0 ? 0 : 1);  // NaN passes the gradient (threshold_backward)
    }
    const Tensor<double> r = relu(x);
    CHECK(same(r.data(), want_relu));
    // float too: twice as many lanes a SIMD register.
    const Tensor<float> rf = relu(Tensor<float>(Array<float>(xt::cast<float>(x.data()))));
    CHECK(same(Array<double>(xt::cast<double>(rf.data())), want_relu));
    sum(r).backward();
    CHECK(same(x.grad().data(), want_grad));
    const Tensor<double> one = Tensor<double>::scalar(1.0), nan_scalar = Tensor<double>::scalar(nan);
    CHECK(same(maximum(x, one).data(), want_max));
    CHECK(same(maximum(one, x).data(), want_max));  // NaN on either side
    CHECK(same(minimum(x, one).data(), want_min));
    CHECK(same(minimum(one, x).data(), want_min));
    CHECK(std::isnan(maximum(Tensor<double>::scalar(inf), nan_scalar).item()));
    CHECK(same(clamp(x, 0.0, 1.5).data(), want_clamp));
    CHECK(std::isnan(clamp(nan_scalar, std::nullopt, 1.0).item()));
    CHECK(std::isnan(clamp(Tensor<float>::scalar(std::numeric_limits<float>::quiet_NaN()), 0.0f).item()));
    CHECK(clamp(Tensor<double>::of({inf, -inf}), 0.0, 1.0).data() == xt::xarray<double>{1, 0});
}

TEST_CASE("where: gradients with broadcasting; the condition gets none") {
    const std::vector<std::array<Shape, 3>> cases = {
        {{{3, 4}, {3, 4}, {3, 4}}}, {{{3, 4}, {4}, {3, 1}}}, {{{4}, {2, 1, 4}, {}}}, {{{1}, {2, 3}, {2, 3}}}};
    for (const auto& [sc, sa, sb] : cases) {
        INFO(shape_name(sc), " ", shape_name(sa), " ", shape_name(sb));
        const Tensor<double> condition = mask(sc, 8);
        check_gradients(Op::where, [condition](const TL& x) { return TL{where(condition, x[0], x[1])}; },
                        {randn(sa, 9), randn(sb, 10)});
    }
}

TEST_CASE("where: values against a loop, and infinities in the branch not taken") {
    Tensor<double> c = mask({3, 4}, 11), a = randn({3, 1}, 12, false), b = randn({4}, 13, false);
    Tensor<double> y = where(c, a, b);
    REQUIRE(y.shape() == Shape{3, 4});
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 4; ++j) CHECK(y.at({i, j}) == (c.at({i, j}) == 1 ? a.at({i, 0}) : b.at({j})));
    const double inf = std::numeric_limits<double>::infinity();
    auto x = Tensor<double>::of({1.0, inf}, true);
    auto picked = where(Tensor<double>::of({1.0, 0.0}), x, Tensor<double>::zeros({2}));
    CHECK(picked.data() == xt::xarray<double>{1, 0});
    sum(picked).backward();
    CHECK(x.grad().data() == xt::xarray<double>{1, 0});
}

TEST_CASE("compare ops: errors name the op and the shapes") {
    auto a = Tensor<double>::zeros({2, 3}), b = Tensor<double>::zeros({4});
    CHECK(error_of([&] { maximum(a, b); }) == "maximum: shapes (2, 3) and (4,) cannot be broadcast together");
    CHECK(error_of([&] { minimum(a, b); }) == "minimum: shapes (2, 3) and (4,) cannot be broadcast together");
    CHECK(error_of([&] { where(Tensor<double>::ones({2, 3}), a, b); }) ==
          "where: shapes (2, 3) and (4,) cannot be broadcast together");
    CHECK(error_of([&] { where(Tensor<double>::of({1.0, 0.5, 0.0}), a, a); }) ==
          "where: the condition of shape (3,) holds 0.5 at flat index 1; only 0 and 1 are allowed");
    CHECK(error_of([&] { clamp(a); }) == "clamp: give at least one of min and max");
    CHECK(error_of([&] { clamp(a, std::nan(""), 1.0); }) == "clamp: a bound is NaN");
}
