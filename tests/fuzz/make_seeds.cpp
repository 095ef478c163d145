// Writes the seed corpus, one folder per fuzz target under argv[1], with the
// library's own writers, so seeds always match what tapegrad produces and no
// binary blobs live in git. Small on purpose: libFuzzer mutates faster, and
// -max_len comes from the largest seed.
#include <xtensor/xarray.hpp>
#include <xtensor/xbuilder.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/data/idx.hpp>
#include <tapegrad/io/npz.hpp>
#include "../common/zero_bombs.hpp"
#include "tiny_training.hpp"

namespace fs = std::filesystem;
namespace npz = tapegrad::io::npz;

namespace {

tapegrad::IdxImages images(std::size_t count, std::size_t rows, std::size_t cols) {
    tapegrad::IdxImages im{count, rows, cols, {}};
    for (std::size_t i = 0; i < count * rows * cols; ++i) im.pixels.push_back(std::uint8_t(i * 37));
    return im;
}

void write_bytes(const fs::path& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}

template <class X>
xt::xarray<X> ramp(const std::vector<std::size_t>& shape) {
    xt::xarray<X> a = xt::xarray<X>::from_shape(shape);
    for (std::size_t i = 0; i < a.size(); ++i) a.flat(i) = X(i % 7) - X(2);
    return a;
}

// What nn::save writes for make_mlp({4, 3, 2}) (Linear, activation, Linear):
// one member per parameter, named as state_dict() names them.
npz::Members mlp_state(const std::string& prefix) {
    return {{prefix + "0.weight", npz::to_npy(ramp<float>({3, 4}))},
            {prefix + "0.bias", npz::to_npy(ramp<float>({3}))},
            {prefix + "2.weight", npz::to_npy(ramp<float>({2, 3}))},
            {prefix + "2.bias", npz::to_npy(ramp<float>({2}))}};
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <seed-dir>\n", argv[0]);
        return 2;
    }
    const fs::path root = argv[1];
    for (const char* target : {"fuzz_idx", "fuzz_idx_gzip", "fuzz_npz", "fuzz_npy", "fuzz_checkpoint"}) fs::create_directories(root / target);
    const std::vector<std::uint8_t> labels{0, 1, 2, 9, 5};

    // fuzz_idx reads files as they are: raw and gzip.
    for (bool gz : {false, true}) {
        const std::string ext = gz ? ".gz" : "";
        tapegrad::write_idx_images((root / "fuzz_idx" / ("images" + ext)).string(), images(3, 4, 5), gz);
        tapegrad::write_idx_labels((root / "fuzz_idx" / ("labels" + ext)).string(), labels, gz);
    }
    tapegrad::write_idx_images((root / "fuzz_idx" / "empty-images").string(), images(0, 28, 28));
    // Small files that inflate to megabytes (about 1 KB per MiB): a header
    // claiming 60000 x 28 x 28 images over 8 MiB of zeros (truncated), and two
    // labels followed by 8 MiB of zeros (trailing garbage, to be refused at
    // its first byte). Mutations of these probe the caps and the growth of
    // buffers as data arrives; the seeds stay under run.sh's 16 KB -max_len.
    using tapegrad::testing::gzip_with_zeros;
    write_bytes(root / "fuzz_idx" / "bomb-images.gz",
                gzip_with_zeros(std::string("\0\0\x08\x03\0\0\xea\x60\0\0\0\x1c\0\0\0\x1c", 16), 8));
    write_bytes(root / "fuzz_idx" / "bomb-trailing.gz",
                gzip_with_zeros(std::string("\0\0\x08\x01\0\0\0\x02\x07\x09", 10), 8));

    // fuzz_idx_gzip compresses its input itself: uncompressed files.
    tapegrad::write_idx_images((root / "fuzz_idx_gzip" / "images").string(), images(2, 3, 3));
    tapegrad::write_idx_labels((root / "fuzz_idx_gzip" / "labels").string(), labels);

    // fuzz_npz: a saved model, and a checkpoint's mix of dtypes.
    npz::write((root / "fuzz_npz" / "model.npz").string(), mlp_state(""));
    npz::Members checkpoint = mlp_state("model/");
    checkpoint["optim/buffer/0.0.weight"] = npz::to_npy(ramp<float>({3, 4}));
    checkpoint["optim/scalar/lr"] = npz::to_npy(xt::xarray<double>(0.1));
    checkpoint["meta/epoch"] = npz::to_npy(xt::xarray<std::int64_t>(3));
    checkpoint["meta/text/rng"] = npz::to_npy(xt::xarray<std::uint8_t>{'4', '2'});
    npz::write((root / "fuzz_npz" / "checkpoint.npz").string(), checkpoint);
    npz::write((root / "fuzz_npz" / "empty.npz").string(), {});
    // A deflated member of 8 MiB of zeros whose .npy header says so: the
    // zip-bomb shape, small enough to mutate.
    write_bytes(root / "fuzz_npz" / "bomb.npz",
                tapegrad::testing::zip_with_zeros("0.weight.npy",
                                                  tapegrad::testing::npy_header("<f4", "(2097152,)"), 8));

    // fuzz_npy: single members of every dtype and rank, and a Fortran-order one.
    write_bytes(root / "fuzz_npy" / "f32-2d.npy", npz::to_npy(ramp<float>({2, 3})));
    write_bytes(root / "fuzz_npy" / "f64-0d.npy", npz::to_npy(xt::xarray<double>(1.5)));
    write_bytes(root / "fuzz_npy" / "i64-1d.npy", npz::to_npy(ramp<std::int64_t>({4})));
    write_bytes(root / "fuzz_npy" / "u8-3d.npy", npz::to_npy(ramp<std::uint8_t>({2, 1, 3})));
    write_bytes(root / "fuzz_npy" / "f32-empty.npy", npz::to_npy(ramp<float>({0, 3})));
    std::string fortran = npz::to_npy(ramp<double>({2, 3}));
    const std::size_t flag = fortran.find("False");
    if (flag != std::string::npos) fortran.replace(flag, 5, "True ");
    write_bytes(root / "fuzz_npy" / "f64-fortran.npy", fortran);

    // fuzz_checkpoint: real checkpoints of the setup the target resumes,
    // written by its Trainer after 1, 2 and 3 epochs, with SGD and with Adam
    // (each about 4 KB).
    for (bool adam : {false, true}) {
        for (std::size_t epochs : {1, 2, 3}) {
            const fs::path path = root / "fuzz_checkpoint" /
                                  ((adam ? "adam-" : "sgd-") + std::to_string(epochs) + "-epochs.npz");
            tiny::Setup(adam, path.string(), epochs).trainer.run();
        }
    }
    return 0;
}
