// A residual CNN with batch norm (residual_cnn.hpp), written as Module
// subclasses and trained on MNIST-layout images by the library's Trainer:
// Adam, mini-batches of images (batch, 1, side, side), early stopping that
// keeps the best epoch's weights and batch-norm statistics.
//
// Exit status: 0 trained and tested; 2 a bad flag or unreadable data.
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include <tapegrad/autograd/random.hpp>
#include <tapegrad/data/dataset.hpp>
#include <tapegrad/nn/serialize.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/train/evaluate.hpp>
#include <tapegrad/train/trainer.hpp>
#include "../parse_flags.hpp"
#include "../unsigned_flags.hpp"
#include "residual_cnn.hpp"

using namespace tapegrad;

namespace {

struct Flags {
    std::string data = "data/mnist";
    std::size_t train_samples = 0;  // 0: all
    std::size_t epochs = 8;
    std::size_t width = 16;
    double lr = 1e-3;
    std::uint64_t seed = 1;
    std::string save;
};

// The side of the square images in `data`; throws when they are not square
// or too small for the two 2x2 poolings.
std::size_t image_side(const Dataset& data, const std::string& dir) {
    std::size_t side = 0;
    while ((side + 1) * (side + 1) <= data.features()) ++side;
    if (side * side != data.features() || side < 4)
        throw Error("'" + dir + "': the images are not square, at least 4x4 (" + std::to_string(data.features()) +
                    " pixels)");
    return side;
}

int run(const Flags& flags) {
    Dataset train = load_mnist_dir(flags.data, "train"), test = load_mnist_dir(flags.data, "test");
    if (train.size() < 20 || test.size() == 0) throw Error("'" + flags.data + "': too few images");
    const std::size_t side = image_side(train, flags.data);
    if (flags.train_samples > 0 && flags.train_samples < train.size()) {
        std::vector<std::size_t> first(flags.train_samples);
        for (std::size_t i = 0; i < first.size(); ++i) first[i] = i;
        train = subset(train, first);
    }
    // The network takes images: the same rows, served as (batch, 1, side, side).
    train = with_sample_shape(std::move(train), {1, side, side});
    test = with_sample_shape(std::move(test), {1, side, side});
    const TrainValidation split = split_train_validation(train, train.size() / 10, derive_seed(flags.seed, 0));

    custom_example::ResidualCNN net(side, flags.width, train.num_classes, derive_seed(flags.seed, 1));
    std::printf("%s\n", net.to_string().c_str());
    std::printf("training %zu images of %zux%zu, validating on %zu, testing on %zu\n", split.train.size(), side, side,
                split.validation.size(), test.size());
    optim::Adam<float> adam(net.parameters(), optim::AdamOptions(flags.lr));
    train::Trainer trainer(net, adam, split.train, split.validation,
                           train::TrainerOptions()
                               .epochs(flags.epochs)
                               .batch_size(64)
                               .seed(derive_seed(flags.seed, 2))
                               .early_stopping_patience(3)
                               .verbose(true));
    const train::Outcome outcome = trainer.run();  // the best epoch's weights and running statistics
    if (outcome == train::Outcome::NonFiniteLoss || outcome == train::Outcome::Diverged) {
        std::fprintf(stderr, "residual_cnn: training failed\n");
        return 1;
    }
    net.eval();  // batch norm: the running statistics, not the test batch's
    std::printf("test accuracy: %.4f\n", train::evaluate(net, test).accuracy);
    if (!flags.save.empty()) nn::save(net, flags.save);  // parameters and buffers, PyTorch's names
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Flags flags;
    CLI::App app{"Trains a residual CNN with batch norm on MNIST-layout images and reports its test accuracy."};
    app.add_option("--data", flags.data, "directory with the MNIST-layout IDX files")->capture_default_str();
    examples::add_unsigned(app, "--train", flags.train_samples, "use only the first N training images; 0 = all")
        ->capture_default_str();
    examples::add_unsigned(app, "--epochs", flags.epochs, "epochs at most (early stopping after 3 without progress)")
        ->check(CLI::PositiveNumber)->capture_default_str();
    examples::add_unsigned(app, "--width", flags.width, "channels of the residual blocks")
        ->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--lr", flags.lr, "Adam's learning rate")->check(CLI::PositiveNumber)->capture_default_str();
    examples::add_unsigned(app, "--seed", flags.seed, "seeds the split, the weights and the batch order")
        ->capture_default_str();
    app.add_option("--save", flags.save, "write the trained weights and batch-norm statistics to FILE.npz");
    if (const auto exit_code = examples::parse_flags(app, argc, argv)) return *exit_code;
    try {
        return run(flags);
    } catch (const Error& e) {
        std::fprintf(stderr, "residual_cnn: %s\n", e.what());
        return 2;
    }
}
