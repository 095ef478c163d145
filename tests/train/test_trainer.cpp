// The library's training loop on a small synthetic problem: it learns, it is
// quiet unless asked, its hooks are called as documented, and a resumed run
// ends exactly where the uninterrupted one does.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fcntl.h>
#include <functional>
#include <limits>
#include <random>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/nn/mlp.hpp>
#include <tapegrad/optim/sgd.hpp>
#include <tapegrad/io/npz.hpp>
#include <tapegrad/train/evaluate.hpp>
#include <tapegrad/train/svg_plot.hpp>
#include <tapegrad/train/trainer.hpp>
#include "../nn/files.hpp"
#include "blobs.hpp"
#include "../common/error_of.hpp"

using namespace tapegrad;
using train::Outcome;
using train::Trainer;
using train::TrainerOptions;

using tapegrad::testing::error_of;

namespace {

// Two Gaussian blobs in 4-D, 3 units apart: a network separates them easily.
Dataset blobs(std::size_t n, std::uint64_t seed) { return testing::blobs(n, seed, 3.0f); }

struct Setup {
    Dataset train_set = blobs(200, 1), valid_set = blobs(100, 2);
    std::shared_ptr<nn::Sequential<float>> model = nn::make_mlp<float>(nn::MLPOptions({4, 8, 2}, "tanh").init(nn::Init::XavierUniform).seed(3));
    optim::SGD<float> optimizer{model->parameters(), optim::SGDOptions(0.1).momentum(0.9)};
};

// Everything `call` writes to stdout and stderr, captured at the descriptors.
std::string captured_output(const std::function<void()>& call) {
    TempDir dir;
    const std::string path = dir.file("out");
    std::fflush(stdout);
    std::fflush(stderr);
    const int saved_out = ::dup(1), saved_err = ::dup(2);
    const int file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(file >= 0);
    ::dup2(file, 1);
    ::dup2(file, 2);
    ::close(file);
    call();
    std::fflush(stdout);
    std::fflush(stderr);
    ::dup2(saved_out, 1);
    ::dup2(saved_err, 2);
    ::close(saved_out);
    ::close(saved_err);
    return read_bytes(path);
}

}  // namespace

TEST_CASE("TrainerOptions are validated, naming the option and its value") {
    CHECK(error_of([] { TrainerOptions().epochs(0); }) == "TrainerOptions: epochs must be > 0, got 0");
    CHECK(error_of([] { TrainerOptions().batch_size(0); }) ==
          "TrainerOptions: batch_size must be > 0, got 0");
    CHECK_NOTHROW(TrainerOptions().epochs(3).batch_size(1));
    Setup s;
    CHECK_THROWS_WITH_AS(Trainer(*s.model, s.optimizer, s.train_set, s.valid_set, TrainerOptions().epochs(0)),
                         doctest::Contains("epochs"), Error);
    const Dataset empty;
    CHECK_THROWS_WITH_AS(Trainer(*s.model, s.optimizer, empty, s.valid_set, TrainerOptions()),
                         doctest::Contains("training set is empty"), Error);
}

TEST_CASE("the trainer learns, records every epoch, and prints nothing unless asked") {
    Setup s;
    Trainer trainer(*s.model, s.optimizer, s.train_set, s.valid_set, TrainerOptions().epochs(5).batch_size(20).seed(7));
    std::vector<double> seen_epochs;
    trainer.on_epoch_end([&](const train::EpochRecord& r) { seen_epochs.push_back(r.epoch); });
    Outcome outcome = Outcome::NonFiniteLoss;
    CHECK(captured_output([&] { outcome = trainer.run(); }).empty());
    CHECK(outcome == Outcome::AllEpochs);
    REQUIRE(trainer.history().size() == 5);
    CHECK(seen_epochs == std::vector<double>{1, 2, 3, 4, 5});
    CHECK(trainer.history().back().valid_accuracy > 0.95);
    CHECK(trainer.history().back().train_loss < trainer.history().front().train_loss);
    CHECK(trainer.kept_epoch() == 0);  // early stopping is off

    Setup verbose;
    Trainer talking(*verbose.model, verbose.optimizer, verbose.train_set, verbose.valid_set,
                    TrainerOptions().epochs(2).batch_size(50).verbose(true));
    const std::string printed = captured_output([&] { talking.run(); });
    CHECK(printed.find("epoch   1/2  train loss ") != std::string::npos);
    CHECK(printed.find("epoch   2/2  train loss ") != std::string::npos);
    CHECK(printed.find("epoch 1/2: batch 4/4, loss ") != std::string::npos);  // progress, stderr not a terminal
}

