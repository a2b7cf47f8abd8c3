// Version, status names, the thread-local error message and capability queries.
#include <string>
#include <thread>

#include "cpu/simd_dispatch.hpp"
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

int32_t inkwell_cpu_simd_level(void) { return inkwell::cpu::simd_level(); }

int32_t inkwell_cpu_simd_level_supported(void) { return inkwell::cpu::simd_level_supported(); }

int32_t inkwell_cpu_set_simd_level(int32_t level) {
    if (level < INKWELL_SIMD_SCALAR || level > INKWELL_SIMD_AVX512) {
        inkwell::set_last_error(("inkwell_cpu_set_simd_level: level " + std::to_string(level) +
                                 " is not an inkwell_simd_level (0 scalar, 1 sse4.1, 2 avx2, 3 avx512)")
                                    .c_str());
        return INKWELL_INVALID_ARGUMENT;
    }
    if (!inkwell::cpu::set_simd_level(level)) {
        inkwell::set_last_error((std::string("inkwell_cpu_set_simd_level: this CPU has no ") +
                                 inkwell::cpu::simd_level_name(level) + " (its widest level is " +
                                 inkwell::cpu::simd_level_name(inkwell::cpu::simd_level_supported()) + ")")
                                    .c_str());
        return INKWELL_UNSUPPORTED;
    }
    return INKWELL_OK;
}

int32_t inkwell_hardware_threads(void) {
    unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : static_cast<int32_t>(n);
}

int32_t inkwell_noop(void) { return INKWELL_OK; }

}  // extern "C"
