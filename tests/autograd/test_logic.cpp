// eq ne lt le gt ge, the logical ops, isnan isinf isfinite: masks without a
// gradient, against a loop over C++'s own comparisons (IEEE's, as PyTorch's).
#include <cmath>
#include <limits>

#include <xtensor/xbroadcast.hpp>

#include "check.hpp"

using namespace tapegrad;
using namespace tapegrad::testing;

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN(), kInf = std::numeric_limits<double>::infinity();

// Values drawn from a few that matter, repeats included (ties): NaN, +-inf, 0, -0, small whole numbers.
Tensor<double> special(const Shape& shape, std::uint64_t seed) {
    const double pool[] = {kNaN, -kInf, kInf, 0.0, -0.0, 1.0, -1.0, 2.0, 1.0, 0.5};
    xt::xarray<double> v = Tensor<double>::uniform(shape, 0.0, 10.0, seed).data();
    for (double& x : v) x = pool[std::size_t(x) % 10];
    return Tensor<double>(v, true);
}

// The mask of `test` on a and b broadcast to one shape, by a loop.
template <class Test>
xt::xarray<double> mask_by_loop(const Tensor<double>& a, const Tensor<double>& b, Test test) {
    const Shape shape = broadcast_shapes("test", a.shape(), b.shape());
    const xt::xarray<double> x = xt::broadcast(a.data(), shape), y = xt::broadcast(b.data(), shape);
    xt::xarray<double> out = xt::zeros<double>(shape);
    for (std::size_t i = 0; i < out.size(); ++i) out.data()[i] = test(x.data()[i], y.data()[i]) ? 1.0 : 0.0;
    return out;
}

using Binary = Tensor<double> (*)(const Tensor<double>&, const Tensor<double>&);
using WithScalar = Tensor<double> (*)(const Tensor<double>&, double);
using Test = bool (*)(double, double);
struct Comparison {
    Op op, op_scalar;
    Binary f;
    WithScalar f_scalar;
    Test test;
};
const Comparison kComparisons[] = {
    {Op::eq, Op::eq_scalar, [](const Tensor<double>& a, const Tensor<double>& b) { return eq(a, b); },
     [](const Tensor<double>& a, double s) { return eq(a, s); }, [](double x, double y) { return x == y; }},
    {Op::ne, Op::ne_scalar, [](const Tensor<double>& a, const Tensor<double>& b) { return ne(a, b); },
     [](const Tensor<double>& a, double s) { return ne(a, s); }, [](double x, double y) { return x != y; }},
    {Op::lt, Op::lt_scalar, [](const Tensor<double>& a, const Tensor<double>& b) { return lt(a, b); },
     [](const Tensor<double>& a, double s) { return lt(a, s); }, [](double x, double y) { return x < y; }},
    {Op::le, Op::le_scalar, [](const Tensor<double>& a, const Tensor<double>& b) { return le(a, b); },
     [](const Tensor<double>& a, double s) { return le(a, s); }, [](double x, double y) { return x <= y; }},
    {Op::gt, Op::gt_scalar, [](const Tensor<double>& a, const Tensor<double>& b) { return gt(a, b); },
     [](const Tensor<double>& a, double s) { return gt(a, s); }, [](double x, double y) { return x > y; }},
    {Op::ge, Op::ge_scalar, [](const Tensor<double>& a, const Tensor<double>& b) { return ge(a, b); },
     [](const Tensor<double>& a, double s) { return ge(a, s); }, [](double x, double y) { return x >= y; }},
};

struct Logical {
    Op op;
    Binary f;
    Test test;
};
const Logical kLogicals[] = {
    {Op::logical_and, [](const Tensor<double>& a, const Tensor<double>& b) { return logical_and(a, b); },
     [](double x, double y) { return x != 0 && y != 0; }},
    {Op::logical_or, [](const Tensor<double>& a, const Tensor<double>& b) { return logical_or(a, b); },
     [](double x, double y) { return x != 0 || y != 0; }},
    {Op::logical_xor, [](const Tensor<double>& a, const Tensor<double>& b) { return logical_xor(a, b); },
     [](double x, double y) { return (x != 0) != (y != 0); }},
};

// Pairs of shapes: equal, broadcast both ways, 0-d against a vector (edge), size 1 (edge),
// an empty one, and 17 elements (past a SIMD width, so that the vector body and its tail both run).
const std::vector<std::pair<Shape, Shape>> kShapes = {
    {{3, 4}, {3, 4}}, {{2, 1, 3}, {4, 1}}, {{}, {5}}, {{1}, {1, 1}}, {{0, 3}, {3}}, {{17}, {17}}};
}  // namespace

