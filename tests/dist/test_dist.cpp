// Data-parallel training over MPI, run by `meson test --suite mpi` under
// mpirun with 1, 2 and 3 processes (run_mpi.py): every process runs every
// test case, in the same order, so their collectives line up. Each process
// also trains the single-process reference itself, on the whole batches.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/data/loader.hpp>
#include <tapegrad/dist/mpi.hpp>
#include <tapegrad/nn/activation.hpp>
#include <tapegrad/nn/dropout.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/mlp.hpp>
#include <tapegrad/nn/normalization.hpp>
#include <tapegrad/optim/sgd.hpp>
#include <tapegrad/train/gradient_reducer.hpp>
#include <tapegrad/train/trainer.hpp>
#include "common.hpp"

using namespace tapegrad;
using namespace tapegrad::testing;

namespace {

dist::Mpi* mpi = nullptr;  // set by main

Tensor<double> as_double(const Tensor<float>& x) { return Tensor<double>(Array<double>(xt::cast<double>(x.data()))); }

// `steps` steps of SGD with momentum on global batches of `batch_size`, as
// the Trainer takes them: alone (comm == nullptr), or as this process's part
// of a job, on its shard of each batch with its loss weighted by its share,
// the gradients summed by a GradientReducer from backward's hooks.
void train_double(nn::Module<double>& model, const Dataset& data, std::size_t batch_size, std::size_t steps,
                  train::Communicator* comm, std::size_t bucket_bytes, std::size_t* buckets = nullptr) {
    optim::SGD<double> sgd(model.parameters(), optim::SGDOptions(0.2).momentum(0.9));
    LoaderOptions options = LoaderOptions(batch_size).seed(7);
    std::unique_ptr<train::GradientReducer<double>> reducer;
    if (comm) {
        options.shard(comm->rank(), comm->size());
        // As the Trainer does: every process starts from rank 0's weights.
        for (Tensor<double> p : model.parameters()) comm->broadcast(p.data_mut().data(), p.size() * sizeof(double));
        reducer = std::make_unique<train::GradientReducer<double>>(*comm, model.parameters(), bucket_bytes);
        if (buckets) *buckets = reducer->bucket_count();
    }
    BatchLoader loader(data, options);
    Batch batch;
    for (std::size_t step = 0, epoch = 0; step < steps; ++epoch) {
        loader.start_epoch(epoch);
        for (; step < steps && loader.next(batch); ++step) {
            const std::size_t global_rows = batch.global_rows, rows = batch.labels.size();
            if (reducer) reducer->begin_step();
            if (rows > 0) {
                Tensor<double> loss = cross_entropy(model(as_double(batch.inputs)), batch.labels);
                if (reducer) {
                    const auto hook = reducer->hook();
                    mul(loss, Tensor<double>::scalar(double(rows) / double(global_rows))).backward();
                } else {
                    loss.backward();
                }
            }
            if (reducer) reducer->finish();
            sgd.step();
            sgd.zero_grad();
        }
    }
}

std::shared_ptr<nn::Sequential<double>> double_mlp(std::uint64_t seed) {
    return nn::make_mlp<double>(nn::MLPOptions({4, 16, 16, 2}, "tanh").seed(seed));
}

}  // namespace

TEST_CASE("the communicator: rank and size from mpirun, broadcast, sums") {
    const char* world = std::getenv("OMPI_COMM_WORLD_SIZE");
    REQUIRE(world);
    CHECK(mpi->active());
    CHECK(mpi->size() == std::size_t(std::atoi(world)));
    CHECK(mpi->rank() < mpi->size());
    CHECK(mpi->writer() == (mpi->rank() == 0));

    char bytes[3] = {char(mpi->rank()), char(7 + mpi->rank()), 'x'};
    mpi->broadcast(bytes, 3);
    CHECK((bytes[0] == 0 && bytes[1] == 7 && bytes[2] == 'x'));

    const double n = double(mpi->size());
    double sums[] = {double(mpi->rank()), 1};
    mpi->allreduce_sum(sums, 2);
    CHECK(sums[0] == n * (n - 1) / 2);
    CHECK(sums[1] == n);

    // Two sums in flight at once.
    std::vector<float> a(1000, 1.0f), b(3, float(mpi->rank()));
    mpi->start_allreduce_sum(a.data(), a.size());
    mpi->start_allreduce_sum(b.data(), b.size());
    mpi->progress();
    mpi->wait_all();
    CHECK(std::all_of(a.begin(), a.end(), [&](float v) { return v == float(n); }));
    CHECK(std::all_of(b.begin(), b.end(), [&](float v) { return v == float(n * (n - 1) / 2); }));
}