TEST_CASE("gradients left in the parameters before run() do not leak into its first step") {
    // Each step is the gradient of its batch alone, whatever the caller left
    // in grad(): with one shard it used to be added into the first step, and
    // with several processes dropped or counted once per process.
    for (const std::size_t shards : {std::size_t(1), std::size_t(2)}) {
        CAPTURE(shards);
        const auto options = TrainerOptions().epochs(2).batch_size(20).seed(7).shards(shards).min_shard_work(0);
        Setup clean, dirty;
        for (auto& p : dirty.model->parameters()) p.set_grad(Tensor<float>::full(p.shape(), 1000.0f));
        Trainer(*clean.model, clean.optimizer, clean.train_set, clean.valid_set, options).run();
        Trainer(*dirty.model, dirty.optimizer, dirty.train_set, dirty.valid_set, options).run();
        const auto expected = clean.model->parameters(), got = dirty.model->parameters();
        REQUIRE(expected.size() == got.size());
        for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i].data() == expected[i].data());
    }
}

TEST_CASE("the batch transform sees every batch with 1-based epoch and batch numbers; the loss hook is used") {
    Setup s;
    std::vector<std::pair<std::size_t, std::size_t>> calls;
    // One shard: the loss hook runs once per batch (on shards, once per
    // shard, on their threads; test_shards.cpp).
    Trainer trainer(*s.model, s.optimizer, s.train_set, s.valid_set,
                    TrainerOptions().epochs(2).batch_size(80).shards(1));
    trainer.transform_batches([&](const Tensor<float>& inputs, std::size_t epoch, std::size_t batch) {
        calls.emplace_back(epoch, batch);
        return inputs;
    });
    std::size_t losses = 0;
    trainer.loss([&](const Tensor<float>& logits, const Labels& labels) {
        ++losses;
        return cross_entropy(logits, labels);
    });
    trainer.run();
    const std::vector<std::pair<std::size_t, std::size_t>> expected{{1, 1}, {1, 2}, {1, 3}, {2, 1}, {2, 2}, {2, 3}};
    CHECK(calls == expected);
    CHECK(losses == 6);
}

// Also with early stopping off: the example's loop restored the (empty) copy
// of the best weights there and failed with "missing parameter '0.weight'".
TEST_CASE("a non-finite loss stops training and keeps the last finite weights") {
    Setup s;
    // One shard, so that the hook counts batches.
    Trainer trainer(*s.model, s.optimizer, s.train_set, s.valid_set,
                    TrainerOptions().epochs(3).batch_size(50).shards(1));
    std::size_t batches = 0;
    trainer.loss([&](const Tensor<float>& logits, const Labels& labels) {
        // Epoch 2's third batch goes wrong, after two steps of that epoch.
        const float poison = ++batches == 7 ? std::numeric_limits<float>::quiet_NaN() : 0.0f;
        return cross_entropy(logits, labels) + Tensor<float>::scalar(poison);
    });
    nn::StateDict<float> after_epoch_1;
    trainer.on_epoch_end([&](const train::EpochRecord&) { after_epoch_1 = s.model->state_dict(); });
    CHECK(trainer.run() == Outcome::NonFiniteLoss);
    CHECK(trainer.non_finite_at() == "epoch 2, batch 3");
    CHECK(trainer.history().size() == 1);
    CHECK(s.model->state_dict() == after_epoch_1);
    // run() again, now with finite losses: it trains on, and non_finite_at()
    // is empty, as documented (it still named epoch 2's batch 3).
    CHECK(trainer.run() == Outcome::AllEpochs);
    CHECK(trainer.history().size() == 3);
    CHECK(trainer.non_finite_at().empty());
}

