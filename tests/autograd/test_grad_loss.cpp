// The losses' reductions (None, Mean, Sum), ignore_index and label smoothing:
// values and gradients against PyTorch's on fixed numbers (fixtures/losses.npz,
// made by make_loss_fixtures.py), NaN and +-inf logits included, and
// gradcheck/gradgradcheck over shapes with ignored targets and smoothing.
#include <cmath>
#include <limits>
#include <string>

#include <xtensor/xadapt.hpp>

#include <tapegrad/io/npz.hpp>

#include "check.hpp"

using namespace tapegrad;
using namespace tapegrad::testing;

namespace {

const io::npz::Members& fixtures() {
    static const io::npz::Members members = io::npz::read(LOSS_FIXTURES);
    return members;
}

template <class X>
xt::xarray<X> fixture(const std::string& name) {
    const auto found = fixtures().find(name);
    REQUIRE_MESSAGE(found != fixtures().end(), "no member " << name << " in " << LOSS_FIXTURES);
    return io::npz::from_npy<X>(found->second, name);
}

// PyTorch's numbers, element by element: NaN where it has NaN, the same
// infinity where it has one, else within 1e-12 relative (and absolute, near
// 0). Both sides compute the same few dozen double operations on values of
// order 1 in other orders, so they differ by a few ulps (~1e-15).
void check_as_torch(const Array<double>& got, const xt::xarray<double>& expected, const std::string& what) {
    INFO(what);
    REQUIRE(Shape(got.shape().begin(), got.shape().end()) == Shape(expected.shape().begin(), expected.shape().end()));
    for (std::size_t i = 0; i < got.size(); ++i) {
        const double a = got.data()[i], b = expected.data()[i];
        INFO("element ", i, ": tapegrad ", a, ", PyTorch ", b);
        if (std::isnan(b) || std::isinf(b))
            CHECK((std::isnan(b) ? std::isnan(a) : a == b));
        else
            CHECK(std::abs(a - b) <= 1e-12 * (1 + std::abs(b)));
    }
}

// Targets of shape `shape` (braces alone are ambiguous for xarray's (3, 1)).
Indices indices(const Shape& shape, std::vector<std::int64_t> values) { return xt::adapt(values, shape); }

const char* reduction_name(Reduction r) { return r == Reduction::Mean ? "mean" : r == Reduction::Sum ? "sum" : "none"; }
constexpr Reduction kReductions[] = {Reduction::Mean, Reduction::Sum, Reduction::None};

// What PyTorch differentiated: the loss itself, or sum(loss * v) for None.
Tensor<double> differentiated(const Tensor<double>& loss, Reduction r, const xt::xarray<double>& v) {
    return r == Reduction::None ? sum(mul(loss, Tensor<double>(v))) : loss;
}

}  // namespace

TEST_CASE("cross_entropy and nll_loss over class targets: values and gradients as PyTorch's") {
    for (const std::string c : {"rows", "rows_smooth", "seq", "one", "column", "vector", "full_smooth", "all_ignored",
                                "nonfinite", "nonfinite_smooth", "minus_inf", "minus_inf_smooth"}) {
        const xt::xarray<double> logits = fixture<double>(c + "_logits"), v = fixture<double>(c + "_v"),
                                 options = fixture<double>(c + "_options");
        const Indices targets = fixture<std::int64_t>(c + "_targets");
        for (Reduction r : kReductions) {
            const std::string name = c + "_ce_" + reduction_name(r);
            const auto ce = CrossEntropyOptions(r).ignore_index(std::int64_t(options(0))).label_smoothing(options(1));
            const auto nll = NLLLossOptions(r).ignore_index(std::int64_t(options(0)));
            Tensor<double> x(logits, true);
            const Tensor<double> loss = cross_entropy(x, targets, ce);
            check_as_torch(loss.data(), fixture<double>(name), name);
            differentiated(loss, r, v).backward();
            check_as_torch(x.grad().data(), fixture<double>(name + "_grad"), name + "_grad");
            if (logits.dimension() == 2) {  // the same through Labels
                const Labels labels(targets.begin(), targets.end());
                Tensor<double> y(logits, true);
                const Tensor<double> by_labels = cross_entropy(y, labels, ce);
                check_as_torch(by_labels.data(), fixture<double>(name), name + " (Labels)");
                differentiated(by_labels, r, v).backward();
                check_as_torch(y.grad().data(), fixture<double>(name + "_grad"), name + "_grad (Labels)");
            }
            const std::string nll_name = c + "_nll_" + reduction_name(r);
            Tensor<double> z(logits, true);
            const Tensor<double> nll_value = nll_loss(z, targets, nll);
            check_as_torch(nll_value.data(), fixture<double>(nll_name), nll_name);
            differentiated(nll_value, r, v).backward();
            check_as_torch(z.grad().data(), fixture<double>(nll_name + "_grad"), nll_name + "_grad");
        }
    }
}

