#include "thread_pool.hpp"

#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace inkwell {

namespace {

// How long a worker (or the waiting caller) polls before it blocks: longer than the gap
// between consecutive kernel calls of a forward pass, short enough that an idle pool
// returns its core at once.
constexpr auto kSpin = std::chrono::microseconds(100);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#else
    std::this_thread::yield();
#endif
}

// Polls ready() until it holds or kSpin has passed; returns whether it held.
template <class Ready>
bool spin_until(const Ready& ready) {
    const auto deadline = std::chrono::steady_clock::now() + kSpin;
    for (;;) {
        for (int i = 0; i < 64; ++i) {
            if (ready()) return true;
            cpu_relax();
        }
        if (std::chrono::steady_clock::now() >= deadline) return ready();
    }
}

}  // namespace

ThreadPool::ThreadPool(int threads) {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_.store(true);
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
}

void ThreadPool::run_tasks(std::unique_lock<std::mutex>& lock) {
    while (task_ != nullptr && next_ < count_) {
        int64_t index = next_++;
        const auto* task = task_;
        lock.unlock();
        std::exception_ptr failure;
        try {
            (*task)(index);
        } catch (...) {
            failure = std::current_exception();
        }
        lock.lock();
        if (failure && !error_) error_ = failure;
        if (finished_.fetch_add(1) + 1 == count_) done_.notify_all();
    }
}

void ThreadPool::worker_loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    // Not the current generation: a worker that starts after the first call began still
    // joins it (it used to leave a new context's first call to the caller alone).
    uint64_t seen = 0;
    for (;;) {
        const auto called = [&] { return stopping_.load() || generation_.load() != seen; };
        if (!called()) {
            lock.unlock();
            spin_until(called);
            lock.lock();
            wake_.wait(lock, called);  // returns at once when the spin saw the call
        }
        if (stopping_.load()) return;
        seen = generation_.load();
        run_tasks(lock);
    }
}

void ThreadPool::parallel_for(int64_t count, const std::function<void(int64_t)>& task) {
    if (count <= 0) return;
    if (workers_.empty() || count == 1) {
        for (int64_t i = 0; i < count; ++i) task(i);
        return;
    }
    std::lock_guard<std::mutex> call(call_mutex_);
    std::unique_lock<std::mutex> lock(mutex_);
    task_ = &task;
    count_ = count;
    next_ = 0;
    finished_.store(0);
    error_ = nullptr;
    generation_.fetch_add(1);
    wake_.notify_all();
    run_tasks(lock);
    const auto all_done = [&] { return finished_.load() == count_; };
    if (!all_done()) {
        lock.unlock();
        spin_until(all_done);
        lock.lock();
        done_.wait(lock, all_done);
    }
    task_ = nullptr;
    std::exception_ptr failure = error_;
    error_ = nullptr;
    lock.unlock();
    if (failure) std::rethrow_exception(failure);
}

}  // namespace inkwell
