/// \file
/// The reusable training loop for a classifier: mini-batches over a Dataset,
/// any optimizer, the mean cross-entropy (or a loss of the caller's),
/// validation after every epoch, early stopping that keeps a copy of the best
/// weights, a checkpoint after every epoch that resumes bit for bit, and a
/// clean stop on a non-finite loss.
///
/// \code
///   train::Trainer trainer(model, optimizer, train_set, valid_set,
///                          train::TrainerOptions().epochs(50).batch_size(200).early_stopping_patience(5));
///   const train::Outcome outcome = trainer.run();
///   io::write_file_atomically("metrics.csv", train::to_csv(trainer.history()));
/// \endcode
///
/// It prints nothing unless asked: verbose(true) writes one line per epoch on
/// stdout and a progress bar on stderr.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <tapegrad/autograd/labels.hpp>
#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/data/dataset.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/optim/optimizer.hpp>
#include <tapegrad/train/early_stopping.hpp>
#include <tapegrad/train/history.hpp>

/// Training loops and what they need around them: the Trainer and its
/// options, evaluation, early stopping, checkpoints that resume bit for bit,
/// the metrics history with its CSV and SVG plot, and progress output.
/// Everything here trains `float` classifiers (nn::Module<float>) on a
/// Dataset.
namespace tapegrad::train {

/// How a Trainer runs: epochs, batches, early stopping, checkpoints, output.
/// LibTorch-style options: TrainerOptions().epochs(50).batch_size(200).early_stopping_patience(5).
/// The setters do not check their values; Trainer's constructor calls
/// validate(). Each setter returns the options, so calls chain, and has a
/// getter of the same name.
class TrainerOptions {
public:
    /// How many epochs to train in all, counting those a resumed checkpoint
    /// already did; at least 1 (default 10).
    TrainerOptions& epochs(std::size_t v) { epochs_ = v; return *this; }
    /// Samples per mini-batch, at least 1 (default 64); the last batch of an
    /// epoch may be shorter.
    TrainerOptions& batch_size(std::size_t v) { batch_size_ = v; return *this; }
    /// Whether each epoch visits the training samples in a random order (default true).
    /// false: every epoch visits the training samples in data set order.
    TrainerOptions& shuffle(bool v) { shuffle_ = v; return *this; }
    /// Seeds the batch order; epoch k's order depends only on (seed, k). Default 0.
    TrainerOptions& seed(std::uint64_t v) { seed_ = v; return *this; }
    /// Stop after this many epochs without a better validation loss and keep
    /// the best epoch's weights; 0 = off (the default).
    TrainerOptions& early_stopping_patience(std::size_t v) { early_stopping_patience_ = v; return *this; }
    /// Where to save a checkpoint after every epoch; empty = none (the default).
    /// The file is replaced whole each time (see save_checkpoint()).
    TrainerOptions& checkpoint(std::string path) { checkpoint_ = std::move(path); return *this; }
    /// The settings a resumed run must share with the run that wrote the
    /// checkpoint (layer sizes, learning rate, seeds, ...), as one string of
    /// the caller's; resume() refuses a checkpoint with another. Default empty.
    TrainerOptions& fingerprint(std::string v) { fingerprint_ = std::move(v); return *this; }
    /// One line per epoch on stdout and a progress bar on stderr. Default false:
    /// the trainer prints nothing.
    TrainerOptions& verbose(bool v) { verbose_ = v; return *this; }

    /// The number of epochs to train in all (default 10).
    std::size_t epochs() const { return epochs_; }
    /// Samples per mini-batch (default 64).
    std::size_t batch_size() const { return batch_size_; }
    /// Whether each epoch's batch order is random (default true).
    bool shuffle() const { return shuffle_; }
    /// The seed of the batch orders (default 0).
    std::uint64_t seed() const { return seed_; }
    /// Epochs without a better validation loss before stopping; 0 = off (default).
    std::size_t early_stopping_patience() const { return early_stopping_patience_; }
    /// The checkpoint path; empty = no checkpoints (default).
    const std::string& checkpoint() const { return checkpoint_; }
    /// The caller's settings string a resumed checkpoint must match (default empty).
    const std::string& fingerprint() const { return fingerprint_; }
    /// Whether the trainer reports each epoch (default false).
    bool verbose() const { return verbose_; }