TEST_CASE("a run resumed from the trainer's checkpoint ends bit for bit where the uninterrupted run does") {
    TempDir dir;
    const auto options = [&](std::size_t epochs, const std::string& checkpoint) {
        return TrainerOptions().epochs(epochs).batch_size(30).seed(11).early_stopping_patience(2)
            .checkpoint(checkpoint).fingerprint("blobs lr=0.1");
    };
    Setup straight;
    Trainer whole(*straight.model, straight.optimizer, straight.train_set, straight.valid_set, options(4, ""));
    whole.run();

    Setup first;
    Trainer half(*first.model, first.optimizer, first.train_set, first.valid_set, options(2, dir.file("c.npz")));
    half.run();
    Setup second;
    Trainer resumed(*second.model, second.optimizer, second.train_set, second.valid_set, options(4, ""));
    resumed.resume(dir.file("c.npz"));
    resumed.run();

    CHECK(second.model->state_dict() == straight.model->state_dict());
    REQUIRE(resumed.history().size() == whole.history().size());
    for (std::size_t i = 0; i < whole.history().size(); ++i) {
        CHECK(resumed.history()[i].train_loss == whole.history()[i].train_loss);
        CHECK(resumed.history()[i].valid_loss == whole.history()[i].valid_loss);
    }
    CHECK(resumed.kept_epoch() == whole.kept_epoch());

    Setup other;
    Trainer mismatched(*other.model, other.optimizer, other.train_set, other.valid_set,
                       options(4, "").fingerprint("blobs lr=0.2"));
    const nn::StateDict<float> untouched = other.model->state_dict();
    const optim::OptimizerState<float> fresh = other.optimizer.state();
    const std::string message = error_of([&] { mismatched.resume(dir.file("c.npz")); });
    CHECK(message.find("other training settings") != std::string::npos);
    CHECK(message.find("blobs lr=0.2") != std::string::npos);
    // A failed resume changes nothing: the checkpoint's weights were loaded
    // before the fingerprint was compared, and are undone.
    CHECK(other.model->state_dict() == untouched);
    CHECK(other.optimizer.state().buffers.empty());
    CHECK(other.optimizer.state().buffers == fresh.buffers);
    CHECK(mismatched.history().empty());
}

namespace {
namespace npz = tapegrad::io::npz;

template <class X>
std::string scalar_npy(X value) {
    xt::xarray<X> a = xt::xarray<X>::from_shape({});
    a() = value;
    return npz::to_npy(a);
}

// A checkpoint of 2 epochs written by a trainer, to be tampered with.
struct Checkpointed {
    TempDir dir;
    std::string path = dir.file("c.npz");
    static TrainerOptions options(const std::string& checkpoint) {
        return TrainerOptions().epochs(4).batch_size(30).seed(11).early_stopping_patience(3).checkpoint(checkpoint)
            .fingerprint("blobs");
    }
    Checkpointed() {
        Setup s;
        Trainer trainer(*s.model, s.optimizer, s.train_set, s.valid_set, options(path).epochs(2));
        trainer.run();
    }
};
}  // namespace

