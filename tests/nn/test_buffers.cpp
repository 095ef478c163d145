// Module buffers: registration, names, state_dict, and the files that carry
// them (nn::save / nn::load, the PyTorch interchange of integer buffers).
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/sequential.hpp>
#include <tapegrad/nn/serialize.hpp>
#include <tapegrad/optim/sgd.hpp>
#include "../common/error_of.hpp"
#include "files.hpp"

using namespace tapegrad;
using namespace tapegrad::nn;
using tapegrad::testing::error_of;
namespace npz = tapegrad::io::npz;

namespace {
// A layer with a parameter and both kinds of buffer, as batch norm has:
// forward multiplies (batch, 2) inputs by the weight, adds their column sums
// to the running total and counts its calls.
template <class T>
class Tally : public Module<T> {
public:
    Tally() {
        weight = this->register_parameter("weight", Tensor<T>::ones({2}));
        total = this->register_buffer("total", Tensor<T>::zeros({2}));
        calls = this->register_buffer("calls", Tensor<T>::scalar(0), BufferKind::Integer);
    }
    Tensor<T> forward(const Tensor<T>& input) override {
        total.data_mut() += xt::sum(input.data(), {0});
        calls.data_mut() += T(1);
        return mul(input, weight);
    }
    Tensor<T> weight, total, calls;
    // Exposes the protected registration to the tests.
    using Module<T>::register_buffer;

protected:
    std::string type_name() const override { return "Tally"; }
};

template <class T>
std::shared_ptr<Sequential<T>> tally_net() {
    return std::make_shared<Sequential<T>>(std::vector<typename Module<T>::Ptr>{
        std::make_shared<Tally<T>>(), std::make_shared<Linear<T>>(LinearOptions(2, 2).seed(1))});
}

bool torch_available() { return std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0; }
}  // namespace

TEST_CASE("buffers: hierarchical names, own first, never requiring a gradient, saved in state_dict") {
    auto net = tally_net<double>();
    std::vector<std::string> names;
    for (const auto& [name, buffer] : net->named_buffers()) {
        names.push_back(name);
        CHECK(!buffer.requires_grad());
    }
    CHECK(names == std::vector<std::string>{"0.total", "0.calls"});
    CHECK(net->buffers().size() == 2);
    CHECK(net->parameters().size() == 3);  // buffers are not parameters
    CHECK(net->parameters()[0].same_as(std::dynamic_pointer_cast<Tally<double>>(net->children()[0].second)->weight));
    CHECK(net->integer_buffer_names() == std::set<std::string>{"0.calls"});
    net->forward(Tensor<double>::of({{1.0, 2.0}}));
    const StateDict<double> state = net->state_dict();
    std::vector<std::string> keys;
    for (const auto& entry : state) keys.push_back(entry.first);
    CHECK(keys == std::vector<std::string>{"0.calls", "0.total", "0.weight", "1.bias", "1.weight"});
    CHECK(state.at("0.total") == xt::xarray<double>{1.0, 2.0});
    CHECK(state.at("0.calls")() == 1.0);

    // A deep copy that load_state puts back, into the same handles.
    const Tensor<double> total = net->buffers()[0];
    net->forward(Tensor<double>::of({{1.0, 1.0}}));
    CHECK(total.data() == xt::xarray<double>{2.0, 3.0});
    net->load_state(state);
    CHECK(total.data() == xt::xarray<double>{1.0, 2.0});
    CHECK(net->buffers()[1].item() == 1.0);
}

TEST_CASE("register_buffer refuses what register_parameter refuses, history and fractional counts") {
    Tally<double> tally;
    const auto refused = [&](const std::string& name, const Tensor<double>& value, BufferKind kind,
                             const std::string& words) {
        const std::string message = error_of([&] { tally.register_buffer(name, value, kind); });
        INFO(message);
        CHECK(message.find("Tally::register_buffer") != std::string::npos);
        CHECK(message.find(words) != std::string::npos);
    };
    refused("", Tensor<double>::zeros({1}), BufferKind::Real, "must not be empty");
    refused("a.b", Tensor<double>::zeros({1}), BufferKind::Real, "'a.b' must not contain '.'");
    refused("weight", Tensor<double>::zeros({1}), BufferKind::Real, "'weight' is already a parameter");
    refused("total", Tensor<double>::zeros({1}), BufferKind::Real, "'total' is already a buffer");
    refused("x", Tensor<double>(), BufferKind::Real, "undefined");
    const Tensor<double> leaf = Tensor<double>::ones({2}, true);
    refused("x", mul(leaf, 2.0), BufferKind::Real, "made by mul");
    refused("x", Tensor<double>::scalar(0.5), BufferKind::Integer, "whole numbers, got 0.5");
    CHECK(tally.named_buffers().size() == 2);  // nothing was added
    // A leaf that required a gradient stops requiring one.
    CHECK(!tally.register_buffer("x", leaf).requires_grad());
}

TEST_CASE("load_state checks buffers too, all or nothing") {
    auto net = tally_net<double>();
    net->forward(Tensor<double>::of({{1.0, 2.0}}));
    const StateDict<double> original = net->state_dict();
    const auto rejected = [&](StateDict<double> bad, const std::string& words) {
        const std::string message = error_of([&] { net->load_state(bad); });
        INFO(message);
        CHECK(message.find(words) != std::string::npos);
        CHECK(net->state_dict() == original);
    };
    StateDict<double> changed = original;
    for (auto& entry : changed) entry.second += 1.0;
    StateDict<double> missing = changed;
    missing.erase("0.total");
    rejected(missing, "missing buffer '0.total'");
    StateDict<double> misshapen = changed;
    misshapen["0.calls"] = xt::zeros<double>({2});
    rejected(misshapen, "buffer '0.calls' has shape (2,), the module expects ()");
    StateDict<double> fraction = changed;
    fraction["0.calls"]() = 2.5;
    rejected(fraction, "buffer '0.calls' counts in whole numbers, got 2.5");
    StateDict<double> extra = changed;
    extra["2.other"] = xt::zeros<double>({1});
    rejected(extra, "unexpected entry '2.other'");
}

