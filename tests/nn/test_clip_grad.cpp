// clip_grad_norm and clip_grad_value against torch.nn.utils.clip_grad_norm_
// and clip_grad_value_ (torch 1.13, whose formula torch 2.x keeps), on these
// parameters, produced by:
//
//   def make():
//       a = torch.tensor([[0.5, -1.25, 2.0], [0.0, 3.0, -0.75]], dtype=torch.float64, requires_grad=True)
//       b = torch.tensor([1.5, -2.5, 0.25], dtype=torch.float64, requires_grad=True)
//       c = torch.tensor([7.0], dtype=torch.float64, requires_grad=True)  # no grad
//       a.grad = a.detach().clone(); b.grad = b.detach().clone()
//       return [a, b, c]
//   for norm_type in [2.0, 1.0, 3.0, float('inf')]:
//       ps = make(); total = torch.nn.utils.clip_grad_norm_(ps, 1.5, norm_type)
//       print(repr(total.item()), ps[0].grad.flatten().tolist() + ps[1].grad.tolist())
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/nn/clip_grad.hpp>
#include "../common/error_of.hpp"

using namespace tapegrad;

namespace {
std::vector<Tensor<double>> make() {
    Tensor<double> a = Tensor<double>::of({{0.5, -1.25, 2.0}, {0.0, 3.0, -0.75}}, true);
    Tensor<double> b = Tensor<double>::of({1.5, -2.5, 0.25}, true);
    Tensor<double> c = Tensor<double>::of({7.0}, true);  // no gradient: skipped
    a.set_grad(a.detach());
    b.set_grad(b.detach());
    return {a, b, c};
}

std::vector<double> grads(const std::vector<Tensor<double>>& ps) {
    std::vector<double> all;
    for (const auto& p : ps)
        if (p.grad().defined()) all.insert(all.end(), p.grad().data().begin(), p.grad().data().end());
    return all;
}

// Both sums in double, in another order than PyTorch's: a few ulps apart.
void check_close(const std::vector<double>& got, const std::vector<double>& expected) {
    REQUIRE(got.size() == expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        CAPTURE(i);
        CHECK(got[i] == doctest::Approx(expected[i]).epsilon(1e-14));
    }
}
}  // namespace

TEST_CASE("clip_grad_norm matches PyTorch for norms 2, 1, 3 and inf") {
    const double inf = std::numeric_limits<double>::infinity();
    struct Case {
        double norm_type, total;
        std::vector<double> clipped;
    };
    const std::vector<Case> cases{
        {2, 4.892596447695232,
         {0.1532928077606925, -0.3832320194017313, 0.61317123104277, 0.0, 0.919756846564155, -0.22993921164103875,
          0.4598784232820775, -0.7664640388034626, 0.07664640388034626}},
        {1, 11.75,
         {0.06382978180172069, -0.15957445450430174, 0.25531912720688277, 0.0, 0.38297869081032415,
          -0.09574467270258104, 0.19148934540516208, -0.3191489090086035, 0.031914890900860346}},
        {3, 3.8375688323869377,
         {0.19543618299018833, -0.4885904574754708, 0.7817447319607533, 0.0, 1.1726170979411301, -0.29315427448528253,
          0.5863085489705651, -0.9771809149509416, 0.09771809149509417}},
        {inf, 3.0,
         {0.24999991666669444, -0.6249997916667361, 0.9999996666667778, 0.0, 1.4999995000001667,
          -0.37499987500004167, 0.7499997500000833, -1.2499995833334723, 0.12499995833334722}},
    };
    for (const Case& c : cases) {
        CAPTURE(c.norm_type);
        auto ps = make();
        CHECK(nn::clip_grad_norm(ps, 1.5, c.norm_type) == doctest::Approx(c.total).epsilon(1e-15));
        check_close(grads(ps), c.clipped);
        CHECK_FALSE(ps[2].grad().defined());
    }
}

