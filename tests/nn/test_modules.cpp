#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

#include <xtensor/xmath.hpp>

#include <tapegrad/nn/activation.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/loss.hpp>
#include <tapegrad/nn/mlp.hpp>

using namespace tapegrad;
using namespace tapegrad::nn;

namespace {
std::vector<std::string> names_of(const Module<double>& module) {
    std::vector<std::string> names;
    for (const auto& named : module.named_parameters()) names.push_back(named.first);
    return names;
}
}  // namespace

TEST_CASE("make_mlp builds the notebook's layers with hierarchical names") {
    auto net = make_mlp<double>({784, 100, 100, 10}, "sigmoid", Init::StandardNormal, 42);
    CHECK(net->size() == 5);
    CHECK(names_of(*net) ==
          std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"});
    CHECK(net->parameters()[0].shape() == Shape{100, 784});  // PyTorch layout (out, in)
    CHECK(net->parameters()[5].shape() == Shape{10});
    for (const auto& param : net->parameters()) CHECK(param.requires_grad());
    CHECK(net->forward(Tensor<double>::zeros({3, 784})).shape() == Shape{3, 10});
    CHECK_THROWS_AS(make_mlp<double>({4, 2}, "softplus", Init::PyTorchDefault, 0), Error);
    CHECK_THROWS_AS(make_mlp<double>({4}, "relu", Init::PyTorchDefault, 0), Error);
}

TEST_CASE("nested Sequential prefixes its children's names and prints its structure") {
    auto inner = std::make_shared<Sequential<double>>(
        std::vector<Module<double>::Ptr>{std::make_shared<Linear<double>>(3, 4), std::make_shared<Tanh<double>>()});
    Sequential<double> outer({inner, std::make_shared<Linear<double>>(4, 2, false)});
    CHECK(names_of(outer) == std::vector<std::string>{"0.0.weight", "0.0.bias", "1.weight"});
    std::ostringstream printed;
    printed << outer;
    CHECK(printed.str() ==
          "Sequential(\n"
          "  (0): Sequential(\n"
          "    (0): Linear(in_features=3, out_features=4, bias=true)\n"
          "    (1): Tanh()\n"
          "  )\n"
          "  (1): Linear(in_features=4, out_features=2, bias=false)\n"
          ")");
}

TEST_CASE("train and eval reach every child") {
    auto net = make_mlp<double>({2, 3, 2}, "relu");
    CHECK(net->is_training());
    net->eval();
    CHECK(!net->is_training());
    CHECK(!(*net)[0].is_training());
    CHECK(!(*net)[1].is_training());
    net->train();
    CHECK((*net)[2].is_training());
}

TEST_CASE("Linear computes x W^T + b and its gradients reach W and b") {
    Linear<double> layer(2, 3);
    layer.weight().data_mut() = xt::xarray<double>{{1, 2}, {3, 4}, {5, 6}};
    layer.bias().data_mut() = xt::xarray<double>{0.5, -0.5, 1};
    auto x = Tensor<double>::of({{1, -1}, {2, 0.5}});
    auto y = layer(x);
    CHECK(y.data() == xt::xarray<double>{{-0.5, -1.5, 0}, {3.5, 7.5, 14}});
    sum(y).backward();
    CHECK(layer.weight().grad().data() == xt::xarray<double>{{3, -0.5}, {3, -0.5}, {3, -0.5}});
    CHECK(layer.bias().grad().data() == xt::xarray<double>{2, 2, 2});
    layer.zero_grad();
    CHECK(!layer.weight().grad().defined());
    CHECK_THROWS_AS(layer(Tensor<double>::zeros({2, 3})), Error);
}

TEST_CASE("initialisers are reproducible from their seed and have the documented spread") {
    const std::size_t fan_in = 400, fan_out = 300;
    for (Init init : {Init::PyTorchDefault, Init::XavierUniform, Init::XavierNormal, Init::KaimingUniform,
                      Init::KaimingNormal, Init::StandardNormal}) {
        CAPTURE(init_name(init));
        Linear<double> a(fan_in, fan_out, true, init, 7), b(fan_in, fan_out, true, init, 7), c(fan_in, fan_out, true, init, 8);
        CHECK(a.weight().data() == b.weight().data());
        CHECK(a.bias().data() == b.bias().data());
        CHECK(a.weight().data() != c.weight().data());
        const auto& w = a.weight().data();
        const double variance = xt::mean(w * w)();
        double expected = 0;  // the variance each initialiser promises
        switch (init) {
            case Init::PyTorchDefault: expected = 1.0 / (3 * fan_in); break;  // U(-a, a) has variance a^2/3
            case Init::XavierUniform:
            case Init::XavierNormal: expected = 2.0 / (fan_in + fan_out); break;
            case Init::KaimingUniform:
            case Init::KaimingNormal: expected = 2.0 / fan_in; break;
            case Init::StandardNormal: expected = 1.0; break;
        }
        CHECK(variance == doctest::Approx(expected).epsilon(0.03));
        CHECK(std::abs(xt::mean(w)()) < 0.05 * std::sqrt(expected));
    }
    CHECK(xt::amax(xt::abs(Linear<double>(400, 300, true, Init::XavierUniform, 1).weight().data()))() <=
          std::sqrt(6.0 / 700));
    CHECK(xt::all(xt::equal(Linear<double>(4, 3, true, Init::KaimingNormal, 1).bias().data(), 0.0)));
}

TEST_CASE("state_dict is a deep copy and load_state restores it") {
    auto net = make_mlp<double>({3, 4, 2}, "tanh", Init::XavierUniform, 3);
    const StateDict<double> saved = net->state_dict();
    const xt::xarray<double> first_weight = net->parameters()[0].data();
    net->parameters()[0].data_mut() += 1.0;
    CHECK(saved.at("0.weight") == first_weight);
    net->load_state(saved);
    CHECK(net->parameters()[0].data() == first_weight);
}

TEST_CASE("load_state rejects missing, extra and misshapen parameters and changes nothing") {
    auto net = make_mlp<double>({3, 4, 2}, "relu", Init::PyTorchDefault, 5);
    const StateDict<double> original = net->state_dict();
    StateDict<double> changed = original;
    for (auto& entry : changed) entry.second += 1.0;

    auto expect_rejected = [&](const StateDict<double>& bad, const std::string& named) {
        try {
            net->load_state(bad);
            FAIL("load_state accepted a bad state");
        } catch (const Error& e) {
            CHECK(std::string(e.what()).find(named) != std::string::npos);
        }
        CHECK(net->state_dict() == original);
    };
    StateDict<double> missing = changed;
    missing.erase("2.bias");
    expect_rejected(missing, "'2.bias'");
    StateDict<double> extra = changed;
    extra["3.weight"] = xt::zeros<double>({2});
    expect_rejected(extra, "'3.weight'");
    StateDict<double> misshapen = changed;
    misshapen["0.weight"] = xt::zeros<double>({3, 4});
    expect_rejected(misshapen, "'0.weight'");
}

TEST_CASE("loss modules apply their reduction") {
    auto logits = Tensor<double>::of({{2.0, -1.0, 0.5}, {0.1, 0.2, 0.3}});
    const Labels labels{0, 2};
    auto onehot = Tensor<double>::of({{1.0, 0, 0}, {0, 0, 1.0}});
    // -log softmax at the label, by hand: row 0: log(e^2 + e^-1 + e^0.5) - 2,
    // row 1: log(e^0.1 + e^0.2 + e^0.3) - 0.3.
    const double row0 = std::log(std::exp(2.0) + std::exp(-1.0) + std::exp(0.5)) - 2.0;
    const double row1 = std::log(std::exp(0.1) + std::exp(0.2) + std::exp(0.3)) - 0.3;
    CHECK(CrossEntropyLoss<double>()(logits, labels).item() == doctest::Approx((row0 + row1) / 2));
    CHECK(CrossEntropyLoss<double>(Reduction::Sum)(logits, labels).item() == doctest::Approx(row0 + row1));
    CHECK(CrossEntropyLoss<double>()(logits, onehot).item() == doctest::Approx((row0 + row1) / 2));
    auto target = Tensor<double>::of({{1.0, -1.0, 0.0}, {0.0, 0.0, 0.0}});
    // squared differences: 1, 0, 0.25, 0.01, 0.04, 0.09 -> sum 1.39
    CHECK(MSELoss<double>()(logits, target).item() == doctest::Approx(1.39 / 6));
    CHECK(MSELoss<double>(Reduction::Sum)(logits, target).item() == doctest::Approx(1.39));
}

TEST_CASE("float modules work the same way") {
    auto net = make_mlp<float>({5, 3, 2}, "sigmoid", Init::KaimingUniform, 1);
    auto loss = CrossEntropyLoss<float>()(net->forward(Tensor<float>::ones({4, 5})), Labels{0, 1, 1, 0});
    loss.backward();
    for (const auto& param : net->parameters()) CHECK(param.grad().defined());
}
