#include <cmath>

#include <doctest/doctest.h>

#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/lr_scheduler.hpp>
#include <tapegrad/optim/sgd.hpp>

using namespace tapegrad;
using namespace tapegrad::optim;

namespace {
SGD<double> make_sgd(double lr) { return SGD<double>({Tensor<double>::zeros({1}, true)}, SGDOptions(lr)); }
}  // namespace

TEST_CASE("StepLR multiplies the lr by gamma every step_size epochs") {
    auto sgd = make_sgd(1.0);
    StepLR<double> schedule(sgd, StepLROptions(2).gamma(0.5));
    std::vector<double> seen;
    for (int epoch = 0; epoch < 5; ++epoch) {
        schedule.step();
        seen.push_back(sgd.lr());
    }
    CHECK(seen == std::vector<double>{1.0, 0.5, 0.5, 0.25, 0.25});

    auto resumed_sgd = make_sgd(0.25);
    StepLR<double> resumed(resumed_sgd, StepLROptions(2).gamma(0.5));
    resumed.load_state(schedule.state());
    resumed.step();  // epoch 6: a multiple of 2
    CHECK(resumed_sgd.lr() == 0.125);
}

TEST_CASE("ReduceLROnPlateau follows PyTorch's patience, threshold and cooldown") {
    auto sgd = make_sgd(1.0);
    // threshold is relative: better means below best * 0.9
    ReduceLROnPlateau<double> plateau(sgd,
                                      ReduceLROnPlateauOptions().factor(0.5).patience(2).threshold(0.1).cooldown(1));
    // Worked by hand: metric, then (best, bad epochs, cooldown, lr) after step().
    CHECK(!plateau.step(10.0));  // better than inf: best 10, bad 0
    CHECK(!plateau.step(9.5));   // 9.5 >= 9: bad 1
    CHECK(!plateau.step(9.2));   // bad 2
    CHECK(plateau.step(9.1));    // bad 3 > patience: lr 0.5, cooldown 1, bad 0
    CHECK(sgd.lr() == 0.5);
    CHECK(!plateau.step(9.0));   // 9.0 is not < 9.0: bad 1, but in cooldown: bad 0, cooldown 0
    CHECK(plateau.num_bad_epochs() == 0);
    CHECK(!plateau.step(9.0));   // bad 1
    CHECK(!plateau.step(9.0));   // bad 2
    CHECK(plateau.step(9.0));    // bad 3: lr 0.25
    CHECK(sgd.lr() == 0.25);
    CHECK(!plateau.step(5.0));   // better: best 5
    CHECK(plateau.best() == 5.0);
    CHECK(plateau.num_bad_epochs() == 0);
}

TEST_CASE("ReduceLROnPlateau stops at min_lr") {
    auto sgd = make_sgd(1.0);
    ReduceLROnPlateau<double> plateau(sgd, ReduceLROnPlateauOptions().factor(0.1).patience(0).min_lr(0.05));
    plateau.step(1.0);
    CHECK(plateau.step(1.0));
    CHECK(sgd.lr() == doctest::Approx(0.1));
    CHECK(plateau.step(1.0));
    CHECK(sgd.lr() == 0.05);
    CHECK(!plateau.step(1.0));  // already at min_lr: no change
    CHECK(sgd.lr() == 0.05);
}

TEST_CASE("ReduceLROnPlateau restores its counters") {
    auto sgd = make_sgd(1.0);
    const auto options = ReduceLROnPlateauOptions().patience(1);
    ReduceLROnPlateau<double> plateau(sgd, options);
    plateau.step(3.0);
    plateau.step(3.0);  // one bad epoch
    ReduceLROnPlateau<double> resumed(sgd, options);
    resumed.load_state(plateau.state());
    CHECK(resumed.best() == 3.0);
    CHECK(resumed.step(3.0));  // the second bad epoch exceeds patience 1
    CHECK_THROWS_AS(resumed.load_state({{"best", 1.0}}), Error);
}

