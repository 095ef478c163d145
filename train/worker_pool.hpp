/// \file
/// A fixed set of threads that run one job at a time, all of them together:
/// the Trainer's batch shards (TrainerOptions::shards). Private to the train
/// layer (not installed).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tapegrad::detail {

// The threads are made once, in the constructor, and wait on a condition
// variable between jobs rather than spin: on a machine whose cores are busy
// with other work a spinning thread only takes time from the one it waits for.
class WorkerPool {
public:
    // `size` threads in all, counting the one that calls run(): size - 1 are
    // made. Throws tapegrad::Error when the system cannot make them.
    explicit WorkerPool(std::size_t size);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    std::size_t size() const { return workers_.size() + 1; }

    // Runs job(0), ..., job(count - 1) at once, job(0) on the calling thread
    // and job(i) on worker i; returns when all have returned. If any threw,
    // rethrows the exception of the lowest i that did (so which one is seen
    // does not depend on timing). count <= size(). Not reentrant.
    void run(std::size_t count, const std::function<void(std::size_t)>& job);

private:
    void stop();                    // ends and joins the workers
    void serve(std::size_t index);  // worker `index` (1-based): waits for jobs until stopped

    std::mutex mutex_;
    std::condition_variable start_, finished_;
    const std::function<void(std::size_t)>* job_ = nullptr;
    std::size_t count_ = 0;    // jobs of the current round
    std::size_t running_ = 0;  // workers still running the current round
    std::uint64_t round_ = 0;  // bumped by every run(); workers wait for a new value
    bool stopping_ = false;
    std::vector<std::exception_ptr> errors_;  // by job index, for the current round
    std::vector<std::thread> workers_;
};

}  // namespace tapegrad::detail
