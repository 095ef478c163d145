// Training with dropout (and batch norm): the trainer's modes and seed scopes
// make a resumed run bit for bit the uninterrupted one, and evaluation
// deterministic.
#include <doctest/doctest.h>

#include <random>

#include <tapegrad/autograd/random.hpp>
#include <tapegrad/nn/activation.hpp>
#include <tapegrad/nn/dropout.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/normalization.hpp>
#include <tapegrad/nn/sequential.hpp>
#include <tapegrad/optim/sgd.hpp>
#include <tapegrad/train/evaluate.hpp>
#include <tapegrad/train/trainer.hpp>
#include "../nn/files.hpp"
#include "blobs.hpp"
#include "same_run.hpp"

using namespace tapegrad;
using train::Trainer;
using train::TrainerOptions;

namespace {
// Two Gaussian blobs in 4-D, overlapping enough that the loss keeps moving.
Dataset blobs(std::size_t n, std::uint64_t seed) { return testing::blobs(n, seed, 1.0f); }

using Ptr = nn::Module<float>::Ptr;

std::shared_ptr<nn::Sequential<float>> dropout_net() {
    return std::make_shared<nn::Sequential<float>>(std::vector<Ptr>{
        std::make_shared<nn::Linear<float>>(nn::LinearOptions(4, 16).seed(1)), std::make_shared<nn::ReLU<float>>(),
        std::make_shared<nn::Dropout<float>>(0.5), std::make_shared<nn::Linear<float>>(nn::LinearOptions(16, 2).seed(2))});
}

std::shared_ptr<nn::Sequential<float>> batch_norm_net() {
    return std::make_shared<nn::Sequential<float>>(std::vector<Ptr>{
        std::make_shared<nn::Linear<float>>(nn::LinearOptions(4, 16).seed(1)),
        std::make_shared<nn::BatchNorm1d<float>>(16), std::make_shared<nn::ReLU<float>>(),
        std::make_shared<nn::Dropout<float>>(0.3), std::make_shared<nn::Linear<float>>(nn::LinearOptions(16, 2).seed(2))});
}

struct Run {
    explicit Run(std::shared_ptr<nn::Sequential<float>> net) : model(std::move(net)) {}
    Dataset train_set = blobs(120, 1), valid_set = blobs(60, 2);
    std::shared_ptr<nn::Sequential<float>> model;
    optim::SGD<float> optimizer{model->parameters(), optim::SGDOptions(0.05).momentum(0.9)};
};

TrainerOptions options(std::size_t epochs, const std::string& checkpoint, std::uint64_t seed = 5) {
    return TrainerOptions().epochs(epochs).batch_size(16).seed(seed).checkpoint(checkpoint).fingerprint("dropout");
}

// Trains 3 epochs straight, and 1 epoch then a resume in fresh objects for
// the other 2; both must end with the same bits.
template <class MakeNet>
void check_resume_is_exact(const MakeNet& make_net) {
    TempDir dir;
    Run straight(make_net());
    Trainer whole(*straight.model, straight.optimizer, straight.train_set, straight.valid_set,
                  options(3, dir.file("whole.npz")));
    whole.run();

    Run first(make_net());
    Trainer part(*first.model, first.optimizer, first.train_set, first.valid_set, options(1, dir.file("one.npz")));
    part.run();
    // Draws between the two halves must not matter: the masks come from the
    // trainer's per-batch seed scopes, not the global source.
    manual_seed(1234);
    Run second(make_net());
    Trainer resumed(*second.model, second.optimizer, second.train_set, second.valid_set,
                    options(3, dir.file("resumed.npz")));
    resumed.resume(dir.file("one.npz"));
    resumed.run();

    testing::check_resumed_exactly(*second.model, second.optimizer, resumed.history(), *straight.model,
                                   straight.optimizer, whole.history());
}
}  // namespace

TEST_CASE("a dropout model resumed after epoch 1 ends bit for bit where the uninterrupted run does") {
    check_resume_is_exact(dropout_net);
    // The masks did matter: another TrainerOptions::seed drops other units
    // and trains to other weights (so the equality above is not vacuous).
    Run a(dropout_net()), b(dropout_net());
    Trainer(*a.model, a.optimizer, a.train_set, a.valid_set, options(1, "", 5)).run();
    Trainer(*b.model, b.optimizer, b.train_set, b.valid_set, options(1, "", 6)).run();
    CHECK(a.model->state_dict() != b.model->state_dict());
}

TEST_CASE("evaluate runs in eval mode, deterministically, and restores every module's mode") {
    Run run(dropout_net());
    auto& model = *run.model;
    const train::Score first = train::evaluate(model, run.valid_set);
    const train::Score second = train::evaluate(model, run.valid_set);
    CHECK(first.loss == second.loss);
    CHECK(first.accuracy == second.accuracy);
    CHECK(model.is_training());  // the caller's mode is back
    CHECK(model[2].is_training());
    // Mixed modes survive too: dropout alone in eval.
    model[2].eval();
    train::evaluate(model, run.valid_set);
    CHECK(model.is_training());
    CHECK(!model[2].is_training());
    // The trainer trains with dropout on and gives the modes back as well.
    model.train();
    Trainer trainer(model, run.optimizer, run.train_set, run.valid_set, options(1, ""));
    std::size_t training_batches = 0;
    trainer.transform_batches([&](const Tensor<float>& inputs, std::size_t, std::size_t) {
        training_batches += model[2].is_training();
        return inputs;
    });
    model.eval();
    trainer.run();
    CHECK(training_batches == 120 / 16 + 1);
    CHECK(!model.is_training());
    CHECK(!model[2].is_training());
}

TEST_CASE("a batch norm model resumed from a checkpoint has the running statistics of the uninterrupted run") {
    check_resume_is_exact(batch_norm_net);
    // The statistics did move: 3 epochs of 8 batches were counted.
    Run run(batch_norm_net());
    Trainer(*run.model, run.optimizer, run.train_set, run.valid_set, options(3, "")).run();
    const auto& bn = dynamic_cast<const nn::BatchNorm1d<float>&>((*run.model)[1]);
    CHECK(bn.num_batches_tracked().item() == 3 * (120 / 16 + 1));
    CHECK(bn.running_mean().data() != xt::zeros<float>({16}));
}

TEST_CASE("early stopping's copy of the best weights carries the buffers, through a checkpoint too") {
    Run run(batch_norm_net());
    train::EarlyStopping stopping(2);
    auto& model = *run.model;
    model(Tensor<float>::normal({8, 4}, 0, 1, 1));
    const nn::StateDict<float> best = model.state_dict();
    stopping.observe(1, 0.5, model);
    model(Tensor<float>::normal({8, 4}, 3, 1, 2));
    stopping.observe(2, 0.7, model);
    REQUIRE(model.state_dict() != best);
    stopping.restore_best(model);
    CHECK(model.state_dict() == best);

    train::TrainingProgress progress;
    progress.epoch = 2;
    stopping.store(progress);
    CHECK(progress.arrays.count("best/1.running_mean") == 1);
    CHECK(progress.arrays.count("best/1.num_batches_tracked") == 1);
    model(Tensor<float>::normal({8, 4}, 3, 1, 3));
    train::EarlyStopping restored(2);
    restored.restore(progress, model, "checkpoint.npz");
    restored.restore_best(model);
    CHECK(model.state_dict() == best);
}
