// The gradcheck example's claim for ReLU: that no +-eps step of one parameter
// moves a hidden pre-activation by more than the reach it prints. Checked here
// by doing every such step on a small network and measuring the move.
#include <algorithm>
#include <cmath>
#include <vector>

#include <doctest/doctest.h>
#include <xtensor/xview.hpp>

#include "../../examples/gradcheck/relu_kink.hpp"
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/mlp.hpp>

using namespace tapegrad;
using namespace gradcheck_example;

namespace {

// The pre-activations of every hidden Linear layer (all but the last).
std::vector<xt::xarray<double>> hidden_preactivations(nn::Sequential<double>& net, const Tensor<double>& x) {
    NoGradGuard quiet;
    std::vector<xt::xarray<double>> out;
    Tensor<double> a = x;
    for (std::size_t m = 0; m < net.size(); ++m) {
        a = net[m](a);
        if (dynamic_cast<nn::Linear<double>*>(&net[m]) && m + 1 < net.size()) out.push_back(a.data());
    }
    return out;
}

InputPool pool_of(const xt::xarray<double>& rows) {
    InputPool pool;
    pool.inputs = rows;
    for (std::size_t r = 0; r < rows.shape()[0]; ++r) {
        pool.labels.push_back(0);
        pool.ids.push_back(r);
    }
    return pool;
}

}  // namespace

TEST_CASE("no single +-eps step moves a pre-activation farther than the reported reach") {
    // Large weights (N(0, 1)) and a large eps make the moves big enough to
    // measure well above rounding.
    auto net = nn::make_mlp<double>(nn::MLPOptions({6, 5, 4, 3}, "relu").init(nn::Init::StandardNormal).seed(3));
    // Scaled up, layer 2 carries a layer-1 step further than a step of its own
    // parameters moves it, so the bound's propagation term is what is tested.
    dynamic_cast<nn::Linear<double>&>((*net)[2]).weight().data_mut() *= 100.0;
    const Tensor<double> x = Tensor<double>::uniform({3, 6}, 0.0, 1.0, 4);
    const double eps = 1e-3;
    const KinkMargins margins = kink_margins(*net, x.data(), eps);
    REQUIRE(margins.reach.size() == 2);
    REQUIRE(margins.closest.size() == 2);

    const auto base = hidden_preactivations(*net, x);
    std::vector<double> largest_move(2, 0.0);
    for (Tensor<double> p : net->parameters()) {
        double* values = p.data_mut().data();
        for (std::size_t e = 0; e < p.size(); ++e) {
            const double original = values[e];
            for (double step : {eps, -eps}) {
                values[e] = original + step;
                const auto moved = hidden_preactivations(*net, x);
                for (std::size_t l = 0; l < 2; ++l)
                    largest_move[l] = std::max(largest_move[l], double(xt::amax(xt::abs(moved[l] - base[l]))()));
            }
            values[e] = original;
        }
    }
    for (std::size_t l = 0; l < 2; ++l) {
        INFO("hidden layer ", l + 1, ": largest move ", largest_move[l], ", reach ", margins.reach[l]);
        CHECK(largest_move[l] > 0);
        // 1e-12: the moves are differences of two double forward passes.
        CHECK(largest_move[l] <= margins.reach[l] + 1e-12);
    }
    // The smallest |pre-activation| is what it says.
    CHECK(margins.closest[0] == doctest::Approx(double(xt::amin(xt::abs(base[0]))())));
    CHECK(margins.closest[1] == doctest::Approx(double(xt::amin(xt::abs(base[1]))())));
}

TEST_CASE("an input that puts a pre-activation next to 0 is passed over") {
    auto net = nn::make_mlp<double>(nn::MLPOptions({4, 3, 2}, "relu").init(nn::Init::StandardNormal).seed(5));
    xt::xarray<double> rows = Tensor<double>::uniform({4, 4}, 0.0, 1.0, 6).data();
    // Move hidden unit 0's bias so that row 0 lands 1e-9 from the kink.
    auto& first = dynamic_cast<nn::Linear<double>&>((*net)[0]);
    double z = first.bias().data()(0);
    for (std::size_t i = 0; i < 4; ++i) z += first.weight().data()(0, i) * rows(0, i);
    first.bias().data_mut()(0) += 1e-9 - z;

    const double eps = 1e-6;
    CHECK_FALSE(kink_margins(*net, xt::xarray<double>(xt::view(rows, xt::range(0, 1), xt::all())), eps).clear());
    const InputPool pool = pool_of(rows);
    const std::vector<std::size_t> chosen = rows_clear_of_kink(*net, pool, 2, eps);
    CHECK(chosen == std::vector<std::size_t>{1, 2});
    CHECK(kink_margins(*net, xt::xarray<double>(xt::view(rows, xt::range(1, 3), xt::all())), eps).clear());
    CHECK_THROWS_AS(rows_clear_of_kink(*net, pool, 4, eps), Error);
}
