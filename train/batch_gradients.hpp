/// \file
/// The gradient of one training batch, however it is computed: whole on the
/// calling thread, cut into row ranges run on threads of their own
/// ("shards"), and as this process's share of a batch that the processes of
/// a job share (a Communicator). What train::Trainer runs for each step; the
/// loop around it (epochs, validation, checkpoints) is the Trainer's.
///
/// \code
///   train::BatchGradients gradients(model, model.parameters(), train_set, {}, {},
///                                   train::GradientPlan().threads(4));
///   BatchLoader loader(train_set, LoaderOptions(200).seed(1));
///   Batch batch;
///   for (std::size_t b = 1; loader.next(batch); ++b) {
///       const SeedScope draws(derive_seed(seed, b));  // what dropout draws
///       const train::BatchTotals totals = gradients.compute(batch, batch.inputs);
///       if (!std::isfinite(totals.loss_sum)) break;
///       optimizer.step();
///       optimizer.zero_grad();
///   }
/// \endcode
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <tapegrad/autograd/labels.hpp>
#include <tapegrad/autograd/options.hpp>
#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/data/dataset.hpp>
#include <tapegrad/data/loader.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/train/communicator.hpp>
#include <tapegrad/train/evaluate.hpp>
#include <tapegrad/train/gradient_reducer.hpp>
#include <tapegrad/train/thread_context.hpp>

namespace tapegrad::detail {
class WorkerPool;  // train/worker_pool.hpp
}

namespace tapegrad::train {

/// The loss of a batch of class labels: (logits, labels) to a 0-d tensor on
/// the tape, a mean over the rows (Trainer::Loss).
using LabelLoss = std::function<Tensor<float>(const Tensor<float>& logits, const Labels& labels)>;

/// What the forward passes of a batch give besides its gradient.
struct BatchTotals {
    /// The loss times the rows, summed over the batch (over every process of
    /// a job); NaN when the loss of some rows was not finite.
    double loss_sum = 0;
    /// Rows whose largest output is their label; 0 on targets (not measured).
    std::size_t correct = 0;
};

/// How BatchGradients computes a batch's gradient, in the options style of
/// autograd/options.hpp: GradientPlan().threads(4).min_shard_work(10'000'000),
/// and processes() for a data-parallel job.
class GradientPlan {
public:
    /// The name error messages give these options.
    static constexpr const char* options_name = "GradientPlan";
    /// The most threads that share a batch, at least 1 (default 1): the
    /// calling thread and threads - 1 of BatchGradients' own
    /// (TrainerOptions::shards says how a batch is cut).
    TAPEGRAD_OPTION(std::size_t, threads, value > 0, "> 0") = 1;
    /// The least forward work (multiply-adds) worth a thread of its own
    /// (TrainerOptions::min_shard_work); 0 (the default): always threads()
    /// shards, two rows each at least.
    TAPEGRAD_OPTION_ANY(std::uint64_t, min_shard_work) = 0;

public:
    /// Makes each batch this process's share of a batch shared by the
    /// processes of `communicator`, their gradients summed by `reducer`
    /// (made over the same parameters and communicator); both must outlive
    /// the BatchGradients. Returns the plan.
    GradientPlan& processes(Communicator& communicator, GradientReducer<float>& reducer) {
        communicator_ = &communicator;
        reducer_ = &reducer;
        return *this;
    }
    /// The processes' communicator, or nullptr for a process alone.
    Communicator* communicator() const { return communicator_; }
    /// The reducer of the processes' gradients, or nullptr for a process alone.
    GradientReducer<float>* reducer() const { return reducer_; }

private:
    Communicator* communicator_ = nullptr;
    GradientReducer<float>* reducer_ = nullptr;
};

/// Replaces each of `tensors`' values on every process by rank 0's
/// (Communicator::broadcast): how the processes of a job start from the same
/// weights, and take rank 0's running statistics after every batch.
void broadcast_from_rank0(Communicator& processes, const std::vector<Tensor<float>>& tensors);

/// Computes the gradients of batches of a data set into the parameters'
/// grad(), as GradientPlan says: the batch mean of the loss of the model's
/// outputs, whichever way the batch is cut, up to the order of float sums.
///
/// - One thread: the whole batch runs forward and backward on the calling
///   thread, its products on the BLAS's threads.
/// - Threads (GradientPlan::threads > 1): the batch is cut into contiguous
///   row ranges (shard_rows(); fewer when its forward work is below
///   min_shard_work per shard, or it has under two rows per shard), each run
///   forward and through grad() on a thread of its own, its products on that
///   thread alone (OneThreadProductsGuard); each range's loss is weighted by
///   its share of the rows, and the ranges' gradients are added in range
///   order (0 + 1 + ...). Batch norm normalises with the whole batch's
///   statistics, summed over the ranges (autograd/batch_shard.hpp), and only
///   the range at row 0 of the whole batch writes its running statistics;
///   dropout draws each row's mask by its row in the whole batch.
/// - Processes (GradientPlan::processes): the batch is this process's share
///   (Batch::first_row, Batch::global_rows); its loss is weighted by that
///   share, the gradients, totals and batch norm's sums are summed over the
///   processes, and every process takes rank 0's buffers after the batch. A
///   process without rows of a batch still takes part in the sums (those of
///   its last batch with rows: its first batch must have rows).
///
/// The thread context. Every call captures the calling thread's modes
/// (ThreadContext: recording, anomaly checks, frozen running statistics,
/// one-thread products, the SeedScope, the leaf gradient hook) and enters
/// them on every thread that runs part of the batch, so a part runs as on
/// the calling thread: every part draws from the caller's SeedScope as it
/// stands when the call starts. A leaf gradient hook the caller has in force
/// (LeafGradientHookGuard<float>) sees the batch's gradient as with one
/// thread, whatever the plan: once per call for each parameter the batch
/// gives a gradient, on the calling thread, with what the call adds to its
/// grad() (this process's part, before the sum over the processes), before
/// it is added; in the pass's order on one thread, else the parameters'.
///
/// Not safe to use from several threads at once; the model and the loss run
/// on several threads at once when a batch is cut (see TrainerOptions::shards).
class BatchGradients {
public:
    /// Keeps references to `model` and `data`, which must outlive it; makes
    /// plan.threads() - 1 threads (tapegrad::Error when the system cannot).
    /// `params` are the parameters to differentiate (those that require a
    /// gradient, in a fixed order: the optimizer's); the loss is
    /// `target_loss` on a data set with targets, else `loss`, or the mean
    /// cross-entropy when `loss` is empty.
    BatchGradients(nn::Module<float>& model, std::vector<Tensor<float>> params, const Dataset& data, LabelLoss loss,
                   TargetLoss target_loss, const GradientPlan& plan);
    /// Ends its threads.
    ~BatchGradients();
    BatchGradients(const BatchGradients&) = delete;
    BatchGradients& operator=(const BatchGradients&) = delete;