TEST_CASE("cross_entropy in float: a sequence batch with padding and smoothing as PyTorch's") {
    const xt::xarray<float> logits = xt::cast<float>(fixture<double>("seq_logits"));
    Tensor<float> x(logits, true);
    const Tensor<float> loss =
        cross_entropy(x, fixture<std::int64_t>("seq_targets"), CrossEntropyOptions().ignore_index(-1).label_smoothing(0.2));
    // float's epsilon is 1.2e-7; a dozen operations per value.
    CHECK(loss.item() == doctest::Approx(fixture<double>("seq_ce_mean")()).epsilon(1e-5));
    loss.backward();
    CHECK(xt::allclose(xt::cast<double>(x.grad().data()), fixture<double>("seq_ce_mean_grad"), 1e-5, 1e-6));
}

TEST_CASE("cross_entropy against a target distribution: values and both gradients as PyTorch's") {
    for (const std::string c : {"probs", "probs_smooth", "probs_seq"}) {
        const xt::xarray<double> logits = fixture<double>(c + "_logits"), v = fixture<double>(c + "_v"),
                                 targets = fixture<double>(c + "_targets"), options = fixture<double>(c + "_options");
        for (Reduction r : kReductions) {
            const std::string name = c + "_ce_" + reduction_name(r);
            Tensor<double> x(logits, true), t(targets, true);
            const Tensor<double> loss = cross_entropy(x, t, CrossEntropyOptions(r).label_smoothing(options(1)));
            check_as_torch(loss.data(), fixture<double>(name), name);
            differentiated(loss, r, v).backward();
            check_as_torch(x.grad().data(), fixture<double>(name + "_grad"), name + "_grad");
            check_as_torch(t.grad().data(), fixture<double>(name + "_tgrad"), name + "_tgrad");
        }
    }
}

TEST_CASE("mse_loss, binary_cross_entropy_with_logits, huber_loss: every reduction as PyTorch's, NaN kept") {
    for (const std::string c : {"elementwise", "elementwise_nan"}) {
        const xt::xarray<double> inputs = fixture<double>(c + "_logits"), targets = fixture<double>(c + "_targets"),
                                 v = fixture<double>(c + "_v");
        for (Reduction r : kReductions)
            for (const std::string loss_name : {"mse", "bce", "huber"}) {
                const std::string name = c + "_" + loss_name + "_" + reduction_name(r);
                Tensor<double> x(inputs, true);
                const Tensor<double> t(targets);
                const Tensor<double> loss = loss_name == "mse"   ? mse_loss(x, t, r)
                                            : loss_name == "bce" ? binary_cross_entropy_with_logits(x, t, r)
                                                                 : huber_loss(x, t, r, 0.5);
                check_as_torch(loss.data(), fixture<double>(name), name);
                differentiated(loss, r, v).backward();
                check_as_torch(x.grad().data(), fixture<double>(name + "_grad"), name + "_grad");
            }
    }
}

TEST_CASE("cross_entropy and nll_loss: gradients with ignored targets and smoothing, every reduction") {
    // (N, C) with Labels: an ignored row (-1) among others; a batch of one.
    const std::vector<std::pair<Shape, Labels>> rows = {{{4, 3}, {2, -1, 1, 0}}, {{1, 4}, {3}}, {{5, 2}, {1, 0, -1, 1, 1}}};
    // (..., C) with Indices: a sequence batch with padding, a size-1 axis, a single row (0-d target).
    const std::vector<std::pair<Shape, Indices>> sequences = {
        {{2, 3, 4}, indices({2, 3}, {1, 3, -1, 0, -1, -1})}, {{3, 1, 4}, indices({3, 1}, {1, -1, 3})},
        {{5}, indices({}, {3})}, {{1, 1, 3}, indices({1, 1}, {2})}};
    for (Reduction r : kReductions)
        for (double eps : {0.0, 0.1}) {
            INFO("reduction ", reduction_name(r), " label_smoothing ", eps);
            const auto ce = CrossEntropyOptions(r).ignore_index(-1).label_smoothing(eps);
            const auto nll = NLLLossOptions(r).ignore_index(-1);
            for (const auto& [s, labels] : rows) {
                INFO(shape_name(s));
                check_gradients(Op::cross_entropy, [&, ce](const TL& x) { return TL{cross_entropy(x[0], labels, ce)}; },
                                {randn(s, 81)});
                check_gradients(Op::nll_loss, [&, nll](const TL& x) { return TL{nll_loss(log_softmax(x[0]), labels, nll)}; },
                                {randn(s, 82)});
            }
            for (const auto& [s, targets] : sequences) {
                INFO(shape_name(s));
                check_gradients(Op::cross_entropy_indices,
                                [&, ce](const TL& x) { return TL{cross_entropy(x[0], targets, ce)}; }, {randn(s, 83)});
                check_gradients(Op::nll_loss_indices,
                                [&, nll](const TL& x) { return TL{nll_loss(log_softmax(x[0]), targets, nll)}; },
                                {randn(s, 84)});
            }
            // A target distribution, smoothed, of any rank; the targets differentiated too.
            for (const Shape& s : {Shape{4, 3}, Shape{1, 3}, Shape{2, 2, 3}}) {
                INFO(shape_name(s));
                const auto options = CrossEntropyOptions(r).label_smoothing(eps);
                check_gradients(Op::cross_entropy_targets,
                                [options](const TL& x) { return TL{cross_entropy(x[0], x[1], options)}; },
                                {randn(s, 85), Tensor<double>(softmax(randn(s, 86, false)).data(), true)});
            }
        }
}

