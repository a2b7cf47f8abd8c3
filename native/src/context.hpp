// What an inkwell_context is on the inside: a CPU worker pool, and for a CUDA context the
// loaded backend and its per-context state (device index, stream, scratch; see
// cuda/backend.hpp).
#pragma once

#include <string>

#include "cuda/backend.hpp"
#include "error.hpp"
#include "thread_pool.hpp"

struct inkwell_context {
    explicit inkwell_context(int threads) : pool(threads) {}
    // A CUDA context: one pool thread (the caller), the backend and its state.
    inkwell_context(const inkwell::cuda_backend::Table* backend, void* state, int32_t index)
        : pool(1), device(INKWELL_DEVICE_CUDA), device_index(index), cuda(backend), cuda_state(state) {}
    ~inkwell_context() {
        if (cuda != nullptr) cuda->destroy(cuda_state);
    }
    inkwell_context(const inkwell_context&) = delete;
    inkwell_context& operator=(const inkwell_context&) = delete;

    inkwell::ThreadPool pool;
    int32_t device = INKWELL_DEVICE_CPU;
    int32_t device_index = 0;
    const inkwell::cuda_backend::Table* cuda = nullptr;  // non-null for a CUDA context
    void* cuda_state = nullptr;
};

namespace inkwell {

inline inkwell_context& require_context(inkwell_context* context) {
    if (context == nullptr) invalid_argument("context is null");
    return *context;
}

// Turns a backend status into the Error the ABI boundary reports, with the backend's message.
inline void cuda_check(const inkwell_context& ctx, int32_t status) {
    if (status == INKWELL_OK) return;
    const char* message = ctx.cuda->last_error();
    throw Error(static_cast<inkwell_status>(status), std::string("CUDA: ") + (message ? message : "unknown error"));
}

// The backend library, loaded once per process (cuda_loader.cpp). Throws UNSUPPORTED with
// the cause (library missing next to libinkwell, entry point missing, version mismatch).
const cuda_backend::Table& load_cuda_backend();

}  // namespace inkwell