TEST_CASE("resume refuses crafted checkpoint values, naming the file and the entry, and changes nothing") {
    Checkpointed written;
    const npz::Members original = npz::read(written.path);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    struct Case {
        std::string entry, npy, message;
    };
    auto history = [&](const std::string& column, std::size_t i, double value) {
        xt::xarray<double> a = npz::from_npy<double>(original.at("meta/array/history/" + column), "c");
        a(i) = value;
        return npz::to_npy(a);
    };
    const std::vector<Case> cases = {
        {"meta/epoch", scalar_npy<std::int64_t>(-1), "entry 'meta/epoch'"},
        {"meta/epoch", scalar_npy<std::int64_t>(1000000000000), "entry 'meta/epoch'"},
        {"meta/epoch", scalar_npy<std::int64_t>(5), "entry 'meta/epoch'"},  // more than options.epochs
        {"meta/epoch", scalar_npy<std::int64_t>(3), "entry 'meta/epoch'"},  // not the history's length
        {"meta/epoch", scalar_npy<std::int64_t>(0), "entry 'meta/epoch'"},
        {"meta/scalar/early_stopping/best_epoch", scalar_npy(nan), "early_stopping/best_epoch"},
        {"meta/scalar/early_stopping/best_epoch", scalar_npy(1e300), "early_stopping/best_epoch"},
        {"meta/scalar/early_stopping/best_epoch", scalar_npy(-1.0), "early_stopping/best_epoch"},
        {"meta/scalar/early_stopping/epochs_without_improvement", scalar_npy(nan), "epochs_without_improvement"},
        {"meta/scalar/early_stopping/epochs_without_improvement", scalar_npy(-1.0), "epochs_without_improvement"},
        {"meta/scalar/early_stopping/epochs_without_improvement", scalar_npy(1e300), "epochs_without_improvement"},
        {"meta/scalar/early_stopping/best_loss", scalar_npy(1e-3), "best epoch"},
        {"meta/array/history/valid_loss", history("valid_loss", 1, nan), "history/valid_loss"},
        {"meta/array/history/epoch", history("epoch", 0, 2), "history/epoch"},
        {"meta/array/history/valid_accuracy", history("valid_accuracy", 0, 1.5), "history/valid_accuracy"},
        // NaN: no accuracy, as a run on targets records; this one has labels.
        {"meta/array/history/valid_accuracy", history("valid_accuracy", 1, nan), "history/valid_accuracy"},
        {"meta/scalar/divergence/untrained_valid_loss", scalar_npy(nan), "divergence/untrained_valid_loss"},
        {"optim/scalar/lr", scalar_npy(0.3), "entry 'optim/scalar/lr'"},  // this run's optimizer has 0.1
        {"optim/scalar/0.step", scalar_npy(1e300), "0.step"},
        {"optim/scalar/0.step", scalar_npy(-1.0), "0.step"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.entry);
        CAPTURE(c.message);
        npz::Members crafted = original;
        crafted[c.entry] = c.npy;
        npz::write(written.path, crafted);
        Setup s;
        Trainer trainer(*s.model, s.optimizer, s.train_set, s.valid_set, Checkpointed::options(""));
        const nn::StateDict<float> before = s.model->state_dict();
        const std::string message = error_of([&] { trainer.resume(written.path); });
        CHECK(message.find(written.path) != std::string::npos);
        CHECK(message.find(c.message) != std::string::npos);
        CHECK(s.model->state_dict() == before);
        CHECK(s.optimizer.lr() == 0.1);
        CHECK(s.optimizer.state().buffers.empty());
        CHECK(trainer.history().empty());
    }
    npz::write(written.path, original);
    Setup s;
    Trainer trainer(*s.model, s.optimizer, s.train_set, s.valid_set, Checkpointed::options(""));
    CHECK_NOTHROW(trainer.resume(written.path));
    CHECK(trainer.history().size() == 2);
}

