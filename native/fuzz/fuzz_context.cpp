// Fuzz target for the context, status and capability entries: inkwell_context_create with
// any options (device, device index, threads), inkwell_context_threads, inkwell_context_destroy,
// inkwell_status_name, inkwell_last_error_message and the capability queries. A refused
// create must leave *out_context alone and a message; an accepted one must report the
// thread count it was given. Thread counts above 8 are folded down to keep runs fast.
#include <cstring>

#include "fuzz_input.hpp"

using namespace inkwell_fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    inkwell_context_options options{in.ConsumeIntegral<int32_t>(), in.ConsumeIntegral<int32_t>(), 0};
    if (in.ConsumeIntegralInRange<int>(0, 7) == 7) options.device_index = in.ConsumeIntegral<int32_t>();
    if (in.ConsumeBool()) options.device = in.ConsumeIntegralInRange<int32_t>(-1, 2);
    if (in.ConsumeBool()) options.threads = in.ConsumeIntegralInRange<int32_t>(-2, 8);
    if (options.threads > 8 && options.threads <= 1024) options.threads = options.threads % 8 + 1;
    const bool null_options = in.ConsumeIntegralInRange<int>(0, 15) == 15;
    const bool null_out = in.ConsumeIntegralInRange<int>(0, 15) == 15;

    inkwell_context* sentinel = reinterpret_cast<inkwell_context*>(uintptr_t(0x1234));
    inkwell_context* context = sentinel;
    const int32_t s = inkwell_context_create(null_options ? nullptr : &options, null_out ? nullptr : &context);
    const bool valid = !null_out && (null_options || (options.device == INKWELL_DEVICE_CPU && options.device_index == 0 && options.threads >= 0 &&
                                                     options.threads <= 1024));
    if (!valid) {
        expect_refused(s, "context_create");
        if (context != sentinel) fail("context_create: refused (device %d threads %d) but set *out_context", options.device, options.threads);
        if (!null_out && !null_options && options.device == INKWELL_DEVICE_CUDA && options.device_index >= 0 &&
            s != INKWELL_UNSUPPORTED)
            fail("context_create: device CUDA gave %s", inkwell_status_name(s));
    } else {
        expect_ok(s, "context_create");
        int32_t threads = -1;
        expect_ok(inkwell_context_threads(context, &threads), "context_threads");
        const int32_t want = null_options || options.threads == 0 ? inkwell_hardware_threads() : options.threads;
        if (threads != want) fail("context_threads: %d, created with %d", threads, want);
        expect_refused(inkwell_context_threads(context, nullptr), "context_threads null out");
        expect_ok(inkwell_context_destroy(context), "context_destroy");
    }
    expect_refused(inkwell_context_threads(nullptr, nullptr), "context_threads null context");
    expect_ok(inkwell_context_destroy(nullptr), "context_destroy(NULL)");

    const int32_t status = in.ConsumeIntegral<int32_t>();
    const char* status_name = inkwell_status_name(status);
    if (status_name == nullptr || std::strncmp(status_name, "INKWELL_", 8) != 0) fail("status_name(%d) is not a name", status);
    const bool known = status >= INKWELL_OK && status <= INKWELL_INTERNAL_ERROR;
    if (known == (std::strcmp(status_name, "INKWELL_UNKNOWN_STATUS") == 0)) fail("status_name(%d) = %s", status, status_name);
    if (inkwell_last_error_message() == nullptr) fail("last_error_message is null");
    const int32_t simd = inkwell_cpu_simd_level();
    if (simd < INKWELL_SIMD_SCALAR || simd > INKWELL_SIMD_AVX512) fail("cpu_simd_level %d", simd);
    if (inkwell_hardware_threads() < 1) fail("hardware_threads %d", inkwell_hardware_threads());
    if (inkwell_noop() != INKWELL_OK || inkwell_version() != INKWELL_VERSION_MAJOR * 10000 + INKWELL_VERSION_MINOR * 100 + INKWELL_VERSION_PATCH)
        fail("noop or version");
    return 0;
}
