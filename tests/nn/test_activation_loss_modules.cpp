// LeakyReLU, GELU, Softplus and the loss modules: each computes
// what its op does with its settings, prints as PyTorch does, and refuses bad
// settings naming them.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include <xtensor/xadapt.hpp>

#include <tapegrad/nn/activation.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/loss.hpp>
#include <tapegrad/nn/sequential.hpp>

using namespace tapegrad;
using namespace tapegrad::nn;

TEST_CASE("LeakyReLU, GELU, Softplus compute their op with their options") {
    auto x = Tensor<double>::of({-2.0, -0.5, 0.0, 1.5, 30.0});
    CHECK(LeakyReLU<double>()(x).data() == leaky_relu(x, 0.01).data());
    CHECK(LeakyReLU<double>(0.2)(x).data() == xt::xarray<double>{-0.4, -0.1, 0.0, 1.5, 30.0});
    CHECK(GELU<double>()(x).data() == gelu(x).data());
    CHECK(GELU<double>(GeluApproximate::Tanh)(x).data() == gelu(x, GeluApproximate::Tanh).data());
    CHECK(Softplus<double>()(x).data() == softplus(x).data());
    // beta 2, threshold 2: x itself where 2x > 2, log(1 + e^(2x)) / 2 elsewhere.
    auto s = Softplus<double>(SoftplusOptions().beta(2).threshold(2))(x);
    CHECK(s.at({0}) == doctest::Approx(std::log1p(std::exp(-4.0)) / 2).epsilon(1e-15));
    CHECK(s.at({3}) == 1.5);
    CHECK(Softplus<float>()(Tensor<float>::of({0.0f})).item() == doctest::Approx(std::log(2.0)).epsilon(1e-6));
}

TEST_CASE("the new activations print as PyTorch's and sit in a Sequential") {
    Sequential<double> net({std::make_shared<Linear<double>>(LinearOptions(3, 4).seed(1)),
                            std::make_shared<LeakyReLU<double>>(0.2), std::make_shared<GELU<double>>(GeluApproximate::Tanh),
                            std::make_shared<Softplus<double>>(), std::make_shared<GELU<double>>()});
    CHECK(net.to_string() ==
          "Sequential(\n"
          "  (0): Linear(in_features=3, out_features=4, bias=true)\n"
          "  (1): LeakyReLU(negative_slope=0.2)\n"
          "  (2): GELU(approximate='tanh')\n"
          "  (3): Softplus(beta=1, threshold=20)\n"
          "  (4): GELU(approximate='none')\n"
          ")");
    sum(net(Tensor<double>::ones({2, 3}))).backward();
    for (const auto& param : net.parameters()) CHECK(param.grad().defined());
}

TEST_CASE("activation options refuse bad values, naming the option") {
    CHECK_THROWS_WITH_AS(SoftplusOptions().beta(0), "SoftplusOptions: beta must be finite and > 0, got 0", Error);
    CHECK_THROWS_WITH_AS(SoftplusOptions().threshold(std::nan("")), "SoftplusOptions: threshold must be a number (not NaN), got nan",
                         Error);
    CHECK_THROWS_WITH_AS(LeakyReLU<double>{std::numeric_limits<double>::infinity()}, "LeakyReLUOptions: negative_slope must be finite, got inf", Error);
    CHECK(LeakyReLU<float>().options().negative_slope() == 0.01);
    CHECK(GELU<float>().options().approximate() == GeluApproximate::None);
}

