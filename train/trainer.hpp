/// \file
/// The reusable training loop for a classifier, or a model of any other
/// targets (regression values, token sequences: Dataset::targets with a
/// loss of the caller's): mini-batches over a Dataset, any optimizer, the
/// mean cross-entropy (or a loss of the caller's),
/// validation after every epoch, early stopping that keeps a copy of the best
/// weights, a checkpoint after every epoch that resumes bit for bit, and a
/// clean stop on a non-finite loss or on divergence.
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

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <tapegrad/autograd/labels.hpp>
#include <tapegrad/autograd/options.hpp>
#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/data/dataset.hpp>
#include <tapegrad/data/loader.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/optim/optimizer.hpp>
#include <tapegrad/train/batch_gradients.hpp>
#include <tapegrad/train/communicator.hpp>
#include <tapegrad/train/early_stopping.hpp>
#include <tapegrad/train/evaluate.hpp>
#include <tapegrad/train/gradient_reducer.hpp>
#include <tapegrad/train/history.hpp>

/// Training loops and what they need around them: the Trainer and its
/// options, evaluation, early stopping, checkpoints that resume bit for bit,
/// the metrics history with its CSV and SVG plot, and progress output.
/// Everything here trains `float` models (nn::Module<float>) on a Dataset:
/// classifiers on its labels, other models on its targets.
namespace tapegrad::train {

/// The default of TrainerOptions::shards: the BLAS's thread count when
/// called (blas_threads(): OpenBLAS's OPENBLAS_NUM_THREADS, or every core it
/// may run on, or what set_blas_threads() chose), or the hardware's thread
/// count for a BLAS without thread control; at least 1.
std::size_t default_shards();

/// How a Trainer runs: epochs, batches, early stopping, checkpoints, output.
/// LibTorch-style options (autograd/options.hpp):
/// TrainerOptions().epochs(50).batch_size(200).early_stopping_patience(5).
/// Each option has a chainable setter that checks its value (a bad one throws
/// tapegrad::Error naming the option and the value) and a getter of the same name.
class TrainerOptions {
public:
    /// The name error messages give these options.
    static constexpr const char* options_name = "TrainerOptions";
    /// How many epochs to train in all, counting those a resumed checkpoint
    /// already did; at least 1 (default 10).
    TAPEGRAD_OPTION(std::size_t, epochs, value > 0, "> 0") = 10;
    /// Samples per mini-batch, at least 1 (default 64); the last batch of an
    /// epoch may be shorter.
    TAPEGRAD_OPTION(std::size_t, batch_size, value > 0, "> 0") = 64;
    /// Whether each epoch visits the training samples in a random order
    /// (default true); false: in data set order.
    TAPEGRAD_OPTION_ANY(bool, shuffle) = true;
    /// Seeds the batch order and what each training batch draws: epoch k's
    /// order depends only on (seed, k), and batch b of epoch k runs in a
    /// SeedScope (autograd/random.hpp) seeded by (seed, k, b), so the dropout
    /// masks it draws do too. Default 0, a fixed seed (not drawn from the
    /// global generator) so that a run resumed in another process shuffles
    /// and drops out as the original did.
    TAPEGRAD_OPTION_ANY(std::uint64_t, seed) = 0;
    /// Stop after this many epochs without a better validation loss and keep
    /// the best epoch's weights; 0 = off (the default).
    TAPEGRAD_OPTION_ANY(std::size_t, early_stopping_patience) = 0;
    /// Where to save a checkpoint after every epoch; empty = none (the default).
    /// The file is replaced whole each time (see save_checkpoint()).
    TAPEGRAD_OPTION_ANY(std::string, checkpoint);
    /// The settings a resumed run must share with the run that wrote the
    /// checkpoint (layer sizes, learning rate, seeds, ...), as one string of
    /// the caller's; resume() refuses a checkpoint with another. Default empty.
    TAPEGRAD_OPTION_ANY(std::string, fingerprint);
    /// One line per epoch on stdout and a progress bar on stderr. Default false:
    /// the trainer prints nothing.
    TAPEGRAD_OPTION_ANY(bool, verbose) = false;
    /// Training has diverged when an epoch's validation loss exceeds this many
    /// times the untrained model's (measured before epoch 1; only when that
    /// is above 0, as a target loss that can be negative has no such scale),
    /// or a weight is not finite; run() then stops with Outcome::Diverged.
    /// 0 = off; else finite and >= 1 (default 10).
    TAPEGRAD_OPTION(double, divergence_factor, value == 0 || (std::isfinite(value) && value >= 1),
                    "0 (off) or finite and >= 1") = 10;
    /// How many threads share each training batch, at least 1. Default:
    /// default_shards(), one per core, which measured faster than the BLAS's
    /// own threads on the notebook's MLP at batch 32-1000 (bench/README.md,
    /// "Both cores").
    ///
    /// 1: the batch runs whole on the calling thread, its matrix products on
    /// the BLAS's threads (set_blas_threads(), autograd/blas.hpp).
    ///
    /// n > 1: the batch is cut into n contiguous row ranges ("shards",
    /// data/loader.hpp's shard_rows(); fewer when the batch has under 2n
    /// rows, so that each has two rows at least), each run forward and
    /// backward on a thread of its own (n - 1 made once per run()), its
    /// products on that thread alone (a OneThreadProductsGuard,
    /// autograd/blas.hpp: Eigen's GEMM), so that nothing process-wide changes
    /// and a model trained on another thread meanwhile computes exactly what
    /// it would alone. The shards compute what one thread computes, up to
    /// the order of float sums (tested): each shard's loss is weighted by its
    /// share of the rows, so the shards' gradients add up to the batch
    /// mean's, added in shard order (0 + 1 + ...) into the parameters'
    /// grad() before the optimizer steps once; batch norm normalises with
    /// the whole batch's statistics, summed over the shards in forward and
    /// backward (PyTorch's SyncBatchNorm; autograd/batch_shard.hpp), and
    /// only the first shard writes the running statistics; every shard draws
    /// from the batch's SeedScope, and dropout numbers each row's mask by its
    /// row in the batch, so the masks are one thread's (dropout of a tensor
    /// computed from the batch whose axis 0 is not its rows, say a flattened
    /// or sequence-first batch, is refused with a tapegrad::Error). Shards
    /// whose models make different sums over the batch (a module that
    /// branches on its batch's size) fail with a tapegrad::Error. The model's forward
    /// and the loss run on several threads at once, once per shard: a module
    /// or loss of the caller's that changes state in them (a counter, a list
    /// of what it saw) must synchronise it, or train with shards(1); one
    /// that differentiates through batch norm with create_graph (a gradient
    /// penalty) is refused (tapegrad::Error). A shard that throws ends the
    /// batch with its error. The batch transform runs once per batch, on the
    /// calling thread. Every shard runs in the thread-local modes of the
    /// thread that calls run() (train::ThreadContext: anomaly checks, frozen
    /// running statistics, ...), and a LeafGradientHookGuard<float> around
    /// run() sees each batch's gradient once per parameter, on that thread,
    /// whatever the count (train::BatchGradients, which computes each batch).
    ///
    /// Results are bit-reproducible for a given count (and BLAS kernel), and
    /// resume bit for bit; different counts give slightly different bits
    /// (float sums in another order), like other BLAS thread counts.
    /// The loss (the default, loss() or target_loss()) must be a mean over
    /// the rows.
    TAPEGRAD_OPTION(std::size_t, shards, value > 0, "> 0") = default_shards();
    /// The least work worth a thread of its own: a batch is split into at
    /// most (its work / min_shard_work) shards, at least 1, and at most
    /// shards(). A batch's work is its rows' multiply-adds in the model's
    /// forward (ProductWorkCounter, autograd/blas.hpp), counted once per
    /// run() on the first training batch (transformed) in evaluation mode
    /// without a graph (one forward more, which changes nothing), so the split depends on the
    /// model and the batch size alone, never on timing. A batch that runs
    /// whole runs as with shards(1), its products on the BLAS's threads.
    /// Default 1e7: measured on a quiet 2-core machine against shards(1)
    /// (bench/README.md), the notebook's MLP (89,400 per row) gains nothing
    /// from 2 shards at batch 200 (18 million) and 15% at batch 1000; the
    /// CNN (3 million per row) splits from 4 rows. 0: always shards() (each
    /// shard still two rows at least).
    TAPEGRAD_OPTION_ANY(std::uint64_t, min_shard_work) = 10'000'000;
    /// Clips every step's gradient to this total 2-norm
    /// (nn::clip_grad_norm, as torch.nn.utils.clip_grad_norm_), applied to
    /// the whole batch's gradient (after the shards' and the processes' sums)
    /// just before the optimizer's step. 0 = off (the default); else finite and > 0.
    TAPEGRAD_OPTION(double, clip_grad_norm, value == 0 || allowed::positive_finite(value), "0 (off) or finite and > 0") = 0;
};

/// Why Trainer::run() returned.
enum class Outcome { AllEpochs, EarlyStopped, NonFiniteLoss, Diverged };
/// \var Outcome::AllEpochs
/// It trained every epoch TrainerOptions::epochs() asked for.
/// \var Outcome::EarlyStopped
/// Early stopping ran out of patience; the model holds the best epoch's weights.
/// \var Outcome::NonFiniteLoss
/// A loss was NaN or infinite (see Trainer::non_finite_at()); the model
/// holds the best epoch's weights with early stopping, else those of the last
/// epoch that completed.
/// \var Outcome::Diverged
/// The validation loss rose past TrainerOptions::divergence_factor() times the
/// untrained model's, or a weight became non-finite (see Trainer::diverged_at()).

/// Trains a classifier, or a model of targets: each epoch runs the
/// mini-batches of the training set through the model (in train() mode), the
/// loss, backward() and the optimizer, then measures the validation set
/// (evaluate(), in eval() mode) and records an EpochRecord.
///
/// The data sets decide which: with class labels (Dataset::labels) the loss
/// is the mean cross-entropy or loss(), and the records have accuracies;
/// with targets (Dataset::targets, both sets the same width) the loss is
/// target_loss(), required, which also measures the validation set (so it
/// drives early stopping and divergence), and the records' accuracies are
/// NaN (not measured: empty cells in to_csv(), no panel in plot_svg()). A
/// batch's targets are its rows' (the same rows as its inputs, on every
/// shard and process). Not safe to
/// use from several threads.
class Trainer {
public:
    /// A batch's inputs as the model will see them (augmentation); `epoch` and
    /// `batch` are 1-based, so a transform seeded by them repeats exactly on resume.
    using BatchTransform = std::function<Tensor<float>(const Tensor<float>& inputs, std::size_t epoch, std::size_t batch)>;
    /// The loss to minimise for a batch of class labels, a 0-d tensor on the
    /// tape; the default is cross_entropy (mean). It should be a mean over
    /// the batch: the recorded train_loss weights each batch by its size.
    using Loss = LabelLoss;
    /// The loss of a batch of targets (train::TargetLoss, train/evaluate.hpp):
    /// (outputs, targets) to a 0-d tensor, a mean over the rows.
    using TargetLoss = train::TargetLoss;
    /// Called after each epoch's record is complete, before its checkpoint
    /// (step a learning-rate schedule here, or report).
    using EpochCallback = std::function<void(const EpochRecord& record)>;