TEST_CASE("resume refuses a checkpoint of other training data or another lr") {
    Checkpointed written;
    Setup other_data;
    other_data.train_set.inputs(0, 0) += 1.0f;  // one value of the training data differs
    Trainer trainer(*other_data.model, other_data.optimizer, other_data.train_set, other_data.valid_set,
                    Checkpointed::options(""));
    CHECK(error_of([&] { trainer.resume(written.path); }).find("other training data") != std::string::npos);

    Setup other_valid;
    other_valid.valid_set = blobs(100, 3);
    Trainer trainer2(*other_valid.model, other_valid.optimizer, other_valid.train_set, other_valid.valid_set,
                     Checkpointed::options(""));
    CHECK(error_of([&] { trainer2.resume(written.path); }).find("other training data") != std::string::npos);

    Setup other_lr;
    other_lr.optimizer.set_lr(0.1000000001);
    Trainer trainer3(*other_lr.model, other_lr.optimizer, other_lr.train_set, other_lr.valid_set,
                     Checkpointed::options(""));
    CHECK(error_of([&] { trainer3.resume(written.path); }).find("optim/scalar/lr") != std::string::npos);
    CHECK(other_lr.optimizer.lr() == 0.1000000001);
}

TEST_CASE("training that diverges stops with Outcome::Diverged, records the epoch, keeps the last checkpoint") {
    TempDir dir;
    // Gradient ascent: the model grows confidently wrong while every loss stays finite.
    const auto ascend = [](const Tensor<float>& logits, const Labels& labels) {
        return cross_entropy(logits, labels) * Tensor<float>::scalar(-1.0f);
    };
    Setup s;
    Trainer trainer(*s.model, s.optimizer, s.train_set, s.valid_set,
                    TrainerOptions().epochs(30).batch_size(20).seed(1).checkpoint(dir.file("c.npz")));
    trainer.loss(ascend);
    CHECK(trainer.run() == Outcome::Diverged);
    const std::size_t epochs = trainer.history().size();
    REQUIRE(epochs < 30);
    CHECK(std::isfinite(trainer.history().back().valid_loss));
    CHECK(trainer.diverged_at().find("epoch " + std::to_string(epochs) + ": validation loss") == 0);
    for (std::size_t i = 0; i + 1 < epochs; ++i) CHECK(trainer.history()[i].valid_loss <= trainer.history().back().valid_loss);
    if (epochs > 1) {
        const npz::Members checkpoint = npz::read(dir.file("c.npz"));
        CHECK(npz::from_npy<std::int64_t>(checkpoint.at("meta/epoch"), "c")() == std::int64_t(epochs - 1));
    } else {
        CHECK_FALSE(std::filesystem::exists(dir.file("c.npz")));
    }

    // The same run with the bound off trains every epoch.
    Setup off;
    Trainer unbounded(*off.model, off.optimizer, off.train_set, off.valid_set,
                      TrainerOptions().epochs(epochs + 1).batch_size(20).seed(1).divergence_factor(0));
    unbounded.loss(ascend);
    CHECK(unbounded.run() == Outcome::AllEpochs);

    // A non-finite weight is divergence too, even where the loss is still finite.
    Setup nan_weight;
    Trainer poisoned(*nan_weight.model, nan_weight.optimizer, nan_weight.train_set, nan_weight.valid_set,
                     TrainerOptions().epochs(3).batch_size(50));
    poisoned.on_epoch_end([&](const train::EpochRecord&) {
        nan_weight.model->parameters()[0].data_mut()(0, 0) = std::numeric_limits<float>::infinity();
    });
    CHECK(poisoned.run() == Outcome::Diverged);
    CHECK(poisoned.diverged_at().find("non-finite") != std::string::npos);

    CHECK(error_of([] { TrainerOptions().divergence_factor(0.5); }).find("divergence_factor") !=
          std::string::npos);
    CHECK(error_of([] { TrainerOptions().divergence_factor(std::nan("")); }).find("divergence_factor") !=
          std::string::npos);
}

TEST_CASE("evaluate refuses an empty data set instead of reporting 0/0") {
    Setup s;
    const Dataset empty;
    CHECK_THROWS_WITH_AS(train::evaluate(*s.model, empty), doctest::Contains("empty"), Error);
}