    /// Throws tapegrad::Error naming the first invalid option and its value
    /// (epochs or batch_size 0).
    void validate() const;

private:
    std::size_t epochs_ = 10;
    std::size_t batch_size_ = 64;
    bool shuffle_ = true;
    std::uint64_t seed_ = 0;
    std::size_t early_stopping_patience_ = 0;
    std::string checkpoint_, fingerprint_;
    bool verbose_ = false;
};

/// Why Trainer::run() returned.
enum class Outcome { AllEpochs, EarlyStopped, NonFiniteLoss };
/// \var Outcome::AllEpochs
/// It trained every epoch TrainerOptions::epochs() asked for.
/// \var Outcome::EarlyStopped
/// Early stopping ran out of patience; the model holds the best epoch's weights.
/// \var Outcome::NonFiniteLoss
/// A loss was NaN or infinite (see Trainer::non_finite_at()); the model
/// holds the best epoch's weights with early stopping, else those of the last
/// epoch that completed.

/// Trains a classifier: each epoch runs the mini-batches of the training set
/// through the model, the loss, backward() and the optimizer, then measures
/// the validation set (evaluate()) and records an EpochRecord. Not safe to
/// use from several threads.
class Trainer {
public:
    /// A batch's inputs as the model will see them (augmentation); `epoch` and
    /// `batch` are 1-based, so a transform seeded by them repeats exactly on resume.
    using BatchTransform = std::function<Tensor<float>(const Tensor<float>& inputs, std::size_t epoch, std::size_t batch)>;
    /// The loss to minimise for a batch, a 0-d tensor on the tape; the default
    /// is cross_entropy (mean). It should be a mean over the batch: the
    /// recorded train_loss weights each batch by its size.
    using Loss = std::function<Tensor<float>(const Tensor<float>& logits, const Labels& labels)>;
    /// Called after each epoch's record is complete, before its checkpoint
    /// (step a learning-rate schedule here, or report).
    using EpochCallback = std::function<void(const EpochRecord& record)>;

    /// Keeps references: model, optimizer and data must outlive the trainer.
    /// The optimizer must be built over the model's parameters.
    /// Throws tapegrad::Error if the options are invalid or a data set is empty.
    Trainer(nn::Module<float>& model, optim::Optimizer<float>& optimizer, const Dataset& train, const Dataset& valid,
            TrainerOptions options);

    /// Applies `transform` to every training batch from now on (not to
    /// validation); an empty function turns it off. Returns the trainer.
    Trainer& transform_batches(BatchTransform transform);
    /// Minimises `loss` instead of the mean cross-entropy from now on; an empty
    /// function restores the default. Validation still reports cross-entropy.
    /// Returns the trainer.
    Trainer& loss(Loss loss);
    /// Calls `callback` after every epoch from now on; an empty function turns
    /// it off. Returns the trainer.
    Trainer& on_epoch_end(EpochCallback callback);

    /// Loads a checkpoint written by a trainer with the same fingerprint;
    /// throws tapegrad::Error naming the file otherwise, and then model,
    /// optimizer and trainer keep their state.
    /// Restores the weights, the optimizer's state, the history and early
    /// stopping's state; run() then continues with the next epoch.
    void resume(const std::string& path);

    /// Trains up to options.epochs (counting resumed ones), then leaves the
    /// model with the weights to keep: the best validation epoch's with early
    /// stopping, and never weights that gave a non-finite loss.
    /// Writes the checkpoint after every epoch when one is set. Exceptions
    /// from the model, the loss, the callbacks or the checkpoint's writing
    /// propagate (tapegrad::Error for the library's own).
    Outcome run();

    /// The options given to the constructor.
    const TrainerOptions& options() const { return options_; }
    /// One record per epoch trained so far, resumed ones included.
    const History& history() const { return history_; }
    /// The early-stopping state: best epoch and loss, even when stopping is off.
    const EarlyStopping& early_stopping() const { return early_stopping_; }
    /// The epoch whose weights early stopping kept, 0 when it is off.
    std::size_t kept_epoch() const { return early_stopping_.enabled() ? early_stopping_.best_epoch() : 0; }
    /// After Outcome::NonFiniteLoss: where, such as "epoch 3, batch 17" or "epoch 3, validation".
    /// Empty otherwise.
    const std::string& non_finite_at() const { return non_finite_at_; }

private:
    EpochRecord train_epoch(std::size_t epoch);  // 1-based; throws on a non-finite loss
    void write_checkpoint() const;

    nn::Module<float>& model_;
    optim::Optimizer<float>& optimizer_;
    const Dataset& train_;
    const Dataset& valid_;
    TrainerOptions options_;
    BatchTransform transform_;
    Loss loss_;
    EpochCallback on_epoch_end_;
    History history_;
    EarlyStopping early_stopping_;
    std::string non_finite_at_;
};

}  // namespace tapegrad::train
