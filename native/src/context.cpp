// inkwell_context_create / destroy: a CPU context owns the worker pool; a CUDA context owns
// the backend's state for one device (its stream and scratch), see context.hpp.
#include <string>

#include "context.hpp"

using namespace inkwell;

namespace {
constexpr int32_t kMaxThreads = 1024;

inkwell_context* create_cuda_context(int32_t device_index) {
    if (device_index < 0) invalid_argument("device_index must be >= 0, got " + std::to_string(device_index));
    const cuda_backend::Table& backend = load_cuda_backend();
    void* state = nullptr;
    const int32_t status = backend.create(device_index, &state);
    if (status != INKWELL_OK) {
        const char* message = backend.last_error();
        throw Error(static_cast<inkwell_status>(status), message ? message : "CUDA: unknown error");
    }
    try {
        return new inkwell_context(&backend, state, device_index);
    } catch (...) {
        backend.destroy(state);
        throw;
    }
}
}  // namespace

extern "C" {

int32_t inkwell_context_create(const inkwell_context_options* options, inkwell_context** out_context) {
    return guarded([&] {
        if (out_context == nullptr) invalid_argument("out_context is null");
        inkwell_context_options o{INKWELL_DEVICE_CPU, 0, 0};
        if (options != nullptr) o = *options;
        if (o.device == INKWELL_DEVICE_CUDA) {
            *out_context = create_cuda_context(o.device_index);
            return;
        }
        if (o.device != INKWELL_DEVICE_CPU) invalid_argument("unknown device " + std::to_string(o.device));
        if (o.device_index != 0)
            invalid_argument("device_index must be 0 for the CPU, got " + std::to_string(o.device_index));
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

int32_t inkwell_context_device(const inkwell_context* context, int32_t* out_device, int32_t* out_device_index) {
    return guarded([&] {
        if (context == nullptr) invalid_argument("context is null");
        if (out_device == nullptr) invalid_argument("out_device is null");
        if (out_device_index == nullptr) invalid_argument("out_device_index is null");
        *out_device = context->device;
        *out_device_index = context->device_index;
    });
}

}  // extern "C"
