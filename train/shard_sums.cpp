#include <tapegrad/train/shard_sums.hpp>

#include <algorithm>

#include <tapegrad/autograd/tensor.hpp>  // Error

namespace tapegrad::detail {

ShardSums::ShardSums(std::size_t shards, train::Communicator* processes)
    : processes_(processes), members_(shards), inputs_(shards), input_counts_(shards) {
    for (std::size_t s = 0; s < shards; ++s) {
        members_[s].group = this;
        members_[s].index = s;
    }
}

void ShardSums::abort() {
    {
        const std::lock_guard<std::mutex> lock(mutex_);
        aborted_ = true;
    }
    changed_.notify_all();
}

void ShardSums::sum(Member& member, double* values, std::size_t count) {
    std::unique_lock<std::mutex> lock(mutex_);
    const auto stopped = [&] {
        member.woken = error_.empty();
        throw Error(error_.empty() ? "Trainer: another shard of this batch failed" : error_);
    };
    if (aborted_) stopped();
    inputs_[member.index] = values;
    input_counts_[member.index] = count;
    ++arrived_;
    const std::uint64_t mine = completed_;
    if (member.index != 0) {
        changed_.notify_all();  // shard 0 may be waiting for this one
        changed_.wait(lock, [&] { return aborted_ || completed_ != mine; });
        if (completed_ == mine) stopped();
        std::copy(result_.begin(), result_.end(), values);
        return;
    }
    changed_.wait(lock, [&] { return aborted_ || arrived_ == members_.size(); });
    if (aborted_) stopped();
    if (!std::all_of(input_counts_.begin(), input_counts_.end(), [&](std::size_t c) { return c == count; })) {
        error_ = "Trainer: the shards of a batch asked for sums of different sizes (" + std::to_string(count) +
                 " and others): their models ran differently";
        aborted_ = true;
        changed_.notify_all();
        stopped();
    }
    // The others wait until completed_ changes: their buffers stay put.
    result_.assign(values, values + count);
    for (std::size_t s = 1; s < members_.size(); ++s)
        for (std::size_t i = 0; i < count; ++i) result_[i] += inputs_[s][i];
    if (processes_) {
        lock.unlock();
        processes_->allreduce_sum(result_.data(), count);
        lock.lock();
    }
    counts_.push_back(count);
    arrived_ = 0;
    ++completed_;
    std::copy(result_.begin(), result_.end(), values);
    changed_.notify_all();
}

void ShardSums::replay_without_rows(train::Communicator& processes, const std::vector<std::size_t>& counts) {
    std::vector<double> zeros;
    for (const std::size_t count : counts) {
        zeros.assign(count, 0.0);
        processes.allreduce_sum(zeros.data(), count);
    }
}

}  // namespace tapegrad::detail
