// sum mean max, softmax log_softmax, and the losses.
#include <cmath>

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
    CHECK_THROWS_WITH_AS(cross_entropy(logits, Labels{0, 3}), "nll_loss: label 3 at index 1 is outside [0, 3)", Error);
    CHECK_THROWS_WITH_AS(cross_entropy(logits, Labels{0}), "nll_loss: 1 labels for a batch of shape (2, 3)", Error);
    CHECK_THROWS_AS(cross_entropy(logits, Tensor<double>::zeros({2, 2})), Error);
    CHECK_THROWS_WITH_AS(mse_loss(logits, Tensor<double>::zeros({3, 2})),
                         "mse_loss: input of shape (2, 3) and target of shape (3, 2) differ", Error);
}
