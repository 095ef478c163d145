// TrainerOptions::shards: each batch split across threads, the shards'
// gradients added in a fixed order. The same count gives the same bits, run
// after run and through a resume; the split computes what one thread does
// (up to rounding): the batch mean's gradient, batch norm over the whole
// batch, the whole batch's dropout masks.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include <sys/resource.h>
#include <unistd.h>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include <tapegrad/autograd/blas.hpp>
#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/nn/activation.hpp>
#include <tapegrad/nn/clip_grad.hpp>
#include <tapegrad/nn/dropout.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/mlp.hpp>
#include <tapegrad/nn/normalization.hpp>
#include <tapegrad/nn/sequential.hpp>
#include <tapegrad/optim/sgd.hpp>
#include <tapegrad/train/batch_gradients.hpp>
#include <tapegrad/train/trainer.hpp>
#include "../common/error_of.hpp"
#include "../nn/files.hpp"
#include "blobs.hpp"
#include "same_run.hpp"

using namespace tapegrad;
using train::Outcome;
using train::Trainer;
using train::TrainerOptions;

namespace {

using Ptr = nn::Module<float>::Ptr;

// Linear, batch norm, ReLU, dropout, Linear: every layer whose training
// forward the shards change (batch statistics, masks).
std::shared_ptr<nn::Sequential<float>> net() {
    return std::make_shared<nn::Sequential<float>>(std::vector<Ptr>{
        std::make_shared<nn::Linear<float>>(nn::LinearOptions(4, 16).seed(1)),
        std::make_shared<nn::BatchNorm1d<float>>(16), std::make_shared<nn::ReLU<float>>(),
        std::make_shared<nn::Dropout<float>>(0.3), std::make_shared<nn::Linear<float>>(nn::LinearOptions(16, 2).seed(2))});
}

std::shared_ptr<nn::Sequential<float>> mlp() {
    return nn::make_mlp<float>(nn::MLPOptions({4, 16, 2}, "sigmoid").init(nn::Init::XavierUniform).seed(3));
}

struct Run {
    explicit Run(std::shared_ptr<nn::Sequential<float>> net, std::size_t train_size = 130)
        : train_set(testing::blobs(train_size, 1, 1.0f)), model(std::move(net)) {}
    Dataset train_set, valid_set = testing::blobs(60, 2, 1.0f);
    std::shared_ptr<nn::Sequential<float>> model;
    optim::SGD<float> optimizer{model->parameters(), optim::SGDOptions(0.05).momentum(0.9)};

    Trainer trainer(const TrainerOptions& options) { return Trainer(*model, optimizer, train_set, valid_set, options); }
};

// Batch 30 over 130 samples: the last batch (10 rows) splits unevenly into 3.
TrainerOptions options(std::size_t shards, std::size_t epochs = 3, const std::string& checkpoint = "") {
    return TrainerOptions().epochs(epochs).batch_size(30).seed(7).shards(shards).min_shard_work(0).checkpoint(checkpoint).fingerprint(
        "shards");
}

// Batch norm over 4 channels, applied only to batches of 4 rows or more:
// shards of 4 and 3 rows then make different sums over the batch.
class NormalisedWhenLarge : public nn::Module<float> {
public:
    NormalisedWhenLarge() { register_module("bn", bn_); }
    Tensor<float> forward(const Tensor<float>& x) override { return x.shape()[0] >= 4 ? (*bn_)(x) : x; }

protected:
    std::string type_name() const override { return "NormalisedWhenLarge"; }

private:
    std::shared_ptr<nn::BatchNorm1d<float>> bn_ = std::make_shared<nn::BatchNorm1d<float>>(4);
};

}  // namespace

TEST_CASE("the shard count is validated") {
    CHECK(testing::error_of([] { TrainerOptions().shards(0); }) == "TrainerOptions: shards must be > 0, got 0");
    // The default: one shard per BLAS thread, which the caller can set.
    const int blas_before = blas_threads();
    if (blas_before > 0) {
        set_blas_threads(1);
        CHECK(TrainerOptions().shards() == 1);
        set_blas_threads(3);
        CHECK(TrainerOptions().shards() == 3);
        set_blas_threads(blas_before);
    }
    CHECK(TrainerOptions().shards() == train::default_shards());
    CHECK(train::default_shards() >= 1);
}

