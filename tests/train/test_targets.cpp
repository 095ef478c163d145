// The Trainer on targets other than class labels (Dataset::targets): a
// regression learns down to its noise, on any number of shards and through a
// resume, sequence targets reach the loss with their own rows, and what does
// not fit is refused with the shapes named.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <mutex>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/io/npz.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/optim/sgd.hpp>
#include <tapegrad/train/evaluate.hpp>
#include <tapegrad/train/svg_plot.hpp>
#include <tapegrad/train/trainer.hpp>
#include "../common/error_of.hpp"
#include "../nn/files.hpp"
#include "blobs.hpp"
#include "same_run.hpp"

using namespace tapegrad;
using testing::error_of;
using train::Outcome;
using train::Trainer;
using train::TrainerOptions;

namespace {

constexpr float noise = 0.1f;  // of noisy_linear_map's targets: the best model's MSE is noise^2

const train::TargetLoss mse = [](const Tensor<float>& outputs, const Tensor<float>& targets) {
    return mse_loss(outputs, targets);
};

struct Regression {
    explicit Regression(std::size_t train_size = 400) : train_set(testing::noisy_linear_map(train_size, 1, noise)) {}
    Dataset train_set, valid_set = testing::noisy_linear_map(100, 2, noise);
    std::shared_ptr<nn::Linear<float>> model = std::make_shared<nn::Linear<float>>(nn::LinearOptions(4, 2).seed(5));
    optim::SGD<float> optimizer{model->parameters(), optim::SGDOptions(0.05).momentum(0.9)};

    Trainer trainer(const TrainerOptions& options) {
        Trainer t(*model, optimizer, train_set, valid_set, options);
        t.target_loss(mse);
        return t;
    }
};

// Batch 30 over 130 samples, as the shard tests of classifiers: the last
// batch (10 rows) splits unevenly into 3.
TrainerOptions shard_options(std::size_t shards, std::size_t epochs = 3, const std::string& checkpoint = "") {
    return TrainerOptions().epochs(epochs).batch_size(30).seed(7).shards(shards).min_shard_work(0).checkpoint(checkpoint)
        .fingerprint("regression");
}

}  // namespace

TEST_CASE("a regression trained by the Trainer reaches its noise level; no accuracy is recorded") {
    Regression r;
    const double untrained = train::evaluate(*r.model, r.valid_set, mse).loss;
    Trainer trainer = r.trainer(TrainerOptions().epochs(30).batch_size(20).seed(3).early_stopping_patience(5));
    trainer.run();
    const double final_loss = train::evaluate(*r.model, r.valid_set, mse).loss;
    CAPTURE(untrained);
    CAPTURE(final_loss);
    // The targets' mean square is about 4.75 (blobs.hpp); the untrained
    // Linear (weights within +-1/2) predicts far from them.
    CHECK(untrained > 2.0);
    // The fitted map's error is noise^2 = 0.01 plus the estimation error of
    // 10 parameters from 400 samples (noise^2 * 10 / 800 ~ 1e-4); the
    // validation MSE of 200 values estimates it with a standard deviation of
    // noise^2 * sqrt(2 / 200) = 1e-3. 1.5 noise^2 is 5 of those above; below
    // 0.5 noise^2 (5 below) the model would be predicting the noise, which
    // only a leak of the targets into the inputs (or rows paired wrongly
    // with a lucky loss) could do.
    CHECK(final_loss < 1.5 * noise * noise);
    CHECK(final_loss > 0.5 * noise * noise);
    CHECK(final_loss < untrained / 100);
    // Early stopping kept the best epoch: the validation loss recorded for it.
    REQUIRE(trainer.kept_epoch() >= 1);
    CHECK(trainer.history()[trainer.kept_epoch() - 1].valid_loss == final_loss);
    for (const train::EpochRecord& record : trainer.history()) {
        CHECK(std::isnan(record.train_accuracy));
        CHECK(std::isnan(record.valid_accuracy));
        CHECK(std::isfinite(record.train_loss));
    }
    CHECK(std::isnan(train::evaluate(*r.model, r.valid_set, mse).accuracy));

    // The metrics: empty accuracy cells, the loss panel alone.
    const std::string csv = train::to_csv(trainer.history());
    CHECK(csv.substr(0, csv.find('\n')) == "epoch,train_loss,train_accuracy,valid_loss,valid_accuracy,seconds");
    const std::string first = csv.substr(csv.find('\n') + 1, csv.find('\n', csv.find('\n') + 1) - csv.find('\n') - 1);
    CAPTURE(first);
    CHECK(first.find("1,") == 0);
    CHECK(first.find(",,") != std::string::npos);
    CHECK(first.find("nan") == std::string::npos);
    const std::string svg = train::plot_svg(trainer.history(), trainer.kept_epoch());
    CHECK(svg.find("Accuracy") == std::string::npos);
    CHECK(svg.find("mean loss") != std::string::npos);
    CHECK(svg.find("nan") == std::string::npos);
}