TEST_CASE("BCEWithLogitsLoss and HuberLoss apply their reduction and settings") {
    auto logits = Tensor<double>::of({{2.0, -1.0, 0.5}, {0.1, 0.2, -3.0}});
    auto targets = Tensor<double>::of({{1.0, 0.0, 0.5}, {0.0, 1.0, 1.0}});
    // Per element: log(1 + e^-x) for t = 1, log(1 + e^x) for t = 0, and for
    // t = 0.5 the mean of the two.
    auto softplus_of = [](double v) { return std::log1p(std::exp(v)); };
    const double elements[] = {softplus_of(-2.0), softplus_of(-1.0), (softplus_of(-0.5) + softplus_of(0.5)) / 2,
                               softplus_of(0.1),  softplus_of(-0.2), softplus_of(3.0)};
    double total = 0;
    for (double e : elements) total += e;
    CHECK(BCEWithLogitsLoss<double>()(logits, targets).item() == doctest::Approx(total / 6).epsilon(1e-14));
    CHECK(BCEWithLogitsLoss<double>(Reduction::Sum)(logits, targets).item() == doctest::Approx(total).epsilon(1e-14));
    // pos_weight 3 on the last class multiplies its positive term, log(1 + e^-x) t.
    auto weights = Tensor<double>::of({1.0, 1.0, 3.0});
    const double weighted = total + 2 * softplus_of(-0.5) / 2 + 2 * softplus_of(3.0);
    CHECK(BCEWithLogitsLoss<double>(Reduction::Sum, weights)(logits, targets).item() ==
          doctest::Approx(weighted).epsilon(1e-14));
    CHECK_THROWS_AS(BCEWithLogitsLoss<double>()(logits, Tensor<double>::zeros({3, 2})), Error);

    auto target = Tensor<double>::of({{1.0, -1.0, 0.0}, {0.0, 0.0, 0.0}});
    // d = (1, 0, 0.5, 0.1, 0.2, -3); delta 1: 0.5 d^2 inside, |d| - 0.5 outside:
    // 0.5, 0, 0.125, 0.005, 0.02, 2.5 -> 3.15 (|d| = 1 is outside: 1 - 0.5 = 0.5 either way).
    CHECK(HuberLoss<double>(Reduction::Sum)(logits, target).item() == doctest::Approx(3.15).epsilon(1e-14));
    CHECK(HuberLoss<double>()(logits, target).item() == doctest::Approx(3.15 / 6).epsilon(1e-14));
    // delta 0.25: 0.25 (|d| - 0.125) outside, 0.5 d^2 inside.
    const double quarter = 0.25 * (1 - 0.125) + 0 + 0.25 * (0.5 - 0.125) + 0.005 + 0.02 + 0.25 * (3 - 0.125);
    CHECK(HuberLoss<double>(Reduction::Sum, 0.25)(logits, target).item() == doctest::Approx(quarter).epsilon(1e-14));
    CHECK_THROWS_WITH_AS(HuberLoss<double>(Reduction::Mean, -1.0), "HuberLoss: delta must be finite and > 0, got -1", Error);
}

TEST_CASE("CrossEntropyLoss and NLLLoss take the options of their ops; every loss module gives Reduction::None") {
    // A (2, 3, 4) batch of sequences with padding (-1): the modules compute their op with their options.
    auto logits = Tensor<double>::normal({2, 3, 4}, 0.0, 1.0, 7);
    const Indices padded = xt::adapt(std::vector<std::int64_t>{1, 3, -1, 0, 2, -1}, Shape{2, 3});
    const auto options = CrossEntropyOptions().ignore_index(-1).label_smoothing(0.1);
    CHECK(CrossEntropyLoss<double>(options)(logits, padded).item() == cross_entropy(logits, padded, options).item());
    CHECK(CrossEntropyLoss<double>(options).options().label_smoothing() == 0.1);
    const auto per_token = CrossEntropyLoss<double>(CrossEntropyOptions(Reduction::None).ignore_index(-1))(logits, padded);
    CHECK(per_token.shape() == Shape{2, 3});
    CHECK(per_token.at({0, 2}) == 0.0);
    // Mean divides by the 4 targets not ignored.
    CHECK(xt::sum(per_token.data())() / 4 ==
          doctest::Approx(cross_entropy(logits, padded, CrossEntropyOptions().ignore_index(-1)).item()).epsilon(1e-15));
    const auto log_probs = log_softmax(logits);
    CHECK(NLLLoss<double>(NLLLossOptions().ignore_index(-1))(log_probs, padded).item() ==
          doctest::Approx(cross_entropy(logits, padded, CrossEntropyOptions().ignore_index(-1)).item()).epsilon(1e-14));
    CHECK(NLLLoss<double>(Reduction::Sum)(reshape(log_probs, {6, 4}), Labels{0, 1, 2, 3, 0, 1}).shape() == Shape{});

    auto a = Tensor<double>::of({{2.0, -1.0}, {0.5, 0.0}}), b = Tensor<double>::of({{1.0, 0.0}, {1.0, 0.25}});
    CHECK(MSELoss<double>(Reduction::None)(a, b).data() == mse_loss(a, b, Reduction::None).data());
    CHECK(MSELoss<double>(Reduction::None)(a, b).shape() == Shape{2, 2});
    CHECK(BCEWithLogitsLoss<double>(Reduction::None)(a, b).shape() == Shape{2, 2});
    CHECK(HuberLoss<double>(Reduction::None, 0.5)(a, b).at({0, 0}) == 0.5 * (1.0 - 0.25));
}
