// gradcheck itself: it must catch wrong gradients, not only pass right ones.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <set>

#include <tapegrad/autograd/gradcheck.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/autograd/ops.hpp>

using namespace tapegrad;

namespace {
// x^2 with a deliberately wrong derivative (3x instead of 2x).
Tensor<double> wrong_square(const Tensor<double>& a) {
    return record<double>("wrong_square", a.data() * a.data(), {a},
                          [](const Inputs<double>& in, const Tensor<double>&, const Tensor<double>& g) {
                              return Gradients<double>{mul(g, mul(in[0], 3.0))};
                          });
}
// Right first derivative (2x) written with raw arrays, so its own derivative
// is lost: gradcheck passes, gradgradcheck must not.
Tensor<double> opaque_square(const Tensor<double>& a) {
    return record<double>("opaque_square", a.data() * a.data(), {a},
                          [](const Inputs<double>& in, const Tensor<double>&, const Tensor<double>& g) {
                              return Gradients<double>{mul(g, Tensor<double>(in[0].data() * 2.0))};
                          });
}
}  // namespace

TEST_CASE("gradcheck catches a wrong derivative and says where") {
    auto x = Tensor<double>::of({1.0, 2.0, 3.0}, true);
    auto report = gradcheck<double>([](const TensorList<double>& in) { return TensorList<double>{sum(wrong_square(in[0]))}; }, {x});
    CHECK_FALSE(report.passed);
    CHECK(report.failed == 3);
    CHECK(report.checked == 3);
    CHECK(report.worst_input_element == 2);       // the largest error is at x = 3
    CHECK(report.worst_analytic == doctest::Approx(9.0));
    CHECK(report.worst_numeric == doctest::Approx(6.0));
    CHECK(report.max_abs_error == doctest::Approx(3.0));
    CHECK(report.summary().find("FAILED") != std::string::npos);
}

TEST_CASE("gradgradcheck catches a backward that is not differentiable") {
    auto x = Tensor<double>::of({1.0, 2.0}, true);
    auto f = [](const TensorList<double>& in) { return TensorList<double>{opaque_square(in[0])}; };
    CHECK(gradcheck<double>(f, {x}).passed);
    CHECK_FALSE(gradgradcheck<double>(f, {x}).passed);
}

TEST_CASE("gradcheck refuses float tensors") {
    auto x = Tensor<float>::of({1.0f}, true);
    CHECK_THROWS_WITH_AS(
        gradcheck<float>([](const TensorList<float>& in) { return TensorList<float>{sum(in[0])}; }, {x}),
        "gradcheck: needs double tensors; central differences in float32 measure rounding noise, not derivatives",
        Error);
}

TEST_CASE("gradcheck samples a seeded subset when asked, and leaves gradients as they were") {
    auto x = Tensor<double>::normal({50}, 0, 1, 3, true);
    sum(x).backward();  // a gradient the caller accumulated
    auto f = [](const TensorList<double>& in) { return TensorList<double>{sum(tanh(in[0]))}; };
    auto sampled = gradcheck<double>(f, {x}, GradcheckOptions().sample(10).seed(5));
    CHECK(sampled.passed);
    CHECK(sampled.checked == 10);
    CHECK(x.grad().at({7}) == 1.0);
    CHECK(gradcheck<double>(f, {x}).checked == 50);
    CHECK_THROWS_AS(gradcheck<double>(f, {x.detach()}), Error);  // nothing requires grad
}

TEST_CASE("GradcheckOptions reject bad values, naming the option") {
    CHECK_THROWS_WITH_AS(GradcheckOptions().eps(0), "GradcheckOptions: eps must be finite and > 0, got 0", Error);
    CHECK_THROWS_WITH_AS(GradcheckOptions().atol(-1e-5), "GradcheckOptions: atol must be finite and >= 0, got -1e-05",
                         Error);
    CHECK_THROWS_WITH_AS(GradcheckOptions().rtol(std::numeric_limits<double>::infinity()),
                         "GradcheckOptions: rtol must be finite and >= 0, got inf", Error);
    const auto options = GradcheckOptions().eps(1e-7).atol(1e-6).rtol(1e-4).sample(3).seed(9);
    CHECK(options.eps() == 1e-7);
    CHECK(options.sample() == 3);
    CHECK(options.seed() == std::uint64_t(9));
}

