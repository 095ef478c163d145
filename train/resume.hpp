/// \file
/// What a Trainer's checkpoint holds besides model and optimizer (the
/// history, early stopping's state, the untrained model's validation loss),
/// how it is written, and the checks a resumed run makes of it against the
/// model, the optimizer and the options. Private to the train layer (not
/// installed).
#pragma once

#include <string>

#include <tapegrad/data/dataset.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/optim/optimizer.hpp>
#include <tapegrad/train/early_stopping.hpp>
#include <tapegrad/train/history.hpp>
#include <tapegrad/train/trainer.hpp>

namespace tapegrad::detail {

// A trainer's own state in its checkpoint.
struct TrainerState {
    train::History history;
    train::EarlyStopping early_stopping{0};
    double untrained_valid_loss = -1;
};

// What identifies a run's training and validation data in its checkpoint:
// their shapes and the CRC-32 of their inputs and labels or targets (cheap
// next to an epoch; not a defence against forgery, which the checkpoint
// cannot offer anyway).
std::string describe_data(const Dataset& train, const Dataset& valid);

// Writes `state` with the model, the optimizer, the options' fingerprint and
// `data` (describe_data()) to options.checkpoint() (save_checkpoint()).
void write_trainer_checkpoint(const nn::Module<float>& model, const optim::Optimizer<float>& optimizer,
                              const train::TrainerOptions& options, const TrainerState& state, const std::string& data);

// Loads the checkpoint `path` into model and optimizer and returns the
// trainer's state, after checking it against this run (Trainer::resume says
// what): its fingerprint, `data` (describe_data()), the optimizer's lr, the
// epochs, the accuracies (NaN exactly when `on_targets`), early stopping's
// best epoch and the untrained loss. Throws tapegrad::Error naming the file
// and the entry otherwise, and then model and optimizer keep their state.
TrainerState read_trainer_checkpoint(const std::string& path, nn::Module<float>& model,
                                     optim::Optimizer<float>& optimizer, const train::TrainerOptions& options,
                                     const std::string& data, bool on_targets);

}  // namespace tapegrad::detail
