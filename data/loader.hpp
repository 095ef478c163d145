/// \file
/// Mini-batches over a Dataset, reshuffled every epoch. Epoch k's order depends
/// only on (seed, k), so a run resumed at epoch k sees the batches it would have.
///
/// \code
///   BatchLoader loader(train, LoaderOptions(/*batch_size=*/64).seed(1));
///   Batch batch;
///   for (std::uint64_t epoch = 0; epoch < epochs; ++epoch) {
///       loader.start_epoch(epoch);
///       while (loader.next(batch)) { ... batch.inputs, batch.labels (or batch.targets) ... }
///   }
/// \endcode
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include <tapegrad/autograd/labels.hpp>
#include <tapegrad/autograd/options.hpp>
#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/data/dataset.hpp>

namespace tapegrad {

/// One mini-batch as BatchLoader::next() fills it in.
struct Batch {
    /// The samples' rows of Dataset::inputs as a constant (no gradient), of
    /// Dataset::batch_shape(): batch x features, or (batch, sample_shape...).
    Tensor<float> inputs;
    /// One label per sample of `inputs` (a data set of class labels); empty
    /// for one with targets.
    Labels labels;         // batch
    /// Each sample's row in the Dataset (the epoch's order).
    std::vector<std::size_t> rows;
    /// The samples' rows of Dataset::targets, (batch, k), no gradient, when
    /// the data set has targets (gathered by `rows`, as the inputs);
    /// undefined for one of class labels.
    Tensor<float> targets;
    /// Where rows[0] stands in the whole batch: where this loader's shard of
    /// it starts (LoaderOptions::shard, shard_rows()), 0 for a loader of one
    /// shard. What dropout and batch norm number this shard's rows by.
    std::size_t first_row = 0;
    /// The rows of the whole batch, over every shard (LoaderOptions::shard):
    /// rows.size() for a loader of one shard. What a shard weights its loss
    /// by (rows.size() / global_rows, its share of the batch mean).
    std::size_t global_rows = 0;
};

/// Rows `rows[0, count)` of `data` as a batch's inputs (Dataset::batch_shape),
/// a new tensor; what BatchLoader::next() gathers, for code that gathers a
/// batch's rows in parts (train::Trainer's shards, each on its own thread).
/// The rows must be below data.size().
Tensor<float> gather_inputs(const Dataset& data, const std::size_t* rows, std::size_t count);

/// How a BatchLoader cuts and orders a data set, in the options style of
/// autograd/options.hpp: every setter checks its value and throws
/// tapegrad::Error naming the option and the value when it is not allowed.
///
/// \code
///   LoaderOptions(/*batch_size=*/64).shuffle(true).drop_last(false).seed(1)
/// \endcode
class LoaderOptions {
public:
    /// The name errors about these options start with.
    static constexpr const char* options_name = "LoaderOptions";
    /// Options with the given batch size (at least 1) and every other option
    /// at its default.
    explicit LoaderOptions(std::size_t batch_size) { this->batch_size(batch_size); }
    /// Samples per batch, at least 1 (required, so there is no default); the
    /// last batch of an epoch may be shorter, see drop_last.
    TAPEGRAD_OPTION(std::size_t, batch_size, value > 0, ">= 1");
    /// Whether each epoch serves the samples in its own random order (default
    /// true); false: every epoch visits the samples in data set order.
    TAPEGRAD_OPTION_ANY(bool, shuffle) = true;
    /// Whether to skip the final batch when it is short (default false).
    TAPEGRAD_OPTION_ANY(bool, drop_last) = false;
    /// The seed of the shuffled orders (default unset; unused without shuffle).
    /// Epoch k is shuffled by derive_seed(seed, k). Unset: a shuffling loader
    /// draws the seed from tapegrad::draw_seed() once, when it is built.
    TAPEGRAD_OPTION_ANY(std::optional<std::uint64_t>, seed);

public:
    /// A distributed sampler: serve shard `index` of `count` of every batch,
    /// rows shard_rows(n, index, count) of the n rows the
    /// unsharded loader would serve (Batch::first_row and Batch::global_rows
    /// say where they stand in them), so that the shards of all `count`
    /// processes (each with the same seed) make up exactly its batches, and
    /// every process serves the same number of batches (a shard may be
    /// empty: a batch of 0 rows). Default: shard 0 of 1, the whole batch.
    /// Throws tapegrad::Error unless index < count.
    LoaderOptions& shard(std::size_t index, std::size_t count) {
        if (index >= count)
            throw Error(std::string(options_name) + ": shard index must be below the shard count (" +
                        std::to_string(count) + "), got " + std::to_string(index));
        shard_index_ = index;
        shard_count_ = count;
        return *this;
    }
    /// Which shard of every batch is served, 0-based (default 0).
    std::size_t shard_index() const noexcept { return shard_index_; }
    /// How many shards every batch is cut into (default 1).
    std::size_t shard_count() const noexcept { return shard_count_; }

private:
    std::size_t shard_index_ = 0, shard_count_ = 1;
};

/// The rows [first, last) of shard `index` of `count` of a batch of `rows`
/// rows: contiguous and in order, their sizes differing by one at most, the
/// larger ones first (the boundaries are ceil(rows * i / count)), so shard 0
/// has rows whenever the batch has. How the loader (LoaderOptions::shard)
/// and train::Trainer (processes, threads) split a batch. Throws
/// tapegrad::Error unless index < count.
std::pair<std::size_t, std::size_t> shard_rows(std::size_t rows, std::size_t index, std::size_t count);

/// Serves a Dataset as mini-batches, one epoch at a time, in an order that
/// depends only on the seed and the epoch. Keeps a reference to the data set;
/// not safe to use from several threads at once.
class BatchLoader {
public:
    /// Keeps a reference to `data`, which must outlive the loader. Starts epoch 0.
    /// Draws a seed (tapegrad::draw_seed()) when `options` shuffle without one.
    /// Throws tapegrad::Error as Dataset::check() when the data set does not
    /// hold together: data.inputs without one row per label (or row of
    /// targets), labels and targets both, a sample_shape that does not fit a
    /// row (see with_sample_shape()).
    BatchLoader(const Dataset& data, const LoaderOptions& options);
    /// Deleted: the loader keeps a reference, so a temporary would dangle.
    BatchLoader(Dataset&&, const LoaderOptions&) = delete;  // a temporary would dangle