TEST_CASE("a batch whose work is below min_shard_work runs whole, as with shards(1)") {
    // The 4-16-2 MLP does 96 multiply-adds a row: batches of 30 are far below
    // the default 1e7, so shards(3) trains exactly as shards(1), bit for bit
    // (the same path: the whole batch, the BLAS's products).
    Run one(mlp()), three(mlp()), forced(mlp()), just_enough(mlp());
    one.trainer(options(1)).run();
    three.trainer(options(3).min_shard_work(TrainerOptions().min_shard_work())).run();
    CHECK(three.model->state_dict() == one.model->state_dict());
    // Split regardless (min_shard_work 0), the sums change order: other bits.
    forced.trainer(options(3)).run();
    CHECK(forced.model->state_dict() != one.model->state_dict());
    // At most 3 shards of at least 1440 multiply-adds: a full batch of 30
    // rows (2880) splits in 2, the short last one (10 rows, 960) runs whole,
    // as they do with at most 2 shards; all 3 (forced) is another run.
    just_enough.trainer(options(3).min_shard_work(1440)).run();
    Run two_then_whole(mlp());
    two_then_whole.trainer(options(2).min_shard_work(1440)).run();
    CHECK(just_enough.model->state_dict() == two_then_whole.model->state_dict());
    CHECK(just_enough.model->state_dict() != forced.model->state_dict());
}

TEST_CASE("training on shards gives the same bits run after run, for each shard count") {
    for (const std::size_t shards : {2, 3}) {
        CAPTURE(shards);
        Run a(net()), b(net());
        a.trainer(options(shards)).run();
        b.trainer(options(shards)).run();
        // Adding the shards' gradients in the order they finish, or letting
        // two threads update the running statistics, would break this.
        CHECK(a.model->state_dict() == b.model->state_dict());
        CHECK(a.optimizer.state().buffers == b.optimizer.state().buffers);
    }
    // The split changes the order of the sums, so the equality above
    // compared runs that could differ.
    Run two(net()), three(net());
    two.trainer(options(2)).run();
    three.trainer(options(3)).run();
    CHECK(two.model->state_dict() != three.model->state_dict());
}

TEST_CASE("shards compute what one thread computes, up to rounding: batch norm and dropout included") {
    // The plain MLP: the split changes only the order of the float sums. A
    // shard's loss weighted wrongly (say, each shard's mean unweighted: twice
    // the gradient on 2 shards) would move the weights by far more than the
    // tolerance. The net with batch norm and dropout: batch norm normalising
    // each shard alone (a "ghost batch", the default before) or each shard
    // drawing masks of its own moved the weights by 4e-3 to 0.1 here.
    for (const auto make : {mlp, net}) {
        Run whole(make()), split(make()), split3(make());
        Trainer one = whole.trainer(options(1));
        one.run();
        Trainer two = split.trainer(options(2));
        two.run();
        split3.trainer(options(3)).run();
        // Weights and running statistics of order 1 after 15 steps of lr
        // 0.05 with momentum: float sums in another order (~1e-7 each;
        // Eigen's products on shards, OpenBLAS's on one thread), grown by the
        // steps and batch norm's 1/std, measured at 6e-8.
        for (const auto* run : {&split, &split3})
            testing::check_states_close(run->model->state_dict(), whole.model->state_dict(), 1e-5f);
        if (make == net) {
            const auto& bn = dynamic_cast<const nn::BatchNorm1d<float>&>((*split3.model)[1]);
            CHECK(bn.num_batches_tracked().item() == 15);  // counted once a batch, not once a shard
        }
        // The recorded losses and accuracy count every row once, as on one
        // thread: the losses up to the same rounding, the accuracy up to one
        // sample whose two logits are that close.
        for (std::size_t epoch = 0; epoch < 3; ++epoch) {
            CHECK(std::abs(two.history()[epoch].train_loss - one.history()[epoch].train_loss) < 1e-5);
            CHECK(std::abs(two.history()[epoch].valid_loss - one.history()[epoch].valid_loss) < 1e-5);
            CHECK(std::abs(two.history()[epoch].train_accuracy - one.history()[epoch].train_accuracy) <= 1.0 / 130);
        }
    }
}

