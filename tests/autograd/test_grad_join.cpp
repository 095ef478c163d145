// gradcheck and gradgradcheck of concat stack narrow index_select index_add,
// their values against element-by-element loops, and their errors.
#include "../common/error_of.hpp"
#include "check.hpp"

using namespace tapegrad;
using namespace tapegrad::testing;

TEST_CASE("concat: gradients along each axis, one input without gradient") {
    const std::vector<std::pair<std::vector<Shape>, int>> cases = {
        {{{2, 3}, {2, 4}}, 1}, {{{2, 3}, {1, 3}, {4, 3}}, 0}, {{{2, 1, 3}, {2, 2, 3}}, -2}, {{{1}, {3}}, 0}, {{{3}}, 0}};
    for (const auto& [shapes, axis] : cases) {
        TL inputs;
        for (std::size_t k = 0; k < shapes.size(); ++k) inputs.push_back(randn(shapes[k], 20 + k));
        INFO(shape_case(inputs).shapes, " axis ", axis);
        check_gradients(Op::concat, [a = axis](const TL& x) { return TL{concat(x, a)}; }, inputs);
    }
    check_gradients(Op::concat, [](const TL& x) { return TL{concat(x, 1)}; }, {randn({2, 3}, 24), randn({2, 2}, 25, false)});
}

TEST_CASE("concat: values against a loop; empty parts; a brace list") {
    Tensor<double> a = randn({2, 3}, 26, false), b = randn({2, 2}, 27, false);
    Tensor<double> c = concat({a, Tensor<double>::zeros({2, 0}), b}, 1);
    REQUIRE(c.shape() == Shape{2, 5});
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 5; ++j) CHECK(c.at({i, j}) == (j < 3 ? a.at({i, j}) : b.at({i, j - 3})));
    Tensor<double> rows = concat({a, a}, -2);
    REQUIRE(rows.shape() == Shape{4, 3});
    for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t j = 0; j < 3; ++j) CHECK(rows.at({i, j}) == a.at({i % 2, j}));
    // Each part gets its own slice of the gradient.
    auto x = Tensor<double>::of({1.0, 2.0}, true), y = Tensor<double>::of({3.0}, true);
    sum(mul(concat({x, y}), Tensor<double>::of({10.0, 20.0, 30.0}))).backward();
    CHECK(x.grad().data() == xt::xarray<double>{10, 20});
    CHECK(y.grad().data() == xt::xarray<double>{30});
}

TEST_CASE("stack: gradients along a new axis, 0-d tensors into a vector") {
    for (int axis : {0, 1, 2, -1}) {
        INFO("axis ", axis);
        check_gradients(Op::stack, [axis](const TL& x) { return TL{stack(x, axis)}; },
                        {randn({2, 3}, 30), randn({2, 3}, 31), randn({2, 3}, 32)});
    }
    check_gradients(Op::stack, [](const TL& x) { return TL{stack(x)}; }, {randn({}, 33), randn({}, 34)});
    check_gradients(Op::stack, [](const TL& x) { return TL{stack(x, 1)}; }, {randn({1}, 35)});
    Tensor<double> a = randn({2, 3}, 36, false), b = randn({2, 3}, 37, false);
    Tensor<double> s = stack({a, b}, 1);
    REQUIRE(s.shape() == Shape{2, 2, 3});
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 3; ++j) {
            CHECK(s.at({i, 0, j}) == a.at({i, j}));
            CHECK(s.at({i, 1, j}) == b.at({i, j}));
        }
    CHECK(stack({Tensor<double>::scalar(1), Tensor<double>::scalar(2)}).data() == xt::xarray<double>{1, 2});
}

TEST_CASE("narrow: gradients, negative start, the whole axis, one slice") {
    struct Case {
        Shape shape;
        int axis;
        std::int64_t start, length;
    };
    for (const Case& c : std::vector<Case>{{{5}, 0, 1, 3}, {{3, 4}, 1, -3, 2}, {{2, 3, 4}, 1, 0, 3}, {{4, 3}, 0, 2, 1},
                                           {{1, 4}, -1, 3, 1}}) {
        INFO(shape_name(c.shape), " axis ", c.axis, " start ", c.start, " length ", c.length);
        check_gradients(Op::narrow, [c](const TL& x) { return TL{narrow(x[0], c.axis, c.start, c.length)}; },
                        {randn(c.shape, 40)});
    }
    Tensor<double> a = randn({3, 5}, 41, false);
    Tensor<double> n = narrow(a, 1, -4, 2);
    REQUIRE(n.shape() == Shape{3, 2});
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 2; ++j) CHECK(n.at({i, j}) == a.at({i, j + 1}));
    CHECK(narrow(a, 0, 3, 0).shape() == Shape{0, 5});
    auto x = Tensor<double>::of({1.0, 2.0, 3.0, 4.0}, true);
    sum(narrow(x, 0, 1, 2)).backward();
    CHECK(x.grad().data() == xt::xarray<double>{0, 1, 1, 0});
}

TEST_CASE("index_select: gradients with repeated indices, along each axis") {
    struct Case {
        Shape shape;
        int axis;
        Labels indices;
    };
    for (const Case& c : std::vector<Case>{{{5, 3}, 0, {4, 0, 0, 2}}, {{3, 4}, 1, {3, 1}}, {{2, 3, 2}, -1, {1}},
                                           {{4}, 0, {2, 2, 2}}, {{1, 3}, 0, {0, 0}}}) {
        INFO(shape_name(c.shape), " axis ", c.axis);
        check_gradients(Op::index_select, [c](const TL& x) { return TL{index_select(x[0], c.axis, c.indices)}; },
                        {randn(c.shape, 50)});
    }
}

