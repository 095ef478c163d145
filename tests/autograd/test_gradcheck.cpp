// gradcheck itself: it must catch wrong gradients, not only pass right ones.
#include <doctest/doctest.h>

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
