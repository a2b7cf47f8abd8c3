// See simd_dispatch.hpp.
#include "simd_dispatch.hpp"

#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "inkwell/inkwell.h"

namespace inkwell::cpu {

namespace {

int32_t detect() {
#if defined(__x86_64__) || defined(__i386__)
    // __builtin_cpu_supports also checks that the OS saves the wider registers (XCR0).
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl"))
        return INKWELL_SIMD_AVX512;
    if (avx2) return INKWELL_SIMD_AVX2;
    if (__builtin_cpu_supports("sse4.1")) return INKWELL_SIMD_SSE4_1;
#endif
    return INKWELL_SIMD_SCALAR;
}

// The environment's cap, applied once; a bad value or a level above the CPU's warns.
int32_t initial_level() {
    const int32_t supported = simd_level_supported();
    const char* env = std::getenv("INKWELL_SIMD");
    if (env == nullptr || *env == '\0') return supported;
    const int32_t forced = parse_simd_level(env);
    if (forced < 0) {
        std::fprintf(stderr,
                     "inkwell: warning: INKWELL_SIMD=%s is not one of scalar, sse4.1, avx2, avx512; "
                     "ignored (running %s)\n",
                     env, simd_level_name(supported));
        return supported;
    }
    if (forced > supported) {
        std::fprintf(stderr, "inkwell: warning: INKWELL_SIMD=%s: this CPU has only %s; running %s\n", env,
                     simd_level_name(supported), simd_level_name(supported));
        return supported;
    }
    return forced;
}

std::atomic<int32_t>& level_cell() {
    static std::atomic<int32_t> level{initial_level()};
    return level;
}

}  // namespace

int32_t simd_level_supported() {
    static const int32_t supported = detect();
    return supported;
}

int32_t simd_level() { return level_cell().load(std::memory_order_relaxed); }

bool set_simd_level(int32_t level) {
    if (level < INKWELL_SIMD_SCALAR || level > simd_level_supported()) return false;
    level_cell().store(level, std::memory_order_relaxed);
    return true;
}

int32_t parse_simd_level(const char* name) {
    std::string s;
    for (const char* c = name; *c != '\0'; ++c) s += char(std::tolower(static_cast<unsigned char>(*c)));
    if (s == "scalar") return INKWELL_SIMD_SCALAR;
    if (s == "sse4.1" || s == "sse4_1") return INKWELL_SIMD_SSE4_1;
    if (s == "avx2") return INKWELL_SIMD_AVX2;
    if (s == "avx512") return INKWELL_SIMD_AVX512;
    return -1;
}

const char* simd_level_name(int32_t level) {
    switch (level) {
        case INKWELL_SIMD_SSE4_1: return "SSE4_1";
        case INKWELL_SIMD_AVX2: return "AVX2";
        case INKWELL_SIMD_AVX512: return "AVX512";
        default: return "SCALAR";
    }
}

}  // namespace inkwell::cpu
