// Splits [0, count) into fixed-size chunks and runs them on the pool. The chunk boundaries
// depend on count and chunk only, never on the thread count, so a kernel whose elements
// are independent gives the same bits for any number of threads.
#pragma once

#include <algorithm>
#include <cstdint>

#include "../thread_pool.hpp"

namespace inkwell::cpu {

template <class Body>  // Body: void(int64_t begin, int64_t end)
void parallel_chunks(ThreadPool& pool, int64_t count, int64_t chunk, const Body& body) {
    const int64_t chunks = (count + chunk - 1) / chunk;
    pool.parallel_for(chunks, [&](int64_t c) { body(c * chunk, std::min(count, (c + 1) * chunk)); });
}

}  // namespace inkwell::cpu
