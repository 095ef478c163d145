// Writes tapegrad's side of the sequence-module fixtures into the directory
// given (tests/interchange/fixtures): for an LSTM, a GRU and an Embedding,
// weights made by tapegrad (seeded, so deterministic) as
// tapegrad_seq_<net>.npz, and tapegrad_seq_<net>_io.npz with the module's
// `config` and an `input`. make_sequence_fixtures.py then loads the weights
// into PyTorch and adds PyTorch's results. Run by hand (see that script); the
// test only reads the committed results.
#include <cstdio>
#include <string>

#include <tapegrad/autograd/random.hpp>
#include <tapegrad/io/npz.hpp>
#include <tapegrad/nn/serialize.hpp>

#include "sequence_nets.hpp"

using namespace tapegrad;

namespace {

void write_fixtures(const std::string& dir, const std::string& name, const xt::xarray<std::int64_t>& config,
                    const Shape& input_shape, std::uint64_t seed) {
    const interchange::SequenceNet net = interchange::make_sequence_net(config, seed);
    io::npz::Members io{{"config", io::npz::to_npy(config)}};
    if (net.kind == 4) {
        // ids from a seeded uniform draw, the padding id among them
        const Tensor<double> draw = Tensor<double>::uniform(input_shape, 0.0, double(config(1)), derive_seed(seed, 1));
        xt::xarray<std::int64_t> ids = xt::cast<std::int64_t>(xt::floor(draw.data()));
        ids.flat(1) = config(7);
        io["input"] = io::npz::to_npy(ids);
    } else {
        io["input"] = io::npz::to_npy(xt::xarray<double>(Tensor<double>::normal(input_shape, 0.0, 1.0, derive_seed(seed, 1)).data()));
    }
    nn::save(*net.module, dir + "/tapegrad_seq_" + name + ".npz");
    io::npz::write(dir + "/tapegrad_seq_" + name + "_io.npz", io);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: write_sequence_fixtures DIR\n");
        return 2;
    }
    try {
        // 2 layers, bias, batch_first, bidirectional: every parameter name.
        write_fixtures(argv[1], "lstm", {0, 3, 4, 2, 1, 1, 1, -1}, {2, 5, 3}, 21);
        write_fixtures(argv[1], "gru", {1, 3, 4, 2, 1, 0, 1, -1}, {5, 2, 3}, 22);
        write_fixtures(argv[1], "embedding", {4, 7, 3, 1, 1, 0, 0, 0}, {2, 3}, 23);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "write_sequence_fixtures: %s\n", e.what());
        return 1;
    }
    return 0;
}
