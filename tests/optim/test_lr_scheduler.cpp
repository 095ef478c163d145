#include <doctest/doctest.h>

#include <tapegrad/optim/lr_scheduler.hpp>
#include <tapegrad/optim/sgd.hpp>

using namespace tapegrad;
using namespace tapegrad::optim;

namespace {
SGD<double> make_sgd(double lr) { return SGD<double>({Tensor<double>::zeros({1}, true)}, SGDOptions(lr)); }
}  // namespace

TEST_CASE("StepLR multiplies the lr by gamma every step_size epochs") {
    auto sgd = make_sgd(1.0);
    StepLR<double> schedule(sgd, 2, 0.5);
    std::vector<double> seen;
    for (int epoch = 0; epoch < 5; ++epoch) {
        schedule.step();
        seen.push_back(sgd.lr());
    }
    CHECK(seen == std::vector<double>{1.0, 0.5, 0.5, 0.25, 0.25});
    CHECK_THROWS_AS(StepLR<double>(sgd, 0), Error);

    auto resumed_sgd = make_sgd(0.25);
    StepLR<double> resumed(resumed_sgd, 2, 0.5);
    resumed.load_state(schedule.state());
    resumed.step();  // epoch 6: a multiple of 2
    CHECK(resumed_sgd.lr() == 0.125);
}

TEST_CASE("ReduceLROnPlateau follows PyTorch's patience, threshold and cooldown") {
    auto sgd = make_sgd(1.0);
    PlateauOptions options;
    options.factor = 0.5;
    options.patience = 2;
    options.threshold = 0.1;  // relative: better means below best * 0.9
    options.cooldown = 1;
    ReduceLROnPlateau<double> plateau(sgd, options);
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
    PlateauOptions options;
    options.factor = 0.1;
    options.patience = 0;
    options.min_lr = 0.05;
    ReduceLROnPlateau<double> plateau(sgd, options);
    plateau.step(1.0);
    CHECK(plateau.step(1.0));
    CHECK(sgd.lr() == doctest::Approx(0.1));
    CHECK(plateau.step(1.0));
    CHECK(sgd.lr() == 0.05);
    CHECK(!plateau.step(1.0));  // already at min_lr: no change
    CHECK(sgd.lr() == 0.05);
}

TEST_CASE("ReduceLROnPlateau validates its options and restores its counters") {
    auto sgd = make_sgd(1.0);
    PlateauOptions bad;
    bad.factor = 1.0;
    CHECK_THROWS_WITH_AS(ReduceLROnPlateau<double>(sgd, bad), doctest::Contains("factor"), Error);

    PlateauOptions options;
    options.patience = 1;
    ReduceLROnPlateau<double> plateau(sgd, options);
    plateau.step(3.0);
    plateau.step(3.0);  // one bad epoch
    ReduceLROnPlateau<double> resumed(sgd, options);
    resumed.load_state(plateau.state());
    CHECK(resumed.best() == 3.0);
    CHECK(resumed.step(3.0));  // the second bad epoch exceeds patience 1
    CHECK_THROWS_AS(resumed.load_state({{"best", 1.0}}), Error);
}
