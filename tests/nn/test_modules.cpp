#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

#include <xtensor/xmath.hpp>

#include <tapegrad/autograd/random.hpp>
#include <tapegrad/nn/activation.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/loss.hpp>
#include <tapegrad/nn/mlp.hpp>
#include <tapegrad/nn/sequential.hpp>
#include "../common/error_of.hpp"

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
    auto net = make_mlp<double>(MLPOptions({784, 100, 100, 10}, "sigmoid").init(Init::StandardNormal).seed(42));
    CHECK(net->size() == 5);
    CHECK(names_of(*net) ==
          std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"});
    CHECK(net->parameters()[0].shape() == Shape{100, 784});  // PyTorch layout (out, in)
    CHECK(net->parameters()[5].shape() == Shape{10});
    for (const auto& param : net->parameters()) CHECK(param.requires_grad());
    CHECK(net->forward(Tensor<double>::zeros({3, 784})).shape() == Shape{3, 10});
    CHECK_THROWS_AS(make_mlp<double>(MLPOptions({4, 2}, "softplus").init(Init::PyTorchDefault).seed(0)), Error);
    CHECK_THROWS_AS(make_mlp<double>(MLPOptions({4}, "relu").init(Init::PyTorchDefault).seed(0)), Error);
}

TEST_CASE("nested Sequential prefixes its children's names and prints its structure") {
    auto inner = std::make_shared<Sequential<double>>(
        std::vector<Module<double>::Ptr>{std::make_shared<Linear<double>>(3, 4), std::make_shared<Tanh<double>>()});
    Sequential<double> outer({inner, std::make_shared<Linear<double>>(LinearOptions(4, 2).bias(false))});
    CHECK(names_of(outer) == std::vector<std::string>{"0.0.weight", "0.0.bias", "1.weight"});
    const std::string expected =
        "Sequential(\n"
        "  (0): Sequential(\n"
        "    (0): Linear(in_features=3, out_features=4, bias=true)\n"
        "    (1): Tanh()\n"
        "  )\n"
        "  (1): Linear(in_features=4, out_features=2, bias=false)\n"
        ")";
    CHECK(outer.to_string() == expected);  // PyTorch's repr: no newline of its own
    // operator<< ends the line, as print(model) does: two printouts are two
    // lines, and `std::cout << *model;` leaves the prompt on a line of its own.
    std::ostringstream out;
    out << *inner << outer;
    CHECK(out.str() == inner->to_string() + "\n" + expected + "\n");
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
        const auto options = LinearOptions(fan_in, fan_out).init(init);
        Linear<double> a(LinearOptions(options).seed(7)), b(LinearOptions(options).seed(7));
        Linear<double> c(LinearOptions(options).seed(8));
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
    const Linear<double> xavier(LinearOptions(400, 300).init(Init::XavierUniform).seed(1));
    CHECK(xt::amax(xt::abs(xavier.weight().data()))() <= std::sqrt(6.0 / 700));
    CHECK(xt::all(xt::equal(Linear<double>(LinearOptions(4, 3).init(Init::KaimingNormal).seed(1)).bias().data(), 0.0)));
}

TEST_CASE("state_dict is a deep copy and load_state restores it") {
    auto net = make_mlp<double>(MLPOptions({3, 4, 2}, "tanh").init(Init::XavierUniform).seed(3));
    const StateDict<double> saved = net->state_dict();
    const xt::xarray<double> first_weight = net->parameters()[0].data();
    net->parameters()[0].data_mut() += 1.0;
    CHECK(saved.at("0.weight") == first_weight);
    net->load_state(saved);
    CHECK(net->parameters()[0].data() == first_weight);
}

TEST_CASE("load_state rejects missing, extra and misshapen parameters and changes nothing") {
    auto net = make_mlp<double>(MLPOptions({3, 4, 2}, "relu").init(Init::PyTorchDefault).seed(5));
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
    auto net = make_mlp<float>(MLPOptions({5, 3, 2}, "sigmoid").init(Init::KaimingUniform).seed(1));
    auto loss = CrossEntropyLoss<float>()(net->forward(Tensor<float>::ones({4, 5})), Labels{0, 1, 1, 0});
    loss.backward();
    for (const auto& param : net->parameters()) CHECK(param.grad().defined());
}

