// Shared pieces of the libFuzzer targets in this folder (one fuzz_<kernel>.cpp per family of
// C ABI entries): turning the fuzz bytes into sizes, parameters and tensor contents, the
// contexts every target calls through, and the two verdicts a target can reach.
//
// Each target splits its input the same way: the first bytes choose shapes and parameters,
// the rest fill the buffers (FuzzedDataProvider hands out zeros once the bytes run out, so
// every input is a complete case). Integers come from the end of the input, and an
// exhausted input gives the smallest value of each range: so the rare choices (an invalid
// argument, a huge count) take the largest value, and short inputs are cheap valid cases.
// One byte in a few decides to break one argument on
// purpose; the entry must then refuse with a status and a message, without touching memory.
//
// Buffers are std::vectors of exactly the size the arguments describe, so AddressSanitizer
// sees any read or write one element past them.
#pragma once

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <limits>
#include <vector>

#include "inkwell/inkwell.h"

namespace inkwell_fuzz {

// Prints the case and stops the process the way libFuzzer records as a crash.
[[noreturn]] inline void fail(const char* format, ...) {
    va_list args;
    va_start(args, format);
    std::fprintf(stderr, "\n*** inkwell fuzz failure: ");
    std::vfprintf(stderr, format, args);
    std::fprintf(stderr, "\n");
    va_end(args);
    std::abort();
}

// A valid call must succeed.
inline void expect_ok(int32_t status, const char* what) {
    if (status != INKWELL_OK)
        fail("%s: valid arguments gave %s: %s", what, inkwell_status_name(status), inkwell_last_error_message());
}

// An invalid call must be refused with a message; INTERNAL_ERROR would mean the argument
// got past the checks and something inside threw.
inline void expect_refused(int32_t status, const char* what) {
    if (status == INKWELL_OK) fail("%s: invalid arguments were accepted", what);
    if (status == INKWELL_INTERNAL_ERROR)
        fail("%s: invalid arguments gave INTERNAL_ERROR: %s", what, inkwell_last_error_message());
    const char* message = inkwell_last_error_message();
    if (message == nullptr || message[0] == '\0') fail("%s: refused with %s but no message", what, inkwell_status_name(status));
}

// Contexts with 1, 2 and 3 threads, made once per process: kernels split work by thread
// count, and results must not depend on it.
inline inkwell_context* context(int index) {
    static inkwell_context* contexts[3] = {};
    inkwell_context*& c = contexts[index % 3];
    if (c == nullptr) {
        const inkwell_context_options options{INKWELL_DEVICE_CPU, index % 3 + 1, 0};
        if (inkwell_context_create(&options, &c) != INKWELL_OK) fail("context_create: %s", inkwell_last_error_message());
    }
    return c;
}

// Sizes an entry must refuse wherever a count or side >= 1 is expected.
inline int64_t bad_size(FuzzedDataProvider& in) {
    static const int64_t kBad[] = {0,
                                   -1,
                                   -7,
                                   std::numeric_limits<int64_t>::min(),
                                   std::numeric_limits<int64_t>::max(),
                                   int64_t(1) << 62,
                                   (int64_t(1) << 40) + 1,
                                   int64_t(1) << 41};
    return kBad[in.ConsumeIntegralInRange<size_t>(0, std::size(kBad) - 1)];
}

// Doubles no finite-and-positive parameter accepts.
inline double bad_double(FuzzedDataProvider& in) {
    static const double kBad[] = {std::nan(""), std::numeric_limits<double>::infinity(),
                                  -std::numeric_limits<double>::infinity(), -1.0, -1e-300};
    return kBad[in.ConsumeIntegralInRange<size_t>(0, std::size(kBad) - 1)];
}

// A float from one byte on a grid of 1/16 in [-8, 8): small enough that sums of thousands of
// them stay far from overflow, varied enough to exercise signs, zeros and ties.
inline float grid_float(uint8_t byte) { return float(int8_t(byte)) / 16.0f; }

// Values a careless kernel might mishandle; only used where the target says what to expect.
inline float special_float(uint8_t byte) {
    static const float kSpecial[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                                     -std::numeric_limits<float>::infinity(), 3e38f,
                                     -3e38f,                                  1e-40f /* subnormal */,
                                     -0.0f,                                   1e20f};
    return kSpecial[byte % std::size(kSpecial)];
}

// count grid floats from the input; with `specials`, about one value in 64 is special.
inline std::vector<float> floats(FuzzedDataProvider& in, int64_t count, bool specials = false) {
    std::vector<float> v(static_cast<size_t>(count));
    for (float& x : v) {
        const uint8_t byte = in.ConsumeIntegral<uint8_t>();
        x = grid_float(byte);
        if (specials && (byte & 0x3f) == 0x3f) x = special_float(in.ConsumeIntegral<uint8_t>());
    }
    return v;
}

// Fills n bytes: raw input bytes (noise), a coarse block pattern, or a smooth ramp with a
// little noise, so that edge detectors see flat areas, steps and texture.
inline void fill_pixels(FuzzedDataProvider& in, uint8_t* out, int64_t n, int64_t period) {
    const int style = in.ConsumeIntegralInRange<int>(0, 2);
    if (style == 0) {
        for (int64_t i = 0; i < n; ++i) out[i] = in.ConsumeIntegral<uint8_t>();
        return;
    }
    uint8_t block = in.ConsumeIntegral<uint8_t>();
    for (int64_t i = 0; i < n; ++i) {
        if (style == 1) {
            if (i % 5 == 0 && in.ConsumeBool()) block = in.ConsumeIntegral<uint8_t>();
            out[i] = block;
        } else {
            const int noise = in.ConsumeIntegralInRange<int>(-3, 3);
            out[i] = uint8_t(std::clamp<int64_t>(block + (i % period) * 2 + noise, 0, 255));
        }
    }
}

// An 8-bit image in a buffer that ends right after its last pixel (no padding after the
// last row), every byte first set to `fill` so that writes into the row padding show.
struct Image {
    std::vector<uint8_t> bytes;
    inkwell_image_u8 view{};
    Image(int64_t h, int64_t w, int64_t cn, int64_t stride, uint8_t fill)
        : bytes(size_t((h - 1) * stride + w * cn), fill) {
        view = inkwell_image_u8{bytes.data(), h, w, cn, stride};
    }
    // Bytes between the rows (a dst there belongs to the caller) are still `fill`.
    bool padding_is(uint8_t fill) const {
        for (int64_t y = 0; y + 1 < view.height; ++y)
            for (int64_t x = view.width * view.channels; x < view.row_stride; ++x)
                if (bytes[size_t(y * view.row_stride + x)] != fill) return false;
        return true;
    }
    // Row-by-row equality of the pixels only.
    bool same_pixels(const Image& other) const {
        for (int64_t y = 0; y < view.height; ++y)
            if (std::memcmp(view.data + y * view.row_stride, other.view.data + y * other.view.row_stride,
                            size_t(view.width * view.channels)) != 0)
                return false;
        return true;
    }
};

// Breaks one field of an image so that check_image must refuse it; returns what it did.
inline const char* break_image(FuzzedDataProvider& in, inkwell_image_u8& image) {
    switch (in.ConsumeIntegralInRange<int>(0, 5)) {
        case 0: image.data = nullptr; return "data null";
        case 1: image.height = bad_size(in); return "bad height";
        case 2: image.width = bad_size(in); return "bad width";
        case 3: {
            static const int64_t kBadChannels[] = {0, -1, 5, std::numeric_limits<int64_t>::max()};
            image.channels = kBadChannels[in.ConsumeIntegralInRange<int>(0, 3)];
            return "bad channels";
        }
        case 4: image.row_stride = image.width * image.channels - in.ConsumeIntegralInRange<int64_t>(1, 1000); return "stride too small";
        default: image.row_stride = (int64_t(1) << 40) / image.height + 1 + in.ConsumeIntegral<uint16_t>(); return "stride too large";
    }
}

inline bool same_bits(const float* a, const float* b, size_t n) { return std::memcmp(a, b, n * sizeof(float)) == 0; }

// Equal bits, or both NaN (NaN payloads may legitimately differ between code paths).
inline bool same_value(float a, float b) {
    return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0;
}

// One ulp of float at 1: the unit of the float error bounds in the targets.
constexpr double kFloatEps = 1.0 / (1 << 23);

}  // namespace inkwell_fuzz