    /// Keeps references: model, optimizer and data must outlive the trainer.
    /// The optimizer must be built over the model's parameters.
    /// Throws tapegrad::Error if a data set is empty or does not hold
    /// together (Dataset::check()), or if one has class labels and the other
    /// targets, or targets of another width (naming both shapes).
    Trainer(nn::Module<float>& model, optim::Optimizer<float>& optimizer, const Dataset& train, const Dataset& valid,
            TrainerOptions options);

    /// Applies `transform` to every training batch from now on (not to
    /// validation); an empty function turns it off. The transform must
    /// return one row per input row (axis 0), in order, each row's shape its
    /// own choice; run() throws tapegrad::Error naming the shapes otherwise.
    /// Returns the trainer.
    Trainer& transform_batches(BatchTransform transform);
    /// Minimises `loss` instead of the mean cross-entropy from now on; an empty
    /// function restores the default. Validation still reports cross-entropy.
    /// For data sets of class labels: throws tapegrad::Error on data sets with
    /// targets (they take target_loss()). Returns the trainer.
    Trainer& loss(Loss loss);
    /// Minimises `loss` on data sets with targets, and measures the
    /// validation set by it, from now on; run() refuses to start without one.
    /// Throws tapegrad::Error on data sets of class labels (they take loss()).
    /// Returns the trainer.
    Trainer& target_loss(TargetLoss loss);
    /// Calls `callback` after every epoch from now on; an empty function turns
    /// it off. Returns the trainer.
    Trainer& on_epoch_end(EpochCallback callback);

