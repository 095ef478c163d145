/// \file
/// Loss and accuracy of a classifier over a whole data set, without a tape.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include <tapegrad/autograd/labels.hpp>
#include <tapegrad/data/dataset.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/train/communicator.hpp>

namespace tapegrad::train {

/// What evaluate() measured.
struct Score {
    /// Mean cross-entropy per sample (natural log, so nats).
    double loss = 0;      // mean cross-entropy per sample
    /// Fraction of samples whose largest logit is their label, in [0, 1].
    double accuracy = 0;  // fraction of samples whose largest logit is their label
};

/// RAII: remembers the training flag (Module::is_training) of `model` and of
/// every module below it, and restores each on destruction, so that a caller's
/// modes survive evaluate() and Trainer::run(), mixed ones included (a batch
/// norm kept in eval() inside a model that trains).
class TrainingModeGuard {
public:
    /// Records the flags of `model`'s whole tree; `model` must outlive the guard.
    explicit TrainingModeGuard(nn::Module<float>& model);
    /// Sets every recorded flag back.
    ~TrainingModeGuard();
    TrainingModeGuard(const TrainingModeGuard&) = delete;
    TrainingModeGuard& operator=(const TrainingModeGuard&) = delete;

private:
    std::vector<std::pair<nn::Module<float>*, bool>> modes_;  // parents before their children
};

/// How many rows of `logits` (batch x classes) have their maximum at the label.
/// A tie goes to the first maximum. Throws tapegrad::Error naming the shapes
/// unless `logits` is 2-D with one row per label.
std::size_t count_correct(const xt::xarray<float>& logits, const Labels& labels);

/// The mean cross-entropy and the accuracy of `model`'s logits over all of
/// `data`, in chunks of 2000 samples, in evaluation mode (dropout off, batch
/// norm on its running statistics; the model's modes are restored after) and
/// with the tape off (a NoGradGuard), so nothing is recorded and no gradient,
/// weight or buffer changes. Throws
/// tapegrad::Error on an empty data set. Throws what the model or cross_entropy throw,
/// e.g. tapegrad::Error when the features do not fit the model.
Score evaluate(nn::Module<float>& model, const Dataset& data);

/// The same over the processes of a data-parallel job, each process running
/// the model on its share of every chunk (LoaderOptions::shard): the sums of
/// the losses and of the correct answers are added up over the processes, so
/// every process gets the whole set's score, the single process's up to
/// rounding. Every process must call it, with the same data.
Score evaluate(nn::Module<float>& model, const Dataset& data, Communicator& communicator);

}  // namespace tapegrad::train
