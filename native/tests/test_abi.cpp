// The C ABI's housekeeping: version, status names, error messages, contexts.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "inkwell/inkwell.h"
#include "test_util.hpp"

TEST(version_and_status_names) {
    CHECK(inkwell_version() == INKWELL_VERSION_MAJOR * 10000 + INKWELL_VERSION_MINOR * 100 + INKWELL_VERSION_PATCH);
    CHECK(std::strcmp(inkwell_status_name(INKWELL_OK), "INKWELL_OK") == 0);
    CHECK(std::strcmp(inkwell_status_name(INKWELL_UNSUPPORTED), "INKWELL_UNSUPPORTED") == 0);
    CHECK(std::strcmp(inkwell_status_name(12345), "INKWELL_UNKNOWN_STATUS") == 0);
    CHECK(inkwell_hardware_threads() >= 1);
    CHECK(inkwell_cpu_simd_level() >= INKWELL_SIMD_SCALAR && inkwell_cpu_simd_level() <= INKWELL_SIMD_AVX512);
    CHECK(inkwell_noop() == INKWELL_OK);
}

// The level in effect follows INKWELL_SIMD (ctest runs this file with it set to each level
// below the CPU's), can be lowered and raised back at run time, and never exceeds the CPU's.
TEST(cpu_simd_level_follows_the_forced_level) {
    const int32_t supported = inkwell_cpu_simd_level_supported();
    const int32_t start = inkwell_cpu_simd_level();
    CHECK(supported >= INKWELL_SIMD_SCALAR && supported <= INKWELL_SIMD_AVX512);
    CHECK(start <= supported);
    const char* env = std::getenv("INKWELL_SIMD");
    const std::string forced = env == nullptr ? "" : env;
    const int32_t want = forced == "scalar"   ? INKWELL_SIMD_SCALAR
                         : forced == "sse4.1" ? INKWELL_SIMD_SSE4_1
                         : forced == "avx2"   ? INKWELL_SIMD_AVX2
                         : forced == "avx512" ? INKWELL_SIMD_AVX512
                                              : supported;
    CHECK_MSG(start == std::min(want, supported), "INKWELL_SIMD='%s': level %d, CPU %d", forced.c_str(), start,
              supported);

    for (int32_t level = INKWELL_SIMD_SCALAR; level <= supported; ++level) {
        CHECK(inkwell_cpu_set_simd_level(level) == INKWELL_OK);
        CHECK(inkwell_cpu_simd_level() == level);
    }
    if (supported < INKWELL_SIMD_AVX512) {
        CHECK(inkwell_cpu_set_simd_level(INKWELL_SIMD_AVX512) == INKWELL_UNSUPPORTED);
        CHECK(std::strstr(inkwell_last_error_message(), "this CPU has no AVX512") != nullptr);
        CHECK(inkwell_cpu_simd_level() == supported);
    }
    CHECK(inkwell_cpu_set_simd_level(7) == INKWELL_INVALID_ARGUMENT);
    CHECK(std::strstr(inkwell_last_error_message(), "level 7 is not an inkwell_simd_level") != nullptr);
    CHECK(inkwell_cpu_set_simd_level(-1) == INKWELL_INVALID_ARGUMENT);
    CHECK(inkwell_cpu_set_simd_level(start) == INKWELL_OK);
}