    /// Makes this trainer one process of a data-parallel job over
    /// `communicator` (which must outlive it; dist/mpi.hpp has one over MPI),
    /// from now on. Every process builds the same trainer (same data, model,
    /// options, hooks) and calls the same functions. Then run() first checks
    /// that every process has rank 0's options (shards and checkpoint aside),
    /// fingerprint, data (as resume() compares it), parameter and buffer
    /// shapes and resumed epochs, and throws tapegrad::Error on every process
    /// otherwise (their sums would stop lining up: a hang); it then gives
    /// every process rank 0's parameters and buffers; each process trains on
    /// its contiguous share of every global batch of options.batch_size
    /// samples (LoaderOptions::shard), weighting its loss by its share, and
    /// the gradients are summed over the processes in buckets of
    /// `bucket_bytes` (GradientReducer; started while backward runs when the
    /// process's share runs whole and batch norm sums nothing over the
    /// processes, else once backward is done), so every
    /// step is the one-process step on the global batch, up to rounding, and
    /// every process keeps the same weights. Batch norm normalises with the
    /// whole global batch's statistics, summed over the processes (and their
    /// shards), and dropout draws each row's mask by its row in the global
    /// batch, so N processes train as one process of one thread, up to the
    /// order of float sums (tested). Rank 0's rows come first in every batch
    /// (shard_rows() gives it rows whenever the batch has any); it alone
    /// writes batch norm's running statistics, which every process takes
    /// from it after every batch, as PyTorch's DDP does. A process without
    /// rows of a batch (a short last one) still takes its part in batch
    /// norm's sums; run() refuses (on every process) a first batch that
    /// leaves a process without rows.
    /// Validation is shared out and summed (evaluate()), early stopping and
    /// divergence see the same numbers everywhere, and only rank 0 prints and
    /// writes the checkpoint. resume() reads the checkpoint on every process
    /// (it holds nothing of one process), so a run resumes on any number of
    /// processes. A transform (transform_batches) gets the process's rows
    /// only, so a random one draws other (as random) numbers than one process
    /// would. With shards(n), each process splits its rows across n threads.
    /// The hooks, the loss and the model must not call the communicator
    /// themselves. Returns the trainer.
    Trainer& distribute(Communicator& communicator,
                        std::size_t bucket_bytes = GradientReducer<float>::default_bucket_bytes);

