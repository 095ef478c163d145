#include <tapegrad/train/worker_pool.hpp>

#include <algorithm>
#include <string>

#include <tapegrad/autograd/tensor.hpp>  // Error

namespace tapegrad::detail {

WorkerPool::WorkerPool(std::size_t size) {
    try {
        errors_.resize(size);  // here, not in the initialiser: a count past memory is an Error too
        for (std::size_t i = 1; i < size; ++i) workers_.emplace_back([this, i] { serve(i); });
    } catch (const std::exception& e) {
        // Out of threads or memory for their stacks: the threads made so far
        // must be joined, or destroying them (joinable) calls std::terminate.
        stop();
        throw Error("Trainer: cannot start " + std::to_string(size - 1) + " threads for the shards (" + e.what() +
                    "); lower TrainerOptions::shards");
    }
}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::stop() {
    {
        const std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    start_.notify_all();
    for (auto& worker : workers_) worker.join();
}

void WorkerPool::run(std::size_t count, const std::function<void(std::size_t)>& job) {
    {
        const std::lock_guard<std::mutex> lock(mutex_);
        job_ = &job;
        count_ = count;
        running_ = workers_.size();  // every worker wakes; those past `count` return at once
        std::fill(errors_.begin(), errors_.end(), nullptr);
        ++round_;
    }
    start_.notify_all();
    if (count > 0) {
        try {
            job(0);
        } catch (...) {
            errors_[0] = std::current_exception();  // only this thread writes entry 0
        }
    }
    std::unique_lock<std::mutex> lock(mutex_);
    finished_.wait(lock, [this] { return running_ == 0; });
    job_ = nullptr;
    for (const auto& error : errors_)
        if (error) std::rethrow_exception(error);
}

void WorkerPool::serve(std::size_t index) {
    std::uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        start_.wait(lock, [&] { return stopping_ || round_ != seen; });
        if (stopping_) return;
        seen = round_;
        if (index < count_) {
            const auto& job = *job_;
            lock.unlock();
            std::exception_ptr error;
            try {
                job(index);
            } catch (...) {
                error = std::current_exception();
            }
            lock.lock();
            errors_[index] = error;
        }
        if (--running_ == 0) finished_.notify_one();
    }
}

}  // namespace tapegrad::detail
