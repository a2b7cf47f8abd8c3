// Version, status names, the thread-local error message and capability queries.
#include <string>
#include <thread>

#include "error.hpp"

namespace inkwell {

namespace {
thread_local std::string last_error;
}

void set_last_error(const char* message) noexcept {
    try {
        last_error = message;
    } catch (...) {
        // Keeping the old message is better than failing while reporting a failure.
    }
}

}  // namespace inkwell

extern "C" {

int32_t inkwell_version(void) {
    return INKWELL_VERSION_MAJOR * 10000 + INKWELL_VERSION_MINOR * 100 + INKWELL_VERSION_PATCH;
}

const char* inkwell_status_name(int32_t status) {
    switch (status) {
        case INKWELL_OK: return "INKWELL_OK";
        case INKWELL_INVALID_ARGUMENT: return "INKWELL_INVALID_ARGUMENT";
        case INKWELL_OUT_OF_MEMORY: return "INKWELL_OUT_OF_MEMORY";
        case INKWELL_UNSUPPORTED: return "INKWELL_UNSUPPORTED";
        case INKWELL_INTERNAL_ERROR: return "INKWELL_INTERNAL_ERROR";
        default: return "INKWELL_UNKNOWN_STATUS";
    }
}

const char* inkwell_last_error_message(void) { return inkwell::last_error.c_str(); }

int32_t inkwell_cpu_simd_level(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512bw")) return INKWELL_SIMD_AVX512;
    if (__builtin_cpu_supports("avx2")) return INKWELL_SIMD_AVX2;
    if (__builtin_cpu_supports("sse4.1")) return INKWELL_SIMD_SSE4_1;
#endif
    return INKWELL_SIMD_SCALAR;
}

int32_t inkwell_hardware_threads(void) {
    unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : static_cast<int32_t>(n);
}

int32_t inkwell_noop(void) { return INKWELL_OK; }

}  // extern "C"
