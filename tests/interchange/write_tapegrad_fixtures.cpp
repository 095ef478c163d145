// Writes tapegrad's side of the interchange fixtures into the directory given
// (tests/interchange/fixtures): for each network, weights made by tapegrad
// (seeded, so deterministic) as tapegrad_<net>.npz, and tapegrad_<net>_io.npz
// with a few `inputs` and tapegrad's own eval-mode `logits`. make_fixtures.py
// then loads the weights into PyTorch and adds PyTorch's logits. Run by hand
// (see make_fixtures.py); the test only reads the committed results.
#include <cstdio>
#include <string>

#include <tapegrad/autograd/tape.hpp>
#include <tapegrad/io/npz.hpp>
#include <tapegrad/nn/serialize.hpp>

#include "nets.hpp"

using namespace tapegrad;

namespace {

void write_fixtures(const std::string& dir, const std::string& name, std::uint64_t seed) {
    interchange::Net net = interchange::make_net(name, seed);
    const std::size_t side = net.side;
    if (name == "bn") {
        // Batch norm's affine parameters away from 1 and 0, and its running
        // statistics away from 0 and 1: a few training-mode batches of
        // inputs with mean 0.5 and spread 0.3.
        std::uint64_t stream = 100;
        for (const auto& [param_name, param] : net.model->named_parameters()) {
            Tensor<float> handle = param;
            if (param_name == "1.weight" || param_name == "6.weight")
                handle.data_mut() = Tensor<float>::uniform(param.shape(), 0.5f, 1.5f, derive_seed(seed, stream++)).data();
            if (param_name == "1.bias" || param_name == "6.bias")
                handle.data_mut() = Tensor<float>::uniform(param.shape(), -0.5f, 0.5f, derive_seed(seed, stream++)).data();
        }
        net.model->train();
        NoGradGuard no_grad;
        for (std::uint64_t batch = 0; batch < 5; ++batch)
            (*net.model)(Tensor<float>::normal({16, 1, side, side}, 0.5f, 0.3f, derive_seed(seed, 200 + batch)));
    }
    const Tensor<float> inputs = Tensor<float>::uniform({3, 1, side, side}, 0.0f, 1.0f, derive_seed(seed, 300));
    net.model->eval();
    Tensor<float> logits;
    {
        NoGradGuard no_grad;
        logits = (*net.model)(inputs);
    }
    nn::save(*net.model, dir + "/tapegrad_" + name + ".npz");
    io::npz::write(dir + "/tapegrad_" + name + "_io.npz",
                   {{"inputs", io::npz::to_npy(xt::xarray<float>(inputs.data()))},
                    {"logits", io::npz::to_npy(xt::xarray<float>(logits.data()))}});
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: write_tapegrad_fixtures DIR\n");
        return 2;
    }
    try {
        write_fixtures(argv[1], "cnn", 11);
        write_fixtures(argv[1], "bn", 12);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "write_tapegrad_fixtures: %s\n", e.what());
        return 1;
    }
    return 0;
}
