// Cases the other autograd tests did not reach (issue #11, item 12), each
// checked to fail on the bug it names: softmax over rows of very different
// magnitudes and along a non-last axis, float gradients against double,
// matmul with an empty inner dimension, empty tensors through softmax.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <doctest/doctest.h>

#include <xtensor/xmath.hpp>

#include <tapegrad/autograd/ops.hpp>

using namespace tapegrad;

namespace {

// softmax([0, -1, -2]) and log_softmax([0, -1, -2]), in double.
const double z012 = 1.0 + std::exp(-1.0) + std::exp(-2.0);
const double p012[3] = {1.0 / z012, std::exp(-1.0) / z012, std::exp(-2.0) / z012};
const double lp012[3] = {-std::log(z012), -1.0 - std::log(z012), -2.0 - std::log(z012)};

}  // namespace

TEST_CASE_TEMPLATE("softmax and log_softmax shift each row by its own maximum", T, float, double) {
    // Rows 1000 apart: a loop that shifted every row by the first row's
    // maximum gave exp(-2000) = 0 and NaN or -inf in the other rows.
    // Each row is [0, -1, -2] (in some order) plus a constant, so each has
    // the same softmax.
    auto x = Tensor<T>::of({{T(1000), T(999), T(998)}, {T(-1002), T(-1001), T(-1000)}, {T(3), T(5), T(4)}}, true);
    const std::size_t order[3][3] = {{0, 1, 2}, {2, 1, 0}, {1, 2, 0}};  // where each row's 0, -1, -2 sit
    const double tol = std::is_same<T, float>::value ? 1e-6 : 1e-14;    // a few units of the last place
    auto p = softmax(x, 1);
    auto lp = log_softmax(x, -1);
    for (std::size_t r = 0; r < 3; ++r)
        for (std::size_t k = 0; k < 3; ++k) {
            CAPTURE(r);
            CAPTURE(k);
            const std::size_t j = order[r][k];
            CHECK(double(p.at({r, j})) == doctest::Approx(p012[k]).epsilon(tol));
            // log_softmax's value is its shift minus a log: absolute error of
            // a few ulps of the 1000 it started from.
            CHECK(double(lp.at({r, j})) == doctest::Approx(lp012[k]).epsilon(tol * 1000));
        }
    // And the gradients, through cross_entropy's own row loop: with the
    // largest logit of each row as label, its gradient is softmax - onehot.
    auto loss = cross_entropy(x, Labels{0, 2, 1}, Reduction::Sum);
    loss.backward();
    for (std::size_t r = 0; r < 3; ++r)
        for (std::size_t k = 0; k < 3; ++k) {
            const std::size_t j = order[r][k];
            CHECK(double(x.grad().at({r, j})) == doctest::Approx(p012[k] - (k == 0)).epsilon(tol).scale(1));
        }
}

TEST_CASE_TEMPLATE("softmax and log_softmax along a non-last axis shift each slice by its own maximum", T, float,
                   double) {
    // Along axis 0: the columns are the slices. Column 0 holds 1000-ish,
    // column 1 -1000-ish: without a maximum per column exp(1000) overflows,
    // with one maximum for the whole tensor column 1 underflows to 0.
    auto x = Tensor<T>::of({{T(1000), T(-1002)}, {T(999), T(-1001)}, {T(998), T(-1000)}}, true);
    const std::size_t order[2][3] = {{0, 1, 2}, {2, 1, 0}};  // rows of each column's 0, -1, -2
    const double tol = std::is_same<T, float>::value ? 1e-6 : 1e-14;
    for (int axis : {0, -2}) {
        CAPTURE(axis);
        auto p = softmax(x, axis);
        auto lp = log_softmax(x, axis);
        for (std::size_t c = 0; c < 2; ++c)
            for (std::size_t k = 0; k < 3; ++k) {
                CAPTURE(c);
                CAPTURE(k);
                const std::size_t i = order[c][k];
                CHECK(double(p.at({i, c})) == doctest::Approx(p012[k]).epsilon(tol));
                CHECK(double(lp.at({i, c})) == doctest::Approx(lp012[k]).epsilon(tol * 1000));
            }
        // d/dx sum(w * log_softmax(x)) = w - softmax(x) * sum(w), per column.
        x.zero_grad();
        auto w = Tensor<T>::of({{T(1), T(0)}, {T(0), T(0)}, {T(0), T(2)}});
        sum(mul(w, log_softmax(x, axis))).backward();
        for (std::size_t c = 0; c < 2; ++c)
            for (std::size_t k = 0; k < 3; ++k) {
                const std::size_t i = order[c][k];
                const double wsum = c == 0 ? 1.0 : 2.0;
                CHECK(double(x.grad().at({i, c})) ==
                      doctest::Approx(double(w.at({i, c})) - p012[k] * wsum).epsilon(tol).scale(1));
            }
    }
}

