// Mini-batches over a Dataset, reshuffled every epoch. Epoch k's order depends
// only on (seed, k), so a run resumed at epoch k sees the batches it would have.
//
//   BatchLoader loader(train, LoaderOptions(/*batch_size=*/64).seed(1));
//   Batch batch;
//   for (std::uint64_t epoch = 0; epoch < epochs; ++epoch) {
//       loader.start_epoch(epoch);
//       while (loader.next(batch)) { ... batch.inputs, batch.labels ... }
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include <tapegrad/autograd/labels.hpp>
#include <tapegrad/autograd/options.hpp>
#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/data/dataset.hpp>

namespace tapegrad {

struct Batch {
    Tensor<float> inputs;  // batch x features
    Labels labels;         // batch
};

// LoaderOptions(/*batch_size=*/64).shuffle(true).drop_last(false).seed(1)
class LoaderOptions {
public:
    static constexpr const char* options_name = "LoaderOptions";
    explicit LoaderOptions(std::size_t batch_size) { this->batch_size(batch_size); }
    TAPEGRAD_OPTION(std::size_t, batch_size, value > 0, ">= 1");
    // false: every epoch visits the samples in data set order
    TAPEGRAD_OPTION_ANY(bool, shuffle) = true;
    // skip the final batch when it is short
    TAPEGRAD_OPTION_ANY(bool, drop_last) = false;
    // Epoch k is shuffled by derive_seed(seed, k). Unset: a shuffling loader
    // draws the seed from tapegrad::draw_seed() once, when it is built.
    TAPEGRAD_OPTION_ANY(std::optional<std::uint64_t>, seed);
};

class BatchLoader {
public:
    // Keeps a reference to `data`, which must outlive the loader. Starts epoch 0.
    BatchLoader(const Dataset& data, const LoaderOptions& options);
    BatchLoader(Dataset&&, const LoaderOptions&) = delete;  // a temporary would dangle

    // Rewinds to the first batch of `epoch` (0-based), in that epoch's order.
    void start_epoch(std::uint64_t epoch);

    // The next batch of the current epoch, into `batch`; false when the epoch
    // is over. The inputs buffer is reused when nothing else still holds the
    // previous batch's tensor, so passing the same Batch each time allocates
    // nothing; a tensor kept elsewhere (say, by a live graph) is never touched.
    bool next(Batch& batch);

    std::size_t batches_per_epoch() const;
    std::uint64_t epoch() const { return epoch_; }
    // The sample indices of the current epoch, in the order they are served.
    const std::vector<std::size_t>& order() const { return order_; }
    // The options in use; a drawn seed is filled in.
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