TEST_CASE("optimizers never step buffers") {
    auto net = tally_net<double>();
    optim::SGD<double> sgd(net->parameters(), optim::SGDOptions(0.1));
    const Tensor<double> out = net->forward(Tensor<double>::of({{1.0, 2.0}}));
    sum(out).backward();
    sgd.step();
    CHECK(net->buffers()[0].data() == xt::xarray<double>{1.0, 2.0});  // only the forward's update
    CHECK(!net->buffers()[0].grad().defined());
    CHECK(net->buffers()[1].item() == 1.0);
}

TEST_CASE_TEMPLATE("save and load carry buffers; integer buffers are stored as int64", T, float, double) {
    TempDir dir;
    auto net = tally_net<T>();
    for (int i = 0; i < 3; ++i) net->forward(Tensor<T>::of({{T(0.25), T(-1)}}));
    const std::string path = dir.file("net.npz");
    save(*net, path);
    const npz::Members members = npz::read(path);
    CHECK(npz::from_npy<std::int64_t>(members.at("0.calls"), "calls")() == 3);
    CHECK(npz::from_npy<T>(members.at("0.total"), "total") == xt::xarray<T>{T(0.75), T(-3)});

    auto other = tally_net<T>();
    load(*other, path);
    CHECK(other->state_dict() == net->state_dict());

    // A count T cannot hold exactly is refused, naming the file and the entry.
    npz::Members big = members;
    xt::xarray<std::int64_t> count = xt::xarray<std::int64_t>::from_shape({});
    count() = (std::int64_t(1) << std::numeric_limits<T>::digits) + 1;
    big["0.calls"] = npz::to_npy(count);
    const std::string big_path = dir.file("big.npz");
    npz::write(big_path, big);
    const StateDict<T> before = other->state_dict();
    const std::string message = error_of([&] { load(*other, big_path); });
    INFO(message);
    CHECK(message.find(big_path) != std::string::npos);
    CHECK(message.find("'0.calls'") != std::string::npos);
    CHECK(message.find("not exactly representable") != std::string::npos);
    CHECK(other->state_dict() == before);
    // Exactly 2^digits still is.
    count() -= 1;
    big["0.calls"] = npz::to_npy(count);
    npz::write(big_path, big);
    load(*other, big_path);
    CHECK(double(other->buffers()[1].item()) == std::ldexp(1.0, std::numeric_limits<T>::digits));

    // A count stored as a float is not what either side writes.
    npz::Members floating = members;
    floating["0.calls"] = npz::to_npy(xt::xarray<T>(T(3)));
    npz::write(big_path, floating);
    CHECK(error_of([&] { load(*other, big_path); }).find("'0.calls' has dtype") != std::string::npos);
}

TEST_CASE("save refuses a fractional count, naming the file and the buffer") {
    TempDir dir;
    auto net = tally_net<double>();
    net->buffers()[1].data_mut()() = 0.5;
    const std::string path = dir.file("net.npz");
    const std::string message = error_of([&] { save(*net, path); });
    CHECK(message.find(path) != std::string::npos);
    CHECK(message.find("buffer '0.calls' counts in whole numbers, got 0.5") != std::string::npos);
    CHECK(dir.entries() == 0);
}

TEST_CASE("PyTorch loads what we save and we load what PyTorch saves, num_batches_tracked included") {
    if (!torch_available()) {
        MESSAGE("skipped: /usr/bin/python3 with torch is not available");
        return;
    }
    TempDir dir;
    // The same layout in torch: a module with a weight and buffers 'total'
    // (float) and 'calls' (int64, as num_batches_tracked), then a Linear.
    auto net = tally_net<float>();
    for (int i = 0; i < 5; ++i) net->forward(Tensor<float>::of({{0.5f, 2.0f}}));
    const std::string ours = dir.file("ours.npz"), theirs = dir.file("theirs.npz");
    save(*net, ours);
    const std::string script =
        "import sys, numpy as np, torch\n"
        "class Tally(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.weight = torch.nn.Parameter(torch.ones(2))\n"
        "        self.register_buffer('total', torch.zeros(2))\n"
        "        self.register_buffer('calls', torch.tensor(0, dtype=torch.long))\n"
        "m = torch.nn.Sequential(Tally(), torch.nn.Linear(2, 2))\n"
        "m.load_state_dict({k: torch.from_numpy(v) for k, v in np.load(sys.argv[1]).items()})\n"
        "assert m[0].calls.dtype == torch.long and m[0].calls.item() == 5, m[0].calls\n"
        "assert (m[0].total == torch.tensor([2.5, 10.0])).all(), m[0].total\n"
        "sd = m.state_dict()\n"
        "sd['0.calls'] += 1000\n"
        "sd['0.total'] *= 2\n"
        "np.savez(sys.argv[2], **{k: v.numpy() for k, v in sd.items()})\n";
    const std::string script_path = dir.file("roundtrip.py");
    std::ofstream(script_path) << script;
    REQUIRE(std::system(("/usr/bin/python3 " + script_path + " " + ours + " " + theirs).c_str()) == 0);
    auto back = tally_net<float>();
    load(*back, theirs);
    CHECK(back->buffers()[1].item() == 1005.0f);
    CHECK(back->buffers()[0].data() == xt::xarray<float>{5.0f, 20.0f});
    CHECK(back->parameters()[1].data() == net->parameters()[1].data());
}
