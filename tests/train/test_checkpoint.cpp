#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <sstream>

#include <tapegrad/nn/loss.hpp>
#include <tapegrad/nn/mlp.hpp>
#include <tapegrad/io/atomic_file.hpp>
#include <tapegrad/io/npz.hpp>
#include <tapegrad/nn/serialize.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/lr_scheduler.hpp>
#include <tapegrad/optim/sgd.hpp>
#include <tapegrad/train/checkpoint.hpp>
#include "../nn/files.hpp"

using namespace tapegrad;
using namespace tapegrad::nn;
using namespace tapegrad::train;
namespace npz = tapegrad::io::npz;

namespace {
// One epoch of minibatch training whose batches come from `rng`, so that the
// RNG's state is part of what must be restored.
void train_epoch(Module<double>& net, optim::Optimizer<double>& optimizer, std::mt19937_64& rng) {
    const auto x = Tensor<double>::normal({32, 5}, 0, 1, 17);
    Labels labels(32);
    for (std::size_t i = 0; i < 32; ++i) labels[i] = x.at({i, 0}) + x.at({i, 1}) > 0;
    std::uniform_int_distribution<std::size_t> pick(0, 31);
    for (int batch = 0; batch < 4; ++batch) {
        std::vector<double> rows;
        Labels batch_labels;
        for (int k = 0; k < 8; ++k) {
            const std::size_t i = pick(rng);
            for (std::size_t j = 0; j < 5; ++j) rows.push_back(x.at({i, j}));
            batch_labels.push_back(labels[i]);
        }
        optimizer.zero_grad();
        CrossEntropyLoss<double>()(net(Tensor<double>::from_data(rows, {8, 5})), batch_labels).backward();
        optimizer.step();
    }
}

std::string rng_text(const std::mt19937_64& rng) {
    std::ostringstream os;
    os << rng;
    return os.str();
}

template <class Optimizer, class Options>
void check_resume_is_exact(const Options& options) {
    TempDir dir;
    const std::string path = dir.file("run.ckpt.npz");
    // Uninterrupted: 5 epochs.
    auto reference = make_mlp<double>(MLPOptions({5, 7, 2}, "tanh").init(Init::XavierUniform).seed(1));
    Optimizer reference_optimizer(reference->parameters(), options);
    // A schedule, so that the lr in the options changes and must be restored.
    const auto schedule = optim::StepLROptions(1).gamma(0.7);
    optim::StepLR<double> reference_schedule(reference_optimizer, schedule);
    std::mt19937_64 reference_rng(99);
    for (int epoch = 0; epoch < 5; ++epoch) {
        train_epoch(*reference, reference_optimizer, reference_rng);
        reference_schedule.step();
    }

    // Interrupted after 2 epochs, resumed in fresh objects.
    {
        auto net = make_mlp<double>(MLPOptions({5, 7, 2}, "tanh").init(Init::XavierUniform).seed(1));
        Optimizer optimizer(net->parameters(), options);
        optim::StepLR<double> scheduler(optimizer, schedule);
        std::mt19937_64 rng(99);
        for (int epoch = 0; epoch < 2; ++epoch) {
            train_epoch(*net, optimizer, rng);
            scheduler.step();
        }
        TrainingProgress progress;
        progress.epoch = 2;
        progress.scalars["schedule_last_epoch"] = scheduler.state().at("last_epoch");
        progress.texts["rng"] = rng_text(rng);
        progress.scalars["best_loss"] = 0.125;
        progress.arrays["history"] = xt::xarray<double>{1.5, 0.75};
        save_checkpoint(path, *net, optimizer, progress);
    }
    auto net = make_mlp<double>(MLPOptions({5, 7, 2}, "tanh").init(Init::XavierUniform).seed(123));
    Optimizer optimizer(net->parameters(), options);
    const TrainingProgress progress = load_checkpoint(path, *net, optimizer);
    CHECK(progress.epoch == 2);
    CHECK(optimizer.options().lr() == options.lr() * 0.7 * 0.7);  // the scheduled lr, not the one built with
    optim::StepLR<double> scheduler(optimizer, schedule);
    scheduler.load_state({{"last_epoch", progress.scalars.at("schedule_last_epoch")}});
    CHECK(progress.scalars.at("best_loss") == 0.125);
    CHECK(progress.arrays.at("history") == xt::xarray<double>{1.5, 0.75});
    std::mt19937_64 rng;
    std::istringstream(progress.texts.at("rng")) >> rng;
    for (std::int64_t epoch = progress.epoch; epoch < 5; ++epoch) {
        train_epoch(*net, optimizer, rng);
        scheduler.step();
    }

    CHECK(net->state_dict() == reference->state_dict());  // bit for bit
    CHECK(optimizer.state().buffers == reference_optimizer.state().buffers);
    CHECK(optimizer.state().scalars == reference_optimizer.state().scalars);
    CHECK(optimizer.options().lr() == reference_optimizer.options().lr());
}
}  // namespace

TEST_CASE("resuming from a checkpoint reproduces the uninterrupted run bit for bit") {
    SUBCASE("SGD with Nesterov momentum") {
        check_resume_is_exact<optim::SGD<double>>(
            optim::SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(1e-3));
    }
    SUBCASE("AdamW with amsgrad") {
        check_resume_is_exact<optim::AdamW<double>>(optim::AdamWOptions(0.01).amsgrad(true));
    }
}

