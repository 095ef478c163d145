// PyTorch interchange, both ways, on committed fixtures (make_fixtures.py):
// a state_dict PyTorch saved with np.savez loads into the same tapegrad
// network and gives PyTorch's logits, and weights tapegrad saved loaded into
// PyTorch (load_state_dict, strict) gave logits that tapegrad reproduces.
// PyTorch made the fixtures once; this test never needs it.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include <tapegrad/autograd/tape.hpp>
#include <tapegrad/io/npz.hpp>
#include <tapegrad/nn/serialize.hpp>

#include "../common/temp_dir.hpp"
#include "fixture_files.hpp"
#include "nets.hpp"

using namespace tapegrad;
using interchange::dtypes_and_shapes;
using interchange::member;

namespace {

const std::string fixtures = FIXTURES_DIR;

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
    MESSAGE("largest difference ", interchange::check_close(actual, expected, 1e-5));
}

}  // namespace

TEST_CASE("a PyTorch state_dict saved with np.savez loads into the same network and gives PyTorch's logits") {
    for (const std::string name : {"cnn", "bn"}) {
        CAPTURE(name);
        interchange::Net net = interchange::make_net(name, /*seed=*/99);
        const std::string weights = fixtures + "/torch_" + name + ".npz", io_path = fixtures + "/torch_" + name + "_io.npz";
        const xt::xarray<float> before = eval_logits(*net.model, member<float>(io::npz::read(io_path), "inputs", io_path));
        nn::load(*net.model, weights);  // every name and shape checked
        const io::npz::Members io = io::npz::read(io_path);
        const xt::xarray<float> logits = eval_logits(*net.model, member<float>(io, "inputs", io_path));
        check_close(logits, member<float>(io, "logits", io_path));
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
        check_close(eval_logits(*net.model, member<float>(io, "inputs", io_path)), member<float>(io, "torch_logits", io_path));
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