TEST_CASE("with shards, batch norm's running statistics are the whole batch's") {
    // One batch of 16 rows on 2 shards: rows 0-7 and 8-15.
    Run run(net(), 16);
    Run reference(net(), 16);
    TrainerOptions one_batch = TrainerOptions().epochs(1).batch_size(16).shuffle(false).shards(2).min_shard_work(0);
    run.trainer(one_batch).run();

    // The same layers, untrained, on all 16 rows, in training mode.
    auto& first_linear = (*reference.model)[0];
    auto& reference_bn = dynamic_cast<nn::BatchNorm1d<float>&>((*reference.model)[1]);
    reference_bn(first_linear(Tensor<float>(reference.train_set.inputs)));

    const auto& bn = dynamic_cast<const nn::BatchNorm1d<float>&>((*run.model)[1]);
    CHECK(bn.num_batches_tracked().item() == 1);  // counted once, not once per shard
    // The sums of 8 + 8 values in double against 16 in a row: the same up
    // to a double's rounding, within one float ulp once stored as float.
    const auto close = [](const Array<float>& a, const Array<float>& b) {
        return xt::amax(xt::abs(a - b))() <= 2e-7f * std::max(1.0f, xt::amax(xt::abs(b))());
    };
    CHECK(close(bn.running_mean().data(), reference_bn.running_mean().data()));
    CHECK(close(bn.running_var().data(), reference_bn.running_var().data()));
    // Rows 0-7 alone, as each shard used to normalise, give other statistics.
    nn::BatchNorm1d<float> first_rows(16);
    Array<float> rows = xt::view(reference.train_set.inputs, xt::range(0, 8), xt::all());
    first_rows(first_linear(Tensor<float>(rows)));
    CHECK(!close(bn.running_mean().data(), first_rows.running_mean().data()));
}

TEST_CASE("a run on shards resumed from its checkpoint ends bit for bit where the uninterrupted run does") {
    TempDir dir;
    Run straight(net());
    Trainer whole = straight.trainer(options(2, 3));
    whole.run();

    Run first(net());
    first.trainer(options(2, 1, dir.file("one.npz"))).run();
    Run second(net());
    Trainer resumed = second.trainer(options(2, 3));
    resumed.resume(dir.file("one.npz"));
    resumed.run();

    testing::check_resumed_exactly(*second.model, second.optimizer, resumed.history(), *straight.model,
                                   straight.optimizer, whole.history());
}

TEST_CASE("a non-finite loss on any shard stops training and names the batch") {
    // Without batch norm the shard stops at once; with it, the others wait
    // for its part of batch norm's sums in backward, so it goes on and the
    // batch is dropped after.
    for (const bool with_batch_norm : {false, true}) {
        CAPTURE(with_batch_norm);
        Run run(with_batch_norm ? net() : mlp());
        Trainer trainer = run.trainer(options(3));
        std::size_t calls = 0;
        std::mutex calls_mutex;
        trainer.loss([&](const Tensor<float>& logits, const Labels& labels) {
            // A shard of the second batch (its calls are 4 to 6, on three threads) goes wrong.
            const std::lock_guard<std::mutex> lock(calls_mutex);
            const float poison = ++calls == 5 ? std::numeric_limits<float>::quiet_NaN() : 0.0f;
            return cross_entropy(logits, labels) + Tensor<float>::scalar(poison);
        });
        const nn::StateDict<float> before = run.model->state_dict();
        CHECK(trainer.run() == Outcome::NonFiniteLoss);
        CHECK(trainer.non_finite_at() == "epoch 1, batch 2");
        CHECK(run.model->state_dict() == before);  // epoch 1 never completed
    }
}

TEST_CASE("a shard that throws between batch norm's sums ends the batch with its error, not a hang") {
    // The loss of one shard throws after the forward's sums: the other shards
    // wait for backward's. Without the failing shard waking them, run()
    // never returned.
    Run run(net());
    Trainer trainer = run.trainer(options(3));
    std::atomic<int> calls{0};
    trainer.loss([&](const Tensor<float>& logits, const Labels& labels) {
        if (++calls == 5) throw Error("the loss of one shard failed");
        return cross_entropy(logits, labels);
    });
    const nn::StateDict<float> before = run.model->state_dict();
    CHECK_THROWS_WITH_AS(trainer.run(), "the loss of one shard failed", Error);
    CHECK(run.model->state_dict() != before);  // batch 1 was taken; batch 2 was not
    CHECK(trainer.history().empty());
}

