// inkwell_context_create / destroy: the context owns the CPU worker pool.
#include <string>

#include "context.hpp"

using namespace inkwell;

namespace {
constexpr int32_t kMaxThreads = 1024;
}

extern "C" {

int32_t inkwell_context_create(const inkwell_context_options* options, inkwell_context** out_context) {
    return guarded([&] {
        if (out_context == nullptr) invalid_argument("out_context is null");
        inkwell_context_options o{INKWELL_DEVICE_CPU, 0};
        if (options != nullptr) o = *options;
        if (o.device == INKWELL_DEVICE_CUDA)
            unsupported("device CUDA: this build of Inkwell has no CUDA backend");
        if (o.device != INKWELL_DEVICE_CPU) invalid_argument("unknown device " + std::to_string(o.device));
        if (o.threads < 0 || o.threads > kMaxThreads)
            invalid_argument("threads must be 0 (all) or 1.." + std::to_string(kMaxThreads) + ", got " +
                             std::to_string(o.threads));
        int threads = o.threads == 0 ? inkwell_hardware_threads() : o.threads;
        *out_context = new inkwell_context(threads);
    });
}

int32_t inkwell_context_destroy(inkwell_context* context) {
    return guarded([&] { delete context; });
}

int32_t inkwell_context_threads(const inkwell_context* context, int32_t* out_threads) {
    return guarded([&] {
        if (context == nullptr) invalid_argument("context is null");
        if (out_threads == nullptr) invalid_argument("out_threads is null");
        *out_threads = context->pool.threads();
    });
}

}  // extern "C"