TEST_CASE("a regression on 1, 2 and 3 shards: the same bits for each count, one thread's result up to rounding") {
    Regression one, again, two, three;
    Trainer t1 = one.trainer(shard_options(1));
    t1.run();
    again.trainer(shard_options(1)).run();
    CHECK(again.model->state_dict() == one.model->state_dict());
    Trainer t2 = two.trainer(shard_options(2));
    t2.run();
    Trainer t3 = three.trainer(shard_options(3));
    t3.run();
    Regression two_again;
    two_again.trainer(shard_options(2)).run();
    CHECK(two_again.model->state_dict() == two.model->state_dict());
    // Weights of order 1 after 15 steps of lr 0.05 with momentum: the
    // shards' sums in another order (float32, ~1e-7 each) moved them by an
    // ulp or two (measured 1.2e-7); a shard's targets paired with other rows,
    // or its loss weighted wrongly, would move them by orders of magnitude more.
    for (const auto* run : {&two, &three}) testing::check_states_close(run->model->state_dict(), one.model->state_dict(), 1e-5f);
    for (const Trainer* t : {&t2, &t3})
        for (std::size_t e = 0; e < 3; ++e) {
            // Losses of order 0.01-5 summed in double from float values.
            CHECK(std::abs(t->history()[e].train_loss - t1.history()[e].train_loss) < 1e-5);
            CHECK(std::abs(t->history()[e].valid_loss - t1.history()[e].valid_loss) < 1e-5);
        }
}

TEST_CASE("a regression on shards resumed from its checkpoint ends bit for bit where the uninterrupted run does") {
    TempDir dir;
    Regression straight;
    Trainer whole = straight.trainer(shard_options(2, 3));
    whole.run();
    Regression first;
    first.trainer(shard_options(2, 1, dir.file("one.npz"))).run();
    Regression second;
    Trainer resumed = second.trainer(shard_options(2, 3));
    resumed.resume(dir.file("one.npz"));
    resumed.run();
    testing::check_resumed_exactly(*second.model, second.optimizer, resumed.history(), *straight.model,
                                   straight.optimizer, whole.history());
    for (const train::EpochRecord& record : resumed.history()) CHECK(std::isnan(record.valid_accuracy));

    // Other targets are other training data; an accuracy in the history of a
    // run on targets was not written by a trainer.
    Regression other;
    other.train_set.targets(7, 1) += 1.0f;
    Trainer mismatched = other.trainer(shard_options(2, 3));
    CHECK(error_of([&] { mismatched.resume(dir.file("one.npz")); }).find("other training data") != std::string::npos);
    namespace npz = io::npz;
    npz::Members crafted = npz::read(dir.file("one.npz"));
    xt::xarray<double> accuracy = {0.5};
    crafted["meta/array/history/train_accuracy"] = npz::to_npy(accuracy);
    npz::write(dir.file("one.npz"), crafted);
    Regression fresh;
    Trainer refusing = fresh.trainer(shard_options(2, 3));
    const nn::StateDict<float> before = fresh.model->state_dict();
    const std::string message = error_of([&] { refusing.resume(dir.file("one.npz")); });
    CHECK(message.find("entry 'meta/array/history/train_accuracy': 0.5 at epoch 1, but a run on targets measures no "
                       "accuracy (NaN)") != std::string::npos);
    CHECK(fresh.model->state_dict() == before);
    CHECK(refusing.history().empty());
}

