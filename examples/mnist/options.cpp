#include "options.hpp"

#include <iostream>
#include <sstream>

#include <unistd.h>

#include <CLI/CLI.hpp>

#include "../output_flags.hpp"
#include "../unsigned_flags.hpp"

#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/sgd.hpp>

namespace mnist {

namespace {

using tapegrad::nn::Init;

const Init all_inits[] = {Init::PyTorchDefault, Init::XavierUniform, Init::XavierNormal,
                          Init::KaimingUniform, Init::KaimingNormal, Init::StandardNormal};

std::map<std::string, Init> inits_by_name() {
    std::map<std::string, Init> names;
    for (Init init : all_inits) names[tapegrad::nn::init_name(init)] = init;
    return names;
}

// Flags that only make sense for one model or optimizer are refused with
// the others rather than silently ignored.
void check_model_flags(const CLI::App& app, const Options& o) {
    if (o.model == "cnn")
        for (const char* flag : {"--layers", "--activation", "--init"})
            if (app.count(flag))
                throw CLI::ValidationError(flag, "sets up the MLP; --model cnn is a fixed network (see --help)");
    if (o.optimizer != "sgd")
        for (const char* flag : {"--momentum", "--nesterov"})
            if (app.count(flag)) throw CLI::ValidationError(flag, "is a setting of --optimizer sgd");
}

// --model cnn trains the CNN as PyTorch users would (Adam 1e-3, batch 64,
// PyTorch's initialisation); every flag given explicitly still wins.
void apply_model_defaults(const CLI::App& app, Options& o) {
    const auto unset = [&](const char* flag) { return app.count(flag) == 0; };
    if (o.model == "cnn") {
        if (unset("--optimizer")) o.optimizer = "adam";
        if (unset("--batch-size")) o.batch_size = 64;
        if (unset("--epochs")) o.epochs = cnn_default_epochs;
    }
    if (unset("--lr") && o.optimizer == "adam") o.lr = 1e-3;
    else if (unset("--lr") && o.model == "cnn") o.lr = 0.01;  // SGD on the CNN: a common rate, not tuned
}

void check_combinations(const Options& o) {
    if (o.layers.size() < 2) throw CLI::ValidationError("--layers", "needs at least an input and an output size");
    for (std::size_t width : o.layers)
        if (width == 0) throw CLI::ValidationError("--layers", "every layer needs at least one unit");
    try {
        if (o.optimizer == "sgd")
            tapegrad::optim::SGDOptions(o.lr).momentum(o.momentum).nesterov(o.nesterov).weight_decay(o.l2).validate();
        else
            tapegrad::optim::AdamOptions(o.lr).weight_decay(o.l2);  // each setter checks its value
    } catch (const tapegrad::Error& e) {
        throw CLI::ValidationError("optimizer", e.what());
    }
    if (o.valid && *o.valid == 0) throw CLI::ValidationError("--valid", "needs at least one validation sample");
    examples::check_outputs(
        {{"--save", &o.save}, {"--metrics", &o.metrics}, {"--plot", &o.plot}, {"--checkpoint", &o.checkpoint}});
}

void add_flags(CLI::App& app, Options& o, std::string& init_choice) {
    app.add_option("--data", o.data_dir, "directory with the MNIST-layout IDX files (raw or .gz)")
        ->capture_default_str();
    app.add_option("--model", o.model,
                   "mlp: the notebook's fully connected network (--layers, --activation); cnn: conv 5x5 16, "
                   "max-pool 2, conv 5x5 32, max-pool 2, linear 100, dropout 0.25, linear 10 (ReLU), whose "
                   "defaults become --optimizer adam --lr 0.001 --batch-size 64 --epochs " +
                       std::to_string(cnn_default_epochs) + "; its weights start as PyTorch's")
        ->check(CLI::IsMember({"mlp", "cnn"}))->capture_default_str();
    examples::add_unsigned_list(app, "--layers", o.layers, "MLP layer sizes, input first: 784,100,100,10");
    app.add_option("--activation", o.activation, "MLP hidden-layer activation")
        ->check(CLI::IsMember({"sigmoid", "tanh", "relu"}))->capture_default_str();
    app.add_option("--optimizer", o.optimizer, "sgd (with --momentum, --nesterov) or adam (lr default 0.001)")
        ->check(CLI::IsMember({"sgd", "adam"}))->capture_default_str();
    examples::add_unsigned(app, "--batch-size", o.batch_size, "samples per step")->check(CLI::PositiveNumber)
        ->capture_default_str();
    examples::add_unsigned(app, "--epochs", o.epochs, "passes over the training set")->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--lr", o.lr,
                   "learning rate of the mean-reduced loss (notebook: 0.007 x batch 200 = 1.4); default 0.001 with "
                   "Adam, 0.01 for the CNN with SGD")
        ->capture_default_str();
    app.add_option("--momentum", o.momentum, "SGD momentum, 0 = off")->capture_default_str();
    app.add_flag("--nesterov", o.nesterov, "Nesterov momentum (SGD)");
    app.add_option("--l2", o.l2, "L2 penalty (the optimizer's weight decay)")->capture_default_str();
    examples::add_unsigned(app, "--early-stop", o.early_stop,
                   "stop after N epochs without a better validation loss, keep the best weights; 0 = off")
        ->capture_default_str();
    app.add_option("--valid", o.valid, "validation samples taken from the training set (default: 10%)")
        ->check(examples::WholeNumber);
    examples::add_unsigned(app, "--shift", o.shift,
                   "augment: move each training image by up to N pixels, anew every epoch; 0 = off (the notebook)")
        ->capture_default_str();
    examples::add_unsigned(app, "--shards", o.shards,
                   "most threads that share each batch, each on a row range with one-thread products, fewer "
                   "when a batch's work is small (the MLP below batch 224: TrainerOptions::min_shard_work); 1: "
                   "the whole batch on one thread, products on OpenBLAS's threads (results differ in the last bits)")
        ->check(CLI::PositiveNumber)->capture_default_str();
    examples::add_unsigned(app, "--min-shard-work", o.min_shard_work,
                   "least multiply-adds of forward work a shard is given (TrainerOptions::min_shard_work); 0: "
                   "always --shards threads")
        ->capture_default_str();
    examples::add_unsigned(app, "--seed", o.seed, "seed of the split, the initial weights and the batch order")
        ->capture_default_str();
    app.add_option("--init", init_choice, "MLP weight initialiser")
        ->check(CLI::IsMember(inits_by_name()))->capture_default_str();
    auto* load = app.add_option("--load", o.load, "evaluate the weights in FILE.npz on the test set, no training");
    app.add_option("--save", o.save, "write the trained weights to FILE.npz")->excludes(load);
    app.add_option("--metrics", o.metrics, "write per-epoch metrics to FILE.csv")->excludes(load);
    app.add_option("--plot", o.plot, "draw the loss and accuracy curves into FILE.svg")->excludes(load);
    app.add_option("--checkpoint", o.checkpoint, "save everything needed to resume to FILE after every epoch")
        ->excludes(load);
    app.add_option("--resume", o.resume, "continue the training saved in a --checkpoint FILE")->excludes(load);
}

}  // namespace

