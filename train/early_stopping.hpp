// Early stopping on the validation loss, keeping a copy of the best weights
// (the notebook kept a reference to the live layers, so "best" was whatever
// the network had become by the time it stopped).
#pragma once

#include <cstddef>
#include <limits>
#include <string>

#include <tapegrad/train/checkpoint.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::train {

class EarlyStopping {
public:
    explicit EarlyStopping(std::size_t patience) : patience_(patience) {}

    // After each epoch (1-based): copies the weights when the loss is a new best.
    void observe(std::size_t epoch, double valid_loss, const nn::Module<float>& model);
    // `patience` epochs in a row have not beaten the best loss.
    bool should_stop() const { return enabled() && epochs_without_improvement_ >= patience_; }
    bool enabled() const { return patience_ > 0; }
    bool has_best() const { return best_epoch_ > 0; }
    std::size_t best_epoch() const { return best_epoch_; }
    double best_loss() const { return best_loss_; }
    void restore_best(nn::Module<float>& model) const { model.load_state(best_weights_); }

    // Into and out of a checkpoint: scalars "early_stopping/...", arrays "best/<parameter>".
    void store(TrainingProgress& progress) const;
    // Throws Error naming `path` if the state is missing or does not fit `model`.
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
