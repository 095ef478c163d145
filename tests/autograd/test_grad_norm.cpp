// dropout, batch_norm, layer_norm: gradients in double against central
// differences, values against naive loops written here.
#include <cmath>
#include <random>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include <tapegrad/autograd/batch_shard.hpp>

#include "../common/error_of.hpp"
#include "check.hpp"

using namespace tapegrad;
using namespace tapegrad::testing;

namespace {
// SplitMix64 (Steele, Lea and Flood 2014), written out here from its
// definition, apart from the library's: one output from `state`.
std::uint64_t splitmix64(std::uint64_t state) {
    std::uint64_t z = state + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// The mask dropout documents, drawn independently here: element i (counted
// from `first`) is kept when the top 53 bits of derive_seed(seed, i) =
// splitmix64(splitmix64(seed) ^ i), as a double in [0, 1), are >= p.
std::vector<bool> reference_kept(std::size_t n, double p, std::uint64_t seed, std::uint64_t first = 0) {
    std::vector<bool> kept(n);
    for (std::size_t i = 0; i < n; ++i)
        kept[i] = std::ldexp(double(splitmix64(splitmix64(seed) ^ (first + i)) >> 11), -53) >= p;
    return kept;
}
}  // namespace

TEST_CASE("dropout: gradients, values against the documented mask") {
    for (const Shape& s : {Shape{5}, Shape{3, 4}, Shape{2, 3, 4}, Shape{}, Shape{1, 1}, Shape{0, 3}}) {
        INFO(shape_name(s));
        for (double p : {0.25, 0.5, 0.9}) {
            if (s != Shape{0, 3})
                check_gradients(Op::dropout, [p](const TL& x) { return TL{dropout(x[0], p, true, 7)}; },
                                {randn(s, 11)});
            const Tensor<double> x = randn(s, 12, false);
            const Tensor<double> y = dropout(x, p, true, 7);
            const std::vector<bool> kept = reference_kept(x.size(), p, 7);
            REQUIRE(y.shape() == s);
            // Exactly: the kept values are x * (1 / (1 - p)), one rounding each.
            for (std::size_t i = 0; i < x.size(); ++i)
                CHECK(y.data().data()[i] == (kept[i] ? x.data().data()[i] * (1 / (1 - p)) : 0.0));
        }
    }
}

TEST_CASE("dropout: a shard of a batch gets the whole batch's rows of the mask") {
    // Rows 0-1 on one thread, rows 2-4 on another (train::TrainerOptions::shards):
    // each numbers its elements from its first row in the batch.
    struct Rows : BatchShard {
        std::size_t first, count;
        Rows(std::size_t f, std::size_t n) : first(f), count(n) {}
        std::size_t first_row() const override { return first; }
        std::size_t rows() const override { return count; }
        void sum(double*, std::size_t) override { FAIL("dropout sums nothing"); }
    };
    const Tensor<double> x = randn({5, 3, 2}, 4, false);
    const Tensor<double> whole = dropout(x, 0.4, true, 9);
    const auto rows = [&](std::size_t first, std::size_t last) {
        return Tensor<double>(Array<double>(xt::view(x.data(), xt::range(first, last))));
    };
    Rows top(0, 2), bottom(2, 3);
    Tensor<double> a, b;
    {
        const BatchShardGuard on(top);
        a = dropout(rows(0, 2), 0.4, true, 9);
    }
    {
        const BatchShardGuard on(bottom);
        b = dropout(rows(2, 5), 0.4, true, 9);
        const std::vector<bool> kept = reference_kept(9 * 2, 0.4, 9, 2 * 6);
        for (std::size_t i = 0; i < kept.size(); ++i) CHECK((b.data().data()[i] != 0) == kept[i]);
    }
    CHECK(batch_shard() == nullptr);  // the guards put back what they found
    CHECK(Array<double>(xt::concatenate(xt::xtuple(a.data(), b.data()))) == whole.data());

    // A parameter (DropConnect) is the same tensor on every shard: the mask
    // one thread draws, whatever its axis 0.
    const Tensor<double> weight = randn({3, 4}, 5);
    const Tensor<double> one_thread = dropout(weight, 0.4, true, 9);
    {
        const BatchShardGuard on(bottom);
        CHECK(dropout(weight, 0.4, true, 9).data() == one_thread.data());
        // A computed tensor whose axis 0 is not the shard's rows (a
        // flattened or sequence-first batch) cannot be placed in the batch.
        const Tensor<double> shard_rows = randn({3, 3, 2}, 6);  // requires a gradient: computed from, not a leaf
        const Tensor<double> flat = reshape(mul(shard_rows, shard_rows), {18});
        REQUIRE(!flat.is_leaf());
        CHECK(error_of([&] { dropout(flat, 0.4, true, 9); }) ==
              "dropout: on a shard of a batch (its 3 rows from row 2), the input's axis 0 must be the shard's rows, "
              "got input (18,): apply dropout to batch-first tensors, or train with shards(1)");
    }
}

TEST_CASE("dropout: the seed fixes the mask, for float and double alike") {
    const Tensor<double> x = Tensor<double>::ones({40, 50});
    const Tensor<float> xf = Tensor<float>::ones({40, 50});
    const auto a = dropout(x, 0.3, true, 1), b = dropout(x, 0.3, true, 1), c = dropout(x, 0.3, true, 2);
    CHECK(a.data() == b.data());
    CHECK(a.data() != c.data());
    const Tensor<float> af = dropout(xf, 0.3, true, 1);
    for (std::size_t i = 0; i < x.size(); ++i) CHECK((a.data().data()[i] == 0) == (af.data().data()[i] == 0));
    // About 30% dropped: 2000 Bernoulli(0.3) draws have a standard deviation of
    // ~20 around 600; 5 sigma either side.
    const double dropped = double(xt::sum(xt::equal(a.data(), 0.0))());
    CHECK(std::fabs(dropped - 600) < 100);
}

TEST_CASE("dropout: identity without training or with p = 0, zeros with p = 1, bad p refused") {
    const Tensor<double> x = randn({3, 4}, 13);
    CHECK(dropout(x, 0.5, false, 1).same_as(x));
    CHECK(dropout(x, 0.0, true, 1).same_as(x));
    const Tensor<double> zeros = dropout(x, 1.0, true, 1);
    CHECK(zeros.data() == xt::zeros<double>({3, 4}));
    sum(zeros).backward();
    CHECK(x.grad().data() == xt::zeros<double>({3, 4}));
    for (double p : {-0.1, 1.5, std::nan("")}) {
        const std::string message = error_of([&] { dropout(x, p, true, 1); });
        CHECK(message.find("dropout: p must be in [0, 1]") != std::string::npos);
        CHECK(message.find("(3, 4)") != std::string::npos);
    }
}

namespace {
// Batch norm as PyTorch documents it, in plain loops over an (N, C, L) view:
// per channel the mean and biased var over N and L, or the running ones.
// Returns the output; updates rm and rv (unbiased var) when training.
std::vector<double> reference_batch_norm(const Tensor<double>& x, std::vector<double>& rm, std::vector<double>& rv,
                                         const std::vector<double>& w, const std::vector<double>& b, bool training,
                                         double momentum, double eps) {
    const Shape s = x.shape();
    std::size_t n = s[0], c = s[1], l = 1;
    for (std::size_t i = 2; i < s.size(); ++i) l *= s[i];
    const auto at = [&](std::size_t i, std::size_t ch, std::size_t k) { return x.data().data()[(i * c + ch) * l + k]; };
    std::vector<double> y(x.size());
    for (std::size_t ch = 0; ch < c; ++ch) {
        double mean = rm[ch], var = rv[ch];
        if (training) {
            double total = 0, squares = 0;
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t k = 0; k < l; ++k) total += at(i, ch, k);
            mean = total / double(n * l);
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t k = 0; k < l; ++k) squares += (at(i, ch, k) - mean) * (at(i, ch, k) - mean);
            var = squares / double(n * l);
            rm[ch] = (1 - momentum) * rm[ch] + momentum * mean;
            rv[ch] = (1 - momentum) * rv[ch] + momentum * squares / double(n * l - 1);
        }
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t k = 0; k < l; ++k)
                y[(i * c + ch) * l + k] = (at(i, ch, k) - mean) / std::sqrt(var + eps) * w[ch] + b[ch];
    }
    return y;
}

