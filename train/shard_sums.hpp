/// \file
/// The shards of one batch (autograd/batch_shard.hpp): where their rows
/// start, and the sums batch norm asks for over them: its threads (TrainerOptions::shards) and, through a
/// Communicator, the processes of a job. Private to the train layer (not
/// installed).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <tapegrad/autograd/batch_shard.hpp>
#include <tapegrad/train/communicator.hpp>

namespace tapegrad::detail {

// One per batch. Shard 0 runs on the thread that calls the communicator
// (MPI is initialised for its main thread alone, dist/mpi.hpp): it adds the
// shards' values in shard order (0 + 1 + ..., never the order they come in),
// sums that over the processes, and hands every shard the same bits.
class ShardSums {
public:
    // `shards` threads; `processes` null for a process alone.
    ShardSums(std::size_t shards, train::Communicator* processes);
    ShardSums(const ShardSums&) = delete;
    ShardSums& operator=(const ShardSums&) = delete;

    // What shard s, rows [first_row, first_row + rows) of the batch,
    // installs with a BatchShardGuard (on its own thread).
    BatchShard& shard(std::size_t s, std::size_t first_row, std::size_t rows) {
        members_[s].first = first_row;
        members_[s].count = rows;
        return members_[s];
    }
    // Wakes every shard waiting in a sum, which then throws: called by a
    // shard that failed, so that the others do not wait for it forever.
    void abort();
    // Shard s is done with the batch. If another one still waits in a sum,
    // or asks for one later, their models made different sums: they throw.
    void leave(std::size_t s);
    // Whether shard s threw because another one aborted (that one's error is
    // the batch's).
    bool woken_by_abort(std::size_t s) const { return members_[s].woken; }
    // How many sums shard s has made (read on its own thread).
    std::size_t calls(std::size_t s) const { return members_[s].calls; }
    // The counts of the sums made so far, in order: what a process with no
    // rows of a batch must still take part in (replay_without_rows).
    const std::vector<std::size_t>& counts() const { return counts_; }
    // A process's part in a batch it has no rows of: zeros for each of the
    // sums `counts` (a batch's counts(), the model's calls), over `processes`.
    static void replay_without_rows(train::Communicator& processes, const std::vector<std::size_t>& counts);

private:
    struct Member : BatchShard {
        ShardSums* group = nullptr;
        std::size_t index = 0, first = 0, count = 0;
        std::size_t first_row() const override { return first; }
        std::size_t rows() const override { return count; }
        bool woken = false;
        std::size_t calls = 0;
        void sum(double* values, std::size_t count) override {
            ++calls;
            group->sum(*this, values, count);
        }
    };
    void sum(Member& member, double* values, std::size_t count);

    train::Communicator* processes_;
    std::vector<Member> members_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<const double*> inputs_;  // by shard, for the current sum
    std::vector<std::size_t> input_counts_;
    std::vector<double> result_;
    std::size_t arrived_ = 0;     // shards that gave their values to the current sum
    std::size_t left_ = 0;        // shards done with the batch
    std::uint64_t completed_ = 0; // sums done
    bool aborted_ = false;
    std::string error_;           // why the group stopped, when the shards' sums differed
    void differ(const std::string& why);  // sets error_ and aborts; mutex_ held
    std::vector<std::size_t> counts_;
};

}  // namespace tapegrad::detail