TEST_CASE("a target loss below 0 (a log-likelihood's) trains, and resumes, without a false divergence") {
    // MSE - 10: the same gradients, a loss always below 0. Against 10 times a
    // negative untrained loss every epoch looked diverged, and resume refused
    // the negative untrained loss the checkpoint holds.
    TempDir dir;
    const train::TargetLoss shifted = [](const Tensor<float>& outputs, const Tensor<float>& targets) {
        return mse_loss(outputs, targets) - Tensor<float>::scalar(10.0f);
    };
    Regression first, second;
    Trainer trainer(*first.model, first.optimizer, first.train_set, first.valid_set,
                    shard_options(1, 2, dir.file("c.npz")));
    trainer.target_loss(shifted);
    CHECK(trainer.run() == Outcome::AllEpochs);
    CHECK(trainer.history().back().valid_loss < -9.0);  // MSE from ~2.9 untrained to below 1
    Trainer resumed(*second.model, second.optimizer, second.train_set, second.valid_set, shard_options(1, 3));
    resumed.target_loss(shifted);
    resumed.resume(dir.file("c.npz"));
    CHECK(resumed.run() == Outcome::AllEpochs);
    CHECK(resumed.history().size() == 3);
}

TEST_CASE("sequence targets (N, T) reach the loss with their own rows, whole or on shards") {
    // Row i: inputs (i, 0, 0), targets the tokens (i % 27, (i + 1) % 27, ...)
    // as whole numbers, as a language model's next tokens would be. The model
    // copies the inputs' first column out T times (times a weight that stays
    // 1: the loss is 0 times the outputs), so the loss sees which row each
    // output came from and checks that its targets are that row's.
    constexpr std::size_t n = 61, T = 5;
    Dataset train_set;
    train_set.inputs = xt::zeros<float>({n, std::size_t(3)});
    train_set.targets = xt::xtensor<float, 2>::from_shape({n, T});
    for (std::size_t i = 0; i < n; ++i) {
        train_set.inputs(i, 0) = float(i);
        for (std::size_t t = 0; t < T; ++t) train_set.targets(i, t) = float((i + t) % 27);
    }
    struct Copy : nn::Module<float> {
        Tensor<float> weight = Tensor<float>(xt::ones<float>({std::size_t(1)}), true);
        Copy() { register_parameter("weight", weight); }
        Tensor<float> forward(const Tensor<float>& x) override {
            return mul(matmul(x, Tensor<float>(xt::xarray<float>({{1, 1, 1, 1, 1}, {0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}}))),
                       weight);
        }
        std::string type_name() const override { return "Copy"; }
    };
    for (const std::size_t shards : {1, 3}) {
        CAPTURE(shards);
        Copy model;
        optim::SGD<float> optimizer(model.parameters(), optim::SGDOptions(0.1));
        Trainer trainer(model, optimizer, train_set, train_set,
                        TrainerOptions().epochs(2).batch_size(16).seed(4).shards(shards).min_shard_work(0));
        std::mutex mutex;
        std::size_t rows_seen = 0, wrong = 0;
        trainer.target_loss([&](const Tensor<float>& outputs, const Tensor<float>& targets) {
            REQUIRE(targets.shape() == Shape{outputs.shape()[0], T});
            const Indices tokens = xt::cast<std::int64_t>(targets.data());  // as a token loss would take them
            const std::lock_guard<std::mutex> lock(mutex);
            for (std::size_t r = 0; r < outputs.shape()[0]; ++r) {
                const auto row = std::size_t(std::lround(outputs.data()(r, 0)));
                for (std::size_t t = 0; t < T; ++t) wrong += tokens(r, t) != std::int64_t((row + t) % 27);
                ++rows_seen;
            }
            return mean(mul(outputs, Tensor<float>::scalar(0.0f)));
        });
        trainer.run();
        // Two epochs of training batches plus the validation passes (the
        // untrained one and one an epoch), every row once each.
        CHECK(rows_seen == 5 * n);
        CHECK(wrong == 0);
    }
}