TEST_CASE("LinearOptions and MLPOptions reject bad values, naming the option") {
    CHECK_THROWS_WITH_AS(LinearOptions(0, 3), "LinearOptions: in_features must be > 0, got 0", Error);
    CHECK_THROWS_WITH_AS(Linear<double>(4, 0), "LinearOptions: out_features must be > 0, got 0", Error);
    CHECK_THROWS_WITH_AS(MLPOptions({4}, "relu"), "MLPOptions: sizes must be at least two sizes, all > 0, got {4}",
                         Error);
    CHECK_THROWS_WITH_AS(MLPOptions({4, 0, 2}, "relu"), doctest::Contains("got {4, 0, 2}"), Error);
    CHECK_THROWS_WITH_AS(MLPOptions({4, 2}, "softplus"),
                         "MLPOptions: activation must be sigmoid, tanh or relu, got 'softplus'", Error);
    const auto options = LinearOptions(3, 2).bias(false).init(Init::XavierNormal).seed(4);
    CHECK(options.in_features() == 3);
    CHECK(!options.bias());
    CHECK(options.init() == Init::XavierNormal);
    CHECK(options.seed() == std::uint64_t(4));
    CHECK(!Linear<double>(options).bias().defined());
}

// Like torch.manual_seed: layers built without a seed draw one from the global
// generator, so they differ from each other, and the same global seed builds
// the same ones again.
TEST_CASE("modules built without a seed draw it from the global generator") {
    manual_seed(11);
    Linear<float> a(4, 4), b(4, 4);
    CHECK(a.weight().data() != b.weight().data());
    CHECK(a.bias().data() != b.bias().data());
    auto mlp_a = make_mlp<double>({4, 3, 2}, "tanh");
    auto mlp_b = make_mlp<double>({4, 3, 2}, "tanh");
    CHECK(mlp_a->state_dict() != mlp_b->state_dict());

    manual_seed(11);
    Linear<float> again_a(4, 4), again_b(4, 4);
    CHECK(again_a.weight().data() == a.weight().data());
    CHECK(again_b.weight().data() == b.weight().data());
    CHECK(again_b.bias().data() == b.bias().data());
    CHECK(make_mlp<double>({4, 3, 2}, "tanh")->state_dict() == mlp_a->state_dict());
    // The drawn seed is kept, so the layer can be rebuilt from its options.
    REQUIRE(a.options().seed().has_value());
    CHECK(Linear<float>(a.options()).weight().data() == a.weight().data());

    manual_seed(12);
    CHECK(Linear<float>(4, 4).weight().data() != a.weight().data());
    // An explicit seed ignores the global generator.
    const auto seeded = Linear<float>(LinearOptions(4, 4).seed(3)).weight().data();
    manual_seed(99);
    CHECK(Linear<float>(LinearOptions(4, 4).seed(3)).weight().data() == seeded);
}

namespace {
// A module that registers whatever names it is given, to test the checks.
class Registering : public Module<double> {
public:
    Tensor<double> forward(const Tensor<double>& x) override { return x; }
    void parameter(const std::string& name) { register_parameter(name, Tensor<double>::zeros({1})); }
    void module(const std::string& name) { register_module(name, std::make_shared<Tanh<double>>()); }

protected:
    std::string type_name() const override { return "Registering"; }
};
}  // namespace

TEST_CASE("register_parameter and register_module reject empty, dotted and duplicate names") {
    Registering m;
    m.parameter("w");
    m.module("act");
    CHECK_THROWS_WITH_AS(m.parameter(""), "Registering::register_parameter: parameter name must not be empty", Error);
    CHECK_THROWS_WITH_AS(m.module(""), "Registering::register_module: module name must not be empty", Error);
    CHECK_THROWS_WITH_AS(m.parameter("a.b"),
                         "Registering::register_parameter: parameter name 'a.b' must not contain '.'", Error);
    CHECK_THROWS_WITH_AS(m.module("x.y"), doctest::Contains("'x.y' must not contain '.'"), Error);
    CHECK_THROWS_WITH_AS(m.parameter("w"),
                         "Registering::register_parameter: 'w' is already a parameter of this Registering", Error);
    CHECK_THROWS_WITH_AS(m.module("w"), doctest::Contains("'w' is already a parameter"), Error);
    CHECK_THROWS_WITH_AS(m.parameter("act"), doctest::Contains("'act' is already a child module of this Registering"),
                         Error);
    CHECK_THROWS_WITH_AS(m.module("act"), doctest::Contains("register_module: 'act' is already a child module"), Error);
    // Nothing was added by the calls that failed.
    CHECK(names_of(m) == std::vector<std::string>{"w"});
    CHECK(m.children().size() == 1);
}