ParsedCommandLine parse_command_line(int argc, char** argv) {
    ParsedCommandLine parsed;
    Options& o = parsed.options;
    std::string init_choice = tapegrad::nn::init_name(o.init);
    CLI::App app("Trains a fully connected or a convolutional network on MNIST-layout data and reports its test "
                 "accuracy.", "mnist");
    add_flags(app, o, init_choice);
    try {
        app.parse(argc, argv);
        o.init = inits_by_name().at(init_choice);
        apply_model_defaults(app, o);
        check_model_flags(app, o);
        check_combinations(o);
    } catch (const CLI::CallForHelp& e) {
        parsed.exit_code = app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::cerr << "mnist: " << e.what() << "\nRun with --help for the flags.\n";
        parsed.exit_code = 2;
    }
    return parsed;
}

namespace {
// The shortest text that reads back as exactly `value`: settings that differ
// in any bit differ in the fingerprint (at 6 digits, --lr 0.2000001 was 0.2).
std::string exact(double value) {
    char text[32];
    const auto result = std::to_chars(text, text + sizeof text, value);
    return std::string(text, result.ptr);
}
}  // namespace

std::string training_fingerprint(const Options& o, std::size_t validation_samples) {
    std::ostringstream out;
    out << "model=" << o.model;
    if (o.model == "mlp") {
        out << " layers=";
        for (std::size_t width : o.layers) out << width << ',';
        out << " activation=" << o.activation << " init=" << tapegrad::nn::init_name(o.init);
    }
    out << " optimizer=" << o.optimizer << " batch_size=" << o.batch_size << " lr=" << exact(o.lr);
    if (o.optimizer == "sgd") out << " momentum=" << exact(o.momentum) << " nesterov=" << o.nesterov;
    out << " l2=" << exact(o.l2)
        << " early_stop=" << o.early_stop << " valid=" << validation_samples << " seed=" << o.seed
        << " shift=" << o.shift;
    // Other shard counts sum in another order;
    // 1, the count before the flag existed, stays out so that older
    // checkpoints still resume.
    if (o.shards != 1) out << " shards=" << o.shards;
    // Which batches split follows from it (with more than one shard);
    // the default stays out, as the setting did not exist before.
    if (o.shards != 1 && o.min_shard_work != tapegrad::train::TrainerOptions().min_shard_work())
        out << " min_shard_work=" << o.min_shard_work;
    return out.str();
}

}  // namespace mnist
