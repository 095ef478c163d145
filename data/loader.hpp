// Mini-batches over a Dataset, reshuffled every epoch. Epoch k's order depends
// only on (seed, k), so a run resumed at epoch k sees the batches it would have.
//
//   BatchLoader loader(train, {/*batch_size=*/64, /*shuffle=*/true, /*drop_last=*/false, /*seed=*/1});
//   Batch batch;
//   for (std::uint64_t epoch = 0; epoch < epochs; ++epoch) {
//       loader.start_epoch(epoch);
//       while (loader.next(batch)) { ... batch.inputs, batch.labels ... }
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <tapegrad/autograd/labels.hpp>
#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/data/dataset.hpp>

namespace tapegrad {

struct Batch {
    Tensor<float> inputs;  // batch x features
    Labels labels;         // batch
};

struct LoaderOptions {
    std::size_t batch_size = 64;
    bool shuffle = true;     // false: every epoch visits the samples in data set order
    bool drop_last = false;  // skip the final batch when it is short
    std::uint64_t seed = 0;
};

class BatchLoader {
public:
    // Keeps a reference to `data`, which must outlive the loader. Starts epoch 0.
    BatchLoader(const Dataset& data, LoaderOptions options);
    BatchLoader(Dataset&&, LoaderOptions) = delete;  // a temporary would dangle

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

private:
    const Dataset& data_;
    LoaderOptions options_;
    std::uint64_t epoch_ = 0;
    std::vector<std::size_t> order_;
    std::size_t cursor_ = 0;
    Tensor<float> buffer_;
};

}  // namespace tapegrad