    /// Rewinds to the first batch of `epoch` (0-based), in that epoch's order.
    void start_epoch(std::uint64_t epoch);

    /// The next batch of the current epoch (this loader's shard of it, see
    /// LoaderOptions::shard), into `batch`; false when the epoch is over. The inputs buffer is reused when nothing else still holds the
    /// previous batch's tensor, so passing the same Batch each time allocates
    /// nothing (the targets' tensor likewise); a tensor kept elsewhere (say,
    /// by a live graph) is never touched.
    bool next(Batch& batch);
    /// The same without gathering the inputs: `batch.labels` (or
    /// `batch.targets`) and `batch.rows` are the next batch's and
    /// `batch.inputs` is left undefined, for a caller that gathers them
    /// itself (gather_inputs()).
    bool next_rows(Batch& batch);

    /// How many batches next() serves per epoch: size / batch_size, rounded
    /// up, or down with drop_last.
    std::size_t batches_per_epoch() const;
    /// The current epoch (0-based), as last given to start_epoch().
    std::uint64_t epoch() const { return epoch_; }
    /// The sample indices of the current epoch, in the order they are served.
    const std::vector<std::size_t>& order() const { return order_; }
    /// The options in use; a drawn seed is filled in.
    const LoaderOptions& options() const { return options_; }

private:
    const Dataset& data_;
    LoaderOptions options_;
    std::uint64_t epoch_ = 0;
    std::vector<std::size_t> order_;
    std::size_t cursor_ = 0;
    Tensor<float> buffer_;
};

}  // namespace tapegrad
