/// \file
/// A shard of a batch: the rows of a batch that one thread computes when the
/// batch is split across threads (train::TrainerOptions::shards) or the
/// processes of a job (train::Trainer::distribute). The ops that look beyond
/// a row ask batch_shard(), so that a split batch computes what the whole one
/// would, as PyTorch's SyncBatchNorm does for batch norm:
/// - batch norm in training normalises with the whole batch's statistics,
///   summed over the shards with sum();
/// - dropout draws each row's mask by its row number in the whole batch
///   (first_row() + the row's number in the shard), for an input whose axis
///   0 is the shard's rows().
/// batch_shard() == nullptr means this thread holds the whole batch.
///
/// The shards run the same model on their rows: every shard makes the same
/// sum() calls, in the same order, with the same counts (as MPI's collectives
/// must be made).
#pragma once

#include <cstddef>

namespace tapegrad {

/// What a shard of a batch knows of the others.
class BatchShard {
public:
    virtual ~BatchShard() = default;
    /// The number, in the whole batch, of this shard's first row.
    virtual std::size_t first_row() const = 0;
    /// How many rows of the batch this shard holds.
    virtual std::size_t rows() const = 0;
    /// Replaces values[0, count) on every shard by their sum over the shards,
    /// added in an order that depends on the shards alone (never on timing):
    /// every shard gets the same bits. Blocks until every shard has called
    /// it. Throws tapegrad::Error when another shard failed (the batch is
    /// then lost) or the shards' counts differ.
    virtual void sum(double* values, std::size_t count) = 0;
};

/// RAII: while one is alive on this thread, batch_shard() returns `shard`.
/// Create and destroy it on the same thread; `shard` must outlive it.
class BatchShardGuard {
public:
    /// Makes `shard` this thread's until the guard is destroyed.
    explicit BatchShardGuard(BatchShard& shard);
    /// Restores the shard found by the constructor (none, usually): guards nest.
    ~BatchShardGuard();
    BatchShardGuard(const BatchShardGuard&) = delete;
    BatchShardGuard& operator=(const BatchShardGuard&) = delete;

private:
    BatchShard* previous_;
};

/// The shard of the innermost BatchShardGuard alive on this thread, or nullptr.
BatchShard* batch_shard();

}  // namespace tapegrad