TEST_CASE("float64: K steps over the processes give the single process's weights, the same bits on every rank") {
    // 41 samples in batches of 10: the fifth batch has one row, so with 2 and
    // 3 processes some shards are empty; 13 steps run into the second epoch.
    const Dataset data = blobs(41, 5, 1.0f);
    const std::size_t batch_size = 10, steps = 13;
    auto reference = double_mlp(11);
    train_double(*reference, data, batch_size, steps, nullptr, 0);
    const std::vector<double> expected = flat_state(*reference);

    // 64 bytes: a bucket per parameter or two, started while backward runs;
    // the default: one bucket for this small model.
    for (std::size_t bucket_bytes : {std::size_t(64), train::GradientReducer<double>::default_bucket_bytes}) {
        CAPTURE(bucket_bytes);
        // Ranks other than 0 start from other weights: the broadcast must fix that.
        auto model = double_mlp(mpi->rank() == 0 ? 11 : 100 + mpi->rank());
        std::size_t buckets = 0;
        train_double(*model, data, batch_size, steps, mpi, bucket_bytes, &buckets);
        CHECK(buckets == (bucket_bytes == 64 ? 6 : 1));
        const std::vector<double> weights = flat_state(*model);
        // The same sums in another order: float64 rounding, ~1e-16 per
        // operation, grown by 13 steps of momentum SGD stays far below 1e-12.
        CHECK(relative_distance(weights, expected) <= 1e-12);
        if (mpi->size() == 1) CHECK(weights == expected);  // nothing is summed: the same bits
        CHECK(ranks_differing_from_rank0(*mpi, weights) == 0);
    }
}

namespace {
struct TrainerRun {
    std::vector<float> weights;
    train::History history;
};

using Ptr = nn::Module<float>::Ptr;

std::shared_ptr<nn::Sequential<float>> tanh_mlp() {
    return nn::make_mlp<float>(nn::MLPOptions({4, 16, 2}, "tanh").seed(3));
}

// Every layer whose training forward depends on how a batch is split: batch
// statistics and running statistics, dropout masks.
std::shared_ptr<nn::Sequential<float>> norm_dropout_net() {
    return std::make_shared<nn::Sequential<float>>(std::vector<Ptr>{
        std::make_shared<nn::Linear<float>>(nn::LinearOptions(4, 16).seed(1)),
        std::make_shared<nn::BatchNorm1d<float>>(16), std::make_shared<nn::ReLU<float>>(),
        std::make_shared<nn::Dropout<float>>(0.3), std::make_shared<nn::Linear<float>>(nn::LinearOptions(16, 2).seed(2))});
}

// Two epochs of the float Trainer on `train_size` blobs in batches of 20,
// alone or distributed over `mpi`, its batches split across `shards` threads.
TrainerRun run_trainer(std::shared_ptr<nn::Sequential<float>> model, std::size_t train_size, bool distributed,
                       std::size_t shards = 1, const std::string& checkpoint = "") {
    const Dataset train_set = blobs(train_size, 1, 1.0f), valid_set = blobs(51, 2, 1.0f);
    if (distributed && mpi->rank() != 0) {
        // Other weights than rank 0's: the Trainer starts every process from rank 0's.
        for (Tensor<float> p : model->parameters()) p.data_mut() += 0.5f;
    }
    optim::SGD<float> sgd(model->parameters(), optim::SGDOptions(0.05).momentum(0.9));
    train::Trainer trainer(*model, sgd, train_set, valid_set,
                           train::TrainerOptions().epochs(2).batch_size(20).seed(9).shards(shards).min_shard_work(0).checkpoint(checkpoint));
    if (distributed) trainer.distribute(*mpi, 256);  // a bucket per layer or two
    trainer.run();
    return {flat_state(*model), trainer.history()};
}

// Within 1e-6 (see the callers), with the same accuracies.
void check_same_training(const TrainerRun& run, const TrainerRun& reference) {
    CHECK(relative_distance(run.weights, reference.weights) <= 1e-6);
    REQUIRE(run.history.size() == reference.history.size());
    for (std::size_t e = 0; e < reference.history.size(); ++e) {
        const train::EpochRecord &a = reference.history[e], &t = run.history[e];
        CHECK(t.train_loss == doctest::Approx(a.train_loss).epsilon(1e-6));
        CHECK(t.valid_loss == doctest::Approx(a.valid_loss).epsilon(1e-6));
        CHECK(t.train_accuracy == a.train_accuracy);
        CHECK(t.valid_accuracy == a.valid_accuracy);
    }
}
}  // namespace