TEST_CASE("the SVG plot leaves out non-finite points instead of writing nan") {
    const auto no_nan = [](const std::string& svg) {
        return svg.find("nan") == std::string::npos && svg.find("inf") == std::string::npos;
    };
    CHECK(no_nan(train::plot_svg({}, 0)));  // no epoch finished
    train::History history(4);
    for (std::size_t i = 0; i < 4; ++i) history[i] = {double(i + 1), 1.0 / double(i + 1), 0.5, 0.8, 0.6, 0.1};
    const std::string finite = train::plot_svg(history, 0);
    history[2].train_loss = std::numeric_limits<double>::infinity();
    history[1].valid_loss = std::numeric_limits<double>::quiet_NaN();
    const std::string svg = train::plot_svg(history, 0);
    CHECK(no_nan(svg));
    // Each broken curve becomes two pieces: 4 curves + 2 extra polylines.
    const auto count = [](const std::string& text, const std::string& what) {
        std::size_t n = 0;
        for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
        return n;
    };
    CHECK(count(finite, "<polyline") == 4);
    CHECK(count(svg, "<polyline") == 6);
}

TEST_CASE("count_correct refuses logits that do not fit the labels, instead of reading past them") {
    const xt::xarray<float> logits = {{0.f, 1.f}, {2.f, 1.f}};
    CHECK(train::count_correct(logits, Labels{1, 0}) == 2);
    CHECK(error_of([&] { train::count_correct(logits, Labels{1}); }) ==
          "count_correct: logits of shape (2, 2) need to be 2-D with one row per label, but there are 1 labels");
    const xt::xarray<float> flat = {0.f, 1.f};
    CHECK(error_of([&] { train::count_correct(flat, Labels{1, 0}); }).find("2-D") != std::string::npos);
}

TEST_CASE("the trainer and evaluate hand the model batches in the data set's sample shape") {
    Setup s;
    const Dataset train_images = with_sample_shape(s.train_set, {1, 2, 2}), valid_images = with_sample_shape(s.valid_set, {1, 2, 2});
    // The same MLP behind a reshape that insists on (batch, 1, 2, 2): the
    // shapes it saw, and the same training as on the flat rows.
    struct Reshaping : nn::Module<float> {
        std::shared_ptr<nn::Sequential<float>> inner;
        std::vector<Shape> seen;
        explicit Reshaping(std::shared_ptr<nn::Sequential<float>> m) : inner(std::move(m)) { register_module("mlp", inner); }
        Tensor<float> forward(const Tensor<float>& x) override {
            seen.push_back(x.shape());
            return (*inner)(reshape(x, {x.shape()[0], 4}));
        }
        std::string type_name() const override { return "Reshaping"; }
    };
    Setup flat;
    auto reshaping = std::make_shared<Reshaping>(s.model);
    optim::SGD<float> optimizer(reshaping->parameters(), optim::SGDOptions(0.1).momentum(0.9));
    // One shard: Reshaping records what it sees, which on shards' threads
    // would race (and see shards, not batches).
    const TrainerOptions options = TrainerOptions().epochs(2).batch_size(80).seed(3).shards(1);
    Trainer images(*reshaping, optimizer, train_images, valid_images, options);
    Trainer rows(*flat.model, flat.optimizer, flat.train_set, flat.valid_set, options);
    images.run();
    rows.run();
    REQUIRE(!reshaping->seen.empty());
    for (const Shape& shape : reshaping->seen) {
        REQUIRE(shape.size() == 4);
        CHECK(Shape(shape.begin() + 1, shape.end()) == Shape{1, 2, 2});
    }
    CHECK(reshaping->seen.front() == Shape{100, 1, 2, 2});  // the untrained validation pass, by evaluate()
    CHECK(reshaping->seen[1] == Shape{80, 1, 2, 2});        // the first training batch
    CHECK(images.history()[1].valid_loss == rows.history()[1].valid_loss);
    CHECK(train::evaluate(*reshaping, valid_images).loss == train::evaluate(*flat.model, flat.valid_set).loss);
}