namespace {

// Builds one scalar function of several inputs in float and in double, on the
// same values (normal draws rounded to float), and compares the float
// gradients with the double ones.
//
// The tolerance: float's unit roundoff is u = 2^-24 = 6e-8. Every function
// below has inputs of order 1, a handful of ops, and sums of at most ~100
// terms; the worst-case rounding bound of such a sum is ~100 u relative to
// its largest term, so 2e-5 (~330 u) of the gradient's largest element.
// Measured: at most 2.6e-7 (4.4 u). A formula wrong by 0.01% fails.
template <class F>
void check_float_against_double(const char* what, const std::vector<Shape>& shapes, F f,
                                double (*transform)(double) = nullptr) {
    const std::string function = what;
    CAPTURE(function);
    std::vector<Tensor<float>> xf;
    std::vector<Tensor<double>> xd;
    for (std::size_t i = 0; i < shapes.size(); ++i) {
        Array<double> d = Tensor<double>::normal(shapes[i], 0.0, 1.0, 1000 + i).data();
        if (transform)
            for (double& v : d) v = transform(v);
        Array<float> rounded = xt::cast<float>(d);
        xf.emplace_back(rounded, true);
        xd.emplace_back(Array<double>(xt::cast<double>(rounded)), true);
    }
    f(xf).backward();
    f(xd).backward();
    for (std::size_t i = 0; i < shapes.size(); ++i) {
        CAPTURE(i);
        const Array<double> gd = xd[i].grad().data();
        const Array<double> gf = xt::cast<double>(xf[i].grad().data());
        REQUIRE(gf.shape() == gd.shape());
        const double scale = std::max(xt::amax(xt::abs(gd))(), 1e-30);
        const double error = xt::amax(xt::abs(gf - gd))();
        CAPTURE(scale);
        CAPTURE(error);
        CHECK(error <= 2e-5 * scale);
        CHECK(scale > 1e-6);  // the function does depend on this input
    }
}

double positive(double v) { return 0.5 + std::abs(v); }         // log, sqrt, divisors
double away_from_zero(double v) { return v < 0 ? v - 0.2 : v + 0.2; }  // relu, abs

}  // namespace

TEST_CASE("float gradients agree with double ones, op by op and through a network") {
    // (Central differences in float would measure rounding noise: gradcheck
    // refuses float. The double gradients are gradchecked elsewhere.)
    check_float_against_double("add, sub, mul, div with broadcasting", {{4, 5}, {5}, {4, 1}}, [](const auto& x) {
        return sum(div(mul(sub(add(x[0], x[1]), x[2]), x[0]), add(mul(x[1], x[1]), 1.0)));
    });
    check_float_against_double("neg, scalar forms", {{3, 4}}, [](const auto& x) {
        return sum(mul(neg(x[0]) * 3.0 + 1.5, 2.0 - x[0]) / (x[0] * x[0] + 2.0));
    });
    check_float_against_double("exp, log, sqrt, pow", {{3, 4}}, [](const auto& x) {
        return sum(add(add(exp(x[0]), log(x[0])), add(sqrt(x[0]), pow(x[0], 2.5))));
    }, positive);
    check_float_against_double("abs, relu", {{3, 4}}, [](const auto& x) {
        return sum(mul(abs(x[0]), relu(x[0])));
    }, away_from_zero);
    check_float_against_double("sigmoid, tanh", {{3, 4}}, [](const auto& x) {
        return sum(mul(sigmoid(x[0]), tanh(x[0])));
    });
    for (bool ta : {false, true})
        for (bool tb : {false, true})
            check_float_against_double("matmul", {ta ? Shape{6, 4} : Shape{4, 6}, tb ? Shape{3, 6} : Shape{6, 3}},
                                       [ta, tb](const auto& x) {
                                           const auto y = matmul(x[0], x[1], ta, tb);
                                           return sum(mul(y, y));
                                       });
    check_float_against_double("reshape, transpose, broadcast_to, sum_to", {{2, 6}, {3}}, [](const auto& x) {
        const auto t = transpose(reshape(x[0], {3, 4}));
        const auto b = broadcast_to(x[1], {4, 3});
        return sum(mul(sum_to(mul(t, b), {1, 3}), x[1]));
    });
    check_float_against_double("sum, mean, max along axes", {{3, 4, 5}}, [](const auto& x) {
        const auto a = sum(x[0], 1);
        const auto b = mean(x[0], -1, true);
        const auto c = max(x[0], 0);
        return add(add(sum(mul(a, a)), sum(mul(b, b))), mean(mul(c, c)));
    });
    check_float_against_double("softmax, log_softmax along several axes", {{4, 5}}, [](const auto& x) {
        const auto w = exp(mul(x[0], 0.5));  // weights, so that the gradients do not vanish
        return add(sum(mul(softmax(x[0], 1), w)), sum(mul(log_softmax(x[0], 0), w)));
    });
    check_float_against_double("losses", {{6, 4}, {6, 4}}, [](const auto& x) {
        const Labels labels{0, 3, 1, 2, 2, 0};
        return add(add(cross_entropy(x[0], labels), nll_loss(log_softmax(x[0]), labels, Reduction::Sum)),
                   add(mse_loss(x[0], x[1]), cross_entropy(x[0], softmax(x[1]))));
    });
    check_float_against_double("a two-layer network", {{8, 10}, {16, 10}, {16}, {3, 16}, {3}}, [](const auto& x) {
        const auto h = sigmoid(add(matmul(x[0], x[1], false, true), x[2]));
        return cross_entropy(add(matmul(h, x[3], false, true), x[4]), Labels{0, 1, 2, 0, 1, 2, 0, 1});
    });
}

