/// \file
/// Loss and accuracy of a classifier, or the loss of a model trained on
/// targets, over a whole data set, without a tape.
#pragma once

#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

#include <tapegrad/autograd/labels.hpp>
#include <tapegrad/data/dataset.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/train/communicator.hpp>

namespace tapegrad::train {

/// The loss of a model on a batch of a data set with targets
/// (Dataset::targets): `outputs` the model's for the batch, `targets` the
/// batch's rows of targets, (batch, k); a 0-d tensor on the tape, a mean over
/// the rows (a mean over every element of (batch, k) is one), such as
/// mse_loss(outputs, targets). A loss over tokens that ignores some (padding)
/// should divide by rows x T rather than by the tokens it counts, or
/// batches and shards would weigh its rows unequally.
using TargetLoss = std::function<Tensor<float>(const Tensor<float>& outputs, const Tensor<float>& targets)>;

/// What evaluate() measured.
struct Score {
    /// Mean cross-entropy per sample (natural log, so nats); for a data set
    /// with targets, the mean of the TargetLoss per sample.
    double loss = 0;      // mean cross-entropy (or TargetLoss) per sample
    /// Fraction of samples whose largest logit is their label, in [0, 1];
    /// NaN (not measured) for a data set with targets.
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
/// tapegrad::Error on an empty data set, and on one with targets (they need
/// the overload with a TargetLoss). Throws what the model or cross_entropy
/// throw, e.g. tapegrad::Error when the features do not fit the model.
Score evaluate(nn::Module<float>& model, const Dataset& data);

/// The mean of `loss` per sample of a data set with targets (Dataset::targets:
/// each chunk's loss times its rows, summed, over the samples); the accuracy
/// is NaN, not measured. Otherwise as evaluate() above; throws
/// tapegrad::Error on a data set of class labels (measured by the overload
/// without a loss) or when `loss` is empty.
Score evaluate(nn::Module<float>& model, const Dataset& data, const TargetLoss& loss);

/// The same over the processes of a data-parallel job, each process running
/// the model on its share of every chunk (LoaderOptions::shard): the sums of
/// the losses and of the correct answers are added up over the processes, so
/// every process gets the whole set's score, the single process's up to
/// rounding. Every process must call it, with the same data.
Score evaluate(nn::Module<float>& model, const Dataset& data, Communicator& communicator);
/// The same for a data set with targets, measured by `loss`.
Score evaluate(nn::Module<float>& model, const Dataset& data, const TargetLoss& loss, Communicator& communicator);

}  // namespace tapegrad::train
