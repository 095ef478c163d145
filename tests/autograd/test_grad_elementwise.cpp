// gradcheck and gradgradcheck of the broadcasting binary ops and scalar forms.
#include <tuple>

#include "check.hpp"

using namespace tapegrad;
using namespace tapegrad::testing;

namespace {
// Same shape, a row vector, a column against a 3-D tensor, a 0-d scalar.
const std::vector<std::pair<Shape, Shape>> kBroadcastCases = {
    {{3, 4}, {3, 4}}, {{3, 4}, {4}}, {{2, 1, 4}, {3, 1}}, {{3, 4}, {}}, {{1}, {2, 3}},
};
}  // namespace

TEST_CASE("add, sub, mul: gradients with broadcasting") {
    const std::vector<std::pair<Op, Fn>> ops = {
        {Op::add, [](const TL& x) { return TL{add(x[0], x[1])}; }},
        {Op::sub, [](const TL& x) { return TL{sub(x[0], x[1])}; }},
        {Op::mul, [](const TL& x) { return TL{mul(x[0], x[1])}; }},
    };
    for (const auto& [op, f] : ops)
        for (const auto& [sa, sb] : kBroadcastCases) {
            INFO(shape_name(sa), " with ", shape_name(sb));
            check_gradients(op, f, {randn(sa, 1), randn(sb, 2)});
        }
}

TEST_CASE("div: gradients with broadcasting, divisor away from zero") {
    for (const auto& [sa, sb] : kBroadcastCases) {
        INFO(shape_name(sa), " / ", shape_name(sb));
        check_gradients(Op::div, [](const TL& x) { return TL{div(x[0], x[1])}; }, {randn(sa, 3), positive(sb, 4)});
    }
}

TEST_CASE("only the inputs that require a gradient are differentiated") {
    Tensor<double> a = randn({2, 3}, 5), b = randn({3}, 6, false);
    check_gradients(Op::mul, [](const TL& x) { return TL{mul(x[0], x[1])}; }, {a, b});
    CHECK_FALSE(b.grad().defined());
}

TEST_CASE("neg and the scalar forms") {
    // The operators are sugar: `x - 2.5` is add(x, -2.5), `x / 4` is mul(x, 0.25).
    const std::vector<std::tuple<Op, const char*, Fn>> ops = {
        {Op::neg, "-x", [](const TL& x) { return TL{neg(x[0])}; }},
        {Op::add_scalar, "x + 2.5", [](const TL& x) { return TL{x[0] + 2.5}; }},
        {Op::add_scalar, "x - 2.5", [](const TL& x) { return TL{x[0] - 2.5}; }},
        {Op::mul_scalar, "x * -1.5", [](const TL& x) { return TL{x[0] * -1.5}; }},
        {Op::mul_scalar, "x / 4", [](const TL& x) { return TL{x[0] / 4.0}; }},
        {Op::rsub_scalar, "3 - x", [](const TL& x) { return TL{3.0 - x[0]}; }},
        {Op::rdiv_scalar, "2 / x", [](const TL& x) { return TL{2.0 / x[0]}; }},
    };
    for (const auto& [op, what, f] : ops)
        for (const Shape& s : {Shape{5}, Shape{3, 4}, Shape{2, 3, 2}, Shape{}, Shape{1, 3}}) {
            CAPTURE(what);
            INFO(shape_name(s));
            check_gradients(op, f, {positive(s, 7)});
        }
}

TEST_CASE("forward values of the binary ops, computed by hand") {
    auto a = Tensor<double>::of({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
    auto b = Tensor<double>::of({10.0, 20.0, 30.0});
    auto s = add(a, b);
    CHECK(s.shape() == Shape{2, 3});
    CHECK(s.at({1, 2}) == 36.0);
    CHECK(sub(a, b).at({0, 1}) == -18.0);
    CHECK(mul(a, b).at({1, 0}) == 40.0);
    CHECK(div(a, b).at({1, 1}) == doctest::Approx(0.25));
    CHECK((2.0 / a).at({0, 1}) == 1.0);
    CHECK((3.0 - a).at({1, 2}) == -3.0);
    CHECK((-a).at({0, 0}) == -1.0);
}

TEST_CASE("broadcast gradients are summed back to each input's shape") {
    auto a = Tensor<double>::ones({2, 3}, true);
    auto b = Tensor<double>::of({1.0, 2.0, 3.0}, true);
    sum(mul(a, b)).backward();
    // d/db_j sum_ij a_ij b_j = sum_i a_ij = 2
    CHECK(b.grad().shape() == Shape{3});
    CHECK(b.grad().at({2}) == 2.0);
    CHECK(a.grad().at({1, 2}) == 3.0);
}

TEST_CASE("shape errors name the operation and both shapes") {
    auto a = Tensor<double>::zeros({2, 3});
    auto b = Tensor<double>::zeros({4});
    for (const auto& [name, f] : std::vector<std::pair<std::string, std::function<void()>>>{
             {"add", [&] { add(a, b); }}, {"sub", [&] { sub(a, b); }},
             {"mul", [&] { mul(a, b); }}, {"div", [&] { div(a, b); }}}) {
        CAPTURE(name);
        try {
            f();
            FAIL("no exception");
        } catch (const Error& e) {
            const std::string msg = e.what();
            CHECK(msg.find(name) != std::string::npos);
            CHECK(msg.find("(2, 3)") != std::string::npos);
            CHECK(msg.find("(4,)") != std::string::npos);
        }
    }
}
