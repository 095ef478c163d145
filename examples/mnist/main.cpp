// mnist: trains the original notebook's network (784-100-100-10, sigmoid,
// SGD with momentum, early stopping) on MNIST-layout IDX data, done right,
// or with --model cnn a small convolutional network (cnn.hpp).
// `mnist --help` lists the flags; docs/cli.md has the measured results.
//
// Exit status: 0 success; 1 an unexpected failure (say, a disk full while
// writing results); 2 a bad flag, bad data or a bad --load/--resume file;
// 3 training stopped because the loss became non-finite or training diverged
// (validation loss above 10x the untrained network's, or a non-finite weight;
// then no weights are saved).
//
// Under `mpirun -np N` (with a tapegrad built with MPI) the N processes train
// together, data-parallel: each its share of every batch of --batch-size,
// rank 0 alone printing and writing files. A process that fails ends the job.
#include <cstdio>
#include <iostream>

#include <tapegrad/autograd/random.hpp>
#include <tapegrad/data/augment.hpp>
#include <tapegrad/data/dataset.hpp>
#include <tapegrad/io/atomic_file.hpp>
#include <tapegrad/nn/mlp.hpp>
#include <tapegrad/nn/serialize.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/sgd.hpp>
#include <tapegrad/train/evaluate.hpp>
#include <tapegrad/train/svg_plot.hpp>
#include <tapegrad/train/trainer.hpp>
#if TAPEGRAD_HAS_MPI
#include <tapegrad/dist/mpi.hpp>
#endif
#include "cnn.hpp"
#include "options.hpp"

using namespace tapegrad;