TEST_CASE("clip_grad_norm leaves gradients under max_norm alone and zeroes them for max_norm 0") {
    auto ps = make();
    const std::vector<double> before = grads(ps);
    CHECK(nn::clip_grad_norm(ps, 100.0) == doctest::Approx(4.892596447695232).epsilon(1e-15));
    CHECK(grads(ps) == before);  // clip_coef clamped to 1
    CHECK(nn::clip_grad_norm(ps, 0.0) == doctest::Approx(4.892596447695232).epsilon(1e-15));
    for (double g : grads(ps)) CHECK(g == 0.0);
    // No gradient anywhere: 0, as PyTorch's torch.tensor(0.).
    std::vector<Tensor<double>> none{Tensor<double>::of({1.0}, true)};
    CHECK(nn::clip_grad_norm(none, 1.0) == 0.0);
}

TEST_CASE("clip_grad_norm in float matches PyTorch's float32") {
    // a.grad = torch.tensor([[0.1, -0.2, 0.3]]) * 7; clip_grad_norm_([a], 0.5)
    Tensor<float> a = Tensor<float>::of({{0.1f, -0.2f, 0.3f}}, true);
    a.set_grad(Tensor<float>::of({{0.1f, -0.2f, 0.3f}}) * 7.0f);
    // One float rounding of the norm and of the product apart at most.
    CHECK(nn::clip_grad_norm(std::vector<Tensor<float>>{a}, 0.5) == doctest::Approx(2.6191601753234863).epsilon(1e-7));
    const std::vector<double> torch{0.13363057374954224, -0.2672611474990845, 0.4008917510509491};
    for (std::size_t i = 0; i < 3; ++i) CHECK(a.grad().data()(0, i) == doctest::Approx(torch[i]).epsilon(2e-7));
}

TEST_CASE("clip_grad_norm with a NaN or infinite gradient does as PyTorch, or throws with error_if_nonfinite") {
    auto ps = make();
    ps[1].grad().data_mut()(1) = std::nan("");
    CHECK(std::isnan(nn::clip_grad_norm(ps, 1.0)));
    for (double g : grads(ps)) CHECK(std::isnan(g));  // PyTorch: every gradient NaN

    ps = make();
    ps[1].grad().data_mut()(1) = std::numeric_limits<double>::infinity();
    CHECK(std::isinf(nn::clip_grad_norm(ps, 1.0)));
    const std::vector<double> g = grads(ps);  // PyTorch: 0 everywhere, inf * 0 = NaN
    for (std::size_t i = 0; i < g.size(); ++i) CHECK((i == 7 ? std::isnan(g[i]) : g[i] == 0.0));

    ps = make();
    ps[1].grad().data_mut()(1) = std::nan("");
    const std::vector<Tensor<double>> copy = ps;
    const std::string message = testing::error_of([&] { nn::clip_grad_norm(copy, 1.0, 2, true); });
    CHECK(message == "clip_grad_norm: the total norm of order 2 of the gradients of 2 parameters is nan (error_if_nonfinite)");
    CHECK(ps[0].grad().data()(0, 1) == -1.25);  // unchanged
}

TEST_CASE("clip_grad_value clamps as PyTorch, NaN kept") {
    auto ps = make();
    ps[1].grad().data_mut()(1) = std::nan("");
    nn::clip_grad_value(ps, 1.0);
    const std::vector<double> g = grads(ps);
    const std::vector<double> torch{0.5, -1.0, 1.0, 0.0, 1.0, -0.75, 1.0, std::nan(""), 0.25};
    for (std::size_t i = 0; i < g.size(); ++i) CHECK((std::isnan(torch[i]) ? std::isnan(g[i]) : g[i] == torch[i]));
    CHECK_FALSE(ps[2].grad().defined());
}

TEST_CASE("clipping refuses bad bounds and changes nothing then") {
    auto ps = make();
    const std::vector<double> before = grads(ps);
    CHECK(testing::error_of([&] { nn::clip_grad_norm(ps, -1.0); }) == "clip_grad_norm: max_norm must be >= 0, got -1");
    CHECK(testing::error_of([&] { nn::clip_grad_norm(ps, std::nan("")); }) ==
          "clip_grad_norm: max_norm must be >= 0, got nan");
    CHECK(testing::error_of([&] { nn::clip_grad_norm(ps, 1.0, 0.0); }) ==
          "clip_grad_norm: norm_type must be > 0 or inf, got 0");
    CHECK(testing::error_of([&] { nn::clip_grad_value(ps, -0.5); }) ==
          "clip_grad_value: clip_value must be >= 0, got -0.5");
    CHECK(grads(ps) == before);
}
