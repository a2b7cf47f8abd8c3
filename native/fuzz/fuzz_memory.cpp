// Fuzz target for the memory entries on a CPU context: inkwell_device_alloc/free,
// inkwell_host_alloc_pinned/free_pinned, inkwell_copy (any kind, offsets and lengths
// within one buffer or across two, so overlapping copies occur), inkwell_context_device and
// inkwell_context_synchronize, plus inkwell_cuda_device_count. Valid calls must do exactly
// what memcpy does and leave every other byte alone; refused ones (bad sizes, null
// pointers, bad kinds, overlap) must write nothing. Allocation sizes stay below 64 KiB
// apart from the refused ones, so AddressSanitizer's allocator is never asked for terabytes.
#include <cstring>

#include "fuzz_input.hpp"

using namespace inkwell_fuzz;

namespace {

// Allocates through one of the two entries, checks alignment and that the memory is usable.
void* allocate(inkwell_context* ctx, bool pinned, int64_t bytes) {
    void* p = nullptr;
    const int32_t s = pinned ? inkwell_host_alloc_pinned(ctx, bytes, &p) : inkwell_device_alloc(ctx, bytes, &p);
    if (bytes < 1 || bytes > (int64_t(1) << 46)) {
        expect_refused(s, pinned ? "host_alloc_pinned" : "device_alloc");
        if (p != nullptr) fail("alloc of %lld bytes was refused but set the pointer", (long long)bytes);
        return nullptr;
    }
    expect_ok(s, pinned ? "host_alloc_pinned" : "device_alloc");
    if (p == nullptr || reinterpret_cast<uintptr_t>(p) % 64 != 0) fail("alloc of %lld bytes: pointer %p", (long long)bytes, p);
    std::memset(p, 0xA5, size_t(bytes));  // ASan catches a short allocation here
    return p;
}

void release(inkwell_context* ctx, bool pinned, void* p) {
    expect_ok(pinned ? inkwell_host_free_pinned(ctx, p) : inkwell_device_free(ctx, p), "free");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    inkwell_context* ctx = context(0);

    int32_t device = -1, index = -1;
    expect_ok(inkwell_context_device(ctx, &device, &index), "context_device");
    if (device != INKWELL_DEVICE_CPU || index != 0) fail("context_device: %d/%d for a CPU context", device, index);
    expect_refused(inkwell_context_device(ctx, nullptr, &index), "context_device null out");
    expect_ok(inkwell_context_synchronize(ctx), "context_synchronize");
    expect_refused(inkwell_context_synchronize(nullptr), "context_synchronize(NULL)");
    int32_t count = -1;
    const int32_t cs = inkwell_cuda_device_count(&count);
    if (cs != INKWELL_OK && cs != INKWELL_UNSUPPORTED) fail("cuda_device_count gave %s", inkwell_status_name(cs));
    if (cs == INKWELL_OK && count < 0) fail("cuda_device_count: %d", count);

    // Sizes: mostly 1..64 KiB, sometimes refused values.
    auto size_choice = [&]() -> int64_t {
        switch (in.ConsumeIntegralInRange<int>(0, 15)) {
            case 15: return in.ConsumeBool() ? 0 : -int64_t(in.ConsumeIntegral<uint16_t>()) - 1;
            case 14: return (int64_t(1) << 46) + 1 + in.ConsumeIntegral<uint16_t>();
            default: return 1 + in.ConsumeIntegralInRange<int64_t>(0, 65535);
        }
    };
    const bool pinned_a = in.ConsumeBool(), pinned_b = in.ConsumeBool();
    const int64_t bytes_a = size_choice(), bytes_b = size_choice();
    auto* a = static_cast<uint8_t*>(allocate(ctx, pinned_a, bytes_a));
    auto* b = static_cast<uint8_t*>(allocate(ctx, pinned_b, bytes_b));

    if (a != nullptr) {
        for (int64_t i = 0; i < bytes_a; ++i) a[i] = static_cast<uint8_t>(i * 7 + 3);
        // A copy within a (overlap possible) or from a to b, with a random kind.
        const bool across = b != nullptr && in.ConsumeBool();
        uint8_t* dst_base = across ? b : a;
        const int64_t dst_len = across ? bytes_b : bytes_a;
        const int64_t src_off = in.ConsumeIntegralInRange<int64_t>(0, bytes_a - 1);
        const int64_t dst_off = in.ConsumeIntegralInRange<int64_t>(0, dst_len - 1);
        const int64_t n = in.ConsumeIntegralInRange<int64_t>(0, std::min(bytes_a - src_off, dst_len - dst_off));
        const int32_t kind = in.ConsumeIntegralInRange<int>(0, 15) == 15 ? in.ConsumeIntegral<int32_t>()
                                                                          : in.ConsumeIntegralInRange<int32_t>(0, 4);
        const int breakage = in.ConsumeIntegralInRange<int>(0, 15);  // 13: null dst, 14: null src, 15: bytes < 0
        std::vector<uint8_t> before(dst_base, dst_base + dst_len), source(a + src_off, a + src_off + n);
        uint8_t* dst = breakage == 13 ? nullptr : dst_base + dst_off;
        const uint8_t* src = breakage == 14 ? nullptr : a + src_off;
        const int64_t bytes = breakage == 15 ? -1 - n : n;
        const int32_t s = inkwell_copy(ctx, dst, src, bytes, kind);

        const bool overlap = !across && n > 0 && dst_off < src_off + n && src_off < dst_off + n;
        const bool bad_kind = kind < INKWELL_COPY_HOST_TO_HOST || kind > INKWELL_COPY_DEFAULT;
        const bool refused = bad_kind || bytes < 0 || (n > 0 && (dst == nullptr || src == nullptr || overlap));
        if (refused) {
            expect_refused(s, "copy");
            if (std::memcmp(before.data(), dst_base, size_t(dst_len)) != 0) fail("copy: refused but wrote");
        } else {
            expect_ok(s, "copy");
            for (int64_t i = 0; i < dst_len; ++i) {
                const uint8_t want = i >= dst_off && i < dst_off + n ? source[size_t(i - dst_off)] : before[size_t(i)];
                if (dst_base[i] != want)
                    fail("copy of %lld bytes (src +%lld, dst +%lld, kind %d): byte %lld is %d, want %d", (long long)n,
                         (long long)src_off, (long long)dst_off, kind, (long long)i, dst_base[i], want);
            }
        }
    }
    expect_refused(inkwell_device_alloc(ctx, 16, nullptr), "device_alloc null out");
    expect_refused(inkwell_device_alloc(nullptr, 16, nullptr), "device_alloc null context");
    expect_ok(inkwell_device_free(ctx, nullptr), "device_free(NULL)");
    if (a != nullptr) release(ctx, pinned_a, a);
    if (b != nullptr) release(ctx, pinned_b, b);
    return 0;
}