std::vector<double> values_of(const Tensor<double>& t) { return {t.data().begin(), t.data().end()}; }

// Equal to a few ulps of values of order 1: the two compute the same sums in
// another order (the reference in plain double, the op two-pass in double).
void check_close(const std::vector<double>& got, const std::vector<double>& expected) {
    REQUIRE(got.size() == expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(expected[i]).epsilon(1e-12));
}
}  // namespace

TEST_CASE("batch_norm: gradients in training and evaluation, with and without weight and bias") {
    for (const Shape& s : {Shape{4, 3}, Shape{2, 3, 5}, Shape{2, 3, 2, 2}, Shape{1, 2, 3}, Shape{3, 1}, Shape{2, 1, 1, 1}}) {
        INFO(shape_name(s));
        const Shape c{s[1]};
        const Tensor<double> rm = randn(c, 21, false), rv = positive(c, 22, false);
        for (bool training : {true, false}) {
            INFO("training ", training);
            check_gradients(Op::batch_norm,
                            [&](const TL& x) { return TL{batch_norm(x[0], rm, rv, x[1], x[2], training, 0.1, 1e-5)}; },
                            {randn(s, 23), randn(c, 24), randn(c, 25)});
            check_gradients(Op::batch_norm,
                            [&](const TL& x) {
                                return TL{batch_norm(x[0], Tensor<double>(), Tensor<double>(), x[1], Tensor<double>(),
                                                     true, 0.1, 1e-3)};
                            },
                            {randn(s, 26), randn(c, 27)});
            check_gradients(Op::batch_norm,
                            [&](const TL& x) { return TL{batch_norm(x[0], rm, rv, Tensor<double>(), x[1], training)}; },
                            {randn(s, 28), randn(c, 29)});
        }
    }
}

