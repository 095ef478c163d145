// The command line of the MNIST example: every knob of the original
// notebook's config, plus where to read data and write results.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <tapegrad/nn/init.hpp>
#include <tapegrad/train/trainer.hpp>

namespace mnist {

// --model cnn's --epochs default (early stopping usually ends it sooner).
constexpr std::size_t cnn_default_epochs = 30;

// The defaults are the notebook's experiment (--model mlp); --model cnn
// switches those it does not set itself to the CNN's (see apply_model_defaults
// in options.cpp).
struct Options {
    std::string data_dir = "data/mnist";
    std::string model = "mlp";  // "mlp" (--layers, --activation) or "cnn" (the fixed CNN of docs/cli.md)
    std::vector<std::size_t> layers = {784, 100, 100, 10};
    std::string activation = "sigmoid";
    std::string optimizer = "sgd";  // "sgd" or "adam"
    std::size_t batch_size = 200;
    std::size_t epochs = 50;
    double lr = 0.2;  // measured best by validation loss; see docs/cli.md
    double momentum = 0.9;  // SGD only
    bool nesterov = false;
    double l2 = 0;
    std::size_t early_stop = 5;           // patience in epochs; 0 = off
    std::optional<std::size_t> valid;     // unset: 10% of the training set
    std::size_t shift = 0;                // augmentation: move each training image by up to N pixels; 0 = off
    std::uint64_t seed = 42;
    std::size_t shards = tapegrad::train::TrainerOptions().shards();  // threads sharing each batch, at most
    std::uint64_t min_shard_work = tapegrad::train::TrainerOptions().min_shard_work();  // multiply-adds a shard, at least
    tapegrad::nn::Init init = tapegrad::nn::Init::XavierUniform;
    std::string save, load, metrics, plot, checkpoint, resume;
};

// Where parsing ended: run with `options`, or exit now with `exit_code`
// (0 after --help, 2 after a usage error, already reported on stderr).
struct ParsedCommandLine {
    Options options;
    std::optional<int> exit_code;
};

ParsedCommandLine parse_command_line(int argc, char** argv);

// The settings a resumed run must share with the run that wrote the
// checkpoint, or its result would not be the uninterrupted run's: numbers
// exactly, --valid as resolved (the trainer adds the data's identity).
std::string training_fingerprint(const Options& options, std::size_t validation_samples);

}  // namespace mnist