TEST_CASE("comparisons: masks of 0 and 1 with IEEE NaN, broadcasting, no gradient") {
    std::uint64_t seed = 400;
    for (const auto& c : kComparisons)
        for (const auto& [sa, sb] : kShapes) {
            CAPTURE(op_key(c.op));
            INFO(shape_name(sa), " vs ", shape_name(sb));
            const Tensor<double> a = special(sa, ++seed), b = special(sb, ++seed);
            check_no_gradient(c.op, [f = c.f](const TL& x) { return f(x[0], x[1]); }, {a, b}, mask_by_loop(a, b, c.test));
            for (double s : {0.0, 1.0, kNaN, kInf}) {
                INFO("scalar ", s);
                check_no_gradient(c.op_scalar, [f = c.f_scalar, s](const TL& x) { return f(x[0], s); }, {a},
                                  mask_by_loop(a, Tensor<double>::scalar(s), c.test));
            }
        }
    // NaN as PyTorch: unequal to itself, so == is 0 and != is 1, and every order is 0.
    const auto n = Tensor<double>::of({kNaN, 1.0});
    CHECK(eq(n, n).data() == xt::xarray<double>{0.0, 1.0});
    CHECK(ne(n, n).data() == xt::xarray<double>{1.0, 0.0});
    CHECK(le(n, n).data() == xt::xarray<double>{0.0, 1.0});
    CHECK(ge(n, kNaN).data() == xt::xarray<double>{0.0, 0.0});
    CHECK(ne(n, kNaN).data() == xt::xarray<double>{1.0, 1.0});
    // Float too, and the mask feeds where().
    const auto f = Tensor<float>::of({-1.0f, 2.0f, 3.0f});
    CHECK(gt(f, 1.5f).data() == xt::xarray<float>{0.0f, 1.0f, 1.0f});
    CHECK(where(lt(f, 0.0f), neg(f), f).data() == xt::xarray<float>{1.0f, 2.0f, 3.0f});
    CHECK_THROWS_WITH_AS(lt(Tensor<double>::zeros({2, 3}), Tensor<double>::zeros({4})),
                         "lt: shapes (2, 3) and (4,) cannot be broadcast together", Error);
}

TEST_CASE("logical ops: nonzero (NaN too) is true; isnan, isinf, isfinite") {
    std::uint64_t seed = 500;
    for (const auto& c : kLogicals)
        for (const auto& [sa, sb] : kShapes) {
            CAPTURE(op_key(c.op));
            INFO(shape_name(sa), " vs ", shape_name(sb));
            const Tensor<double> a = special(sa, ++seed), b = special(sb, ++seed);
            check_no_gradient(c.op, [f = c.f](const TL& x) { return f(x[0], x[1]); }, {a, b}, mask_by_loop(a, b, c.test));
        }
    const Tensor<double> none = Tensor<double>::scalar(0.0);
    for (const auto& [s, unused] : kShapes) {
        INFO(shape_name(s));
        const Tensor<double> a = special(s, ++seed);
        const auto one = [&](Test test) { return mask_by_loop(a, none, test); };
        check_no_gradient(Op::logical_not, [](const TL& x) { return logical_not(x[0]); }, {a},
                          one([](double x, double) { return !(x != 0); }));
        check_no_gradient(Op::isnan, [](const TL& x) { return isnan(x[0]); }, {a},
                          one([](double x, double) { return x != x; }));
        check_no_gradient(Op::isinf, [](const TL& x) { return isinf(x[0]); }, {a},
                          one([](double x, double) { return x == kInf || x == -kInf; }));
        check_no_gradient(Op::isfinite, [](const TL& x) { return isfinite(x[0]); }, {a},
                          one([](double x, double) { return x == x && x != kInf && x != -kInf; }));
    }
    CHECK(logical_and(Tensor<double>::of({kNaN, 0.0, 2.0}), Tensor<double>::of({1.0, 1.0, -0.0})).data() ==
          xt::xarray<double>{1.0, 0.0, 0.0});
    CHECK_THROWS_WITH_AS(logical_or(Tensor<double>::zeros({2}), Tensor<double>::zeros({3})),
                         "logical_or: shapes (2,) and (3,) cannot be broadcast together", Error);
}
