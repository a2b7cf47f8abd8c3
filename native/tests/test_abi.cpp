// The C ABI's housekeeping: version, status names, error messages, contexts.
#include <cstring>
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
    o = {INKWELL_DEVICE_CUDA, 0};
    CHECK(inkwell_context_create(&o, &none) == INKWELL_UNSUPPORTED && none == nullptr);
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