TEST_CASE("float32: the distributed Trainer takes the single process's steps; rank 0 alone writes") {
    // 201 samples: the last batch has 1 row, and the other processes none.
    const TrainerRun alone = run_trainer(tanh_mlp(), 201, false);
    // Every rank names its own checkpoint file: only rank 0's may appear.
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("tapegrad_dist_" + std::to_string(::getppid()));
    fs::create_directories(dir);
    const fs::path checkpoint = dir / ("rank" + std::to_string(mpi->rank()) + ".npz");
    fs::remove(checkpoint);
    const TrainerRun together = run_trainer(tanh_mlp(), 201, true, 1, checkpoint.string());
    CHECK(fs::exists(checkpoint) == mpi->writer());
    fs::remove(checkpoint);
    // 22 steps (11 batches per epoch) of float32 sums in another order: the
    // weights move by a few float32 ulps (6e-8 relative each; measured 1e-7).
    check_same_training(together, alone);
    CHECK(ranks_differing_from_rank0(*mpi, together.weights) == 0);

    SUBCASE("with the batches of each process split across 2 threads (TrainerOptions::shards)") {
        const TrainerRun threads = run_trainer(tanh_mlp(), 201, true, 2);
        check_same_training(threads, alone);
        CHECK(ranks_differing_from_rank0(*mpi, threads.weights) == 0);
    }
}

TEST_CASE("float32: processes train as one thread, batch norm and dropout included") {
    // Batch norm normalises with the whole batch's statistics, summed over
    // the processes (as SyncBatchNorm), and each row draws its dropout mask
    // by its number in the batch: N processes compute one thread's batch, up
    // to the order of the sums. Rank 0's rows start every batch and update
    // the running statistics, which every process then takes from rank 0.
    // 206 samples: the last batch has 6 rows; 202: 2 rows, and on 3
    // processes one of them has none, but still takes part in the sums.
    for (const std::size_t samples : {206, 202}) {
        CAPTURE(samples);
        const TrainerRun one_thread = run_trainer(norm_dropout_net(), samples, false, 1);
        const TrainerRun processes = run_trainer(norm_dropout_net(), samples, true, 1);
        check_same_training(processes, one_thread);
        CHECK(ranks_differing_from_rank0(*mpi, processes.weights) == 0);
        // And each process's rows split across 2 threads: still the same.
        const TrainerRun both = run_trainer(norm_dropout_net(), samples, true, 2);
        check_same_training(both, one_thread);
    }
}

TEST_CASE("float32: a regression on targets trains over the processes as one process does") {
    // Each process gathers the targets of its own rows of every batch; 201
    // samples in batches of 20: the last batch has 1 row, the other
    // processes none.
    const auto run = [&](bool distributed, std::size_t shards) {
        const Dataset train_set = noisy_linear_map(201, 1, 0.1f), valid_set = noisy_linear_map(51, 2, 0.1f);
        auto model = std::make_shared<nn::Linear<float>>(nn::LinearOptions(4, 2).seed(5));
        if (distributed && mpi->rank() != 0)
            for (Tensor<float> p : model->parameters()) p.data_mut() += 0.5f;  // rank 0's weights must win
        optim::SGD<float> sgd(model->parameters(), optim::SGDOptions(0.05).momentum(0.9));
        train::Trainer trainer(*model, sgd, train_set, valid_set,
                               train::TrainerOptions().epochs(2).batch_size(20).seed(9).shards(shards).min_shard_work(0));
        trainer.target_loss([](const Tensor<float>& y, const Tensor<float>& t) { return mse_loss(y, t); });
        if (distributed) trainer.distribute(*mpi, 256);
        trainer.run();
        return TrainerRun{flat_state(*model), trainer.history()};
    };
    const TrainerRun alone = run(false, 1);
    for (const std::size_t shards : {1, 2}) {
        CAPTURE(shards);
        const TrainerRun together = run(true, shards);
        // 22 steps of float32 sums in another order, as for the classifier
        // above (a few ulps each); rows paired with other rows' targets
        // would move the weights by orders of magnitude more.
        CHECK(relative_distance(together.weights, alone.weights) <= 1e-6);
        CHECK(ranks_differing_from_rank0(*mpi, together.weights) == 0);
        REQUIRE(together.history.size() == 2);
        for (std::size_t e = 0; e < 2; ++e) {
            CHECK(together.history[e].train_loss == doctest::Approx(alone.history[e].train_loss).epsilon(1e-6));
            CHECK(together.history[e].valid_loss == doctest::Approx(alone.history[e].valid_loss).epsilon(1e-6));
            CHECK(std::isnan(together.history[e].train_accuracy));
            CHECK(std::isnan(together.history[e].valid_accuracy));
        }
    }
}

