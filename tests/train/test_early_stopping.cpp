// Early stopping keeps a copy of the best weights, not a reference to the
// live ones (the original notebook's bug).
#include <doctest/doctest.h>

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
    other.store(later);
    later.scalars.erase("early_stopping/epochs_without_improvement");
    CHECK_THROWS_AS(restored.restore(later, model, "checkpoint.npz"), tapegrad::Error);
    CHECK(restored.best_loss() == 0.25);
    CHECK(restored.best_epoch() == 1);
}