namespace {
// A module written the short way: children registered where their members
// are made (typed by register_module), the name from the class.
template <class T>
class Block : public Module<T> {
public:
    Block()
        : fc_(this->register_module("fc", std::make_shared<Linear<T>>(LinearOptions(3, 2).seed(1)))),
          act_(this->template register_module<Tanh<T>>("act")),
          scale_(this->register_parameter("scale", Tensor<T>::ones({2}))) {}
    Tensor<T> forward(const Tensor<T>& x) override { return (*act_)((*fc_)(x)) * scale_; }
    std::shared_ptr<Linear<T>> fc_;
    std::shared_ptr<Tanh<T>> act_;
    Tensor<T> scale_;
};

class Net : public Module<double> {
public:
    Net() : blocks_(register_module<Sequential<double>>("blocks")) {
        blocks_->push_back(std::make_shared<Block<double>>());
        blocks_->push_back(std::make_shared<Block<double>>());
        register_buffer("steps", Tensor<double>::zeros({1}), BufferKind::Integer);
    }
    Tensor<double> forward(const Tensor<double>& x) override { return (*blocks_)(x); }
    std::shared_ptr<Sequential<double>> blocks_;
};
}  // namespace

TEST_CASE("register_module returns the child typed; type_name defaults to the class's name") {
    Block<double> block;
    CHECK(block.fc_->weight().shape() == Shape{2, 3});
    CHECK(block.to_string() == "Block(\n  (fc): Linear(in_features=3, out_features=2, bias=true)\n  (act): Tanh()\n)");
    CHECK(names_of(block) == std::vector<std::string>{"scale", "fc.weight", "fc.bias"});
}

namespace {
class Throws : public Module<double> {
public:
    Throws() { throw Error("Throws: refused"); }
    Tensor<double> forward(const Tensor<double>& x) override { return x; }
};
class Holder : public Module<double> {
public:
    void add_throwing() { register_module<Throws>("t"); }
    void add_tanh() { register_module<Tanh<double>>("t"); }
    Tensor<double> forward(const Tensor<double>& x) override { return x; }
};
}  // namespace

TEST_CASE("register_module<M>(name, args...) registers nothing when M's constructor or the name is refused") {
    Holder holder;
    CHECK(testing::error_of([&] { holder.add_throwing(); }) == "Throws: refused");
    CHECK(holder.children().empty());
    holder.add_tanh();
    CHECK(testing::error_of([&] { holder.add_tanh(); }) ==
          "Holder::register_module: 't' is already a child module of this Holder");
    CHECK(holder.children().size() == 1);
}

TEST_CASE("named_parameter, named_buffer and named_module find entries by hierarchical name") {
    Net net;
    CHECK(net.named_parameter("blocks.1.fc.weight").same_as(net.blocks_->named_parameters()[4].second));
    CHECK(net.named_parameter("blocks.0.scale").same_as(dynamic_cast<Block<double>&>((*net.blocks_)[0]).scale_));
    CHECK(net.named_buffer("steps").shape() == Shape{1});
    CHECK(&net.named_module("blocks.1") == &(*net.blocks_)[1]);
    CHECK(&net.named_module("blocks.1.act") == dynamic_cast<Block<double>&>((*net.blocks_)[1]).act_.get());
    CHECK(&net.named_module("") == &net);
    // Every name named_parameters() gives is found, and is the same tensor.
    for (const auto& [name, p] : net.named_parameters()) CHECK(net.named_parameter(name).same_as(p));

    CHECK(testing::error_of([&] { net.named_parameter("blocks.2.fc.weight"); }) ==
          "Net has no parameter 'blocks.2.fc.weight': 'blocks' (Sequential) has no child module '2'");
    CHECK(testing::error_of([&] { net.named_parameter("blocks.0.fc.weights"); }) ==
          "Net has no parameter 'blocks.0.fc.weights': Linear 'blocks.0.fc' has no parameter 'weights'");
    CHECK(testing::error_of([&] { net.named_parameter("steps"); }) == "Net has no parameter 'steps'");
    CHECK(testing::error_of([&] { net.named_buffer("blocks.0.steps"); }) ==
          "Net has no buffer 'blocks.0.steps': Block 'blocks.0' has no buffer 'steps'");
    CHECK(testing::error_of([&] { net.named_module("head"); }) == "Net has no module 'head': Net has no child module 'head'");
    CHECK(testing::error_of([&] { net.named_module("blocks.0.fc.x"); }) ==
          "Net has no module 'blocks.0.fc.x': 'blocks.0.fc' (Linear) has no child module 'x'");
}

TEST_CASE("parameter_count counts scalars, optionally only trainable ones") {
    Net net;
    // Per block: fc 2x3 + 2, scale 2 = 10; as sum(p.numel() for p in net.parameters()).
    CHECK(net.parameter_count() == 20);
    net.named_parameter("blocks.1.fc.weight").set_requires_grad(false);  // frozen
    CHECK(net.parameter_count() == 20);
    CHECK(net.parameter_count(/*trainable_only=*/true) == 14);
    CHECK(Tanh<double>().parameter_count() == 0);
}
