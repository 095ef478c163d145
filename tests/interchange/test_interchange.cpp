// PyTorch interchange, both ways, on committed fixtures (make_fixtures.py):
// a state_dict PyTorch saved with np.savez loads into the same tapegrad
// network and gives PyTorch's logits, and weights tapegrad saved loaded into
// PyTorch (load_state_dict, strict) gave logits that tapegrad reproduces.
// PyTorch made the fixtures once; this test never needs it.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <regex>
#include <string>

#include <tapegrad/autograd/tape.hpp>
#include <tapegrad/io/npz.hpp>
#include <tapegrad/nn/serialize.hpp>

#include "../common/temp_dir.hpp"
#include "nets.hpp"

using namespace tapegrad;

namespace {

const std::string fixtures = FIXTURES_DIR;

xt::xarray<float> member(const io::npz::Members& members, const std::string& name, const std::string& path) {
    const auto found = members.find(name);
    REQUIRE_MESSAGE(found != members.end(), path, " has no member ", name);
    return io::npz::from_npy<float>(found->second, path + ":" + name);
}

xt::xarray<float> eval_logits(nn::Module<float>& model, const xt::xarray<float>& inputs) {
    model.eval();
    NoGradGuard no_grad;
    return model(Tensor<float>(Array<float>(inputs))).data();
}

// Logits agree to float32 rounding. Both sides sum the same products in
// float32 but in other orders (im2col + GEMM blocks here, oneDNN or OpenBLAS
// there): a sum of n terms may differ by about sqrt(n) * 2^-24 times the sum
// of the terms' magnitudes, and the largest sums here have 1568 terms (the
// CNN's first Linear) on 400-term convolutions, all of magnitude 1 or less:
// about 40 * 6e-8 * 1 = 2.4e-6 at worst in practice (measured: 3e-8).
// 1e-5 (absolute, plus relative) leaves room for another BLAS and still fails
// on any real mistake: a transposed kernel, another flatten order or batch
// statistics instead of running ones change these logits (about 0.1) by 1e-3
// or more.
void check_close(const xt::xarray<float>& actual, const xt::xarray<float>& expected) {
    REQUIRE(actual.shape() == expected.shape());
    double worst = 0;
    for (std::size_t i = 0; i < actual.size(); ++i) {
        const double a = actual.flat(i), e = expected.flat(i);
        CHECK(std::abs(a - e) <= 1e-5 * (1 + std::abs(e)));
        worst = std::max(worst, std::abs(a - e));
    }
    MESSAGE("largest difference ", worst);
}

// Each .npz member's dtype and shape, from its .npy header's dict, e.g.
// "'descr': '<f4' 'shape': (16, 1, 5, 5)" (the rest of the header, such as
// its padding, may differ between writers).
std::map<std::string, std::string> dtypes_and_shapes(const io::npz::Members& members) {
    static const std::regex descr(R"('descr': *'[^']*')"), shape(R"('shape': *\([^)]*\))");
    std::map<std::string, std::string> found;
    for (const auto& [name, bytes] : members) {
        const std::string header = bytes.substr(0, bytes.find('\n'));
        std::smatch d, s;
        REQUIRE(std::regex_search(header, d, descr));
        REQUIRE(std::regex_search(header, s, shape));
        found[name] = d.str() + " " + s.str();
    }
    return found;
}

}  // namespace

TEST_CASE("a PyTorch state_dict saved with np.savez loads into the same network and gives PyTorch's logits") {
    for (const std::string name : {"cnn", "bn"}) {
        CAPTURE(name);
        interchange::Net net = interchange::make_net(name, /*seed=*/99);
        const std::string weights = fixtures + "/torch_" + name + ".npz", io_path = fixtures + "/torch_" + name + "_io.npz";
        const xt::xarray<float> before = eval_logits(*net.model, member(io::npz::read(io_path), "inputs", io_path));
        nn::load(*net.model, weights);  // every name and shape checked
        const io::npz::Members io = io::npz::read(io_path);
        const xt::xarray<float> logits = eval_logits(*net.model, member(io, "inputs", io_path));
        check_close(logits, member(io, "logits", io_path));
        CHECK(xt::amax(xt::abs(before - logits))() > 1e-2);  // the load changed the network
    }
}

TEST_CASE("weights tapegrad saved gave these logits in PyTorch, and give them in tapegrad") {
    for (const std::string name : {"cnn", "bn"}) {
        CAPTURE(name);
        interchange::Net net = interchange::make_net(name, /*seed=*/98);
        const std::string weights = fixtures + "/tapegrad_" + name + ".npz",
                          io_path = fixtures + "/tapegrad_" + name + "_io.npz";
        nn::load(*net.model, weights);
        const io::npz::Members io = io::npz::read(io_path);
        check_close(eval_logits(*net.model, member(io, "inputs", io_path)), member(io, "torch_logits", io_path));
    }
}

TEST_CASE("tapegrad saves the members PyTorch's state_dict has: names, shapes and dtypes") {
    testing::TempDir dir;
    for (const std::string name : {"cnn", "bn"}) {
        CAPTURE(name);
        interchange::Net net = interchange::make_net(name, /*seed=*/97);
        const std::string saved = dir.file(name + ".npz");
        nn::save(*net.model, saved);
        // num_batches_tracked included, as int64: load_state_dict(strict=True) needs every name.
        CHECK(dtypes_and_shapes(io::npz::read(saved)) ==
              dtypes_and_shapes(io::npz::read(fixtures + "/torch_" + name + ".npz")));
    }
}