TEST_CASE("create_graph through batch norm on shards is refused with a clear error") {
    // A gradient penalty through batch norm's statistics would need the
    // shards' sums differentiated too.
    Run run(net());
    Trainer trainer = run.trainer(options(2, 1));
    const Tensor<float> first_weight = run.model->parameters()[0];
    trainer.loss([&](const Tensor<float>& logits, const Labels& labels) {
        const Tensor<float> loss = cross_entropy(logits, labels);
        const Tensor<float> g = grad(loss, {first_weight}, Tensor<float>(), true, /*create_graph=*/true)[0];
        return loss + sum(g * g);
    });
    CHECK(testing::error_of([&] { trainer.run(); }) ==
          "backward of 'batch_norm': create_graph is not supported with statistics summed over the shards of a "
          "batch (input "
          "(15, 16)); train with one shard");
}

TEST_CASE("a batch transform that returns another number of rows is refused, on one shard or several") {
    // Before, two shards cut the transformed tensor by the label count and
    // read past its end (heap-use-after-free under the sanitizers).
    for (const std::size_t shards : {1, 2}) {
        CAPTURE(shards);
        Run run(mlp());
        Trainer trainer = run.trainer(options(shards));
        trainer.transform_batches([](const Tensor<float>& inputs, std::size_t, std::size_t) {
            return Tensor<float>(Array<float>(xt::view(inputs.data(), xt::range(0, 20), xt::all())));
        });
        const nn::StateDict<float> before = run.model->state_dict();
        CHECK(testing::error_of([&] { trainer.run(); }) ==
              "Trainer: the batch transform of epoch 1, batch 1 returned inputs of shape (20, 4) for a batch of "
              "shape (30, 4): a transform must return one row per input row (axis 0), in order");
        CHECK(run.model->state_dict() == before);
        trainer.transform_batches([](const Tensor<float>&, std::size_t, std::size_t) { return Tensor<float>(); });
        CHECK(testing::error_of([&] { trainer.run(); }).find("returned no tensor for a batch of shape (30, 4)") !=
              std::string::npos);
    }
}

TEST_CASE("shards whose models make different sums over the batch fail with a clear error, not a hang") {
    // 10 rows on 3 shards: 4, 3 and 3. Shard 0 normalises and waits for the
    // others' sums, which they never make; before, run() never returned.
    auto model = std::make_shared<nn::Sequential<float>>(std::vector<Ptr>{
        std::make_shared<NormalisedWhenLarge>(), std::make_shared<nn::Linear<float>>(nn::LinearOptions(4, 2).seed(1))});
    Run run(model, 10);
    Trainer trainer = run.trainer(TrainerOptions().epochs(1).batch_size(10).shuffle(false).shards(3).min_shard_work(0));
    const std::string error = testing::error_of([&] { trainer.run(); });
    CHECK(error.rfind("Trainer: the shards of a batch made different sums over the batch (", 0) == 0);
    CHECK(error.find("train with shards(1)") != std::string::npos);
    // One thread trains it.
    CHECK(run.trainer(TrainerOptions().epochs(1).batch_size(10).shards(1)).run() == Outcome::AllEpochs);
}

TEST_CASE("a transform that changes each row's shape trains with the default shards") {
    // The work per row is measured on the batch as the model sees it: the
    // first batch's transformed rows. Before, it was measured on the raw
    // rows, and the model (which takes 8 features) refused them.
    auto model = std::make_shared<nn::Sequential<float>>(std::vector<Ptr>{
        std::make_shared<nn::Linear<float>>(nn::LinearOptions(8, 16).seed(1)), std::make_shared<nn::ReLU<float>>(),
        std::make_shared<nn::Linear<float>>(nn::LinearOptions(16, 2).seed(2))});
    Run run(model);
    run.valid_set.inputs = xt::concatenate(xt::xtuple(run.valid_set.inputs, run.valid_set.inputs), 1);
    Trainer trainer = run.trainer(TrainerOptions().epochs(1).batch_size(30).shards(2));
    trainer.transform_batches([](const Tensor<float>& x, std::size_t, std::size_t) {
        return Tensor<float>(Array<float>(xt::concatenate(xt::xtuple(x.data(), x.data()), 1)));
    });
    CHECK(trainer.run() == Outcome::AllEpochs);
}

TEST_CASE("a shard count past what the system can hold is an Error, not std::length_error") {
    Run run(mlp());
    const std::string error = testing::error_of([&] { run.trainer(options(SIZE_MAX, 1)).run(); });
    CHECK(error.rfind("Trainer: cannot start 18446744073709551614 threads for the shards (", 0) == 0);
}