TEST_CASE("a checkpoint has the documented entry names") {
    TempDir dir;
    auto net = make_mlp<double>({2, 2}, "relu");
    optim::SGD<double> optimizer(net->parameters(), optim::SGDOptions(0.5).momentum(0.5));
    net->zero_grad();
    sum(net->forward(Tensor<double>::ones({1, 2}))).backward();
    optimizer.step();
    TrainingProgress progress;
    progress.epoch = 7;
    progress.texts["note"] = "hi";
    save_checkpoint(dir.file("c.npz"), *net, optimizer, progress);
    std::vector<std::string> names;
    for (const auto& member : npz::read(dir.file("c.npz"))) names.push_back(member.first);
    CHECK(names == std::vector<std::string>{"meta/epoch", "meta/text/note", "model/0.bias", "model/0.weight",
                                            "optim/buffer/0.momentum_buffer", "optim/buffer/1.momentum_buffer",
                                            "optim/scalar/0.step", "optim/scalar/1.step", "optim/scalar/lr"});
}

namespace {
// A 3-2 MLP drawn from `seed` and an Adam (lr 0.1) over it that took one step.
struct SteppedAdam {
    explicit SteppedAdam(std::uint64_t seed)
        : net(make_mlp<double>(MLPOptions({3, 2}, "relu").init(Init::PyTorchDefault).seed(seed))),
          optimizer(net->parameters(), optim::AdamOptions(0.1)) {
        sum(net->forward(Tensor<double>::ones({1, 3}))).backward();
        optimizer.step();
    }
    std::shared_ptr<Sequential<double>> net;
    optim::Adam<double> optimizer;
};
}  // namespace

TEST_CASE("a checkpoint that does not fit leaves model and optimizer unchanged") {
    TempDir dir;
    SteppedAdam small_run(1);
    auto& small = small_run.net;
    save_checkpoint(dir.file("small.npz"), *small, small_run.optimizer, TrainingProgress{});

    // Same model shapes, but an optimizer over only the first parameter: the
    // optimizer state names parameter 1, which does not exist.
    auto net = make_mlp<double>(MLPOptions({3, 2}, "relu").init(Init::PyTorchDefault).seed(2));
    optim::Adam<double> optimizer({net->parameters()[0]}, optim::AdamOptions(0.2));
    const auto net_before = net->state_dict();
    CHECK_THROWS_WITH_AS(load_checkpoint(dir.file("small.npz"), *net, optimizer),
                         doctest::Contains("small.npz"), Error);
    CHECK(net->state_dict() == net_before);
    CHECK(optimizer.lr() == 0.2);
    CHECK(optimizer.state().buffers.empty());

    // A plain model file is not a checkpoint.
    save(*small, dir.file("plain.npz"));
    CHECK_THROWS_AS(load_checkpoint(dir.file("plain.npz"), *net, optimizer), Error);
    CHECK(net->state_dict() == net_before);
}

TEST_CASE("a checkpoint's optimizer buffer of the parameter's size but another shape is refused, changing nothing") {
    TempDir dir;
    SteppedAdam run(1);
    auto& [net, optimizer] = run;
    save_checkpoint(dir.file("good.npz"), *net, optimizer, TrainingProgress{});
    // The typed state takes an array as it comes: the shape check is what
    // keeps a (6,) moment off a (2, 3) weight, where xtensor would broadcast
    // or throw halfway through a step.
    npz::Members members = npz::read(dir.file("good.npz"));
    REQUIRE(members.count("optim/buffer/0.exp_avg") == 1);
    members["optim/buffer/0.exp_avg"] = npz::to_npy(xt::xarray<double>(xt::zeros<double>({6})));
    npz::write(dir.file("bad.npz"), members);

    optimizer.step();  // the state to keep: step 2, moments of two steps
    const xt::xarray<double> exp_avg = *optimizer.param_state(0).exp_avg;
    const auto net_before = net->state_dict();
    CHECK_THROWS_WITH_AS(load_checkpoint(dir.file("bad.npz"), *net, optimizer),
                         doctest::Contains("bad.npz': optimizer state: buffer '0.exp_avg' has shape (6,), parameter 0 "
                                           "has shape (2, 3)"),
                         Error);
    CHECK(*optimizer.param_state(0).exp_avg == exp_avg);
    CHECK(optimizer.param_state(0).step == 2);
    CHECK(net->state_dict() == net_before);
    load_checkpoint(dir.file("good.npz"), *net, optimizer);
    CHECK(optimizer.param_state(0).step == 1);
}

TEST_CASE("a process killed while writing a checkpoint leaves the previous one readable") {
    TempDir dir;
    const std::string path = dir.file("run.ckpt.npz");
    auto net = make_mlp<double>(MLPOptions({5, 7, 2}, "tanh").init(Init::XavierUniform).seed(1));
    optim::SGD<double> optimizer(net->parameters(), optim::SGDOptions(0.1).momentum(0.9));
    std::mt19937_64 rng(5);
    train_epoch(*net, optimizer, rng);
    TrainingProgress first;
    first.epoch = 1;
    save_checkpoint(path, *net, optimizer, first);
    const StateDict<double> saved = net->state_dict();

    // The child trains another epoch and dies between writing its checkpoint
    // and renaming it over the previous one, as kill -9 or a power cut would.
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        train_epoch(*net, optimizer, rng);
        TrainingProgress second;
        second.epoch = 2;
        io::set_before_rename_hook([](const std::string&) { _exit(42); });
        save_checkpoint(path, *net, optimizer, second);
        _exit(0);  // not reached when the hook runs
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 42));

    auto resumed = make_mlp<double>(MLPOptions({5, 7, 2}, "tanh").init(Init::XavierUniform).seed(9));
    optim::SGD<double> resumed_optimizer(resumed->parameters(), optim::SGDOptions(0.1).momentum(0.9));
    CHECK(load_checkpoint(path, *resumed, resumed_optimizer).epoch == 1);
    CHECK(resumed->state_dict() == saved);
    CHECK(resumed_optimizer.state().buffers == optimizer.state().buffers);
}
