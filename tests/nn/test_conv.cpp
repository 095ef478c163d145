// Conv2d, MaxPool2d, AvgPool2d: shapes, parameter names, PyTorch's
// initialisation, printouts, errors, and a tiny convolutional net that learns.
#include <doctest/doctest.h>

#include <cmath>

#include <xtensor/xmath.hpp>
#include <xtensor/xsort.hpp>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/nn/conv.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/pooling.hpp>
#include <tapegrad/nn/sequential.hpp>
#include <tapegrad/nn/serialize.hpp>

#include "files.hpp"

using namespace tapegrad;
using namespace tapegrad::nn;

TEST_CASE("Conv2d: parameters, output shapes and the op it applies") {
    Conv2d<double> conv(Conv2dOptions(3, 8, 5).padding(2).seed(1));
    const auto params = conv.named_parameters();
    REQUIRE(params.size() == 2);
    CHECK(params[0].first == "weight");
    CHECK(params[0].second.shape() == Shape{8, 3, 5, 5});
    CHECK(params[1].first == "bias");
    CHECK(params[1].second.shape() == Shape{8});
    CHECK(conv.weight().requires_grad());
    auto x = Tensor<double>::normal({2, 3, 7, 6}, 0.0, 1.0, 2);
    auto y = conv(x);
    CHECK(y.shape() == Shape{2, 8, 7, 6});
    CHECK(y.data() == conv2d(x, conv.weight(), conv.bias(), Conv2dGeometry().padding(2)).data());

    Conv2d<float> strided(Conv2dOptions(4, 6, {3, 2}).stride({2, 1}).dilation(2).groups(2).bias(false).seed(3));
    CHECK(strided.named_parameters().size() == 1);
    CHECK(!strided.bias().defined());
    CHECK(strided.weight().shape() == Shape{6, 2, 3, 2});
    // H: (9 - 2 * 2 - 1) / 2 + 1 = 3; W: (5 - 2 * 1 - 1) / 1 + 1 = 3.
    CHECK(strided(Tensor<float>::zeros({1, 4, 9, 5})).shape() == Shape{1, 6, 3, 3});
}

TEST_CASE("Conv2d: PyTorch's initialisation, reproducible from the seed") {
    // fan_in = 16 / 2 * 5 * 3 = 120: weight and bias in (-1/sqrt(120), 1/sqrt(120)).
    const auto options = Conv2dOptions(16, 32, {5, 3}).groups(2);
    Conv2d<double> a(Conv2dOptions(options).seed(7)), b(Conv2dOptions(options).seed(7)), c(Conv2dOptions(options).seed(8));
    CHECK(a.weight().data() == b.weight().data());
    CHECK(a.bias().data() == b.bias().data());
    CHECK(a.weight().data() != c.weight().data());
    const double bound = 1.0 / std::sqrt(120.0);
    const auto& w = a.weight().data();
    CHECK(xt::amax(xt::abs(w))() < bound);
    CHECK(xt::amax(xt::abs(a.bias().data()))() < bound);
    // 32 * 8 * 15 = 3840 draws: the variance of U(-a, a) is a^2 / 3, and its
    // estimate's relative spread ~sqrt(0.8 / 3840) = 1.4%; 6% is > 4 sigma.
    CHECK(xt::mean(w * w)() == doctest::Approx(bound * bound / 3).epsilon(0.06));
    CHECK(xt::amax(xt::abs(w))() > 0.95 * bound);  // the draws fill the interval
    // Unseeded layers draw their seeds: two of them differ.
    Conv2d<double> d(options), e(options);
    CHECK(d.weight().data() != e.weight().data());
    CHECK(d.options().seed().has_value());
}

TEST_CASE("Conv2d, MaxPool2d, AvgPool2d print as PyTorch does") {
    CHECK(Conv2d<float>(Conv2dOptions(1, 16, 5).padding(2)).to_string() ==
          "Conv2d(1, 16, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))");
    CHECK(Conv2d<float>(Conv2dOptions(4, 8, {3, 1}).stride(2).dilation(2).groups(4).bias(false)).to_string() ==
          "Conv2d(4, 8, kernel_size=(3, 1), stride=(2, 2), dilation=(2, 2), groups=4, bias=false)");
    CHECK(MaxPool2d<float>(MaxPool2dOptions(2)).to_string() == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1)");
    CHECK(MaxPool2d<float>(MaxPool2dOptions({3, 2}).stride(1).padding({1, 0})).to_string() ==
          "MaxPool2d(kernel_size=(3, 2), stride=1, padding=(1, 0), dilation=1)");
    CHECK(AvgPool2d<float>(AvgPool2dOptions(2)).to_string() == "AvgPool2d(kernel_size=2, stride=2, padding=0)");
    CHECK(AvgPool2d<float>(AvgPool2dOptions(3).stride(1).padding(1).count_include_pad(false)).to_string() ==
          "AvgPool2d(kernel_size=3, stride=1, padding=1, count_include_pad=false)");
}

TEST_CASE("MaxPool2d and AvgPool2d apply their ops, with no parameters") {
    auto x = Tensor<double>::normal({2, 3, 6, 5}, 0.0, 1.0, 4);
    MaxPool2d<double> max(MaxPool2dOptions(2));
    AvgPool2d<double> avg(AvgPool2dOptions(3).stride(2).padding(1).count_include_pad(false));
    CHECK(max.named_parameters().empty());
    CHECK(avg.named_parameters().empty());
    CHECK(max(x).shape() == Shape{2, 3, 3, 2});
    CHECK(max(x).data() == max_pool2d(x, 2).data());
    CHECK(avg(x).data() == avg_pool2d(x, 3, 2, 1, false).data());
}