TEST(context_options_are_checked) {
    inkwell_context* ctx = nullptr;
    inkwell_context_options o{INKWELL_DEVICE_CPU, 3};
    CHECK(inkwell_context_create(&o, &ctx) == INKWELL_OK && ctx != nullptr);
    int32_t threads = 0;
    CHECK(inkwell_context_threads(ctx, &threads) == INKWELL_OK && threads == 3);
    CHECK(inkwell_context_destroy(ctx) == INKWELL_OK);
    CHECK(inkwell_context_destroy(nullptr) == INKWELL_OK);

    inkwell_context* none = nullptr;
    o.threads = -1;
    CHECK(inkwell_context_create(&o, &none) == INKWELL_INVALID_ARGUMENT && none == nullptr);
    CHECK(std::strstr(inkwell_last_error_message(), "got -1") != nullptr);
    // This test links the kernels statically, so the core looks for libinkwell_cuda.so next
    // to the test executable, where the build never puts it: CUDA is unsupported, and says why.
    o = {INKWELL_DEVICE_CUDA, 0, 0};
    CHECK(inkwell_context_create(&o, &none) == INKWELL_UNSUPPORTED && none == nullptr);
    CHECK(std::strstr(inkwell_last_error_message(), "libinkwell_cuda.so not found next to") != nullptr);
    int32_t count = -1;
    CHECK(inkwell_cuda_device_count(&count) == INKWELL_UNSUPPORTED && count == 0);
    o = {INKWELL_DEVICE_CPU, 0, 1};
    CHECK(inkwell_context_create(&o, &none) == INKWELL_INVALID_ARGUMENT);
    o = {42, 0};
    CHECK(inkwell_context_create(&o, &none) == INKWELL_INVALID_ARGUMENT);
    CHECK(inkwell_context_create(nullptr, nullptr) == INKWELL_INVALID_ARGUMENT);
}

TEST(last_error_is_per_thread) {
    inkwell_context* none = nullptr;
    inkwell_context_options o{INKWELL_DEVICE_CPU, -5};
    CHECK(inkwell_context_create(&o, &none) == INKWELL_INVALID_ARGUMENT);
    std::string other;
    std::thread t([&] { other = inkwell_last_error_message(); });
    t.join();
    CHECK(other.empty());
    CHECK(std::strstr(inkwell_last_error_message(), "got -5") != nullptr);
}

TEST(cpu_context_memory_entries_work_on_host_memory) {
    inkwell_context* ctx = nullptr;
    CHECK(inkwell_context_create(nullptr, &ctx) == INKWELL_OK);
    int32_t device = -1, index = -1;
    CHECK(inkwell_context_device(ctx, &device, &index) == INKWELL_OK && device == INKWELL_DEVICE_CPU && index == 0);
    void *a = nullptr, *b = nullptr;
    CHECK(inkwell_device_alloc(ctx, 1000, &a) == INKWELL_OK && a != nullptr);
    CHECK(reinterpret_cast<uintptr_t>(a) % 64 == 0);
    CHECK(inkwell_host_alloc_pinned(ctx, 1000, &b) == INKWELL_OK && b != nullptr);
    std::memset(a, 0x5A, 1000);
    for (int kind = INKWELL_COPY_HOST_TO_HOST; kind <= INKWELL_COPY_DEFAULT; ++kind) {
        std::memset(b, 0, 1000);
        CHECK(inkwell_copy(ctx, b, a, 1000, kind) == INKWELL_OK);
        CHECK(std::memcmp(a, b, 1000) == 0);
    }
    CHECK(inkwell_copy(ctx, b, a, 1000, 5) == INKWELL_INVALID_ARGUMENT);
    CHECK(inkwell_copy(ctx, a, static_cast<char*>(a) + 10, 100, INKWELL_COPY_HOST_TO_HOST) == INKWELL_INVALID_ARGUMENT);
    CHECK(inkwell_copy(ctx, nullptr, nullptr, 0, INKWELL_COPY_HOST_TO_HOST) == INKWELL_OK);
    CHECK(inkwell_context_synchronize(ctx) == INKWELL_OK);
    void* none = nullptr;
    CHECK(inkwell_device_alloc(ctx, 0, &none) == INKWELL_INVALID_ARGUMENT && none == nullptr);
    CHECK(inkwell_device_alloc(ctx, -1, &none) == INKWELL_INVALID_ARGUMENT);
    CHECK(inkwell_device_alloc(nullptr, 8, &none) == INKWELL_INVALID_ARGUMENT);
    CHECK(inkwell_device_free(ctx, a) == INKWELL_OK);
    CHECK(inkwell_host_free_pinned(ctx, b) == INKWELL_OK);
    CHECK(inkwell_device_free(ctx, nullptr) == INKWELL_OK);
    CHECK(inkwell_context_destroy(ctx) == INKWELL_OK);
}