    /// Adds the gradient of the batch's mean loss to the parameters' grad()
    /// and returns the batch's totals. `batch` is a BatchLoader's (this
    /// process's share with processes: LoaderOptions::shard(rank, size));
    /// `inputs` its rows as the model takes them (batch.inputs, or those
    /// transformed, one row per row), or undefined: each thread then gathers
    /// its rows from the data set by batch.rows (gather_inputs()). Run the
    /// model in training mode, in the batch's SeedScope. The forward work per
    /// row (min_shard_work) is measured once, on the first call, in
    /// evaluation mode without a graph. When a loss is not finite the totals'
    /// loss_sum is NaN and grad() is left as found (dropped, with processes).
    /// Exceptions of the model or the loss propagate; a range that throws
    /// ends the batch with its error. Throws tapegrad::Error when the batch's
    /// rows do not fit in its global_rows at its first_row.
    BatchTotals compute(const Batch& batch, const Tensor<float>& inputs);

private:
    BatchTotals this_process(const Batch& batch, const Tensor<float>& inputs);
    std::size_t range_count(const Batch& batch, const Tensor<float>& inputs);
    BatchTotals whole(const Batch& batch, const Tensor<float>& inputs, const ThreadContext& caller);
    BatchTotals in_ranges(const Batch& batch, const Tensor<float>& inputs, std::size_t ranges,
                          const ThreadContext& caller);
    Tensor<float> loss_of(const Tensor<float>& outputs, const Labels& labels, const Tensor<float>& targets) const;
    Tensor<float> inputs_of(const Batch& batch, const Tensor<float>& inputs, std::size_t first, std::size_t last) const;
    void add_to_grads(std::size_t count, const LeafGradientHook<float>* hook);

    nn::Module<float>& model_;
    std::vector<Tensor<float>> params_;
    const Dataset& data_;
    LabelLoss loss_;
    TargetLoss target_loss_;
    GradientPlan plan_;
    std::unique_ptr<tapegrad::detail::WorkerPool> workers_;  // plan.threads() > 1
    double work_per_row_ = -1;                               // < 0 until measured
    std::vector<std::vector<Tensor<float>>> range_grads_;    // each range's last gradients
    // The counts of the sums over the processes (batch norm's) that this
    // process's last batch with rows made: a batch without rows replays them.
    std::vector<std::size_t> replica_sum_counts_;
};

}  // namespace tapegrad::train
