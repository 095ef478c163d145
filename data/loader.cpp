#include <tapegrad/data/loader.hpp>

#include <algorithm>
#include <cstring>
#include <numeric>

#include <tapegrad/autograd/random.hpp>

namespace tapegrad {

namespace {
// Asks the CPU to start loading a row of the data set into cache. In a
// shuffled epoch the next row is anywhere in memory, and the hardware
// prefetcher cannot guess it: fetching it while the current row is copied
// made a batch-200 gather of Fashion-MNIST 10-20% faster (bench/README.md).
void prefetch_row(const float* row, std::size_t width) {
#if defined(__GNUC__) || defined(__clang__)
    const char* bytes = reinterpret_cast<const char*>(row);
    for (std::size_t offset = 0; offset < width * sizeof(float); offset += 64) __builtin_prefetch(bytes + offset);
#else
    (void)row;
    (void)width;
#endif
}
}  // namespace

BatchLoader::BatchLoader(const Dataset& data, const LoaderOptions& options) : data_(data), options_(options) {
    data_.check("BatchLoader");
    if (options_.shuffle() && !options_.seed()) options_.seed(draw_seed());
    start_epoch(0);
}

void BatchLoader::start_epoch(std::uint64_t epoch) {
    epoch_ = epoch;
    cursor_ = 0;
    if (options_.shuffle()) {
        order_ = permutation(data_.size(), derive_seed(*options_.seed(), epoch));
    } else {
        order_.resize(data_.size());
        std::iota(order_.begin(), order_.end(), std::size_t(0));
    }
}

std::pair<std::size_t, std::size_t> shard_rows(std::size_t rows, std::size_t index, std::size_t count) {
    if (index >= count)
        throw Error("shard_rows: shard " + std::to_string(index) + " of " + std::to_string(count) +
                    " (the index must be below the count) of a batch of " + std::to_string(rows) + " rows");
    // ceil(rows * i / count) in 128 bits: rows * i may pass 2^64 (GCC's
    // and Clang's integer, an extension: hence __extension__).
    __extension__ typedef unsigned __int128 wide;
    const auto boundary = [&](std::size_t i) { return std::size_t((wide(rows) * i + count - 1) / count); };
    return {boundary(index), boundary(index + 1)};
}

std::size_t BatchLoader::batches_per_epoch() const {
    const std::size_t n = data_.size(), b = options_.batch_size();
    return options_.drop_last() ? n / b : (n + b - 1) / b;
}

namespace {
// Rows `rows[0, count)` of `table` (the inputs or the targets) into `dst`,
// one after another.
void copy_rows(const xt::xtensor<float, 2>& table, const std::size_t* rows, std::size_t count, float* dst) {
    const std::size_t width = table.shape()[1];
    const float* src = table.data();
    for (std::size_t r = 0; r < count; ++r) {
        if (r + 1 < count) prefetch_row(src + rows[r + 1] * width, width);
        std::memcpy(dst + r * width, src + rows[r] * width, width * sizeof(float));
    }
}

// `tensor` as a constant of `shape` to overwrite: itself when nothing else
// holds it (no allocation), else a new one, so that a tensor kept elsewhere
// (by a live graph, say) never changes under its holder.
Tensor<float>& reusable(Tensor<float>& tensor, const Shape& shape) {
    if (tensor.defined() && tensor.impl().use_count() == 1 && tensor.shape() == shape) {
        tensor.zero_grad();  // in case the caller made the last batch a leaf with a gradient
        tensor.set_requires_grad(false);
    } else {
        tensor = Tensor<float>(Array<float>::from_shape(shape));
    }
    return tensor;
}
}  // namespace

Tensor<float> gather_inputs(const Dataset& data, const std::size_t* rows, std::size_t count) {
    Array<float> inputs = Array<float>::from_shape(data.batch_shape(count));
    copy_rows(data.inputs, rows, count, inputs.data());
    return Tensor<float>(std::move(inputs));
}

bool BatchLoader::next_rows(Batch& batch) {
    const std::size_t all_rows = std::min(options_.batch_size(), order_.size() - cursor_);
    if (all_rows == 0 || (options_.drop_last() && all_rows < options_.batch_size())) return false;
    const auto [first, last] = shard_rows(all_rows, options_.shard_index(), options_.shard_count());
    batch.inputs = Tensor<float>();  // let go of last batch's handle, so the buffer can be reused
    batch.rows.assign(order_.begin() + std::ptrdiff_t(cursor_ + first), order_.begin() + std::ptrdiff_t(cursor_ + last));
    batch.first_row = first;
    batch.global_rows = all_rows;
    if (data_.has_targets()) {
        batch.labels.clear();
        Tensor<float>& targets = reusable(batch.targets, {batch.rows.size(), data_.targets.shape()[1]});
        copy_rows(data_.targets, batch.rows.data(), batch.rows.size(), targets.data_mut().data());
    } else {
        batch.targets = Tensor<float>();
        batch.labels.resize(batch.rows.size());
        for (std::size_t r = 0; r < batch.rows.size(); ++r) batch.labels[r] = data_.labels[batch.rows[r]];
    }
    cursor_ += all_rows;
    return true;
}

bool BatchLoader::next(Batch& batch) {
    if (!next_rows(batch)) return false;
    copy_rows(data_.inputs, batch.rows.data(), batch.rows.size(),
              reusable(buffer_, data_.batch_shape(batch.rows.size())).data_mut().data());
    batch.inputs = buffer_;
    return true;
}

}  // namespace tapegrad