TEST_CASE("StepLROptions and ReduceLROnPlateauOptions reject bad values, naming the option") {
    CHECK_THROWS_WITH_AS(StepLROptions(0), "StepLROptions: step_size must be > 0, got 0", Error);
    CHECK_THROWS_WITH_AS(StepLROptions(3).gamma(-0.5), "StepLROptions: gamma must be finite and > 0, got -0.5", Error);
    using Options = ReduceLROnPlateauOptions;
    CHECK_THROWS_WITH_AS(Options().factor(1.0), "ReduceLROnPlateauOptions: factor must be in (0, 1), got 1", Error);
    CHECK_THROWS_WITH_AS(Options().patience(-1), doctest::Contains("patience must be >= 0, got -1"), Error);
    CHECK_THROWS_WITH_AS(Options().threshold(-1e-4), doctest::Contains("threshold must be finite and >= 0, got -1e-04"),
                         Error);
    CHECK_THROWS_WITH_AS(Options().cooldown(-2), doctest::Contains("cooldown must be >= 0, got -2"), Error);
    CHECK_THROWS_WITH_AS(Options().min_lr(-1), doctest::Contains("min_lr must be finite and >= 0, got -1"), Error);
    CHECK_THROWS_WITH_AS(Options().eps(std::nan("")), doctest::Contains("eps must be finite and >= 0, got nan"), Error);
    // A rejected value leaves the options as they were.
    auto options = Options().factor(0.5);
    CHECK_THROWS_AS(options.factor(2.0), Error);
    CHECK(options.factor() == 0.5);
}

// The lr lives only in the optimizer's options: what a scheduler sets is what
// options().lr() reads, and what the optimizer's state (a checkpoint) saves.
TEST_CASE("a scheduler changes the lr in the optimizer's options") {
    auto sgd = make_sgd(1.0);
    StepLR<double> step(sgd, StepLROptions(1).gamma(0.5));
    step.step();
    CHECK(sgd.options().lr() == 0.5);
    CHECK(sgd.lr() == 0.5);
    CHECK(sgd.state().scalars.at("lr") == 0.5);

    Adam<double> adam({Tensor<double>::zeros({1}, true)}, AdamOptions(0.4));
    ReduceLROnPlateau<double> plateau(adam, ReduceLROnPlateauOptions().factor(0.25).patience(0));
    plateau.step(1.0);
    CHECK(plateau.step(1.0));
    CHECK(adam.options().lr() == 0.1);

    AdamW<double> adamw({Tensor<double>::zeros({1}, true)}, AdamWOptions(0.4));
    adamw.set_lr(0.2);
    CHECK(adamw.options().lr() == 0.2);
    CHECK_THROWS_WITH_AS(adamw.set_lr(-0.1), doctest::Contains("AdamWOptions: lr must be finite and >= 0, got -0.1"),
                         Error);
    CHECK(adamw.options().lr() == 0.2);
    adamw.set_lr(0);  // as PyTorch: where cosine annealing to eta_min 0 ends
    CHECK(adamw.options().lr() == 0);

    // Restoring a state restores the lr in the options, exactly.
    auto other = make_sgd(0.3);
    other.load_state(sgd.state());
    CHECK(other.options().lr() == 0.5);
}

TEST_CASE("a scheduler step that throws changes nothing") {
    // lr * gamma overflows to inf, which set_lr refuses: the epoch count must
    // not move, or the schedule would run one epoch ahead ever after.
    // (ReduceLROnPlateau's cuts stay in [min_lr, lr]: set_lr takes every one.)
    auto sgd = make_sgd(1e300);
    StepLR<double> schedule(sgd, StepLROptions(1).gamma(1e100));
    CHECK_THROWS_AS(schedule.step(), Error);
    CHECK(schedule.state().at("last_epoch") == 0);
    CHECK(sgd.lr() == 1e300);
    // An lr that underflows to 0 is taken, as in PyTorch.
    auto tiny = make_sgd(1e-300);
    StepLR<double> to_zero(tiny, StepLROptions(1).gamma(1e-100));
    to_zero.step();
    CHECK(tiny.lr() == 0);
}

TEST_CASE("scheduler state with counters that are not whole numbers is refused") {
    auto sgd = make_sgd(1.0);
    StepLR<double> schedule(sgd, StepLROptions(2));
    for (double bad : {std::nan(""), -2.0, 1e300, 2.5}) {
        CAPTURE(bad);
        CHECK_THROWS_WITH_AS(schedule.load_state({{"last_epoch", bad}}), doctest::Contains("last_epoch"), Error);
        CHECK(schedule.state().at("last_epoch") == 0);
    }
    ReduceLROnPlateau<double> plateau(sgd);
    const SchedulerState good = plateau.state();
    SchedulerState bad = good;
    bad["num_bad_epochs"] = std::nan("");
    CHECK_THROWS_WITH_AS(plateau.load_state(bad), doctest::Contains("num_bad_epochs"), Error);
    CHECK(plateau.state() == good);
}