TEST_CASE_TEMPLATE("matmul with an empty inner dimension is zeros, with empty gradients", T, float, double) {
    // Fill the allocator's cache for this size with NaN first: a product that
    // left its output unwritten would hand back those NaNs.
    { auto garbage = Tensor<T>::full({3, 4}, std::numeric_limits<T>::quiet_NaN()); }
    for (bool ta : {false, true})
        for (bool tb : {false, true}) {
            CAPTURE(ta);
            CAPTURE(tb);
            auto a = Tensor<T>::zeros(ta ? Shape{0, 3} : Shape{3, 0}, true);
            auto b = Tensor<T>::zeros(tb ? Shape{4, 0} : Shape{0, 4}, true);
            auto c = matmul(a, b, ta, tb);
            REQUIRE(c.shape() == Shape{3, 4});
            CHECK(xt::all(xt::equal(c.data(), T(0))));
            c.backward(Tensor<T>::ones({3, 4}));
            CHECK(a.grad().shape() == a.shape());
            CHECK(b.grad().shape() == b.shape());
        }
    // And a product with an empty outer dimension.
    auto a = Tensor<T>::zeros({0, 5}, true);
    auto b = Tensor<T>::ones({5, 2}, true);
    auto c = matmul(a, b);
    CHECK(c.shape() == Shape{0, 2});
    c.backward(Tensor<T>::zeros({0, 2}));
    CHECK(a.grad().shape() == Shape{0, 5});
    CHECK(xt::all(xt::equal(b.grad().data(), T(0))));
}

TEST_CASE_TEMPLATE("softmax and log_softmax of empty tensors, forward and backward", T, float, double) {
    const std::vector<std::pair<Shape, int>> cases = {
        {{0, 5}, -1}, {{3, 0}, -1}, {{0, 5}, 0}, {{3, 0}, 0}, {{2, 0, 3}, 1}, {{2, 0, 3}, -1}, {{0}, 0}};
    for (const auto& [shape, axis] : cases) {
        CAPTURE(shape_str(shape));
        CAPTURE(axis);
        auto x = Tensor<T>::zeros(shape, true);
        for (bool log_form : {false, true}) {
            x.zero_grad();
            auto y = log_form ? log_softmax(x, axis) : softmax(x, axis);
            CHECK(y.shape() == shape);
            y.backward(Tensor<T>::ones(shape));
            CHECK(x.grad().shape() == shape);
        }
        // The same under create_graph, where the gradients are recorded ops.
        x.zero_grad();
        log_softmax(x, axis).backward(Tensor<T>::ones(shape), false, true);
        CHECK(x.grad().shape() == shape);
        // A recorded gradient refers back to its leaf through its graph (a
        // reference cycle, as in PyTorch): drop it, or LeakSanitizer reports it.
        x.zero_grad();
    }
}

TEST_CASE_TEMPLATE("sum, mean and max along an axis of a tensor with an empty dimension", T, float, double) {
    // xtensor's immediate reducers read out of bounds on these (found by the
    // softmax case above: its recorded backward sums along an axis): the
    // result is zeros for a sum over nothing, else empty.
    const std::vector<std::pair<Shape, int>> cases = {{{0, 5}, 1}, {{0, 5}, 0}, {{3, 0}, 0}, {{2, 0, 3}, 2}, {{2, 0, 3}, 0}};
    for (const auto& [shape, axis] : cases) {
        CAPTURE(shape_str(shape));
        CAPTURE(axis);
        auto x = Tensor<T>::zeros(shape, true);
        for (bool keepdims : {true, false}) {
            Shape reduced = shape;
            if (keepdims)
                reduced[std::size_t(axis)] = 1;
            else
                reduced.erase(reduced.begin() + axis);
            auto s = sum(x, axis, keepdims);
            CHECK(s.shape() == reduced);
            // Over the raw buffer: xtensor's own iterators over an empty array
            // offset its null data pointer (UBSan reports it).
            const T* values = s.data().data();
            CHECK(std::all_of(values, values + s.size(), [](T v) { return v == T(0); }));
            x.zero_grad();
            s.backward(Tensor<T>::ones(reduced));
            CHECK(x.grad().shape() == shape);
            if (shape[std::size_t(axis)] == 0) {  // nothing to take the mean or maximum of
                CHECK_THROWS_AS(mean(x, axis, keepdims), Error);
                CHECK_THROWS_AS(max(x, axis, keepdims), Error);
                continue;
            }
            CHECK(mean(x, axis, keepdims).shape() == reduced);
            auto m = max(x, axis, keepdims);
            CHECK(m.shape() == reduced);
            x.zero_grad();
            m.backward(Tensor<T>::ones(reduced));
            CHECK(x.grad().shape() == shape);
        }
    }
}
