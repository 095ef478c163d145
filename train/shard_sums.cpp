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

void ShardSums::differ(const std::string& why) {
    error_ = "Trainer: the shards of a batch made different sums over the batch (" + why +
             "): their models ran differently (a module that branches on its batch's size?); train with shards(1)";
    aborted_ = true;
    changed_.notify_all();
}

void ShardSums::leave(std::size_t s) {
    const std::lock_guard<std::mutex> lock(mutex_);
    ++left_;
    (void)s;
    // Someone waits for this shard's part of a sum it will never give.
    if (arrived_ > 0 && !aborted_) differ("one finished while another waited for it in a sum");
}

void ShardSums::sum(Member& member, double* values, std::size_t count) {
    std::unique_lock<std::mutex> lock(mutex_);
    const auto stopped = [&] {
        member.woken = error_.empty();
        throw Error(error_.empty() ? "Trainer: another shard of this batch failed" : error_);
    };
    if (left_ > 0 && !aborted_) differ("one asked for a sum after another had finished");
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
        differ("sums of " + std::to_string(count) + " values and of other sizes");
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
