// Device memory, pinned host memory and copies (inkwell.h, "memory of a context's
// device"): forwarded to the CUDA backend for a CUDA context; plain aligned host memory
// and memcpy for a CPU context, so callers can use one code path for both.
#include <cstdlib>
#include <cstring>
#include <string>

#include "context.hpp"

using namespace inkwell;

namespace {

constexpr size_t kHostAlignment = 64;
constexpr int64_t kMaxAllocation = int64_t(1) << 46;

void check_bytes(int64_t bytes, const char* what) {
    if (bytes < 1 || bytes > kMaxAllocation)
        invalid_argument(std::string(what) + ": bytes must be 1..2^46, got " + std::to_string(bytes));
}

void* aligned_host_alloc(int64_t bytes) {
    const size_t rounded = (size_t(bytes) + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
    void* p = std::aligned_alloc(kHostAlignment, rounded);
    if (p == nullptr) throw Error(INKWELL_OUT_OF_MEMORY, "out of host memory allocating " + std::to_string(bytes) + " bytes");
    return p;
}

// Device or pinned memory: aligned host memory for a CPU context, the backend's entry
// (a member of its function table) for a CUDA one.
using AllocEntry = int32_t (*cuda_backend::Table::*)(void*, int64_t, void**);
using FreeEntry = int32_t (*cuda_backend::Table::*)(void*, void*);

int32_t allocate(inkwell_context* context, int64_t bytes, void** out_pointer, const char* what, AllocEntry entry) {
    return guarded([&] {
        inkwell_context& ctx = require_context(context);
        if (out_pointer == nullptr) invalid_argument(std::string(what) + ": out_pointer is null");
        check_bytes(bytes, what);
        if (ctx.cuda == nullptr) {
            *out_pointer = aligned_host_alloc(bytes);
            return;
        }
        void* p = nullptr;
        cuda_check(ctx, (ctx.cuda->*entry)(ctx.cuda_state, bytes, &p));
        *out_pointer = p;
    });
}

int32_t release(inkwell_context* context, void* pointer, FreeEntry entry) {
    return guarded([&] {
        inkwell_context& ctx = require_context(context);
        if (pointer == nullptr) return;
        if (ctx.cuda == nullptr)
            std::free(pointer);
        else
            cuda_check(ctx, (ctx.cuda->*entry)(ctx.cuda_state, pointer));
    });
}

}  // namespace

extern "C" {

int32_t inkwell_device_alloc(inkwell_context* context, int64_t bytes, void** out_pointer) {
    return allocate(context, bytes, out_pointer, "device_alloc", &cuda_backend::Table::device_alloc);
}

int32_t inkwell_device_free(inkwell_context* context, void* pointer) {
    return release(context, pointer, &cuda_backend::Table::device_free);
}

int32_t inkwell_host_alloc_pinned(inkwell_context* context, int64_t bytes, void** out_pointer) {
    return allocate(context, bytes, out_pointer, "host_alloc_pinned", &cuda_backend::Table::host_alloc_pinned);
}

int32_t inkwell_host_free_pinned(inkwell_context* context, void* pointer) {
    return release(context, pointer, &cuda_backend::Table::host_free_pinned);
}

int32_t inkwell_copy(inkwell_context* context, void* dst, const void* src, int64_t bytes, int32_t kind) {
    return guarded([&] {
        inkwell_context& ctx = require_context(context);
        if (kind < INKWELL_COPY_HOST_TO_HOST || kind > INKWELL_COPY_DEFAULT)
            invalid_argument("copy: kind must be 0..4 (an inkwell_copy_kind), got " + std::to_string(kind));
        if (bytes < 0 || bytes > kMaxAllocation)
            invalid_argument("copy: bytes must be 0..2^46, got " + std::to_string(bytes));
        if (bytes == 0) return;
        if (dst == nullptr) invalid_argument("copy: dst is null");
        if (src == nullptr) invalid_argument("copy: src is null");
        const auto d = reinterpret_cast<uintptr_t>(dst), s = reinterpret_cast<uintptr_t>(src);
        if (d < s + uintptr_t(bytes) && s < d + uintptr_t(bytes)) invalid_argument("copy: dst overlaps src");
        if (ctx.cuda == nullptr)
            std::memcpy(dst, src, size_t(bytes));
        else
            cuda_check(ctx, ctx.cuda->copy(ctx.cuda_state, dst, src, bytes, kind));
    });
}

int32_t inkwell_context_synchronize(inkwell_context* context) {
    return guarded([&] {
        inkwell_context& ctx = require_context(context);
        if (ctx.cuda != nullptr) cuda_check(ctx, ctx.cuda->synchronize(ctx.cuda_state));
    });
}

}  // extern "C"
