// The training loop: mini-batch SGD on the mean cross-entropy, one line per
// epoch on stdout, early stopping, a checkpoint after every epoch, and a
// clean stop on a non-finite loss.
#pragma once

#include <string>

#include <tapegrad/data/dataset.hpp>
#include "early_stopping.hpp"
#include "history.hpp"
#include <tapegrad/nn/module.hpp>
#include <tapegrad/optim/optimizer.hpp>
#include "options.hpp"

namespace mnist {

enum class Outcome { AllEpochs, EarlyStopped, NonFiniteLoss };

// The side of a square image of `pixels` pixels; 0 when there is none.
std::size_t image_side(std::size_t pixels);

class Trainer {
public:
    // Keeps references: everything must outlive the trainer.
    Trainer(tapegrad::nn::Module<float>& model, tapegrad::optim::Optimizer<float>& optimizer,
            const tapegrad::Dataset& train, const tapegrad::Dataset& valid, const Options& options);

    // Loads a checkpoint written by this program with the same training
    // settings; throws tapegrad::Error naming the file otherwise.
    void resume(const std::string& path);

    // Trains up to options.epochs, then leaves the model with the weights to
    // keep: the best validation epoch's with early stopping, and never
    // weights that gave a non-finite loss.
    Outcome run();

    const History& history() const { return history_; }
    // The epoch whose weights early stopping kept, 0 when it is off.
    std::size_t kept_epoch() const { return early_stopping_.enabled() ? early_stopping_.best_epoch() : 0; }

private:
    EpochRecord train_epoch(std::size_t epoch);  // 1-based; throws on a non-finite loss
    void write_checkpoint() const;

    tapegrad::nn::Module<float>& model_;
    tapegrad::optim::Optimizer<float>& optimizer_;
    const tapegrad::Dataset& train_;
    const tapegrad::Dataset& valid_;
    const Options& options_;
    History history_;
    EarlyStopping early_stopping_;
};

}  // namespace mnist
