// grad(outputs, inputs, ...): the gradients returned, never stored; the same
// values as backward(); intermediate inputs; higher derivatives; errors.
#include <cmath>

#include <doctest/doctest.h>
#include <xtensor/xmath.hpp>

#include <tapegrad/autograd/ops.hpp>

#include "../common/error_of.hpp"

using namespace tapegrad;
using namespace tapegrad::testing;

namespace {
Tensor<double> randn(const Shape& shape, std::uint64_t seed, bool requires_grad = true) {
    return Tensor<double>::normal(shape, 0.0, 1.0, seed, requires_grad);
}
}  // namespace

TEST_CASE("grad returns what backward accumulates, and leaves every .grad as it was") {
    Tensor<double> x = randn({3, 4}, 1), w = randn({4, 2}, 2), b = randn({2}, 3);
    Tensor<double> loss = sum(pow(tanh(add(matmul(x, w), b)), 2.0));
    w.set_grad(Tensor<double>::full({4, 2}, 7.0));
    const Tensor<double> w_grad_before = w.grad();
    const TensorList<double> g = grad(loss, {w, b, x}, {}, /*retain_graph=*/true);
    REQUIRE(g.size() == 3);
    CHECK(w.grad().same_as(w_grad_before));
    CHECK(w.grad().data() == xt::xarray<double>(xt::full_like(w.data(), 7.0)));
    CHECK_FALSE(b.grad().defined());
    CHECK_FALSE(x.grad().defined());
    for (const Tensor<double>& gi : g) CHECK_FALSE(gi.requires_grad());  // no create_graph: no history
    w.zero_grad();
    loss.backward();
    // The same formulas in the same order: the same bits.
    CHECK(g[0].data() == w.grad().data());
    CHECK(g[1].data() == b.grad().data());
    CHECK(g[2].data() == x.grad().data());
}

TEST_CASE("grad of an intermediate tensor, alone and with a leaf") {
    // loss = sum(h^2), h = tanh(x * w): dloss/dh = 2h, dloss/dx = 2h (1 - h^2) w.
    Tensor<double> x = randn({5}, 4), w = randn({5}, 5);
    Tensor<double> h = tanh(mul(x, w));
    Tensor<double> loss = sum(mul(h, h));
    const TensorList<double> both = grad(loss, {h, x}, {}, /*retain_graph=*/true);
    const Tensor<double> only_h = grad(loss, {h})[0];
    for (std::size_t i = 0; i < 5; ++i) {
        const double hv = h.at({i});
        CHECK(both[0].at({i}) == doctest::Approx(2 * hv).epsilon(1e-15));
        CHECK(only_h.at({i}) == doctest::Approx(2 * hv).epsilon(1e-15));
        CHECK(both[1].at({i}) == doctest::Approx(2 * hv * (1 - hv * hv) * w.at({i})).epsilon(1e-14));
    }
    CHECK_FALSE(x.grad().defined());
}

TEST_CASE("grad runs only the formulas between the outputs and the inputs") {
    // Below h sits an op whose gradient formula throws: grad with respect to
    // h never runs it; with respect to x it does.
    Tensor<double> x = randn({3}, 6);
    Tensor<double> poisoned = record<double>("poisoned", Array<double>(x.data()), {x},
                                             [](const Inputs<double>&, const Tensor<double>&, const Tensor<double>&) -> Gradients<double> {
                                                 throw Error("must not run");
                                             });
    Tensor<double> h = exp(poisoned);
    Tensor<double> loss = sum(h);
    CHECK(grad(loss, {h}, {}, /*retain_graph=*/true)[0].data() == xt::xarray<double>(xt::ones<double>({3})));
    CHECK(error_of([&] { grad(loss, {x}, {}, true); }) == "backward of 'poisoned': must not run");
}

