/// \file
/// Early stopping on the validation loss, keeping a copy of the best weights
/// (the notebook kept a reference to the live layers, so "best" was whatever
/// the network had become by the time it stopped).
#pragma once

#include <cstddef>
#include <limits>
#include <string>

#include <tapegrad/train/checkpoint.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::train {

/// Tracks the best validation loss of a run and keeps a copy of the weights
/// that reached it; says when to stop. Used by train::Trainer, or on its own
/// in a hand-written loop.
class EarlyStopping {
public:
    /// Stop after `patience` epochs in a row without a better validation loss;
    /// 0 turns stopping off (and no weights are copied), but the best epoch is
    /// still tracked.
    explicit EarlyStopping(std::size_t patience) : patience_(patience) {}

    /// After each epoch (1-based): copies the weights when the loss is a new best.
    /// A loss only counts as better when strictly below the best (NaN never is).
    void observe(std::size_t epoch, double valid_loss, const nn::Module<float>& model);
    /// `patience` epochs in a row have not beaten the best loss.
    bool should_stop() const { return enabled() && epochs_without_improvement_ >= patience_; }
    /// Whether patience is above 0, so stopping is on and weights are copied.
    bool enabled() const { return patience_ > 0; }
    /// Whether some observed loss was below infinity, so best_epoch() and
    /// best_loss() name a real epoch.
    bool has_best() const { return best_epoch_ > 0; }
    /// The 1-based epoch of the best loss so far; 0 before any.
    std::size_t best_epoch() const { return best_epoch_; }
    /// The best validation loss so far; infinity before any.
    double best_loss() const { return best_loss_; }
    /// Loads the copied best weights into `model`, all or nothing. Call it only
    /// when enabled() and has_best(): otherwise nothing was copied, and
    /// Module::load_state throws tapegrad::Error for the missing parameters.
    void restore_best(nn::Module<float>& model) const { model.load_state(best_weights_); }

    /// Into and out of a checkpoint: scalars "early_stopping/...", arrays `best/<parameter>`.
    /// Adds this state to `progress`, the weights exactly (float32 survives
    /// the float64 arrays bit for bit).
    void store(TrainingProgress& progress) const;
    /// Takes back the state store() wrote, all or nothing.
    /// Throws Error naming `path` if the state is missing or does not fit `model`.
    void restore(const TrainingProgress& progress, const nn::Module<float>& model,
                 const std::string& path);

private:
    std::size_t patience_;
    double best_loss_ = std::numeric_limits<double>::infinity();
    std::size_t best_epoch_ = 0;  // 0: no epoch observed yet
    std::size_t epochs_without_improvement_ = 0;
    nn::StateDict<float> best_weights_;
};

}  // namespace tapegrad::train