TEST_CASE("a short last batch on shards still gives every shard two rows, as batch norm needs") {
    // 19 samples in batches of 16: the last batch has 3 rows. Cut in 2, one
    // shard would get a single row, and batch norm refuses a training batch
    // with one value per channel; so 3 rows run as one shard.
    Run run(net(), 19);
    Trainer trainer = run.trainer(TrainerOptions().epochs(2).batch_size(16).shards(2).min_shard_work(0));
    CHECK(trainer.run() == Outcome::AllEpochs);
    const auto& bn = dynamic_cast<const nn::BatchNorm1d<float>&>((*run.model)[1]);
    CHECK(bn.num_batches_tracked().item() == 4);
}

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)  // they reserve far more address space
TEST_CASE("shard threads the system cannot start make run() throw, not std::terminate") {
    // Address space for the process as it is and 64 MiB more: not enough for
    // 200 thread stacks (8 MiB each by default). Before the fix the threads
    // made so far were destroyed unjoined: std::terminate.
    Run run(mlp());
    Trainer trainer = run.trainer(options(201, 1));
    rlimit before{};
    REQUIRE(getrlimit(RLIMIT_AS, &before) == 0);
    std::size_t pages = 0;
    std::ifstream("/proc/self/statm") >> pages;
    REQUIRE(pages > 0);
    rlimit tight = before;
    tight.rlim_cur = rlim_t(pages) * rlim_t(sysconf(_SC_PAGESIZE)) + (rlim_t(64) << 20);
    REQUIRE(setrlimit(RLIMIT_AS, &tight) == 0);
    std::string error;
    try {
        trainer.run();
    } catch (const Error& e) {
        error = e.what();
    }
    REQUIRE(setrlimit(RLIMIT_AS, &before) == 0);
    CHECK(error.rfind("Trainer: cannot start 200 threads for the shards (", 0) == 0);
    CHECK(trainer.history().empty());
    // With the memory back, the same trainer runs.
    CHECK(Trainer(*run.model, run.optimizer, run.train_set, run.valid_set, options(2, 1)).run() == Outcome::AllEpochs);
}
#endif

TEST_CASE("clip_grad_norm clips the whole batch's gradient, on shards as on one thread") {
    // One step over one batch of 30 rows on 2 shards, against the same step
    // written out: forward on all rows, backward, clip, SGD's first step.
    const double max_norm = 0.05;
    Run run(mlp(), 30), reference(mlp(), 30);
    run.trainer(TrainerOptions().epochs(1).batch_size(30).shuffle(false).shards(2).min_shard_work(0).clip_grad_norm(max_norm))
        .run();
    const Tensor<float> loss = cross_entropy((*reference.model)(Tensor<float>(reference.train_set.inputs)),
                                             reference.train_set.labels);
    loss.backward();
    // The gradient is well above max_norm, so the clip changes the step.
    CHECK(nn::clip_grad_norm(reference.model->parameters(), max_norm) > 10 * max_norm);
    reference.optimizer.step();
    for (const auto& [name, values] : reference.model->state_dict()) {
        CAPTURE(name);
        // Float sums in another order (shards) on weights of order 1: ~1e-7.
        // Clipping each shard's half alone would move them by ~lr * max_norm = 2.5e-3.
        CHECK(xt::amax(xt::abs(run.model->state_dict().at(name) - values))() < 1e-6f);
    }

    // Three epochs: 1, 2 and 3 shards train alike, and unlike no clipping.
    Run one(mlp()), two(mlp()), three(mlp()), unclipped(mlp());
    one.trainer(options(1).clip_grad_norm(max_norm)).run();
    two.trainer(options(2).clip_grad_norm(max_norm)).run();
    three.trainer(options(3).clip_grad_norm(max_norm)).run();
    unclipped.trainer(options(1)).run();
    for (const auto& [name, values] : one.model->state_dict()) {
        CAPTURE(name);
        // As in "shards compute what one thread computes" above.
        CHECK(xt::amax(xt::abs(two.model->state_dict().at(name) - values))() < 1e-5f);
        CHECK(xt::amax(xt::abs(three.model->state_dict().at(name) - values))() < 1e-5f);
    }
    double moved = 0;
    for (const auto& [name, values] : one.model->state_dict())
        moved = std::max(moved, double(xt::amax(xt::abs(unclipped.model->state_dict().at(name) - values))()));
    CHECK(moved > 1e-3);
    CHECK(testing::error_of([] { TrainerOptions().clip_grad_norm(-1); }) ==
          "TrainerOptions: clip_grad_norm must be 0 (off) or finite and > 0, got -1");
}