TEST_CASE("mse_loss, binary_cross_entropy_with_logits, huber_loss: gradients with Reduction::None") {
    for (const Shape& s : {Shape{4, 3}, Shape{}, Shape{1, 3}, Shape{2, 1, 2}}) {
        INFO(shape_name(s));
        const Reduction r = Reduction::None;
        check_gradients(Op::mse_loss, [r](const TL& x) { return TL{mse_loss(x[0], x[1], r)}; },
                        {randn(s, 91), randn(s, 92)});
        check_gradients(Op::binary_cross_entropy_with_logits,
                        [r](const TL& x) { return TL{binary_cross_entropy_with_logits(x[0], x[1], r)}; },
                        {randn(s, 93), Tensor<double>::uniform(s, 0.0, 1.0, 94, true)});
        check_gradients(Op::huber_loss, [r](const TL& x) { return TL{huber_loss(x[0], x[1], r, 0.5)}; },
                        {randn(s, 95), randn(s, 96)});
        CHECK(mse_loss(randn(s, 91), randn(s, 92), r).shape() == s);
    }
}

TEST_CASE("cross_entropy: shapes of Reduction::None, empty batches and all-ignored batches as PyTorch") {
    const Tensor<double> logits = randn({2, 3, 4}, 97);
    const Indices targets = indices({2, 3}, {1, -100, 2, 0, 3, -100});
    CHECK(cross_entropy(logits, targets, Reduction::None).shape() == Shape{2, 3});
    CHECK(cross_entropy(logits, targets, Reduction::None).at({0, 1}) == 0.0);
    CHECK(nll_loss(logits, targets, Reduction::None).shape() == Shape{2, 3});
    CHECK(cross_entropy(randn({4}, 98), indices({}, {1}), Reduction::None).shape() == Shape{});
    CHECK(cross_entropy(randn({3, 4}, 98), Labels{0, 1, 2}, Reduction::None).shape() == Shape{3});
    // Mean over no target: 0 / 0 = NaN, and a zero gradient (torch 1.13).
    Tensor<double> empty = Tensor<double>::zeros({0, 3}, true);
    CHECK(std::isnan(cross_entropy(empty, Labels{}).item()));
    CHECK(cross_entropy(empty, Labels{}, Reduction::Sum).item() == 0.0);
    CHECK(cross_entropy(empty, Labels{}, Reduction::None).shape() == Shape{0});
    CHECK(std::isnan(cross_entropy(empty, Tensor<double>::zeros({0, 3})).item()));
    Tensor<double> x = randn({2, 3}, 99);
    const Tensor<double> all_ignored = cross_entropy(x, Labels{-100, -100});
    CHECK(std::isnan(all_ignored.item()));
    all_ignored.backward();
    CHECK(xt::all(xt::equal(x.grad().data(), 0.0)));
}

TEST_CASE("cross_entropy and nll_loss: errors name the op, the shapes or the value, and record nothing") {
    const Tensor<double> logits = randn({2, 3}, 100);
    CHECK_THROWS_WITH_AS(cross_entropy(logits, Labels{0, 3}), "cross_entropy: target 3 at index 1 is outside [0, 3)", Error);
    CHECK_THROWS_WITH_AS(cross_entropy(logits, Labels{0, -1}), "cross_entropy: target -1 at index 1 is outside [0, 3)",
                         Error);
    CHECK_THROWS_WITH_AS(cross_entropy(logits, Labels{0}),
                         "cross_entropy: targets of shape (1,) for input of shape (2, 3) (expects the input as "
                         "(..., classes) and targets of shape (...))",
                         Error);
    CHECK_THROWS_WITH_AS(nll_loss(randn({2, 3, 4}, 101), indices({2}, {0, 1})),
                         "nll_loss: targets of shape (2,) for input of shape (2, 3, 4) (expects the input as "
                         "(..., classes) and targets of shape (...))",
                         Error);
    CHECK_THROWS_AS(cross_entropy(Tensor<double>::scalar(1.0, true), indices({}, {0})), Error);
    CHECK_THROWS_WITH_AS(cross_entropy(logits, Tensor<double>::zeros({2, 3}), CrossEntropyOptions().ignore_index(0)),
                         "cross_entropy: ignore_index 0 with a target distribution (ignore_index is for class "
                         "targets, as in PyTorch)",
                         Error);
    CHECK_THROWS_WITH_AS(CrossEntropyOptions().label_smoothing(1.5),
                         "CrossEntropyOptions: label_smoothing must be in [0, 1], got 1.5", Error);
    CHECK_THROWS_AS(CrossEntropyOptions().label_smoothing(std::numeric_limits<double>::quiet_NaN()), Error);
    const std::size_t before = live_graph_nodes();
    CHECK_THROWS_AS(cross_entropy(logits, indices({2}, {0, 7})), Error);
    CHECK(live_graph_nodes() == before);
}
