// A fixed pool of worker threads owned by one context. parallel_for(n, task) runs
// task(0..n-1) on the workers and the calling thread, and returns when all are done.
// Which thread runs which index is not fixed, so kernels must make each index's output
// independent of the others: that is what keeps results bit-identical for any thread count.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace inkwell {

class ThreadPool {
public:
    explicit ThreadPool(int threads);  // total threads including the caller; >= 1
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int threads() const { return static_cast<int>(workers_.size()) + 1; }

    // Calls on one pool are serialised; an exception from a task is rethrown here after
    // every started task has finished.
    void parallel_for(int64_t count, const std::function<void(int64_t)>& task);

private:
    void worker_loop();
    void run_tasks(std::unique_lock<std::mutex>& lock);  // lock holds mutex_

    std::vector<std::thread> workers_;
    std::mutex call_mutex_;  // one parallel_for at a time

    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    const std::function<void(int64_t)>* task_ = nullptr;
    int64_t count_ = 0;
    int64_t next_ = 0;
    int64_t finished_ = 0;
    uint64_t generation_ = 0;
    bool stopping_ = false;
    std::exception_ptr error_;
};

}  // namespace inkwell