TEST_CASE("a sample without a seed is drawn from the global generator") {
    auto x = Tensor<double>::normal({50}, 0, 1, 3, true);
    auto f = [](const TensorList<double>& in) { return TensorList<double>{sum(tanh(in[0]))}; };
    // The report names the worst element, which depends on the sample drawn.
    auto worst = [&] { return gradcheck<double>(f, {x}, GradcheckOptions().sample(1)).worst_input_element; };
    manual_seed(1);
    std::vector<std::size_t> first;
    for (int i = 0; i < 5; ++i) first.push_back(worst());
    manual_seed(1);
    std::vector<std::size_t> again;
    for (int i = 0; i < 5; ++i) again.push_back(worst());
    CHECK(first == again);
    CHECK(std::set<std::size_t>(first.begin(), first.end()).size() > 1);  // each call drew its own sample
}

namespace {
// A gradient penalty: f(x) = sum(g^2) with g = d sum(x^3) / dx = 3x^2, so
// f = sum(9x^4) and df/dx = 36x^3. It calls grad() itself, which needs the
// tape recording whenever gradcheck evaluates it, as PyTorch's gradcheck does.
TensorList<double> gradient_penalty(const TensorList<double>& in) {
    const Tensor<double> g =
        grad(sum(in[0] * in[0] * in[0]), {in[0]}, {}, /*retain_graph=*/false, /*create_graph=*/true)[0];
    return {sum(g * g)};
}
}  // namespace

TEST_CASE("gradcheck and gradgradcheck accept a function that calls grad(), as PyTorch's do") {
    auto x = Tensor<double>::of({0.5, -1.0, 2.0}, true);
    const auto first = gradcheck<double>(gradient_penalty, {x});
    CHECK_MESSAGE(first.passed, first.summary());
    CHECK(first.checked == 3);
    CHECK(first.worst_analytic == doctest::Approx(36 * std::pow(x.data()(first.worst_input_element), 3)));
    const auto second = gradgradcheck<double>(gradient_penalty, {x}, GradcheckOptions().seed(3));
    CHECK_MESSAGE(second.passed, second.summary());
    CHECK(second.checked == 4 * 3);  // (x and v) x the gradient's 3 elements
    // A penalty over a backward that is not differentiable is caught: its g =
    // 2x is raw values, so the analytic gradient is 0, the numeric one 8x.
    auto lost = [](const TensorList<double>& in) {
        const Tensor<double> g = grad(sum(opaque_square(in[0])), {in[0]}, {}, false, true)[0];
        return TensorList<double>{sum(g * g)};
    };
    const auto caught = gradcheck<double>(lost, {x});
    CHECK_FALSE(caught.passed);
    CHECK(caught.worst_analytic == 0);
    CHECK(caught.worst_numeric == doctest::Approx(8 * x.data()(caught.worst_input_element)));
    CHECK(x.grad().defined() == false);  // the caller's gradients are as they were
}

TEST_CASE("gradgradcheck's summary names gradgradcheck and reads its pairs as gradients") {
    auto x = Tensor<double>::of({1.0, 2.0}, true);
    auto skipped = Tensor<double>::of({5.0, 6.0});  // needs no gradient: not a row of the report
    auto f = [](const TensorList<double>& in) { return TensorList<double>{opaque_square(in[1]) * in[0]}; };
    const auto passed = gradgradcheck<double>(
        [](const TensorList<double>& in) { return TensorList<double>{tanh(in[1]) * in[0]}; }, {skipped, x},
        GradcheckOptions().seed(1));
    CHECK(passed.passed);
    CHECK(passed.summary().rfind("gradgradcheck passed: ", 0) == 0);
    CHECK(gradcheck<double>(f, {skipped, x}).summary().rfind("gradcheck passed: ", 0) == 0);
    const auto failed = gradgradcheck<double>(f, {skipped, x}, GradcheckOptions().seed(1));
    CHECK_FALSE(failed.passed);
    // The opaque backward loses d(dx)/dx, so the worst pair is an element of x
    // against the gradient with respect to x: input 1 of the caller's list.
    CHECK(failed.worst_input == 1);
    CHECK(failed.worst_output == 1);
    const std::string text = failed.summary();
    CHECK(text.rfind("gradgradcheck FAILED: ", 0) == 0);
    CHECK(text.find("worst at input 1[") != std::string::npos);
    CHECK(text.find("-> gradient of input 1[") != std::string::npos);
    CHECK_FALSE(failed.worst_is_grad_output);
}