TEST_CASE("batch_norm: values and running statistics against the documented formulas") {
    for (const Shape& s : {Shape{5, 3}, Shape{2, 3, 4}, Shape{3, 2, 2, 3}}) {
        INFO(shape_name(s));
        const Tensor<double> x = Tensor<double>::normal(s, 3.0, 2.0, 31);  // a mean far from 0
        const Shape c{s[1]};
        const Tensor<double> w = randn(c, 32, false), b = randn(c, 33, false);
        Tensor<double> rm = randn(c, 34, false), rv = positive(c, 35, false);
        std::vector<double> ref_m = values_of(rm), ref_v = values_of(rv);
        for (bool training : {true, true, false}) {
            const auto expected = reference_batch_norm(x, ref_m, ref_v, values_of(w), values_of(b), training, 0.3, 1e-4);
            check_close(values_of(batch_norm(x, rm, rv, w, b, training, 0.3, 1e-4)), expected);
            check_close(values_of(rm), ref_m);
            check_close(values_of(rv), ref_v);
        }
        // Without weight and bias: 1 and 0; without running statistics: none updated.
        std::vector<double> ones(s[1], 1.0), zeros(s[1], 0.0), unused_m = ref_m, unused_v = ref_v;
        check_close(values_of(batch_norm(x, Tensor<double>(), Tensor<double>(), Tensor<double>(), Tensor<double>(), true)),
                    reference_batch_norm(x, unused_m, unused_v, ones, zeros, true, 0.1, 1e-5));
    }
    // Float follows the same formula: within float rounding of the double result.
    const Tensor<double> x = randn({6, 4, 3}, 36, false);
    const Tensor<float> xf(xt::xarray<float>(xt::cast<float>(x.data())));
    const auto yd = batch_norm(x, Tensor<double>(), Tensor<double>(), Tensor<double>(), Tensor<double>(), true);
    const auto yf = batch_norm(xf, Tensor<float>(), Tensor<float>(), Tensor<float>(), Tensor<float>(), true);
    // Normalised values are O(1); float's epsilon is 1.2e-7, a few roundings each.
    CHECK(xt::allclose(xt::cast<double>(yf.data()), yd.data(), 0.0, 1e-5));
}