TEST_CASE("conv and pooling modules: bad options and inputs are errors naming them") {
    CHECK_THROWS_WITH_AS(Conv2dOptions(0, 4, 3), "Conv2dOptions: in_channels must be > 0, got 0", Error);
    CHECK_THROWS_WITH_AS(Conv2dOptions(1, 4, {3, 0}), "Conv2dOptions: kernel_size must be > 0 along both axes, got (3, 0)",
                         Error);
    CHECK_THROWS_WITH_AS(Conv2dOptions(1, 4, 3).stride(0), doctest::Contains("stride must be > 0"), Error);
    CHECK_THROWS_WITH_AS(Conv2d<float>(Conv2dOptions(3, 4, 3).groups(2)),
                         "Conv2d: in_channels 3 and out_channels 4 must both divide into 2 groups", Error);
    Conv2d<float> conv(Conv2dOptions(3, 4, 3));
    CHECK_THROWS_WITH_AS(conv(Tensor<float>::zeros({1, 2, 5, 5})),
                         "Conv2d(3, 4, kernel_size=(3, 3), stride=(1, 1)): expects input of shape (N, 3, H, W), got (1, 2, 5, 5)",
                         Error);
    CHECK_THROWS_AS(conv(Tensor<float>::zeros({3, 5, 5})), Error);
    CHECK_THROWS_WITH_AS(conv(Tensor<float>::zeros({1, 3, 2, 5})), doctest::Contains("conv2d: the kernel spans 3 pixels"),
                         Error);
    CHECK_THROWS_WITH_AS(MaxPool2d<float>(MaxPool2dOptions(2).padding(2)),
                         "MaxPool2d: padding (2, 2) must be at most half the kernel (2, 2)", Error);
    CHECK_THROWS_WITH_AS(AvgPool2d<float>(AvgPool2dOptions(3).padding({0, 2})),
                         "AvgPool2d: padding (0, 2) must be at most half the kernel (3, 3)", Error);
    CHECK_THROWS_WITH_AS(MaxPool2dOptions(2).stride({0, 1}), doctest::Contains("MaxPool2dOptions: stride must be"), Error);
    CHECK_THROWS_AS(MaxPool2d<float>(MaxPool2dOptions(2))(Tensor<float>::zeros({1, 1, 1, 4})), Error);
}

TEST_CASE("a tiny convolutional net learns to tell vertical from horizontal bars") {
    // 8 images of 6x6, each one bar of ones at a random row or column (+
    // noise); class 0 vertical, 1 horizontal. Conv -> ReLU -> MaxPool ->
    // Linear, plain gradient descent.
    const std::size_t n = 8;
    std::vector<float> pixels(n * 36, 0.0f);
    Labels labels(n);
    auto noise = Tensor<float>::uniform({n * 36}, -0.1f, 0.1f, 5);
    for (std::size_t i = 0; i < n; ++i) {
        labels[i] = std::int64_t(i % 2);
        const std::size_t line = (i * 5 + 1) % 6;
        for (std::size_t k = 0; k < 6; ++k) pixels[i * 36 + (labels[i] ? line * 6 + k : k * 6 + line)] = 1.0f;
    }
    for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] += noise.data()(i);
    auto x = Tensor<float>::from_data(pixels, {n, 1, 6, 6});
    Conv2d<float> conv(Conv2dOptions(1, 4, 3).padding(1).seed(11));
    MaxPool2d<float> pool(MaxPool2dOptions(2));
    Linear<float> head(LinearOptions(4 * 3 * 3, 2).seed(12));
    auto loss_of = [&] { return cross_entropy(head(reshape(pool(relu(conv(x))), {n, 36})), labels); };
    const float first = loss_of().item();
    for (int step = 0; step < 30; ++step) {
        conv.zero_grad();
        head.zero_grad();
        loss_of().backward();
        for (Module<float>* m : {static_cast<Module<float>*>(&conv), static_cast<Module<float>*>(&head)})
            for (auto& [name, p] : m->named_parameters()) p.data_mut() -= 0.5f * p.grad().data();
    }
    const float last = loss_of().item();
    INFO("loss ", first, " -> ", last);
    CHECK(last < 0.5f * first);
    // And it classifies every training image.
    auto predicted = xt::argmax(head(reshape(pool(relu(conv(x))), {n, 36})).data(), 1);
    for (std::size_t i = 0; i < n; ++i) CHECK(std::int64_t(predicted(i)) == labels[i]);
}

TEST_CASE("a Sequential of Conv2d and pools saves and loads its 4-D weights") {
    TempDir dir;
    auto make = [](std::uint64_t seed) {
        return Sequential<float>({std::make_shared<Conv2d<float>>(Conv2dOptions(2, 4, {3, 2}).groups(2).seed(seed)),
                                  std::make_shared<MaxPool2d<float>>(MaxPool2dOptions(2)),
                                  std::make_shared<Conv2d<float>>(Conv2dOptions(4, 3, 1).bias(false).seed(seed + 1)),
                                  std::make_shared<AvgPool2d<float>>(AvgPool2dOptions(2))});
    };
    Sequential<float> net = make(1), other = make(5);
    std::vector<std::string> names;
    for (const auto& named : net.named_parameters()) names.push_back(named.first);
    CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "2.weight"});
    save(net, dir.file("cnn.npz"));
    load(other, dir.file("cnn.npz"));
    auto x = Tensor<float>::normal({2, 2, 11, 10}, 0.f, 1.f, 9);  // conv (3, 2): 9x9, pool: 4x4, 1x1: 4x4, pool: 2x2
    CHECK(other(x).shape() == Shape{2, 3, 2, 2});
    CHECK(other(x).data() == net(x).data());
}
