// The context's thread pool: every index of a call runs exactly once whatever the count
// (below, at and above the thread count), on every thread count; a task's exception comes
// back from parallel_for after the call's other tasks have finished, and the pool stays
// usable; while one thread is held up by a slow task the others take the rest, the
// workers of a new pool included (a worker starting after the first call began joins it).
#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "test_util.hpp"
#include "thread_pool.hpp"

using inkwell::ThreadPool;

TEST(thread_pool_runs_every_index_once) {
    std::mt19937 rng(3);
    for (int threads : {1, 2, 3, 5}) {
        ThreadPool pool(threads);
        for (int call = 0; call < 300; ++call) {
            const int64_t count = int64_t(rng() % 40);
            std::vector<std::atomic<int>> runs(size_t(count + 1));
            pool.parallel_for(count, [&](int64_t i) { runs[size_t(i)].fetch_add(1); });
            for (int64_t i = 0; i < count; ++i)
                CHECK_MSG(runs[size_t(i)].load() == 1, "threads %d count %lld: index %lld ran %d times", threads,
                          (long long)count, (long long)i, runs[size_t(i)].load());
        }
    }
}

TEST(thread_pool_rethrows_a_task_exception_after_the_call_and_stays_usable) {
    ThreadPool pool(3);
    std::atomic<int> ran{0};
    bool threw = false;
    try {
        pool.parallel_for(50, [&](int64_t i) {
            ran.fetch_add(1);
            if (i == 7) throw std::runtime_error("task 7");
        });
    } catch (const std::runtime_error& e) {
        threw = std::string(e.what()) == "task 7";
    }
    CHECK(threw);
    CHECK_MSG(ran.load() == 50, "every task ran before parallel_for returned: %d", ran.load());
    std::atomic<int> again{0};
    pool.parallel_for(20, [&](int64_t) { again.fetch_add(1); });
    CHECK(again.load() == 20);
}

// Waits (up to 10 s, so that a loaded machine only slows the test) until done() holds.
template <class Done>
void wait_for(const Done& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::microseconds(200));
}

TEST(thread_pool_helps_a_thread_that_falls_behind) {
    // The caller's first task (index 0) waits until the worker has run more than half of the
    // 40: the worker, new (this is the pool's first call), must join and take the rest.
    ThreadPool pool(2);
    const std::thread::id caller = std::this_thread::get_id();
    std::atomic<int> by_worker{0};
    std::vector<std::atomic<int>> runs(40);
    pool.parallel_for(40, [&](int64_t i) {
        if (i == 0) wait_for([&] { return by_worker.load() > 20; });
        runs[size_t(i)].fetch_add(1);
        if (std::this_thread::get_id() != caller) by_worker.fetch_add(1);
    });
    for (int64_t i = 0; i < 40; ++i) CHECK(runs[size_t(i)].load() == 1);
    CHECK_MSG(by_worker.load() > 20, "the worker joined and took the rest: it ran %d of 40", by_worker.load());
}
