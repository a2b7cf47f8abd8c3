// A fixed pool of worker threads owned by one context. parallel_for(n, task) runs
// task(0..n-1) on the workers and the calling thread, and returns when all are done.
// Which thread runs which index is not fixed, so kernels must make each index's output
// independent of the others: that is what keeps results bit-identical for any thread count.
//
// Workers, and a caller waiting for the last task, spin for a short while (kSpin) before
// they block on a condition variable: a model's forward pass issues kernel calls tens of
// microseconds apart, and a futex wake-up costs about as much as a small kernel (a
// GroupNorm of [2, 1280, 8, 8] ran no faster on 2 threads than on 1 because of it). The
// spin is bounded in time, so an idle pool costs nothing after it.
#pragma once

#include <atomic>
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

    // Written only under mutex_; atomic so that the spins can read them without it.
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    const std::function<void(int64_t)>* task_ = nullptr;
    int64_t count_ = 0;
    int64_t next_ = 0;
    std::atomic<int64_t> finished_{0};
    std::atomic<uint64_t> generation_{0};
    std::atomic<bool> stopping_{false};
    std::exception_ptr error_;
};

}  // namespace inkwell