namespace {

constexpr int exit_failure = 1, exit_bad_input = 2, exit_training_failed = 3;
// Independent random streams drawn from --seed.
constexpr std::uint64_t split_stream = 0, init_stream = 1, batch_order_stream = 2, shift_stream = 3;

struct Setup {
    TrainValidation split;
    Dataset test;
    std::shared_ptr<nn::Sequential<float>> model;
};

// The side of a square image of `pixels` pixels; 0 when there is none.
std::size_t image_side(std::size_t pixels) {
    std::size_t side = 0;
    while ((side + 1) * (side + 1) <= pixels) ++side;
    return side * side == pixels ? side : 0;
}

std::size_t class_count(const Dataset& train, const Dataset& test) {
    std::int64_t largest = 0;
    for (const Dataset* d : {&train, &test})
        for (std::int64_t label : d->labels) largest = std::max(largest, label);
    return static_cast<std::size_t>(largest) + 1;
}

// --layers must fit the data: its features in, at least one output per class.
void check_layers(const mnist::Options& o, const Dataset& train, const Dataset& test) {
    if (o.model == "cnn") return;  // built to fit the data
    if (o.layers.front() != train.features())
        throw Error("--layers starts with " + std::to_string(o.layers.front()) + " inputs, but the images in '" +
                    o.data_dir + "' have " + std::to_string(train.features()) + " pixels");
    const std::size_t classes = class_count(train, test);
    if (o.layers.back() < classes)
        throw Error("--layers ends with " + std::to_string(o.layers.back()) + " outputs, but the labels in '" +
                    o.data_dir + "' have " + std::to_string(classes) + " classes");
}

Setup prepare(const mnist::Options& o) {
    Dataset train = load_mnist_dir(o.data_dir, "train");
    Dataset test = load_mnist_dir(o.data_dir, "test");
    // An empty test set would report an accuracy of 0/0 and an empty
    // training set has nothing to learn from.
    for (const auto& [data, file] : {std::pair{&train, "train-images-idx3-ubyte"}, std::pair{&test, "t10k-images-idx3-ubyte"}})
        if (data->size() == 0) throw Error("'" + o.data_dir + "': " + file + " holds no images");
    if (test.features() != train.features())
        throw Error("'" + o.data_dir + "': train images have " + std::to_string(train.features()) +
                    " pixels, test images " + std::to_string(test.features()));
    check_layers(o, train, test);
    const std::size_t side = image_side(train.features());
    if (o.model == "cnn" && side < mnist::cnn_min_side)
        throw Error("--model cnn needs square images of at least " + std::to_string(mnist::cnn_min_side) + "x" +
                    std::to_string(mnist::cnn_min_side) + " pixels, but the images in '" + o.data_dir + "' have " +
                    std::to_string(train.features()) + " pixels");
    if (o.shift > 0) {
        if (side == 0)
            throw Error("--shift needs square images, but the images in '" + o.data_dir + "' have " +
                        std::to_string(train.features()) + " pixels");
        if (o.shift >= side)
            throw Error("--shift " + std::to_string(o.shift) + " must be below the side of the images in '" +
                        o.data_dir + "' (" + std::to_string(side) + " pixels)");
    }
    const std::size_t valid = o.valid.value_or(train.size() / 10);
    if (valid == 0 || valid >= train.size())
        throw Error("--valid " + std::to_string(valid) + " must leave samples for both training and validation (the " +
                    "training set has " + std::to_string(train.size()) + ")");
    if (o.model == "cnn") {
        // The same rows, served to the convolutions as (batch, 1, side, side).
        train = with_sample_shape(std::move(train), {1, side, side});
        test = with_sample_shape(std::move(test), {1, side, side});
    }
    Setup s{split_train_validation(train, valid, derive_seed(o.seed, split_stream)), std::move(test), nullptr};
    const std::uint64_t init_seed = derive_seed(o.seed, init_stream);
    if (o.model == "cnn")
        s.model = mnist::make_cnn(side, class_count(s.split.train, s.test), init_seed);
    else
        s.model = nn::make_mlp<float>(nn::MLPOptions(o.layers, o.activation).init(o.init).seed(init_seed));
    return s;
}

// --shift: each batch's shifts depend only on (seed, epoch, batch), so a
// resumed run moves the images exactly as the uninterrupted one.
train::Trainer::BatchTransform random_shifts(const mnist::Options& o, std::size_t side) {
    const std::uint64_t shift_seed = derive_seed(o.seed, shift_stream);
    const std::size_t shift = o.shift;
    return [=](const Tensor<float>& inputs, std::size_t epoch, std::size_t batch) {
        return random_shift(inputs, side, side, shift, derive_seed(derive_seed(shift_seed, epoch), batch));
    };
}

train::TrainerOptions trainer_options(const mnist::Options& o, std::size_t validation_samples) {
    return train::TrainerOptions()
        .epochs(o.epochs)
        .batch_size(o.batch_size)
        .seed(derive_seed(o.seed, batch_order_stream))
        .early_stopping_patience(o.early_stop)
        .shards(o.shards)
        .min_shard_work(o.min_shard_work)
        .checkpoint(o.checkpoint)
        .fingerprint(mnist::training_fingerprint(o, validation_samples))
        .verbose(true);
}

// The processes training together under mpirun; nullptr: this one alone.
train::Communicator* world = nullptr;
bool writer() { return !world || world->writer(); }

// What the trainer did with the weights, on stderr as before the table of results.
void report_outcome(train::Outcome outcome, const train::Trainer& trainer) {
    const train::EarlyStopping& stopping = trainer.early_stopping();
    if (outcome == train::Outcome::NonFiniteLoss)
        std::fprintf(stderr, "mnist: the loss became non-finite at %s; stopped, keeping the weights of epoch %zu\n",
                     trainer.non_finite_at().c_str(), trainer.history().size());
    else if (outcome == train::Outcome::Diverged)
        std::fprintf(stderr, "mnist: training diverged at %s; stopped\n", trainer.diverged_at().c_str());
    else if (stopping.enabled() && stopping.has_best())
        std::fprintf(stderr, "mnist: kept the weights of epoch %zu (best validation loss %.4f)\n",
                     stopping.best_epoch(), stopping.best_loss());
}

// The metrics and plot show what happened either way; weights of a diverged
// run are not worth keeping.
void write_outputs(const mnist::Options& o, const train::Trainer& trainer, const nn::Module<float>& model,
                   train::Outcome outcome) {
    if (!o.metrics.empty()) io::write_file_atomically(o.metrics, train::to_csv(trainer.history()));
    if (!o.plot.empty()) io::write_file_atomically(o.plot, train::plot_svg(trainer.history(), trainer.kept_epoch()));
    if (o.save.empty()) return;
    if (outcome == train::Outcome::Diverged)
        std::fprintf(stderr, "mnist: not writing '%s': training diverged\n", o.save.c_str());
    else
        nn::save(model, o.save);
}

void print_test_accuracy(nn::Module<float>& model, const Dataset& test) {
    model.eval();
    const train::Score score = world ? train::evaluate(model, test, *world) : train::evaluate(model, test);
    if (writer()) std::printf("test accuracy: %.4f\n", score.accuracy);
}

std::unique_ptr<optim::Optimizer<float>> make_optimizer(const mnist::Options& o, nn::Module<float>& model) {
    if (o.optimizer == "adam")
        return std::make_unique<optim::Adam<float>>(model.parameters(), optim::AdamOptions(o.lr).weight_decay(o.l2));
    return std::make_unique<optim::SGD<float>>(
        model.parameters(), optim::SGDOptions(o.lr).momentum(o.momentum).nesterov(o.nesterov).weight_decay(o.l2));
}

int train_and_test(const mnist::Options& o, Setup& s) {
    const std::unique_ptr<optim::Optimizer<float>> optimizer = make_optimizer(o, *s.model);
    train::Trainer trainer(*s.model, *optimizer, s.split.train, s.split.validation,
                           trainer_options(o, s.split.validation.size()));
    if (o.shift > 0) trainer.transform_batches(random_shifts(o, image_side(s.split.train.features())));
    if (world) trainer.distribute(*world);
    if (!o.resume.empty()) {
        try {
            trainer.resume(o.resume);
        } catch (const Error& e) {
            std::cerr << "mnist: cannot resume: " << e.what() << "\n";
            return exit_bad_input;
        }
    }
    if (writer()) {
        std::printf("training %zu samples, validating on %zu, testing on %zu", s.split.train.size(),
                    s.split.validation.size(), s.test.size());
        if (world) std::printf(" on %zu processes", world->size());
        std::printf("\n");
    }
    const train::Outcome outcome = trainer.run();
    if (writer()) {
        report_outcome(outcome, trainer);
        write_outputs(o, trainer, *s.model, outcome);
    }
    print_test_accuracy(*s.model, s.test);
    const bool failed = outcome == train::Outcome::NonFiniteLoss || outcome == train::Outcome::Diverged;
    return failed ? exit_training_failed : 0;
}

int run(const mnist::Options& o) {
    Setup s;
    try {
        s = prepare(o);
        if (!o.load.empty()) nn::load(*s.model, o.load);
    } catch (const Error& e) {
        std::cerr << "mnist: " << e.what() << "\n";
        return exit_bad_input;
    }
    if (!o.load.empty()) {
        print_test_accuracy(*s.model, s.test);
        return 0;
    }
    return train_and_test(o, s);
}

// Nothing escapes main: the library reports bad paths and data as
// tapegrad::Error (caught in run, exit 2); anything else is unexpected.
int run_command_line(int argc, char** argv) {
    try {
        const mnist::ParsedCommandLine parsed = mnist::parse_command_line(argc, argv);
        if (parsed.exit_code) return *parsed.exit_code;
        return run(parsed.options);
    } catch (const std::exception& e) {
        std::cerr << "mnist: " << e.what() << "\n";
        return exit_failure;
    } catch (...) {
        std::cerr << "mnist: an unknown failure\n";
        return exit_failure;
    }
}

}  // namespace

int main(int argc, char** argv) {
#if TAPEGRAD_HAS_MPI
    // One process alone when not started by mpirun (or with -np 1).
    dist::Mpi mpi(argc, argv);
    if (mpi.size() > 1) world = &mpi;
    // A failure on one process (exit status not 0) ends them all.
    return mpi.finish(run_command_line(argc, argv));
#else
    return run_command_line(argc, argv);
#endif
}
