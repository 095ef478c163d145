// mnist: trains the original notebook's network (784-100-100-10, sigmoid,
// SGD with momentum, early stopping) on MNIST-layout IDX data, done right.
// `mnist --help` lists the flags; the README has the measured results.
//
// Exit status: 0 success; 1 an unexpected failure (say, a disk full while
// writing results); 2 a bad flag, bad data or a bad --load/--resume file;
// 3 training stopped because the loss became non-finite.
#include <cstdio>
#include <iostream>

#include "atomic_file.hpp"
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/data/dataset.hpp>
#include "evaluate.hpp"
#include <tapegrad/nn/mlp.hpp>
#include <tapegrad/nn/serialize.hpp>
#include <tapegrad/optim/sgd.hpp>
#include "options.hpp"
#include "svg_plot.hpp"
#include "training.hpp"

using namespace tapegrad;

namespace {

constexpr int exit_failure = 1, exit_bad_input = 2, exit_non_finite = 3;
// Independent random streams drawn from --seed (training.cpp uses 2 and 3).
constexpr std::uint64_t split_stream = 0, init_stream = 1;

struct Setup {
    TrainValidation split;
    Dataset test;
    std::shared_ptr<nn::Sequential<float>> model;
};

std::size_t class_count(const Dataset& train, const Dataset& test) {
    std::int64_t largest = 0;
    for (const Dataset* d : {&train, &test})
        for (std::int64_t label : d->labels) largest = std::max(largest, label);
    return static_cast<std::size_t>(largest) + 1;
}

// --layers must fit the data: its features in, at least one output per class.
void check_layers(const mnist::Options& o, const Dataset& train, const Dataset& test) {
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
    if (test.features() != train.features())
        throw Error("'" + o.data_dir + "': train images have " + std::to_string(train.features()) +
                    " pixels, test images " + std::to_string(test.features()));
    check_layers(o, train, test);
    if (o.shift > 0) {
        const std::size_t side = mnist::image_side(train.features());
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
    Setup s{split_train_validation(train, valid, derive_seed(o.seed, split_stream)), std::move(test), nullptr};
    s.model = nn::make_mlp<float>(
        nn::MLPOptions(o.layers, o.activation).init(o.init).seed(derive_seed(o.seed, init_stream)));
    return s;
}

void write_outputs(const mnist::Options& o, const mnist::Trainer& trainer, const nn::Module<float>& model) {
    if (!o.metrics.empty()) mnist::write_file_atomically(o.metrics, mnist::to_csv(trainer.history()));
    if (!o.plot.empty()) mnist::write_file_atomically(o.plot, mnist::plot_svg(trainer.history(), trainer.kept_epoch()));
    if (!o.save.empty()) nn::save(model, o.save);
}

void print_test_accuracy(nn::Module<float>& model, const Dataset& test) {
    model.eval();
    std::printf("test accuracy: %.4f\n", mnist::evaluate(model, test).accuracy);
}

int train_and_test(const mnist::Options& o, Setup& s) {
    optim::SGD<float> optimizer(
        s.model->parameters(),
        optim::SGDOptions(o.lr).momentum(o.momentum).nesterov(o.nesterov).weight_decay(o.l2));
    mnist::Trainer trainer(*s.model, optimizer, s.split.train, s.split.validation, o);
    if (!o.resume.empty()) {
        try {
            trainer.resume(o.resume);
        } catch (const Error& e) {
            std::cerr << "mnist: cannot resume: " << e.what() << "\n";
            return exit_bad_input;
        }
    }
    std::printf("training %zu samples, validating on %zu, testing on %zu\n", s.split.train.size(),
                s.split.validation.size(), s.test.size());
    const mnist::Outcome outcome = trainer.run();
    write_outputs(o, trainer, *s.model);
    print_test_accuracy(*s.model, s.test);
    return outcome == mnist::Outcome::NonFiniteLoss ? exit_non_finite : 0;
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

}  // namespace

int main(int argc, char** argv) {
    const mnist::ParsedCommandLine parsed = mnist::parse_command_line(argc, argv);
    if (parsed.exit_code) return *parsed.exit_code;
    try {
        return run(parsed.options);
    } catch (const std::exception& e) {
        std::cerr << "mnist: " << e.what() << "\n";
        return exit_failure;
    }
}
