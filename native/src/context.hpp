// What an inkwell_context is on the inside.
#pragma once

#include "thread_pool.hpp"
#include "error.hpp"

struct inkwell_context {
    explicit inkwell_context(int threads) : pool(threads) {}
    inkwell::ThreadPool pool;
};

namespace inkwell {

inline inkwell_context& require_context(inkwell_context* context) {
    if (context == nullptr) invalid_argument("context is null");
    return *context;
}

}  // namespace inkwell