TEST_CASE("a first batch that leaves a process without rows is refused on every process") {
    // A process without rows replays the sums of its last batch; with none
    // yet it could not, and the job would hang (a batch norm module or the
    // batch_norm op in a module of the caller's: the trainer cannot tell).
    const Dataset train_set = blobs(40, 1, 1.0f), valid_set = blobs(51, 2, 1.0f);
    auto model = norm_dropout_net();
    optim::SGD<float> sgd(model->parameters(), optim::SGDOptions(0.05));
    train::Trainer trainer(*model, sgd, train_set, valid_set,
                           train::TrainerOptions().epochs(1).batch_size(mpi->size() == 1 ? 2 : mpi->size() - 1).shards(1));
    trainer.distribute(*mpi);
    if (mpi->size() == 1) {
        CHECK_NOTHROW(trainer.run());
    } else {
        const std::string expected = "Trainer: a first batch of " + std::to_string(mpi->size() - 1) +
                                     " rows leaves some of the " + std::to_string(mpi->size()) +
                                     " processes without rows (batch norm's sums over the processes need them all); "
                                     "raise batch_size to " + std::to_string(mpi->size()) + " or more";
        CHECK_THROWS_WITH_AS(trainer.run(), expected.c_str(), Error);
    }
}

TEST_CASE("processes whose shares run split and whole make the same sums, with an optimizer over part of the model") {
    // 47 samples in batches of 20: the last batch has 7 rows, on 2 processes
    // 4 (split across 2 threads) and 3 (too few to split: whole). The split
    // share differentiates only what the optimizer steps (grad()); the whole
    // one used to run every formula (backward()), batch norm's sums
    // included, where the other ran none: the job hung.
    const auto train_once = [&](bool distributed) {
        const Dataset train_set = blobs(47, 1, 1.0f), valid_set = blobs(51, 2, 1.0f);
        auto model = norm_dropout_net();
        optim::SGD<float> sgd((*model)[4].parameters(), optim::SGDOptions(0.05).momentum(0.9));  // the head alone
        train::Trainer trainer(*model, sgd, train_set, valid_set,
                               train::TrainerOptions().epochs(2).batch_size(20).seed(9).shards(2).min_shard_work(0));
        if (distributed) trainer.distribute(*mpi, 256);
        trainer.run();
        return TrainerRun{flat_state(*model), trainer.history()};
    };
    const TrainerRun alone = train_once(false), together = train_once(true);
    check_same_training(together, alone);
    CHECK(ranks_differing_from_rank0(*mpi, together.weights) == 0);
}

TEST_CASE("processes that would train otherwise than rank 0 are refused on every process, not left to hang") {
    // Rank 1 takes batches of 30 where the others take 20: it would take other
    // steps and reach validation while they still sum gradients. Before the
    // check, the job hung in its collectives.
    const Dataset train_set = blobs(100, 1, 1.0f), valid_set = blobs(51, 2, 1.0f);
    auto model = tanh_mlp();
    optim::SGD<float> sgd(model->parameters(), optim::SGDOptions(0.05));
    const std::size_t batch = mpi->rank() == 1 ? 30 : 20;
    train::Trainer trainer(*model, sgd, train_set, valid_set,
                           train::TrainerOptions().epochs(1).batch_size(batch).seed(9).shards(1));
    trainer.distribute(*mpi);
    if (mpi->size() == 1) {
        CHECK_NOTHROW(trainer.run());
    } else {
        const std::string expected = "Trainer: 1 of " + std::to_string(mpi->size()) +
                                     " processes train otherwise than rank 0 (options, data, model or resumed epochs; "
                                     "this one " + (mpi->rank() == 1 ? "differs" : "agrees") + "): the job would hang";
        CHECK_THROWS_WITH_AS(trainer.run(), expected.c_str(), Error);
        CHECK(trainer.history().empty());
    }
}

int main(int argc, char** argv) {
    dist::Mpi world(argc, argv);
    mpi = &world;
    doctest::Context context(argc, argv);
    const int failed = context.run();
    // A failure on one process ends the whole job with it.
    return world.finish(failed ? 1 : 0);
}