namespace {
// What a caller's leaf gradient hook saw during a run: per batch, each
// parameter's gradient (by its place in model.parameters()), and whether it
// was called twice for one parameter in a batch or on another thread.
struct HookLog {
    std::vector<std::map<std::size_t, xt::xarray<float>>> batches;
    bool twice = false, other_thread = false;
};

HookLog log_hook_during(const std::function<void()>& run, const std::vector<Tensor<float>>& params) {
    HookLog log;
    const std::thread::id caller = std::this_thread::get_id();
    const LeafGradientHookGuard<float> hook([&](const Tensor<float>& leaf, const Tensor<float>& grad) {
        if (std::this_thread::get_id() != caller) log.other_thread = true;
        std::size_t index = params.size();
        for (std::size_t i = 0; i < params.size(); ++i)
            if (params[i].impl() == leaf.impl()) index = i;
        REQUIRE(index < params.size());
        // A parameter seen again starts the next batch.
        if (log.batches.empty() || log.batches.back().count(index)) log.batches.emplace_back();
        log.batches.back()[index] = grad.data();
    });
    run();
    for (std::size_t b = 0; b + 1 < log.batches.size(); ++b) log.twice |= log.batches[b].size() != params.size();
    return log;
}
}  // namespace

TEST_CASE("a leaf gradient hook of the caller sees each batch's gradient once, on shards as on one thread") {
    // One batch of 30 rows, against its gradient written out: the hook gets
    // every parameter's gradient of the batch mean once, on the calling
    // thread, whatever the shard count (before the hook was carried to the
    // shards, it saw nothing of a batch split across threads).
    Run reference(mlp(), 30);
    cross_entropy((*reference.model)(Tensor<float>(reference.train_set.inputs)), reference.train_set.labels).backward();
    for (const std::size_t shards : {1, 2, 3}) {
        CAPTURE(shards);
        Run run(mlp(), 30);
        const HookLog log = log_hook_during(
            [&] { run.trainer(TrainerOptions().epochs(1).batch_size(30).shuffle(false).shards(shards).min_shard_work(0)).run(); },
            run.model->parameters());
        CHECK(!log.other_thread);
        REQUIRE(log.batches.size() == 1);
        REQUIRE(log.batches[0].size() == reference.model->parameters().size());
        for (const auto& [index, grad] : log.batches[0])
            // Float sums in another order (shards) of gradients of order 0.1: ~1e-8.
            CHECK(xt::amax(xt::abs(grad - reference.model->parameters()[index].grad().data()))() < 1e-6f);
    }

    // Batch norm and dropout, 3 epochs of 5 batches: per batch, what 2 and 3
    // shards hand the hook is what one thread hands it.
    std::vector<HookLog> logs;
    for (const std::size_t shards : {1, 2, 3}) {
        Run run(net());
        logs.push_back(log_hook_during([&] { run.trainer(options(shards)).run(); }, run.model->parameters()));
    }
    for (const HookLog& log : logs) {
        CHECK(!log.twice);
        CHECK(!log.other_thread);
        REQUIRE(log.batches.size() == 15);
        for (std::size_t b = 0; b < 15; ++b) {
            REQUIRE(log.batches[b].size() == logs[0].batches[b].size());
            for (const auto& [index, grad] : log.batches[b])
                // As the weights in "shards compute what one thread computes".
                CHECK(xt::amax(xt::abs(grad - logs[0].batches[b].at(index)))() < 1e-5f);
        }
    }
}

TEST_CASE("BatchGradients refuses a batch whose rows do not fit in the batch it says it is part of") {
    Run run(mlp(), 30);
    train::BatchGradients gradients(*run.model, run.model->parameters(), run.train_set, {}, {}, train::GradientPlan());
    BatchLoader loader(run.train_set, LoaderOptions(10).shard(1, 2));
    Batch batch;
    REQUIRE(loader.next(batch));
    CHECK(batch.first_row == 5);
    CHECK(batch.global_rows == 10);
    batch.global_rows = 9;  // rows [5, 10) of 9
    CHECK(testing::error_of([&] { gradients.compute(batch, batch.inputs); }) ==
          "BatchGradients: a batch's share of 5 rows at row 5 does not fit in a batch of 9 rows "
          "(Batch::first_row, Batch::global_rows)");
    CHECK(!run.model->parameters()[0].grad().defined());
    batch.global_rows = 10;
    const train::BatchTotals totals = gradients.compute(batch, batch.inputs);
    CHECK(std::isfinite(totals.loss_sum));
    CHECK(run.model->parameters()[0].grad().defined());
}