TEST_CASE("grad with create_graph: a Hessian-vector product, by hand") {
    // f(x) = sum(e^x) + (sum x)^2: gradient e^x + 2 sum(x), Hessian
    // diag(e^x) + 2 (all ones), so H v = e^x v + 2 sum(v).
    Tensor<double> x = randn({4}, 7);
    const Tensor<double> v = Tensor<double>::of({1.0, -2.0, 0.5, 3.0});
    Tensor<double> s = sum(x);
    Tensor<double> f = add(sum(exp(x)), mul(s, s));
    const Tensor<double> g = grad(f, {x}, {}, false, /*create_graph=*/true)[0];
    CHECK(g.requires_grad());
    const Tensor<double> hv = grad(sum(mul(g, v)), {x})[0];
    const double sum_v = 1.0 - 2.0 + 0.5 + 3.0, sum_x = s.item();
    for (std::size_t i = 0; i < 4; ++i) {
        const double xi = x.at({i});
        CHECK(g.at({i}) == doctest::Approx(std::exp(xi) + 2 * sum_x).epsilon(1e-15));
        CHECK(hv.at({i}) == doctest::Approx(std::exp(xi) * v.at({i}) + 2 * sum_v).epsilon(1e-14));
    }
    CHECK_FALSE(x.grad().defined());
    x.zero_grad();  // nothing to drop: grad stored no recorded gradient in x
}

TEST_CASE("grad of several outputs adds their contributions, each with its grad_output") {
    // y1 = 2x, y2 = x^2: J1^T g1 + J2^T g2 = 2 g1 + 2 x g2.
    Tensor<double> x = Tensor<double>::of({1.0, -3.0}, true);
    Tensor<double> y1 = mul(x, 2.0), y2 = mul(x, x);
    const Tensor<double> g1 = Tensor<double>::of({1.0, 10.0}), g2 = Tensor<double>::of({0.5, 2.0});
    const Tensor<double> gx = grad(TensorList<double>{y1, y2}, {x}, {g1, g2})[0];
    CHECK(gx.data() == xt::xarray<double>{2 * 1.0 + 2 * 1.0 * 0.5, 2 * 10.0 + 2 * -3.0 * 2.0});
    // The caller's grad_outputs are read, never written.
    CHECK(g1.data() == xt::xarray<double>{1.0, 10.0});
}

TEST_CASE("grad: gradients returned for several inputs do not alias") {
    Tensor<double> x = Tensor<double>::of({1.0}, true), y = Tensor<double>::of({2.0}, true);
    TensorList<double> g = grad(sum(add(x, y)), {x, y});  // add hands one gradient to both
    g[0].data_mut()(0) = 100.0;
    CHECK(g[1].item() == 1.0);
}

TEST_CASE("grad: unused inputs, bad arguments and a freed graph are errors; a failed call changes nothing") {
    Tensor<double> x = Tensor<double>::of({1.0, 2.0}, true), unused = Tensor<double>::of({3.0}, true);
    Tensor<double> constant = Tensor<double>::of({1.0});
    Tensor<double> y = mul(x, x);
    Tensor<double> loss = sum(y);
    CHECK(error_of([&] { grad(loss, {x, unused}, {}, true); }) ==
          "grad: input 1 of shape (1,) was not used to compute the outputs; pass allow_unused=true to get an "
          "undefined gradient for it");
    const TensorList<double> g = grad(loss, {x, unused}, {}, true, false, /*allow_unused=*/true);
    CHECK(g[0].data() == xt::xarray<double>{2.0, 4.0});
    CHECK_FALSE(g[1].defined());
    CHECK(error_of([&] { grad(loss, {constant}, {}, true); }) == "grad: input 0 of shape (1,) does not require a gradient");
    CHECK(error_of([&] { grad(loss, {Tensor<double>()}, {}, true); }) == "grad: input 0 is undefined");
    CHECK(error_of([&] { grad(constant, {x}); }) ==
          "grad: output 0 does not require a gradient and was not computed from one that does");
    CHECK(error_of([&] { grad(TensorList<double>{}, {x}); }) == "grad: no outputs to differentiate");
    CHECK(error_of([&] { grad(y, {x}, {}, true); }) ==
          "grad: output of shape (2,) is not a scalar; pass a gradient of that shape in grad_outputs");
    CHECK(error_of([&] { grad(y, {x}, Tensor<double>::ones({3}), true); }) ==
          "grad: gradient of shape (3,) for an output of shape (2,)");
    CHECK(error_of([&] { grad(TensorList<double>{y, loss}, {x}, {Tensor<double>::ones({2})}, true); }) ==
          "grad: 1 grad_outputs for 2 outputs");
    CHECK(grad(y, {x}, Tensor<double>::of({1.0, -1.0}), true)[0].data() == xt::xarray<double>{2.0, -4.0});
    // A pass that fails (an anomaly in sqrt's gradient at 0) keeps the graph.
    Tensor<double> z = Tensor<double>::of({0.0, 4.0}, true);
    Tensor<double> root = sum(sqrt(z));
    {
        DetectAnomalyGuard anomaly;
        const std::string error = error_of([&] { grad(root, {z}); });
        CHECK_MESSAGE(error.find("backward of 'sqrt'") != std::string::npos, error);
    }
    CHECK(grad(root, {z})[0].at({1}) == 0.25);
    // Without retain_graph, the graph is freed as by backward.
    CHECK(error_of([&] { grad(root, {z}); }) ==
          "backward: the graph behind 'sum' was freed by an earlier backward; pass retain_graph=true to that "
          "backward to go through the graph twice");
    CHECK_FALSE(x.grad().defined());
    CHECK_FALSE(z.grad().defined());
}

