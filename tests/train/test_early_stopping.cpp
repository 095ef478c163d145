// Early stopping keeps a copy of the best weights, not a reference to the
// live ones (the original notebook's bug).
#include <doctest/doctest.h>

#include <limits>
#include <string>
#include <vector>

#include <tapegrad/nn/linear.hpp>
#include <tapegrad/train/early_stopping.hpp>

using tapegrad::nn::Linear;

TEST_CASE("early stopping restores a copy of the best epoch's weights") {
    Linear<float> model(tapegrad::nn::LinearOptions(3, 2).init(tapegrad::nn::Init::XavierUniform).seed(1));
    tapegrad::train::EarlyStopping stopping(/*patience=*/2);
    const auto best = model.state_dict();
    stopping.observe(1, 0.5, model);
    model.weight().data_mut() += 1.0f;  // training goes on and makes things worse
    stopping.observe(2, 0.7, model);
    CHECK_FALSE(stopping.should_stop());
    stopping.observe(3, 0.6, model);
    CHECK(stopping.should_stop());  // two epochs in a row without beating 0.5
    CHECK(stopping.best_epoch() == 1);

    stopping.restore_best(model);
    CHECK(model.state_dict() == best);
}

TEST_CASE("a better epoch resets the patience counter") {
    Linear<float> model(tapegrad::nn::LinearOptions(2, 2).init(tapegrad::nn::Init::XavierUniform).seed(1));
    tapegrad::train::EarlyStopping stopping(2);
    stopping.observe(1, 1.0, model);
    stopping.observe(2, 1.1, model);
    stopping.observe(3, 0.9, model);
    stopping.observe(4, 0.95, model);
    CHECK_FALSE(stopping.should_stop());
    CHECK(stopping.best_epoch() == 3);
}

TEST_CASE("early stopping's state survives a checkpoint exactly") {
    Linear<float> model(tapegrad::nn::LinearOptions(3, 2).init(tapegrad::nn::Init::XavierUniform).seed(1));
    tapegrad::train::EarlyStopping stopping(3);
    stopping.observe(1, 0.25, model);
    stopping.observe(2, 0.5, model);
    tapegrad::train::TrainingProgress progress;
    progress.epoch = 2;
    stopping.store(progress);

    tapegrad::train::EarlyStopping restored(3);
    restored.restore(progress, model, "checkpoint.npz");
    CHECK(restored.best_epoch() == 1);
    CHECK(restored.best_loss() == 0.25);
    const auto best = model.state_dict();
    model.weight().data_mut() *= 3.0f;
    restored.restore_best(model);
    CHECK(model.state_dict() == best);

    progress.scalars.clear();
    CHECK_THROWS_WITH_AS(restored.restore(progress, model, "checkpoint.npz"), doctest::Contains("checkpoint.npz"),
                         tapegrad::Error);

    // Only the last entry missing: the failed restore still changes nothing.
    tapegrad::train::TrainingProgress later;
    tapegrad::train::EarlyStopping other(3);
    other.observe(1, 0.75, model);
    later.epoch = 1;
    other.store(later);
    later.scalars.erase("early_stopping/epochs_without_improvement");
    CHECK_THROWS_AS(restored.restore(later, model, "checkpoint.npz"), tapegrad::Error);
    CHECK(restored.best_loss() == 0.25);
    CHECK(restored.best_epoch() == 1);
}

TEST_CASE("an equal validation loss is not an improvement") {
    Linear<float> model(tapegrad::nn::LinearOptions(2, 2).init(tapegrad::nn::Init::XavierUniform).seed(1));
    tapegrad::train::EarlyStopping stopping(1);
    const auto first = model.state_dict();
    stopping.observe(1, 0.5, model);
    model.weight().data_mut() += 1.0f;
    stopping.observe(2, 0.5, model);  // a tie
    CHECK(stopping.best_epoch() == 1);
    CHECK(stopping.should_stop());
    stopping.restore_best(model);
    CHECK(model.state_dict() == first);
}

// A checkpoint is a file anyone can edit: each value must be one observe()
// can have produced, or the cast to size_t is undefined behaviour.
TEST_CASE("restore refuses early-stopping values that cannot have been observed, naming file and entry") {
    Linear<float> model(tapegrad::nn::LinearOptions(3, 2).init(tapegrad::nn::Init::XavierUniform).seed(1));
    tapegrad::train::EarlyStopping stopping(3);
    stopping.observe(1, 0.25, model);
    stopping.observe(2, 0.5, model);
    tapegrad::train::TrainingProgress good;
    good.epoch = 2;
    stopping.store(good);
    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    struct Case {
        std::string key;
        double value;
    };
    const std::vector<Case> cases = {
        {"early_stopping/best_epoch", nan},  {"early_stopping/best_epoch", 1e300},
        {"early_stopping/best_epoch", -1},   {"early_stopping/best_epoch", 1.5},
        {"early_stopping/best_epoch", 3},    {"early_stopping/epochs_without_improvement", nan},
        {"early_stopping/epochs_without_improvement", -1}, {"early_stopping/epochs_without_improvement", 1e300},
        {"early_stopping/epochs_without_improvement", 2},  {"early_stopping/best_loss", nan},
        {"early_stopping/best_loss", inf},
    };
    for (const Case& c : cases) {
        CAPTURE(c.key);
        CAPTURE(c.value);
        tapegrad::train::TrainingProgress crafted = good;
        crafted.scalars[c.key] = c.value;
        tapegrad::train::EarlyStopping restored(3);
        CHECK_THROWS_WITH_AS(restored.restore(crafted, model, "crafted.npz"),
                             doctest::Contains(("'crafted.npz', entry 'meta/scalar/" + c.key + "'").c_str()), tapegrad::Error);
        CHECK_FALSE(restored.has_best());  // nothing changed
    }
    tapegrad::train::TrainingProgress huge_weight = good;
    huge_weight.arrays.begin()->second(0) = 1e300;  // not a float32
    CHECK_THROWS_WITH_AS(tapegrad::train::EarlyStopping(3).restore(huge_weight, model, "crafted.npz"),
                         doctest::Contains("crafted.npz"), tapegrad::Error);
    tapegrad::train::EarlyStopping restored(3);
    CHECK_NOTHROW(restored.restore(good, model, "crafted.npz"));
    CHECK(restored.best_epoch() == 1);
}