TEST_CASE("index_select: values against a loop; repeats add up their gradients") {
    Tensor<double> a = randn({4, 3}, 51, false);
    const Labels rows = {3, 1, 3};
    Tensor<double> picked = index_select(a, 0, rows);
    REQUIRE(picked.shape() == Shape{3, 3});
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 3; ++j) CHECK(picked.at({i, j}) == a.at({std::size_t(rows[i]), j}));
    Tensor<double> cols = index_select(a, 1, std::vector<std::int64_t>{2, 0});
    for (std::size_t i = 0; i < 4; ++i) {
        CHECK(cols.at({i, 0}) == a.at({i, 2}));
        CHECK(cols.at({i, 1}) == a.at({i, 0}));
    }
    auto x = Tensor<double>::of({10.0, 20.0, 30.0}, true);
    // (Not {1, 1, 1, 0}: GCC 12.2 with -march=native (AVX-512) miscompiles that
    // brace list into four 1s.)
    sum(index_select(x, 0, {1, 0, 1, 1})).backward();
    CHECK(x.grad().data() == xt::xarray<double>{1, 3, 0});
    CHECK(index_select(a, 0, {}).shape() == Shape{0, 3});
}

TEST_CASE("index_add: gradients for both inputs, values against a loop") {
    struct Case {
        Shape shape;
        int axis;
        Labels indices;
        Shape source;
    };
    for (const Case& c : std::vector<Case>{{{4, 3}, 0, {0, 2, 2}, {3, 3}}, {{3, 4}, 1, {1}, {3, 1}}, {{5}, 0, {0, 4, 0}, {3}},
                                           {{2, 2, 3}, -1, {2, 0}, {2, 2, 2}}}) {
        INFO(shape_name(c.shape), " axis ", c.axis);
        check_gradients(Op::index_add, [c](const TL& x) { return TL{index_add(x[0], c.axis, c.indices, x[1])}; },
                        {randn(c.shape, 60), randn(c.source, 61)});
    }
    Tensor<double> a = randn({3, 2}, 62, false), s = randn({3, 2}, 63, false);
    Tensor<double> out = index_add(a, 0, {2, 0, 2}, s);
    for (std::size_t j = 0; j < 2; ++j) {
        CHECK(out.at({0, j}) == a.at({0, j}) + s.at({1, j}));
        CHECK(out.at({1, j}) == a.at({1, j}));
        CHECK(out.at({2, j}) == doctest::Approx(a.at({2, j}) + s.at({0, j}) + s.at({2, j})).epsilon(1e-15));
    }
}

TEST_CASE("join ops: errors name the op, the shapes and the index") {
    auto a = Tensor<double>::zeros({2, 3}), b = Tensor<double>::zeros({3, 3});
    CHECK(error_of([] { concat(TensorList<double>{}); }) == "concat: no tensors to join");
    CHECK(error_of([&] { concat({a, b}, 1); }) == "concat: tensor 1 of shape (3, 3) does not fit tensor 0 of shape (2, 3) outside axis 1");
    CHECK(error_of([&] { concat({a, Tensor<double>::zeros({2, 3, 1})}, 0); }) ==
          "concat: tensor 1 of shape (2, 3, 1) does not fit tensor 0 of shape (2, 3) outside axis 0");
    CHECK(error_of([&] { concat({a, b}, 2); }) == "concat: axis 2 is out of range for shape (2, 3)");
    CHECK(error_of([&] { concat({Tensor<double>::scalar(1)}); }) == "concat: axis 0 is out of range for shape ()");
    CHECK(error_of([] { stack(TensorList<double>{}); }) == "stack: no tensors to stack");
    CHECK(error_of([&] { stack({a, b}); }) == "stack: tensor 1 of shape (3, 3) differs from tensor 0 of shape (2, 3)");
    CHECK(error_of([&] { stack({a, a}, 3); }) == "stack: axis 3 is out of range for stacking tensors of shape (2, 3)");
    CHECK(error_of([&] { narrow(a, 1, 2, 2); }) == "narrow: start 2 and length 2 do not fit axis 1 of shape (2, 3)");
    CHECK(error_of([&] { narrow(a, 1, -4, 1); }) == "narrow: start -4 and length 1 do not fit axis 1 of shape (2, 3)");
    CHECK(error_of([&] { narrow(a, 0, 0, -1); }) == "narrow: start 0 and length -1 do not fit axis 0 of shape (2, 3)");
    CHECK(error_of([&] { index_select(a, 1, {0, 3}); }) ==
          "index_select: index 3 at position 1 is out of range for axis 1 of shape (2, 3)");
    CHECK(error_of([&] { index_select(a, 0, {-1}); }) ==
          "index_select: index -1 at position 0 is out of range for axis 0 of shape (2, 3)");
    CHECK(error_of([&] { index_add(a, 0, {0}, b); }) ==
          "index_add: source of shape (3, 3) does not fit 1 indices along axis 0 of shape (2, 3)");
    CHECK(error_of([&] { index_add(a, 0, {5}, Tensor<double>::zeros({1, 3})); }) ==
          "index_add: index 5 at position 0 is out of range for axis 0 of shape (2, 3)");
}
