// matmul (all transpose flags), linear, transpose, reshape, broadcast_to, sum_to.
#include "check.hpp"

using namespace tapegrad;
using namespace tapegrad::testing;

TEST_CASE("matmul: gradients for every transpose flag and several shapes") {
    // (m, k, n) of op(A) (m x k) times op(B) (k x n)
    const std::vector<std::array<std::size_t, 3>> dims = {{3, 4, 5}, {1, 3, 1}, {5, 2, 3}, {4, 1, 2}};
    for (const auto& [m, k, n] : dims)
        for (bool ta : {false, true})
            for (bool tb : {false, true}) {
                INFO("m k n = ", m, " ", k, " ", n, ", ta = ", ta, ", tb = ", tb);
                Tensor<double> a = randn(ta ? Shape{k, m} : Shape{m, k}, 21);
                Tensor<double> b = randn(tb ? Shape{n, k} : Shape{k, n}, 22);
                check_gradients(Op::matmul, [ta = ta, tb = tb](const TL& x) { return TL{matmul(x[0], x[1], ta, tb)}; },
                                {a, b});
            }
}

TEST_CASE("matmul: forward values by hand, with flags equal to explicit transposes") {
    auto a = Tensor<double>::of({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
    auto b = Tensor<double>::of({{7.0, 8.0}, {9.0, 10.0}, {11.0, 12.0}});
    auto c = matmul(a, b);
    CHECK(c.shape() == Shape{2, 2});
    CHECK(c.at({0, 0}) == 58.0);
    CHECK(c.at({0, 1}) == 64.0);
    CHECK(c.at({1, 0}) == 139.0);
    CHECK(c.at({1, 1}) == 154.0);
    auto at = transpose(a), bt = transpose(b);
    CHECK(matmul(at, b, true, false).data() == c.data());
    CHECK(matmul(a, bt, false, true).data() == c.data());
    CHECK(matmul(at, bt, true, true).data() == c.data());
}

TEST_CASE("linear: gradients for input, weight and bias on several shapes") {
    // (batch, in, out)
    const std::vector<std::array<std::size_t, 3>> dims = {{3, 4, 5}, {1, 3, 1}, {5, 1, 2}, {2, 6, 3}};
    for (const auto& [batch, in, out] : dims) {
        INFO("batch in out = ", batch, " ", in, " ", out);
        check_gradients(Op::linear, [](const TL& x) { return TL{linear(x[0], x[1], x[2])}; },
                        {randn({batch, in}, 31), randn({out, in}, 32), randn({out}, 33)});
    }
}

TEST_CASE("linear: the values of x W^T + b, and errors that name the shapes") {
    auto x = Tensor<double>::of({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
    auto w = Tensor<double>::of({{1.0, 0.0, -1.0}, {0.5, 0.5, 0.5}});
    auto b = Tensor<double>::of({10.0, -3.0});
    // Row 0: (1 - 3, 0.5 + 1 + 1.5) + b = (8, 0); row 1: (4 - 6, 2 + 2.5 + 3) + b = (8, 4.5).
    CHECK(linear(x, w, b).data() == xt::xarray<double>{{8.0, 0.0}, {8.0, 4.5}});
    // No inner extent: the bias alone; no rows: an empty (0, out) result.
    CHECK(linear(Tensor<double>::zeros({2, 0}), Tensor<double>::zeros({2, 0}), b).data() ==
          xt::xarray<double>{{10.0, -3.0}, {10.0, -3.0}});
    CHECK(linear(Tensor<double>::zeros({0, 3}), w, b).shape() == Shape{0, 2});
    CHECK_THROWS_WITH_AS(linear(x, transpose(w), b),
                         "linear: expects input (batch, in), weight (out, in) and bias (out), got (2, 3), (3, 2) and (2,)",
                         Error);
    CHECK_THROWS_AS(linear(x, w, Tensor<double>::zeros({3})), Error);
    CHECK_THROWS_AS(linear(x, w, Tensor<double>::zeros({1, 2})), Error);
}

TEST_CASE("matmul: misaligned or non-2-D shapes are errors that name them") {
    auto a = Tensor<double>::zeros({2, 3});
    auto b = Tensor<double>::zeros({4, 5});
    CHECK_THROWS_WITH_AS(matmul(a, b), "matmul: shapes (2, 3) and (4, 5) are not aligned (3 != 4)", Error);
    CHECK_THROWS_AS(matmul(a, Tensor<double>::zeros({3})), Error);
    CHECK_THROWS_WITH_AS(matmul(a, b, true, false), "matmul: shapes (2, 3)^T and (4, 5) are not aligned (2 != 4)", Error);
    CHECK(matmul(a, Tensor<double>::zeros({2, 5}), true, false).shape() == Shape{3, 5});
}

TEST_CASE("transpose and reshape: gradients and values") {
    for (const Shape& s : {Shape{3, 4}, Shape{1, 5}, Shape{6, 1}}) {
        INFO(shape_name(s));
        check_gradients(Op::transpose, [](const TL& x) { return TL{transpose(x[0])}; }, {randn(s, 31)});
    }
    const std::vector<std::pair<Shape, Shape>> reshapes = {
        {{3, 4}, {12}}, {{2, 6}, {3, 2, 2}}, {{5}, {1, 5, 1}}, {{1, 5, 1}, {5}}, {{}, {1, 1}}};
    for (const auto& [from, to] : reshapes) {
        INFO(shape_name(from), " -> ", shape_name(to));
        check_gradients(Op::reshape, [to = to](const TL& x) { return TL{reshape(x[0], to)}; }, {randn(from, 32)});
    }
    auto a = Tensor<double>::of({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
    CHECK(transpose(a).at({2, 1}) == 6.0);
    CHECK(reshape(a, {3, 2}).at({1, 0}) == 3.0);
    CHECK_THROWS_WITH_AS(reshape(a, {4, 2}), "reshape: cannot reshape (2, 3) (6 elements) to (4, 2)", Error);
}

TEST_CASE("broadcast_to and sum_to are each other's gradient") {
    const std::vector<std::pair<Shape, Shape>> cases = {{{4}, {3, 4}},    {{3, 1}, {3, 5}}, {{1, 2, 1}, {3, 2, 4}},
                                                         {{}, {2, 2}},    {{}, {1}},        {{1}, {4, 1}}};
    for (const auto& [small, big] : cases) {
        INFO(shape_name(small), " <-> ", shape_name(big));
        check_gradients(Op::broadcast_to, [big = big](const TL& x) { return TL{broadcast_to(x[0], big)}; },
                        {randn(small, 41)});
        check_gradients(Op::sum_to, [small = small](const TL& x) { return TL{sum_to(x[0], small)}; }, {randn(big, 42)});
    }
    auto s = sum_to(Tensor<double>::of({{1.0, 2.0}, {3.0, 4.0}}), {1, 2});
    CHECK(s.at({0, 0}) == 4.0);
    CHECK(s.at({0, 1}) == 6.0);
    CHECK_THROWS_AS(broadcast_to(Tensor<double>::zeros({3}), {4}), Error);
    // An empty batch sums to zeros, over leading axes or not (a conv2d bias gradient).
    CHECK(sum_to(Tensor<double>::zeros({0, 3, 2}), {3, 1}).data() == Array<double>(xt::zeros<double>(Shape{3, 1})));
    CHECK(sum_to(Tensor<double>::zeros({0, 3}), {3}).data() == Array<double>(xt::zeros<double>(Shape{3})));
}