    /// Loads a checkpoint written by a trainer with the same fingerprint, the
    /// same training and validation data (compared by size and CRC-32) and the
    /// optimizer's current lr (the trainer never changes the lr: a caller that
    /// steps a schedule sets the lr it implies for the checkpoint's epoch
    /// first); every entry must be one a trainer can have written, with at
    /// most options.epochs epochs. Throws tapegrad::Error naming the file and
    /// the entry otherwise, and then model, optimizer and trainer keep their state.
    /// Restores the weights, the optimizer's state, the history and early
    /// stopping's state; run() then continues with the next epoch.
    void resume(const std::string& path);

    /// Trains up to options.epochs (counting resumed ones), then leaves the
    /// model with the weights to keep: the best validation epoch's with early
    /// stopping, and never weights that gave a non-finite loss. A diverged
    /// epoch is recorded but not checkpointed (the previous checkpoint stays).
    /// Drops the gradients the parameters hold first (zero_grad()), so each
    /// step is its batch's gradient alone.
    /// Writes the checkpoint after every epoch when one is set. The model's
    /// training modes are restored on return (see TrainingModeGuard). Exceptions
    /// from the model, the loss, the callbacks or the checkpoint's writing
    /// propagate (tapegrad::Error for the library's own). Throws
    /// tapegrad::Error before anything changes when the data sets have targets
    /// and no target_loss() was given.
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
    /// After Outcome::Diverged: why, e.g. "epoch 1: validation loss 847.3 > 10 x 2.302 (untrained)".
    const std::string& diverged_at() const { return diverged_at_; }

private:
    // The batch's inputs through the transform (transform_batches), checked
    // to keep one row per row. Throws tapegrad::Error naming the shapes.
    Tensor<float> transformed(const Batch& batch, std::size_t epoch, std::size_t batch_number) const;
    EpochRecord train_epoch(std::size_t epoch, BatchGradients& gradients);  // 1-based; throws on a non-finite loss
    Score validate();
    void check_processes_agree();  // throws on every process unless all train as rank 0 does
    bool writer() const { return !communicator_ || communicator_->writer(); }
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
    TargetLoss target_loss_;
    EpochCallback on_epoch_end_;
    History history_;
    EarlyStopping early_stopping_;
    std::string non_finite_at_, diverged_at_;
    double untrained_valid_loss_ = -1;  // < 0 until measured (or resumed)
    mutable std::string data_identity_;  // computed on first use
    Communicator* communicator_ = nullptr;  // set by distribute()
    std::unique_ptr<GradientReducer<float>> reducer_;
};

}  // namespace tapegrad::train