TEST_CASE("gradgradcheck names a random output gradient v as grad_output") {
    // 2x * g with g read as raw values: d(gradient)/dx is right, d(gradient)/dv lost.
    auto opaque_in_g = [](const TensorList<double>& in) {
        return TensorList<double>{record<double>(
            "opaque_in_g", in[0].data() * in[0].data(), {in[0]},
            [](const Inputs<double>& x, const Tensor<double>&, const Tensor<double>& g) {
                return Gradients<double>{mul(Tensor<double>(g.data()), mul(x[0], 2.0))};
            })};
    };
    auto x = Tensor<double>::of({1.0, 2.0}, true);
    const auto report = gradgradcheck<double>(opaque_in_g, {x}, GradcheckOptions().seed(4));
    CHECK_FALSE(report.passed);
    CHECK(report.worst_is_grad_output);
    CHECK(report.worst_input == 0);  // output 0's v
    CHECK(report.worst_output == 0);
    CHECK(report.summary().find("worst at grad_output 0[") != std::string::npos);
}

TEST_CASE("gradcheck compares an output that shares its values with an input (f returns x)") {
    // Each evaluation's values are kept as they were: the identity's output
    // is x itself, which the next perturbation changes (PyTorch clones them).
    auto x = Tensor<double>::of({1.0, -2.0, 0.5}, true);
    const auto identity = gradcheck<double>([](const TensorList<double>& in) { return in; }, {x});
    CHECK(identity.passed);
    CHECK(identity.checked == 9);
    CHECK(identity.max_abs_error < 1e-6);
}

TEST_CASE("gradcheck puts a perturbed input back when f throws, and changes nothing") {
    auto x = Tensor<double>::of({1.0, 2.0, 3.0}, true);
    int calls = 0;
    auto throws_on_second = [&calls](const TensorList<double>& in) {
        if (++calls == 2) throw Error("f: refused");  // at x[0] + eps
        return TensorList<double>{sum(mul(in[0], in[0]))};
    };
    CHECK_THROWS_WITH_AS(gradcheck<double>(throws_on_second, {x}), "f: refused", Error);
    CHECK(x.data()(0) == 1.0);  // exactly, not 1 + eps
    CHECK_FALSE(x.grad().defined());
}

TEST_CASE("gradcheck refuses an f whose outputs change shape when an input moves") {
    // A value-dependent output size (as masked_select has) cannot be
    // differentiated element by element; it must not be read out of bounds.
    auto x = Tensor<double>::of({1.0, 2.0, 3.0}, true);
    int calls = 0;
    auto shrinks = [&calls](const TensorList<double>& in) {
        return TensorList<double>{++calls == 1 ? in[0] : narrow(in[0], 0, 0, 2)};
    };
    CHECK_THROWS_WITH_AS(gradcheck<double>(shrinks, {x}),
                         "gradcheck: f's output 0 has shape (2,) at a perturbed input, (3,) at the inputs given",
                         Error);
    CHECK(x.data()(0) == 1.0);
    calls = 0;
    auto more = [&calls](const TensorList<double>& in) {
        return ++calls == 1 ? TensorList<double>{in[0]} : TensorList<double>{in[0], in[0]};
    };
    CHECK_THROWS_WITH_AS(gradcheck<double>(more, {x}),
                         "gradcheck: f returned 2 outputs at a perturbed input, 1 at the inputs given", Error);
}

TEST_CASE("gradgradcheck leaves the inputs' gradients as found when f calls backward()") {
    auto x = Tensor<double>::of({0.5, -1.0}, true);
    auto f = [](const TensorList<double>& in) {
        sum(mul(in[0], in[0])).backward(/*retain_graph=*/false, /*create_graph=*/true);  // adds 2x to x.grad
        return TensorList<double>{tanh(in[0])};
    };
    CHECK(gradcheck<double>(f, {x}).passed);
    CHECK_FALSE(x.grad().defined());
    CHECK(gradgradcheck<double>(f, {x}, GradcheckOptions().seed(2)).passed);
    CHECK_FALSE(x.grad().defined());
}