TEST_CASE("batch_norm: bad shapes and options name the op; a refused call changes nothing") {
    Tensor<double> rm = Tensor<double>::zeros({3}), rv = Tensor<double>::ones({3});
    const Tensor<double> x = randn({4, 3, 2}, 37, false), none;
    const auto message = [&](const std::function<void()>& call) {
        const std::string text = error_of(call);
        CHECK(rm.data() == xt::zeros<double>({3}));
        CHECK(rv.data() == xt::ones<double>({3}));
        return text;
    };
    CHECK(message([&] { batch_norm(randn({3}, 1, false), rm, rv, none, none, true); }) ==
          "batch_norm: expects input of shape (N, C, ...), at least 2-D (input (3,))");
    CHECK(message([&] { batch_norm(x, rm, rv, Tensor<double>::ones({4}), none, true); }) ==
          "batch_norm: weight of shape (4,) for input (4, 3, 2) (expected (3,))");
    CHECK(message([&] { batch_norm(x, Tensor<double>::zeros({2}), rv, none, none, true); }) ==
          "batch_norm: running_mean of shape (2,) for input (4, 3, 2) (expected (3,))");
    CHECK(message([&] { batch_norm(x, rm, none, none, none, true); }).find("both be given") != std::string::npos);
    CHECK(message([&] { batch_norm(x, none, none, none, none, false); }).find("needs running_mean") != std::string::npos);
    CHECK(message([&] { batch_norm(x, rm, rv, none, none, true, 1.5); }) ==
          "batch_norm: momentum must be in [0, 1], got 1.5 (input (4, 3, 2))");
    CHECK(message([&] { batch_norm(x, rm, rv, none, none, true, 0.1, -1.0); }) ==
          "batch_norm: eps must be finite and >= 0, got -1 (input (4, 3, 2))");
    CHECK(message([&] { batch_norm(randn({1, 3}, 1, false), rm, rv, none, none, true); }) ==
          "batch_norm: training needs more than 1 value per channel, got 1 (input (1, 3))");
    // One sample is fine in evaluation, and so is an empty batch.
    CHECK(batch_norm(randn({1, 3}, 1, false), rm, rv, none, none, false).shape() == Shape{1, 3});
    CHECK(batch_norm(Tensor<double>::zeros({0, 3}), rm, rv, none, none, false).shape() == Shape{0, 3});
    // Under anomaly detection a NaN output throws, before the running statistics change.
    DetectAnomalyGuard anomaly;
    Tensor<double> bad = randn({4, 3}, 38, false);
    bad.data_mut()(0, 0) = std::nan("");
    CHECK(message([&] { batch_norm(bad, rm, rv, none, none, true); }).find("batch_norm") != std::string::npos);
}

namespace {
// Layer norm as PyTorch documents it: each row of the (R, K) view normalised
// by its own mean and biased var.
std::vector<double> reference_layer_norm(const Tensor<double>& x, std::size_t k, const std::vector<double>& w,
                                         const std::vector<double>& b, double eps) {
    const double* v = x.data().data();
    std::vector<double> y(x.size());
    for (std::size_t r = 0; r * k < x.size(); ++r) {
        double mean = 0, var = 0;
        for (std::size_t j = 0; j < k; ++j) mean += v[r * k + j] / double(k);
        for (std::size_t j = 0; j < k; ++j) var += (v[r * k + j] - mean) * (v[r * k + j] - mean) / double(k);
        for (std::size_t j = 0; j < k; ++j) y[r * k + j] = (v[r * k + j] - mean) / std::sqrt(var + eps) * w[j] + b[j];
    }
    return y;
}
}  // namespace

TEST_CASE("layer_norm: gradients and values over one or several last axes") {
    const std::vector<std::pair<Shape, Shape>> cases = {{{4, 5}, {5}},     {{2, 3, 4}, {3, 4}}, {{2, 3, 4}, {4}},
                                                        {{5}, {5}},         {{3, 1}, {1}},       {{1, 2, 3}, {1, 2, 3}}};
    for (const auto& [s, ns] : cases) {
        INFO(shape_name(s), " normalized ", shape_name(ns));
        check_gradients(Op::layer_norm, [ns = ns](const TL& x) { return TL{layer_norm(x[0], ns, x[1], x[2])}; },
                        {randn(s, 41), randn(ns, 42), randn(ns, 43)});
        check_gradients(Op::layer_norm,
                        [ns = ns](const TL& x) { return TL{layer_norm(x[0], ns, Tensor<double>(), Tensor<double>(), 1e-3)}; },
                        {randn(s, 44)});
        const Tensor<double> x = Tensor<double>::normal(s, -4.0, 3.0, 45), w = randn(ns, 46, false), b = randn(ns, 47, false);
        check_close(values_of(layer_norm(x, ns, w, b, 1e-4)), reference_layer_norm(x, w.size(), values_of(w), values_of(b), 1e-4));
    }
    CHECK(layer_norm(Tensor<double>::zeros({0, 4}), {4}, Tensor<double>(), Tensor<double>()).shape() == Shape{0, 4});
    const Tensor<double> x = randn({2, 3}, 48, false);
    CHECK(error_of([&] { layer_norm(x, {2}, Tensor<double>(), Tensor<double>()); }) ==
          "layer_norm: normalized_shape (2,) must be the last axes of the input, got input (2, 3)");
    CHECK(error_of([&] { layer_norm(x, {}, Tensor<double>(), Tensor<double>()); }).find("layer_norm") == 0);
    CHECK(error_of([&] { layer_norm(x, {3}, Tensor<double>::ones({2}), Tensor<double>()); }) ==
          "layer_norm: weight of shape (2,) for input (2, 3) (expected (3,))");
    CHECK(error_of([&] { layer_norm(x, {3}, Tensor<double>(), Tensor<double>(), std::nan("")); }) ==
          "layer_norm: eps must be finite and >= 0, got nan (input (2, 3))");
}