TEST_CASE("grad works in float and from a leaf itself") {
    auto x = Tensor<float>::of({1.0f, 2.0f}, true);
    CHECK(grad(sum(mul(x, 3.0f)), {x})[0].data() == xt::xarray<float>{3.0f, 3.0f});
    // d x / d x = the given gradient.
    CHECK(grad(x, {x}, Tensor<float>::of({5.0f, 6.0f}))[0].data() == xt::xarray<float>{5.0f, 6.0f});
}

namespace {
// a^2 whose backward takes 2a from a grad() pass of its own over a
// recomputation from a, as activation checkpointing in a custom op does.
Tensor<double> square_by_grad(const Tensor<double>& a) {
    return record<double>("square_by_grad", a.data() * a.data(), {a},
                          [](const Inputs<double>& in, const Tensor<double>&, const Tensor<double>& g) {
                              Tensor<double> twice_a;
                              {
                                  EnableGradGuard recording;
                                  twice_a = grad(sum(mul(in[0], in[0])), {in[0]})[0];
                              }
                              return Gradients<double>{mul(g, twice_a)};
                          });
}
}  // namespace

TEST_CASE("grad() inside a custom op's backward, over nodes of the running pass, gives the right gradients") {
    // The inner pass numbered the interior nodes it walked (h and exp) for
    // itself, and the outer one then sent their gradients to other places of
    // its own order: x.grad was 16.98 and 2.85 instead of 15.82 and 1.64,
    // silently. And without retain_graph the inner pass would free nodes the
    // outer one still walks: a pass started by a formula keeps the graph.
    auto x = Tensor<double>::of({0.5, -1.0}, true);
    const Tensor<double> h = exp(x);
    const Tensor<double> other = mul(exp(mul(x, 2.0)), 1.0);  // walked first: h sits later in the outer order
    const Tensor<double> loss = sum(add(other, add(square_by_grad(h), mul(h, 3.0))));
    loss.backward();
    for (std::size_t i = 0; i < 2; ++i) {
        const double hv = std::exp(x.at({i}));
        CHECK(x.grad().at({i}) == doctest::Approx(2 * hv * hv + (2 * hv + 3) * hv).epsilon(1e-14));
    }
    // The same through grad(), and the graph is freed after the outer pass.
    const Tensor<double> again = sum(square_by_grad(exp(x)));
    const Tensor<double> gx = grad(again, {x})[0];
    for (std::size_t i = 0; i < 2; ++i) {
        const double hv = std::exp(x.at({i}));
        CHECK(gx.at({i}) == doctest::Approx(2 * hv * hv).epsilon(1e-14));
    }
    CHECK_THROWS_AS(grad(again, {x}), Error);
}
