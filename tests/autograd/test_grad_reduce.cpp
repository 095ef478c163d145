// sum mean max min, argmax argmin, softmax log_softmax, and the losses.
#include <algorithm>
#include <cmath>
#include <limits>

#include <xtensor/xmanipulation.hpp>

#include "check.hpp"

using namespace tapegrad;
using namespace tapegrad::testing;

TEST_CASE("sum and mean over everything") {
    for (const Shape& s : {Shape{5}, Shape{3, 4}, Shape{2, 3, 2}, Shape{}, Shape{1, 4}}) {
        INFO(shape_name(s));
        check_gradients(Op::sum, [](const TL& x) { return TL{sum(x[0])}; }, {randn(s, 51)});
        check_gradients(Op::mean, [](const TL& x) { return TL{mean(x[0])}; }, {randn(s, 52)});
    }
    auto a = Tensor<double>::of({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
    CHECK(sum(a).item() == 21.0);
    CHECK(mean(a).item() == 3.5);
}

TEST_CASE("sum, mean, max over an axis, with and without keepdims") {
    const std::vector<std::pair<Shape, int>> cases = {{{3, 4}, 0}, {{3, 4}, 1}, {{3, 4}, -1}, {{2, 3, 4}, 1},
                                                      {{5}, 0},    {{1, 4}, 0}, {{3, 1}, -1}};
    for (const auto& [s, axis] : cases)
        for (bool keep : {false, true}) {
            INFO(shape_name(s), " axis ", axis, " keepdims ", keep);
            check_gradients(Op::sum_axis, [a = axis, keep](const TL& x) { return TL{sum(x[0], a, keep)}; },
                            {randn(s, 53)});
            check_gradients(Op::mean_axis, [a = axis, keep](const TL& x) { return TL{mean(x[0], a, keep)}; },
                            {randn(s, 54)});
            // Distinct random values: no ties, so max is differentiable there.
            check_gradients(Op::max, [a = axis, keep](const TL& x) { return TL{max(x[0], a, keep)}; }, {randn(s, 55)});
            check_gradients(Op::min, [a = axis, keep](const TL& x) { return TL{min(x[0], a, keep)}; }, {randn(s, 56)});
            check_gradients(Op::max_with_indices,
                            [a = axis, keep](const TL& x) { return TL{max_with_indices(x[0], a, keep).values}; },
                            {randn(s, 57)});
            check_gradients(Op::min_with_indices,
                            [a = axis, keep](const TL& x) { return TL{min_with_indices(x[0], a, keep).values}; },
                            {randn(s, 58)});
        }
    auto a = Tensor<double>::of({{1.0, 9.0, 3.0}, {4.0, 5.0, 6.0}});
    auto s0 = sum(a, 0);
    CHECK(s0.shape() == Shape{3});
    CHECK(s0.at({1}) == 14.0);
    CHECK(sum(a, 1, true).shape() == Shape{2, 1});
    CHECK(mean(a, -1).at({1}) == 5.0);
    auto m = max(a, 1);
    CHECK(m.at({0}) == 9.0);
    CHECK(m.at({1}) == 6.0);
    CHECK(max(a, 0, true).shape() == Shape{1, 3});
    CHECK_THROWS_WITH_AS(sum(a, 2), "sum: axis 2 is out of range for shape (2, 3)", Error);
}

TEST_CASE("max sends the gradient to the first maximum only") {
    auto a = Tensor<double>::of({{2.0, 7.0, 7.0}}, true);
    sum(max(a, 1)).backward();
    CHECK(a.grad().at({0, 0}) == 0.0);
    CHECK(a.grad().at({0, 1}) == 1.0);
    CHECK(a.grad().at({0, 2}) == 0.0);
}

namespace {
// `a` with axis `ax` moved last (row-major copy): its slices along the axis are rows.
xt::xarray<double> axis_last(const xt::xarray<double>& a, std::size_t ax) {
    std::vector<std::size_t> axes;
    for (std::size_t i = 0; i < a.dimension(); ++i)
        if (i != ax) axes.push_back(i);
    axes.push_back(ax);
    return xt::transpose(a, axes);
}

// argmax or argmin along `axis` another way than the library: the axis moved
// last and each row scanned with std::max_element / std::min_element (the
// first extreme), unless the row holds a NaN, whose first index wins.
Indices extreme_by_rows(const xt::xarray<double>& a, int axis, bool keepdims, bool largest) {
    const std::size_t ax = std::size_t(axis < 0 ? axis + int(a.dimension()) : axis);
    const xt::xarray<double> moved = axis_last(a, ax);
    const std::size_t n = a.shape()[ax], rows = n == 0 ? 0 : a.size() / n;
    Shape out(a.shape().begin(), a.shape().end());
    if (keepdims) out[ax] = 1; else out.erase(out.begin() + std::ptrdiff_t(ax));
    Indices result = Indices::from_shape(out);
    for (std::size_t r = 0; r < rows; ++r) {
        const double* row = moved.data() + r * n;
        const double* nan = std::find_if(row, row + n, [](double v) { return std::isnan(v); });
        const double* best = nan != row + n ? nan : largest ? std::max_element(row, row + n) : std::min_element(row, row + n);
        result.data()[r] = best - row;
    }
    return result;
}

// Small whole numbers, so that slices have ties, and NaN at every 7th element
// when `with_nan`.
Tensor<double> with_ties(const Shape& shape, std::uint64_t seed, bool with_nan) {
    xt::xarray<double> v = xt::round(Tensor<double>::uniform(shape, 0.0, 3.0, seed).data());
    if (with_nan)
        for (std::size_t i = 3; i < v.size(); i += 7) v.data()[i] = std::numeric_limits<double>::quiet_NaN();
    return Tensor<double>(v, true);
}
}  // namespace

TEST_CASE("argmax, argmin: the first extreme (the first NaN), against a scan of each slice") {
    const std::vector<std::pair<Shape, int>> cases = {{{3, 4}, 0}, {{3, 4}, 1}, {{2, 3, 5}, -2}, {{2, 3, 5}, 2},
                                                      {{6}, 0},    {{1, 4}, 0}, {{3, 1}, -1},    {{2, 0, 3}, 2}};
    std::uint64_t seed = 300;
    for (const auto& [s, axis] : cases)
        for (bool keep : {false, true})
            for (bool nan : {false, true}) {
                INFO(shape_name(s), " axis ", axis, " keepdims ", keep, " nan ", nan);
                const Tensor<double> a = with_ties(s, ++seed, nan);
                check_no_gradient(Op::argmax_axis, [axis = axis, keep](const TL& x) { return argmax(x[0], axis, keep); },
                                  {a}, extreme_by_rows(a.data(), axis, keep, true));
                check_no_gradient(Op::argmin_axis, [axis = axis, keep](const TL& x) { return argmin(x[0], axis, keep); },
                                  {a}, extreme_by_rows(a.data(), axis, keep, false));
                // max_with_indices and min_with_indices: the same indices, and the values there.
                if (a.size() == 0) continue;
                const auto mx = max_with_indices(a, axis, keep), mn = min_with_indices(a, axis, keep);
                CHECK(mx.indices == argmax(a, axis, keep));
                CHECK(mn.indices == argmin(a, axis, keep));
                const std::size_t ax = std::size_t(axis < 0 ? axis + int(s.size()) : axis), n = s[ax];
                const xt::xarray<double> rows = axis_last(a.data(), ax);
                REQUIRE(mx.values.size() == mx.indices.size());
                for (std::size_t r = 0; r < mx.indices.size(); ++r) {
                    const double want = rows.data()[r * n + std::size_t(mx.indices.data()[r])];
                    const double got = mx.values.data().data()[r];
                    CHECK((got == want || (std::isnan(got) && std::isnan(want))));
                }
                CHECK(max(a, axis, keep).shape() == mx.values.shape());
            }
    // Flattened: the flat index, shape (); a 0-d tensor is its own extreme.
    for (const Shape& s : {Shape{3, 4}, Shape{2, 3, 2}, Shape{}, Shape{1, 5}}) {
        for (bool nan : {false, true}) {
            INFO(shape_name(s), " nan ", nan);
            const Tensor<double> a = with_ties(s, ++seed, nan);
            xt::xarray<double> flat = a.data();
            flat.reshape({a.size()});
            Indices want_max = extreme_by_rows(flat, 0, false, true), want_min = extreme_by_rows(flat, 0, false, false);
            check_no_gradient(Op::argmax, [](const TL& x) { return argmax(x[0]); }, {a}, want_max);
            check_no_gradient(Op::argmin, [](const TL& x) { return argmin(x[0]); }, {a}, want_min);
        }
    }
    auto m = Tensor<double>::of({{1.0, 5.0, 5.0}, {7.0, -2.0, 7.0}});
    CHECK(argmax(m, 1) == Indices{1, 0});
    CHECK(argmin(m, 0, true) == Indices{{0, 1, 0}});
    CHECK(argmax(m)() == 3);
    CHECK(argmin(m)() == 4);
    CHECK_THROWS_WITH_AS(argmax(Tensor<double>::zeros({0, 3})), "argmax: tensor of shape (0, 3) is empty", Error);
    CHECK_THROWS_WITH_AS(argmin(m, 2), "argmin: axis 2 is out of range for shape (2, 3)", Error);
    CHECK_THROWS_WITH_AS(argmax(Tensor<double>::zeros({2, 0}), 1), "argmax: axis 1 of shape (2, 0) is empty", Error);
    CHECK_THROWS_WITH_AS(min_with_indices(Tensor<double>::zeros({2, 0}), -1), "min_with_indices: axis -1 of shape (2, 0) is empty", Error);
}

TEST_CASE("max and min along an axis: NaN is the extreme and takes the gradient, as in PyTorch") {
    // torch.max(torch.tensor([[1., nan, 3., nan]], requires_grad=True), 1) is
    // (nan, 1), and the gradient goes to index 1. Before, max gave NaN but
    // sent the gradient to the 3.
    const double nan = std::numeric_limits<double>::quiet_NaN();
    auto a = Tensor<double>::of({{1.0, nan, 3.0, nan}, {4.0, 2.0, 2.0, 0.5}}, true);
    const auto mx = max_with_indices(a, 1);
    CHECK(std::isnan(mx.values.at({0})));
    CHECK(mx.values.at({1}) == 4.0);
    CHECK(mx.indices == Indices{1, 0});
    CHECK(std::isnan(max(a, 1).at({0})));
    CHECK(std::isnan(min(a, 1).at({0})));
    CHECK(min(a, 1).at({1}) == 0.5);
    CHECK(min_with_indices(a, 1).indices == Indices{1, 3});
    sum(max(a, 1)).backward();
    CHECK(a.grad().data() == xt::xarray<double>{{0.0, 1.0, 0.0, 0.0}, {1.0, 0.0, 0.0, 0.0}});
    a.zero_grad();
    sum(min(a, 1)).backward();
    CHECK(a.grad().data() == xt::xarray<double>{{0.0, 1.0, 0.0, 0.0}, {0.0, 0.0, 0.0, 1.0}});
    // A NaN after the first element along axis 0, in float too: 17 columns, past a SIMD width.
    xt::xarray<float> f = xt::ones<float>({3, 17});
    f(2, 16) = std::numeric_limits<float>::quiet_NaN();
    f(1, 0) = 5.0f;
    const Tensor<float> ft(f);
    CHECK(std::isnan(max(ft, 0).at({16})));
    CHECK(max(ft, 0).at({0}) == 5.0f);
    CHECK(argmax(ft, 0)(16) == 2);
    CHECK(argmax(ft)() == 2 * 17 + 16);
    // min ties: the first minimum takes the gradient, as max's first maximum.
    auto t = Tensor<double>::of({{2.0, -7.0, -7.0}}, true);
    sum(min(t, 1)).backward();
    CHECK(t.grad().data() == xt::xarray<double>{{0.0, 1.0, 0.0}});
}

TEST_CASE("softmax and log_softmax: gradients over several axes") {
    // A single row, and an axis of size 1 (softmax 1, gradient 0) on both paths.
    const std::vector<std::pair<Shape, int>> cases = {{{3, 4}, 1}, {{3, 4}, 0}, {{2, 3, 4}, -1}, {{5}, 0},
                                                      {{1, 4}, -1}, {{3, 1}, 1}, {{1, 3}, 0}};
    for (const auto& [s, axis] : cases) {
        INFO(shape_name(s), " axis ", axis);
        check_gradients(Op::softmax, [a = axis](const TL& x) { return TL{softmax(x[0], a)}; }, {randn(s, 61)});
        check_gradients(Op::log_softmax, [a = axis](const TL& x) { return TL{log_softmax(x[0], a)}; }, {randn(s, 62)});
    }
}

TEST_CASE("softmax values, and stability at logits of +-1000") {
    auto x = Tensor<double>::of({{1.0, 2.0, 3.0}});
    auto p = softmax(x, 1);
    const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
    CHECK(p.at({0, 0}) == doctest::Approx(std::exp(1.0) / z).epsilon(1e-14));
    CHECK(p.at({0, 2}) == doctest::Approx(std::exp(3.0) / z).epsilon(1e-14));
    CHECK(log_softmax(x, 1).at({0, 1}) == doctest::Approx(2.0 - std::log(z)).epsilon(1e-14));

    auto big = Tensor<float>::of({{1000.0f, 0.0f, -1000.0f}}, true);
    auto pb = softmax(big, 1);
    CHECK(pb.at({0, 0}) == 1.0f);
    CHECK(pb.at({0, 1}) == 0.0f);
    auto lb = log_softmax(big, 1);
    CHECK(lb.at({0, 0}) == 0.0f);
    CHECK(lb.at({0, 1}) == -1000.0f);
    CHECK(lb.at({0, 2}) == -2000.0f);
    auto loss = cross_entropy(big, Labels{1});
    CHECK(loss.item() == 1000.0f);
    loss.backward();
    CHECK(std::isfinite(big.grad().at({0, 0})));
    CHECK(big.grad().at({0, 0}) == 1.0f);
    CHECK(big.grad().at({0, 1}) == -1.0f);
}

TEST_CASE("cross_entropy with labels and with probability targets, mse_loss, nll_loss") {
    // (batch, classes) and one label per row; a batch of one is the edge case.
    const std::vector<std::pair<Shape, Labels>> batches = {
        {{4, 3}, {2, 0, 1, 2}}, {{1, 4}, {3}}, {{5, 2}, {1, 0, 0, 1, 1}}};
    for (Reduction r : {Reduction::Mean, Reduction::Sum}) {
        INFO("reduction ", r == Reduction::Mean ? "mean" : "sum");
        for (const auto& [s, batch_labels] : batches) {
            INFO(shape_name(s));
            const Labels labels = batch_labels;
            check_gradients(Op::cross_entropy, [&, r](const TL& x) { return TL{cross_entropy(x[0], labels, r)}; },
                            {randn(s, 72)});
            Tensor<double> targets = softmax(randn(s, 71, false), 1);
            check_gradients(Op::cross_entropy_targets, [r](const TL& x) { return TL{cross_entropy(x[0], x[1], r)}; },
                            {randn(s, 73), targets});
            // The targets as a differentiated input too: the loss is linear in them.
            check_gradients(Op::cross_entropy_targets, [r](const TL& x) { return TL{cross_entropy(x[0], x[1], r)}; },
                            {randn(s, 73), Tensor<double>(targets.data(), true)});
            check_gradients(Op::nll_loss, [&, r](const TL& x) { return TL{nll_loss(log_softmax(x[0], 1), labels, r)}; },
                            {randn(s, 74)});
        }
        for (const Shape& s : {Shape{4, 3}, Shape{6}, Shape{2, 2, 2}, Shape{}, Shape{1, 3}}) {
            INFO(shape_name(s));
            check_gradients(Op::mse_loss, [r](const TL& x) { return TL{mse_loss(x[0], x[1], r)}; },
                            {randn(s, 75), randn(s, 76)});
        }
    }
    // Larger batches, mean reduction: the MNIST shape scaled down.
    check_gradients(Op::cross_entropy,
                    [](const TL& x) { return TL{cross_entropy(x[0], Labels{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})}; },
                    {randn({10, 10}, 77)});
}

TEST_CASE("cross_entropy forward values by hand") {
    auto logits = Tensor<double>::of({{0.0, 0.0}, {std::log(3.0), 0.0}});
    // row 0: p = 1/2 each; row 1: p = (3/4, 1/4)
    auto l = cross_entropy(logits, Labels{0, 1});
    CHECK(l.item() == doctest::Approx((std::log(2.0) + std::log(4.0)) / 2).epsilon(1e-14));
    auto ls = cross_entropy(logits, Labels{0, 1}, Reduction::Sum);
    CHECK(ls.item() == doctest::Approx(std::log(2.0) + std::log(4.0)).epsilon(1e-14));
    auto onehot = Tensor<double>::of({{1.0, 0.0}, {0.0, 1.0}});
    CHECK(cross_entropy(logits, onehot).item() == doctest::Approx(l.item()).epsilon(1e-14));
    auto a = Tensor<double>::of({1.0, 2.0, 3.0}), b = Tensor<double>::of({1.0, 0.0, 0.0});
    CHECK(mse_loss(a, b).item() == doctest::Approx(13.0 / 3));
    CHECK(mse_loss(a, b, Reduction::Sum).item() == 13.0);
}

TEST_CASE("loss errors: bad labels and shapes are named") {
    auto logits = Tensor<double>::zeros({2, 3});
    CHECK_THROWS_WITH_AS(nll_loss(logits, Labels{0, 3}), "nll_loss: target 3 at index 1 is outside [0, 3)", Error);
    CHECK_THROWS_WITH_AS(nll_loss(logits, Labels{0}),
                         "nll_loss: targets of shape (1,) for input of shape (2, 3) (expects the input as "
                         "(..., classes) and targets of shape (...))",
                         Error);
    CHECK_THROWS_AS(cross_entropy(logits, Tensor<double>::zeros({2, 2})), Error);
    CHECK_THROWS_WITH_AS(mse_loss(logits, Tensor<double>::zeros({3, 2})),
                         "mse_loss: input of shape (2, 3) and target of shape (3, 2) differ", Error);
}

TEST_CASE("logsumexp: gradients over several axes, with and without keepdims") {
    const std::vector<std::pair<Shape, int>> cases = {{{3, 4}, 1}, {{3, 4}, 0}, {{2, 3, 4}, -1}, {{5}, 0},
                                                      {{1, 4}, 0}, {{3, 1}, 1}, {{2, 1, 3}, 1}};
    for (const auto& [s, axis] : cases)
        for (bool keep : {false, true}) {
            INFO(shape_name(s), " axis ", axis, " keepdims ", keep);
            check_gradients(Op::logsumexp, [a = axis, keep](const TL& x) { return TL{logsumexp(x[0], a, keep)}; },
                            {randn(s, 81)});
        }
}

TEST_CASE("logsumexp: values against a loop, stable at +-1000, -inf for an empty axis") {
    Tensor<double> a = randn({3, 4}, 82, false);
    Tensor<double> rows = logsumexp(a, 1), cols = logsumexp(a, 0, true);
    REQUIRE(rows.shape() == Shape{3});
    REQUIRE(cols.shape() == Shape{1, 4});
    for (std::size_t i = 0; i < 3; ++i) {
        double total = 0;
        for (std::size_t j = 0; j < 4; ++j) total += std::exp(a.at({i, j}));
        CHECK(rows.at({i}) == doctest::Approx(std::log(total)).epsilon(1e-14));
    }
    for (std::size_t j = 0; j < 4; ++j) {
        double total = 0;
        for (std::size_t i = 0; i < 3; ++i) total += std::exp(a.at({i, j}));
        CHECK(cols.at({0, j}) == doctest::Approx(std::log(total)).epsilon(1e-14));
    }
    // log(e^1000 + e^1000 + e^-1000) = 1000 + log 2, in float too.
    auto big = Tensor<float>::of({{1000.0f, 1000.0f, -1000.0f}}, true);
    auto l = logsumexp(big, 1);
    CHECK(l.at({0}) == doctest::Approx(1000.0 + std::log(2.0)).epsilon(1e-6));
    sum(l).backward();
    CHECK(big.grad().data() == xt::xarray<float>{{0.5f, 0.5f, 0.0f}});
    const double inf = std::numeric_limits<double>::infinity();
    CHECK(logsumexp(Tensor<double>::of({{-inf, -inf}, {0.0, -inf}}), 1).data() == xt::xarray<double>{-inf, 0.0});
    auto empty = logsumexp(Tensor<double>::zeros({2, 0}), 1);
    CHECK(empty.data() == xt::xarray<double>{-inf, -inf});
    CHECK_THROWS_WITH_AS(logsumexp(a, 2), "logsumexp: axis 2 is out of range for shape (3, 4)", Error);
}

namespace {
// Targets in [0, 1], probabilities rather than only labels.
Tensor<double> probabilities(const Shape& s, std::uint64_t seed, bool requires_grad = false) {
    return Tensor<double>::uniform(s, 0.0, 1.0, seed, requires_grad);
}
// The textbook binary cross-entropy, -(p t log s + (1 - t) log(1 - s)) with s
// = sigmoid(x): fine for the moderate logits it is used on.
double naive_bce(double x, double t, double p = 1) {
    const double s = 1 / (1 + std::exp(-x));
    return -(p * t * std::log(s) + (1 - t) * std::log(1 - s));
}
}  // namespace

TEST_CASE("binary_cross_entropy_with_logits: gradients for logits and targets, with and without pos_weight") {
    for (Reduction r : {Reduction::Mean, Reduction::Sum}) {
        INFO("reduction ", r == Reduction::Mean ? "mean" : "sum");
        for (const Shape& s : {Shape{4, 3}, Shape{6}, Shape{2, 2, 2}, Shape{}, Shape{1, 3}}) {
            INFO(shape_name(s));
            check_gradients(Op::binary_cross_entropy_with_logits,
                            [r](const TL& x) { return TL{binary_cross_entropy_with_logits(x[0], x[1], r)}; },
                            {randn(s, 83), probabilities(s, 84, true)});
        }
        // One weight per class along the last axis; a batch of one.
        for (const auto& [s, sp] : std::vector<std::pair<Shape, Shape>>{{{4, 3}, {3}}, {{1, 3}, {3}}, {{2, 2, 2}, {2}}}) {
            INFO(shape_name(s), " pos_weight ", shape_name(sp));
            const Tensor<double> pos_weight = positive(sp, 85, false);
            check_gradients(Op::binary_cross_entropy_with_logits,
                            [r, pos_weight](const TL& x) { return TL{binary_cross_entropy_with_logits(x[0], x[1], r, pos_weight)}; },
                            {randn(s, 86), probabilities(s, 87, true)});
        }
    }
}

TEST_CASE("binary_cross_entropy_with_logits: values against the textbook formula and at extreme logits") {
    Tensor<double> x = randn({3, 4}, 88, false), t = probabilities({3, 4}, 89), p = positive({4}, 90, false);
    double total = 0, weighted = 0;
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 4; ++j) {
            total += naive_bce(x.at({i, j}), t.at({i, j}));
            weighted += naive_bce(x.at({i, j}), t.at({i, j}), p.at({j}));
        }
    CHECK(binary_cross_entropy_with_logits(x, t, Reduction::Sum).item() == doctest::Approx(total).epsilon(1e-13));
    CHECK(binary_cross_entropy_with_logits(x, t).item() == doctest::Approx(total / 12).epsilon(1e-13));
    CHECK(binary_cross_entropy_with_logits(x, t, Reduction::Sum, p).item() == doctest::Approx(weighted).epsilon(1e-13));
    // Where the textbook formula fails: log(1 - sigmoid(40)) = log(0). By hand:
    // x = -30, t = 0: log(1 + e^-30); x = 40, t = 1: log(1 + e^-40);
    // x = 40, t = 0: 40 + log(1 + e^-40); x = -1000, t = 1: 1000.
    auto extreme = binary_cross_entropy_with_logits(Tensor<double>::of({-30.0, 40.0, 40.0, -1000.0}),
                                                    Tensor<double>::of({0.0, 1.0, 0.0, 1.0}), Reduction::Sum);
    CHECK(extreme.item() == doctest::Approx(std::log1p(std::exp(-30.0)) + std::log1p(std::exp(-40.0)) + 40.0 + 1000.0)
                                .epsilon(1e-15));
    auto tiny = binary_cross_entropy_with_logits(Tensor<double>::of({-30.0}), Tensor<double>::of({0.0}), Reduction::Sum);
    CHECK(tiny.item() == doctest::Approx(std::log1p(std::exp(-30.0))).epsilon(1e-14));
    // At x = 0 the gradient is sigmoid(0) - t (PyTorch: -0.5 for t = 1).
    auto zero = Tensor<double>::zeros({2}, true);
    binary_cross_entropy_with_logits(zero, Tensor<double>::of({1.0, 0.25}), Reduction::Sum).backward();
    CHECK(zero.grad().data() == xt::xarray<double>{-0.5, 0.25});
}

TEST_CASE("huber_loss: gradients for delta 1 and 0.5, values as PyTorch's") {
    for (Reduction r : {Reduction::Mean, Reduction::Sum})
        for (double delta : {1.0, 0.5})
            for (const Shape& s : {Shape{4, 3}, Shape{6}, Shape{2, 2, 2}, Shape{}, Shape{1, 3}}) {
                INFO(shape_name(s), " delta ", delta, " reduction ", r == Reduction::Mean ? "mean" : "sum");
                // Normal differences fall on both sides of |d| = delta, none within eps of it.
                check_gradients(Op::huber_loss, [r, delta](const TL& x) { return TL{huber_loss(x[0], x[1], r, delta)}; },
                                {randn(s, 91), randn(s, 92)});
            }
    // torch.nn.functional.huber_loss(x, 0, delta=0.5) of [0, 0.3, -0.5, 2]:
    // [0, 0.045, 0.125, 0.875] (0.5 d^2 inside, 0.5 (|d| - 0.25) outside).
    auto x = Tensor<double>::of({0.0, 0.3, -0.5, 2.0}, true);
    auto target = Tensor<double>::zeros({4});
    CHECK(huber_loss(x, target, Reduction::Sum, 0.5).item() == doctest::Approx(0.0 + 0.045 + 0.125 + 0.875).epsilon(1e-15));
    CHECK(huber_loss(x, target, Reduction::Mean, 0.5).item() == doctest::Approx(1.045 / 4).epsilon(1e-15));
    // The gradient is d inside, delta sign(d) outside, and at |d| = delta both agree.
    huber_loss(x, target, Reduction::Sum, 0.5).backward();
    CHECK(x.grad().data() == xt::xarray<double>{0, 0.3, -0.5, 0.5});
}

TEST_CASE("binary_cross_entropy_with_logits, huber_loss: errors name the loss and the shapes") {
    auto x = Tensor<double>::zeros({2, 3});
    const std::string bce = "binary_cross_entropy_with_logits: ";
    CHECK_THROWS_WITH_AS(binary_cross_entropy_with_logits(x, Tensor<double>::zeros({3})),
                         (bce + "logits of shape (2, 3) and targets of shape (3,) differ").c_str(), Error);
    CHECK_THROWS_WITH_AS(binary_cross_entropy_with_logits(x, x, Reduction::Mean, Tensor<double>::ones({2})),
                         (bce + "shapes (2,) and (2, 3) cannot be broadcast together").c_str(), Error);
    CHECK_THROWS_WITH_AS(binary_cross_entropy_with_logits(x, x, Reduction::Mean, Tensor<double>::ones({2, 1, 3})),
                         (bce + "pos_weight of shape (2, 1, 3) does not broadcast to the logits' shape (2, 3)").c_str(), Error);
    CHECK_THROWS_WITH_AS(binary_cross_entropy_with_logits(x, x, Reduction::Mean, Tensor<double>::ones({3}, true)),
                         (bce + "pos_weight gets no gradient (as in PyTorch); pass it without requires_grad").c_str(), Error);
    CHECK_THROWS_WITH_AS(binary_cross_entropy_with_logits(Tensor<double>::zeros({0, 3}), Tensor<double>::zeros({0, 3})),
                         (bce + "the mean of an empty input of shape (0, 3)").c_str(), Error);
    CHECK(binary_cross_entropy_with_logits(Tensor<double>::zeros({0}), Tensor<double>::zeros({0}), Reduction::Sum).item() == 0);
    CHECK_THROWS_WITH_AS(huber_loss(x, Tensor<double>::zeros({3, 2})),
                         "huber_loss: input of shape (2, 3) and target of shape (3, 2) differ", Error);
    CHECK_THROWS_WITH_AS(huber_loss(x, x, Reduction::Mean, 0.0), "huber_loss: delta must be finite and > 0, got 0", Error);
}
