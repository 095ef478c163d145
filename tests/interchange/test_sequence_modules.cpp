// Embedding, LSTM, GRU, LSTMCell and GRUCell against PyTorch, in double, on
// committed fixtures (make_sequence_fixtures.py): PyTorch's state_dict loads,
// and the outputs, final states and the gradients of a loss with respect to
// every parameter, the input and the initial states are PyTorch's; weights
// tapegrad saved load into PyTorch (strict) and give what tapegrad gives;
// and tapegrad saves exactly the members PyTorch's state_dict has.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/nn/serialize.hpp>

#include "../common/temp_dir.hpp"
#include "fixture_files.hpp"
#include "sequence_nets.hpp"

using namespace tapegrad;
using interchange::member;

namespace {

const std::string fixtures = FIXTURES_DIR;

// The cases make_sequence_fixtures.py wrote: seq_<case>_io.npz.
std::vector<std::string> sequence_cases() {
    std::vector<std::string> cases;
    for (const auto& entry : std::filesystem::directory_iterator(fixtures)) {
        const std::string file = entry.path().filename().string();
        const std::string prefix = "seq_", suffix = "_io.npz";
        if (file.size() > prefix.size() + suffix.size() && file.compare(0, prefix.size(), prefix) == 0 &&
            file.compare(file.size() - suffix.size(), suffix.size(), suffix) == 0)
            cases.push_back(file.substr(prefix.size(), file.size() - prefix.size() - suffix.size()));
    }
    std::sort(cases.begin(), cases.end());
    return cases;
}

// Both sides evaluate the same float64 formulas; they differ only in the
// order of the sums in the matrix products (at most 8 terms here) and in the
// last bit of exp/tanh (libm here, SLEEF's vectorised ones in PyTorch, within
// 1 ulp). Each rounding is about 1e-16 relative; through at most 5 steps and
// 2 layers, where each step multiplies errors by gate derivatives (<= 1) and
// weights (|w| <= 0.5, 8 per sum), and back again for the gradients, they
// stay far below 1e-12 (measured: 7e-16). 1e-12 relative to (1 + |value|)
// still fails on any real mistake: another gate order, a bias in the wrong
// place or a missing time step changes these values by 1e-2 or more.
double check_close(const xt::xarray<double>& actual, const xt::xarray<double>& expected) {
    return interchange::check_close(actual, expected, 1e-12);
}

Tensor<double> optional_leaf(const io::npz::Members& io, const std::string& name, const std::string& path) {
    return io.count(name) ? Tensor<double>(Array<double>(member<double>(io, name, path)), true) : Tensor<double>();
}

}  // namespace

TEST_CASE("PyTorch's sequence modules, loaded: the same outputs, final states and gradients") {
    const std::vector<std::string> cases = sequence_cases();
    CHECK(cases.size() == 18);  // every case of make_sequence_fixtures.py is committed
    double worst = 0;
    for (const std::string& name : cases) {
        CAPTURE(name);
        const std::string io_path = fixtures + "/seq_" + name + "_io.npz";
        const io::npz::Members io = io::npz::read(io_path);
        const interchange::SequenceNet net = interchange::make_sequence_net(member<std::int64_t>(io, "config", io_path), 7);
        nn::load(*net.module, fixtures + "/seq_" + name + ".npz");  // PyTorch's names and shapes, all of them

        Tensor<double> input;
        Indices ids;
        if (net.kind == 4)
            ids = member<std::int64_t>(io, "input", io_path);
        else
            input = Tensor<double>(Array<double>(member<double>(io, "input", io_path)), true);
        const Tensor<double> h0 = optional_leaf(io, "h0", io_path), c0 = optional_leaf(io, "c0", io_path);
        const auto results = interchange::run_sequence_net(net, input, ids, h0, c0);

        Tensor<double> loss = Tensor<double>::scalar(0);
        for (const auto& [result, value] : results) {
            CAPTURE(result);
            worst = std::max(worst, check_close(value.data(), member<double>(io, result, io_path)));
            loss = loss + sum(value * Tensor<double>(Array<double>(member<double>(io, "r_" + result, io_path))));
        }
        loss.backward();

        std::size_t compared = 0;
        const auto check_grad = [&](const std::string& what, const Tensor<double>& leaf) {
            CAPTURE(what);
            REQUIRE(leaf.grad().defined());
            worst = std::max(worst, check_close(leaf.grad().data(), member<double>(io, "grad." + what, io_path)));
            ++compared;
        };
        for (const auto& [param_name, param] : net.module->named_parameters()) check_grad(param_name, param);
        if (input.defined()) check_grad("input", input);
        if (h0.defined()) check_grad("h0", h0);
        if (c0.defined()) check_grad("c0", c0);
        // Every gradient PyTorch recorded was compared.
        CHECK(compared == std::size_t(std::count_if(io.begin(), io.end(), [](const auto& m) {
                  return m.first.compare(0, 5, "grad.") == 0;
              })));
    }
    MESSAGE("largest difference from PyTorch, relative to 1 + |value|: ", worst);
}

TEST_CASE("sequence modules' weights tapegrad saved gave these results in PyTorch, and give them in tapegrad") {
    for (const std::string name : {"lstm", "gru", "embedding"}) {
        CAPTURE(name);
        const std::string io_path = fixtures + "/tapegrad_seq_" + name + "_io.npz";
        const io::npz::Members io = io::npz::read(io_path);
        const interchange::SequenceNet net = interchange::make_sequence_net(member<std::int64_t>(io, "config", io_path), 99);
        nn::load(*net.module, fixtures + "/tapegrad_seq_" + name + ".npz");
        Tensor<double> input;
        Indices ids;
        if (net.kind == 4)
            ids = member<std::int64_t>(io, "input", io_path);
        else
            input = Tensor<double>(Array<double>(member<double>(io, "input", io_path)));
        const auto results = interchange::run_sequence_net(net, input, ids, {}, {});
        for (const auto& [result, value] : results) {
            CAPTURE(result);
            check_close(value.data(), member<double>(io, "torch_" + result, io_path));
        }
    }
}

TEST_CASE("sequence modules save the members PyTorch's state_dict has: names, shapes and dtypes") {
    testing::TempDir dir;
    for (const std::string& name : sequence_cases()) {
        CAPTURE(name);
        const std::string io_path = fixtures + "/seq_" + name + "_io.npz";
        const interchange::SequenceNet net =
            interchange::make_sequence_net(member<std::int64_t>(io::npz::read(io_path), "config", io_path), 5);
        const std::string saved = dir.file(name + ".npz");
        nn::save(*net.module, saved);
        CHECK(interchange::dtypes_and_shapes(io::npz::read(saved)) ==
              interchange::dtypes_and_shapes(io::npz::read(fixtures + "/seq_" + name + ".npz")));
    }
}
