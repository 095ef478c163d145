// gradcheck and gradgradcheck of masked_fill, tril and triu, their values
// against loops (NaN and inf under the mask replaced, as PyTorch does), and
// their errors.
#include <cmath>
#include <limits>

#include "../common/error_of.hpp"
#include "check.hpp"

using namespace tapegrad;
using namespace tapegrad::testing;

namespace {
// 0/1 values, about half of each, seeded.
Tensor<double> half_ones(const Shape& shape, std::uint64_t seed) {
    return Tensor<double>(xt::cast<double>(randn(shape, seed, false).data() > 0.0));
}

constexpr double kInf = std::numeric_limits<double>::infinity();
}  // namespace

TEST_CASE("masked_fill: gradients, a mask that broadcasts, -inf as the value") {
    const std::vector<std::pair<Shape, Shape>> cases = {{{3, 4}, {3, 4}}, {{3, 4}, {4}}, {{2, 3, 4}, {3, 1}},
                                                        {{}, {}},         {{2, 1}, {1}}};
    for (const auto& [shape, mask_shape] : cases) {
        INFO(shape_name(shape), " mask ", shape_name(mask_shape));
        const Tensor<double> m = half_ones(mask_shape, 100);
        check_gradients(Op::masked_fill, [m](const TL& x) { return TL{masked_fill(x[0], m, 0.5)}; }, {randn(shape, 101)});
    }
    // -inf fills: the filled elements are constants, softmax of the rest differentiates.
    const Tensor<double> causal = triu(Tensor<double>::ones({3, 3}), 1);
    check_gradients(Op::masked_fill, [causal](const TL& x) { return TL{softmax(masked_fill(x[0], causal, -kInf), -1)}; },
                    {randn({2, 3, 3}, 102)});
}

TEST_CASE("masked_fill: values against a loop; NaN under the mask is replaced, elsewhere kept") {
    Tensor<double> a = randn({2, 3, 4}, 103, false);
    a.data_mut()(0, 1, 2) = std::nan("");
    a.data_mut()(1, 2, 3) = std::nan("");
    const Tensor<double> m = half_ones({3, 4}, 104);
    for (double value : {-kInf, 2.5, std::nan("")}) {
        const Tensor<double> out = masked_fill(a, m, value);
        REQUIRE(out.shape() == a.shape());
        bool same = true;
        for (std::size_t i = 0; i < 2; ++i)
            for (std::size_t j = 0; j < 3; ++j)
                for (std::size_t k = 0; k < 4; ++k) {
                    const double want = m.at({j, k}) == 1 ? value : a.at({i, j, k}), got = out.at({i, j, k});
                    same = same && (want == got || (std::isnan(want) && std::isnan(got)));
                }
        CHECK(same);
    }
    // The gradient is zero under the mask, even where the output's gradient is inf;
    // the mask is a constant, as where's condition: requiring a gradient changes nothing.
    auto x = Tensor<double>::of({1.0, kInf, 3.0}, true);
    auto mask = Tensor<double>::of({0.0, 1.0, 1.0}, true);
    mul(masked_fill(x, mask, 0.0), Tensor<double>::of({2.0, 5.0, kInf})).backward(Tensor<double>::ones({3}));
    CHECK(x.grad().data() == xt::xarray<double>{2, 0, 0});
    CHECK(!mask.grad().defined());
}

TEST_CASE("tril and triu: gradients, batched, any diagonal, size-1 axes") {
    const std::vector<std::pair<Shape, std::int64_t>> cases = {{{3, 3}, 0}, {{2, 3, 4}, 1}, {{4, 3}, -1}, {{1, 3}, 0},
                                                               {{2, 1, 2, 2}, -5}};
    for (const auto& [shape, diagonal] : cases) {
        INFO(shape_name(shape), " diagonal ", diagonal);
        check_gradients(Op::tril, [d = diagonal](const TL& x) { return TL{tril(x[0], d)}; }, {randn(shape, 110)});
        check_gradients(Op::triu, [d = diagonal](const TL& x) { return TL{triu(x[0], d)}; }, {randn(shape, 111)});
    }
}

TEST_CASE("tril and triu: values against a loop; NaN and inf outside the triangle become 0") {
    Tensor<double> a = randn({2, 4, 5}, 112, false);
    a.data_mut()(0, 0, 4) = std::nan("");
    a.data_mut()(1, 3, 0) = kInf;
    for (std::int64_t d : {std::int64_t(-6), std::int64_t(-1), std::int64_t(0), std::int64_t(2), std::int64_t(9),
                           std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()}) {
        INFO("diagonal ", d);
        const Tensor<double> lower = tril(a, d), upper = triu(a, d);
        bool same = true;
        for (std::size_t b = 0; b < 2; ++b)
            for (std::size_t i = 0; i < 4; ++i)
                for (std::size_t j = 0; j < 5; ++j) {
                    const double x = a.at({b, i, j});
                    // j - i compared with d in long double: d may be at the ends of int64.
                    const long double off = (long double)j - (long double)i;
                    const double want_lower = off <= (long double)d ? x : 0, want_upper = off >= (long double)d ? x : 0;
                    auto eq = [](double p, double q) { return p == q || (std::isnan(p) && std::isnan(q)); };
                    same = same && eq(lower.at({b, i, j}), want_lower) && eq(upper.at({b, i, j}), want_upper);
                }
        CHECK(same);
    }
    CHECK(tril(Tensor<double>::zeros({3, 0, 2})).shape() == Shape{3, 0, 2});
}

TEST_CASE("mask ops: errors name the op and the shapes") {
    const auto a = Tensor<double>::zeros({2, 3});
    CHECK(error_of([&] { masked_fill(a, Tensor<double>::ones({3, 3}), 0.0); }) ==
          "masked_fill: shapes (3, 3) and (2, 3) cannot be broadcast together");
    CHECK(error_of([&] { masked_fill(a, Tensor<double>::ones({1, 2, 3}), 0.0); }) ==
          "masked_fill: the mask of shape (1, 2, 3) does not broadcast to shape (2, 3)");
    CHECK(error_of([&] { masked_fill(a, Tensor<double>::of({1.0, 2.0, 0.0}), 0.0); }) ==
          "masked_fill: the mask of shape (3,) holds 2 at flat index 1; only 0 and 1 are allowed");
    CHECK(error_of([&] { tril(Tensor<double>::zeros({3})); }) == "tril: expects a tensor of rank >= 2, got shape (3,)");
    CHECK(error_of([&] { triu(Tensor<double>::scalar(1)); }) == "triu: expects a tensor of rank >= 2, got shape ()");
}
