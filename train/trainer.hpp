// The reusable training loop for a classifier: mini-batches over a Dataset,
// any optimizer, the mean cross-entropy (or a loss of the caller's),
// validation after every epoch, early stopping that keeps a copy of the best
// weights, a checkpoint after every epoch that resumes bit for bit, and a
// clean stop on a non-finite loss or on divergence.
//
//   train::Trainer trainer(model, optimizer, train_set, valid_set,
//                          train::TrainerOptions().epochs(50).batch_size(200).early_stopping_patience(5));
//   const train::Outcome outcome = trainer.run();
//   io::write_file_atomically("metrics.csv", train::to_csv(trainer.history()));
//
// It prints nothing unless asked: verbose(true) writes one line per epoch on
// stdout and a progress bar on stderr.
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

namespace tapegrad::train {

// LibTorch-style options: TrainerOptions().epochs(50).batch_size(200).early_stopping_patience(5).
class TrainerOptions {
public:
    TrainerOptions& epochs(std::size_t v) { epochs_ = v; return *this; }
    TrainerOptions& batch_size(std::size_t v) { batch_size_ = v; return *this; }
    // false: every epoch visits the training samples in data set order.
    TrainerOptions& shuffle(bool v) { shuffle_ = v; return *this; }
    // Seeds the batch order; epoch k's order depends only on (seed, k).
    TrainerOptions& seed(std::uint64_t v) { seed_ = v; return *this; }
    // Stop after this many epochs without a better validation loss and keep
    // the best epoch's weights; 0 = off.
    TrainerOptions& early_stopping_patience(std::size_t v) { early_stopping_patience_ = v; return *this; }
    // Where to save a checkpoint after every epoch; empty = none.
    TrainerOptions& checkpoint(std::string path) { checkpoint_ = std::move(path); return *this; }
    // The settings a resumed run must share with the run that wrote the
    // checkpoint (layer sizes, learning rate, seeds, ...), as one string of
    // the caller's; resume() refuses a checkpoint with another.
    TrainerOptions& fingerprint(std::string v) { fingerprint_ = std::move(v); return *this; }
    // One line per epoch on stdout and a progress bar on stderr.
    TrainerOptions& verbose(bool v) { verbose_ = v; return *this; }
    // Training has diverged when an epoch's validation loss exceeds this many
    // times the untrained model's (measured before epoch 1), or a weight is
    // not finite; run() then stops with Outcome::Diverged. 0 = off; else >= 1.
    TrainerOptions& divergence_factor(double v) { divergence_factor_ = v; return *this; }

    std::size_t epochs() const { return epochs_; }
    std::size_t batch_size() const { return batch_size_; }
    bool shuffle() const { return shuffle_; }
    std::uint64_t seed() const { return seed_; }
    std::size_t early_stopping_patience() const { return early_stopping_patience_; }
    const std::string& checkpoint() const { return checkpoint_; }
    const std::string& fingerprint() const { return fingerprint_; }
    bool verbose() const { return verbose_; }
    double divergence_factor() const { return divergence_factor_; }

    // Throws tapegrad::Error naming the first invalid option and its value.
    void validate() const;

private:
    std::size_t epochs_ = 10;
    std::size_t batch_size_ = 64;
    bool shuffle_ = true;
    std::uint64_t seed_ = 0;
    std::size_t early_stopping_patience_ = 0;
    std::string checkpoint_, fingerprint_;
    bool verbose_ = false;
    double divergence_factor_ = 10;
};

enum class Outcome { AllEpochs, EarlyStopped, NonFiniteLoss, Diverged };

class Trainer {
public:
    // A batch's inputs as the model will see them (augmentation); `epoch` and
    // `batch` are 1-based, so a transform seeded by them repeats exactly on resume.
    using BatchTransform = std::function<Tensor<float>(const Tensor<float>& inputs, std::size_t epoch, std::size_t batch)>;
    // The loss to minimise for a batch; the default is cross_entropy (mean).
    using Loss = std::function<Tensor<float>(const Tensor<float>& logits, const Labels& labels)>;
    // Called after each epoch's record is complete, before its checkpoint
    // (step a learning-rate schedule here, or report).
    using EpochCallback = std::function<void(const EpochRecord& record)>;

    // Keeps references: model, optimizer and data must outlive the trainer.
    // Throws tapegrad::Error if the options are invalid or a data set is empty.
    Trainer(nn::Module<float>& model, optim::Optimizer<float>& optimizer, const Dataset& train, const Dataset& valid,
            TrainerOptions options);

    Trainer& transform_batches(BatchTransform transform);
    Trainer& loss(Loss loss);
    Trainer& on_epoch_end(EpochCallback callback);

    // Loads a checkpoint written by a trainer with the same fingerprint, the
    // same training and validation data (compared by size and CRC-32) and the
    // optimizer's current lr (the trainer never changes the lr: a caller that
    // steps a schedule sets the lr it implies for the checkpoint's epoch
    // first); every entry must be one a trainer can have written, with at
    // most options.epochs epochs. Throws tapegrad::Error naming the file and
    // the entry otherwise, and then model, optimizer and trainer keep their state.
    void resume(const std::string& path);

    // Trains up to options.epochs (counting resumed ones), then leaves the
    // model with the weights to keep: the best validation epoch's with early
    // stopping, and never weights that gave a non-finite loss. A diverged
    // epoch is recorded but not checkpointed (the previous checkpoint stays).
    Outcome run();

    const TrainerOptions& options() const { return options_; }
    const History& history() const { return history_; }
    const EarlyStopping& early_stopping() const { return early_stopping_; }
    // The epoch whose weights early stopping kept, 0 when it is off.
    std::size_t kept_epoch() const { return early_stopping_.enabled() ? early_stopping_.best_epoch() : 0; }
    // After Outcome::NonFiniteLoss: where, e.g. "epoch 3, batch 17" or "epoch 3, validation".
    const std::string& non_finite_at() const { return non_finite_at_; }
    // After Outcome::Diverged: why, e.g. "epoch 1: validation loss 847.3 > 10 x 2.302 (untrained)".
    const std::string& diverged_at() const { return diverged_at_; }

private:
    EpochRecord train_epoch(std::size_t epoch);  // 1-based; throws on a non-finite loss
    void write_checkpoint() const;
    std::string divergence(std::size_t epoch) const;  // "" when training has not diverged
    const std::string& data_identity() const;

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
    std::string non_finite_at_, diverged_at_;
    double untrained_valid_loss_ = -1;  // < 0 until measured (or resumed)
    mutable std::string data_identity_;  // computed on first use
};

}  // namespace tapegrad::train