TEST_CASE("targets that do not fit are refused with a tapegrad::Error naming the shapes") {
    Regression r;
    Dataset short_targets = r.train_set;
    short_targets.targets = xt::zeros<float>({std::size_t(399), std::size_t(2)});
    CHECK(error_of([&] { Trainer t(*r.model, r.optimizer, short_targets, r.valid_set, TrainerOptions()); }) ==
          "Trainer: the training set: the data set has 400 input rows but targets of shape (399, 2) (inputs (400, 4))");
    CHECK(error_of([&] { BatchLoader loader(short_targets, LoaderOptions(10)); }) ==
          "BatchLoader: the data set has 400 input rows but targets of shape (399, 2) (inputs (400, 4))");
    CHECK(error_of([&] { train::evaluate(*r.model, short_targets, mse); }).find("(399, 2)") != std::string::npos);

    Dataset both = r.train_set;
    both.labels.assign(400, 0);
    CHECK(error_of([&] { BatchLoader loader(both, LoaderOptions(10)); }) ==
          "BatchLoader: the data set has both 400 labels and targets of shape (400, 2); a sample's answer is one or "
          "the other");

    Dataset wide = testing::noisy_linear_map(50, 3, noise);
    wide.targets = xt::zeros<float>({std::size_t(50), std::size_t(3)});
    CHECK(error_of([&] { Trainer t(*r.model, r.optimizer, r.train_set, wide, TrainerOptions()); }) ==
          "Trainer: the training set has targets of shape (400, 2) but the validation set targets of shape (50, 3)");
    const Dataset labelled = testing::blobs(50, 3, 1.0f);
    CHECK(error_of([&] { Trainer t(*r.model, r.optimizer, r.train_set, labelled, TrainerOptions()); }) ==
          "Trainer: the training set has targets of shape (400, 2) but the validation set class labels");

    // The loss must be one for targets, given before run(), which otherwise
    // changes nothing.
    Trainer trainer(*r.model, r.optimizer, r.train_set, r.valid_set, TrainerOptions().epochs(1));
    CHECK(error_of([&] { trainer.loss([](const Tensor<float>& l, const Labels& y) { return cross_entropy(l, y); }); })
              .find("loss() takes class labels, but the data sets have targets of shape (400, 2)") != std::string::npos);
    const nn::StateDict<float> before = r.model->state_dict();
    CHECK(error_of([&] { trainer.run(); }) ==
          "Trainer: the data sets have targets of shape (400, 2), and no loss to compare them with: give one with "
          "target_loss()");
    CHECK(r.model->state_dict() == before);
    CHECK(trainer.history().empty());
    CHECK(error_of([&] { train::evaluate(*r.model, r.valid_set); }).find("not class labels") != std::string::npos);

    Trainer classifier(*r.model, r.optimizer, labelled, labelled, TrainerOptions());
    CHECK(error_of([&] { classifier.target_loss(mse); }).find("target_loss() is for data sets with targets") !=
          std::string::npos);
    CHECK(error_of([&] { train::evaluate(*r.model, labelled, mse); }).find("this one has class labels") !=
          std::string::npos);
}
