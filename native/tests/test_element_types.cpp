// The scalar conversions of element_types.hpp against independent references:
//   f16   GCC's _Float16 conversions (libgcc / the compiler, not our bit arithmetic), and the
//         double-arithmetic rounding of reference16.hpp;
//   bf16  the double-arithmetic rounding of reference16.hpp (ilogb, ldexp, nearbyint).
// Widening: all 65536 patterns. Narrowing: every 16-bit value's float neighbourhood (the
// value, the exact ties halfway to both neighbours, and floats one and two ulps either side
// of each), plus a strided sweep over all float bit patterns. Special values by name: NaN
// keeps NaN-ness and sign (and comes out quiet), infinities, the overflow threshold (65520
// for f16), subnormals, -0.
#include <cmath>
#include <cstring>
#include <limits>

#include "element_types.hpp"
#include "reference16.hpp"
#include "test_util.hpp"

using namespace inkwell;
using inkwell_ref::kBF16;
using inkwell_ref::kF16;

namespace {

#if defined(__FLT16_MAX__)
#define INKWELL_HAVE_FLOAT16 1
uint16_t gcc_f16(float f) {
    const _Float16 h = static_cast<_Float16>(f);
    uint16_t bits;
    std::memcpy(&bits, &h, sizeof bits);
    return bits;
}
float gcc_f16_to_float(uint16_t bits) {
    _Float16 h;
    std::memcpy(&h, &bits, sizeof h);
    return static_cast<float>(h);
}
#endif

bool is_nan_f16(uint16_t h) { return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0; }
bool is_nan_bf16(uint16_t h) { return (h & 0x7f80) == 0x7f80 && (h & 0x7f) != 0; }

// Same result for narrowing: equal bits, or both NaN with the same sign (payloads may differ
// between implementations).
bool same_narrowed(uint16_t a, uint16_t b, bool (*is_nan)(uint16_t)) {
    if (is_nan(a) || is_nan(b)) return is_nan(a) && is_nan(b) && (a & 0x8000) == (b & 0x8000);
    return a == b;
}

// Checks float_to_f16(x) against both references; counts and prints the first failures.
int check_f16_narrowing(float x, int& printed) {
    const uint16_t got = float_to_f16(x);
    const uint16_t ref = inkwell_ref::narrow_ref(double(x), kF16);
    bool ok = same_narrowed(got, ref, is_nan_f16);
#ifdef INKWELL_HAVE_FLOAT16
    ok = ok && same_narrowed(got, gcc_f16(x), is_nan_f16);
#endif
    if (std::isnan(x)) ok = ok && is_nan_f16(got) && (got & 0x0200) && ((got >> 15) == (float_bits(x) >> 31));
    if (!ok && printed++ < 10)
        std::printf("  float_to_f16(%.9g = 0x%08x) = 0x%04x, reference 0x%04x\n", x, float_bits(x), got, ref);
    return ok ? 0 : 1;
}

int check_bf16_narrowing(float x, int& printed) {
    const uint16_t got = float_to_bf16(x);
    const uint16_t ref = inkwell_ref::narrow_ref(double(x), kBF16);
    bool ok = same_narrowed(got, ref, is_nan_bf16);
    if (std::isnan(x)) ok = ok && is_nan_bf16(got) && (got & 0x0040) && ((got >> 15) == (float_bits(x) >> 31));
    if (!ok && printed++ < 10)
        std::printf("  float_to_bf16(%.9g = 0x%08x) = 0x%04x, reference 0x%04x\n", x, float_bits(x), got, ref);
    return ok ? 0 : 1;
}

// x, x one and two float ulps either side of it.
template <class Check>
int around(float x, Check check) {
    int bad = check(x);
    float up = x, down = x;
    for (int i = 0; i < 2; ++i) {
        up = std::nextafter(up, std::numeric_limits<float>::infinity());
        down = std::nextafter(down, -std::numeric_limits<float>::infinity());
        bad += check(up) + check(down);
    }
    return bad;
}

// The float neighbourhood of every finite non-negative 16-bit value v (and of -v): v, the
// tie halfway to the next value up (exact in float: one bit more than the 16-bit format),
// each +-1 and 2 float ulps.
template <class Check>
int neighbourhoods(uint16_t largest_finite, float (*widen)(uint16_t), Check check) {
    int bad = 0;
    for (uint32_t h = 0; h <= largest_finite; ++h) {
        const float v = widen(uint16_t(h));
        const double next = h == largest_finite ? 2 * double(v) - double(widen(uint16_t(h - 1)))  // the grid continued
                                                : double(widen(uint16_t(h + 1)));
        const float tie = float((double(v) + next) / 2);
        for (float s : {1.0f, -1.0f}) bad += around(s * v, check) + around(s * tie, check);
    }
    return bad;
}

}  // namespace

TEST(f16_widening_is_exact_for_all_65536_patterns) {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; ++h) {
        const float got = f16_to_float(uint16_t(h));
        const double want = inkwell_ref::value_of(uint16_t(h), kF16);
        bool ok;
        if (is_nan_f16(uint16_t(h))) {
            // NaN, same sign, the payload kept in the top mantissa bits.
            ok = std::isnan(got) && (float_bits(got) >> 31) == (h >> 15) && ((float_bits(got) >> 13) & 0x3ff) == (h & 0x3ff);
        } else {
            ok = double(got) == want && std::signbit(got) == std::signbit(want);
#ifdef INKWELL_HAVE_FLOAT16
            ok = ok && float_bits(got) == float_bits(gcc_f16_to_float(uint16_t(h)));
#endif
        }
        if (!ok && ++bad <= 10) std::printf("  f16_to_float(0x%04x) = %.9g, reference %.9g\n", h, got, want);
    }
    CHECK_MSG(bad == 0, "%d patterns differ", bad);
#ifndef INKWELL_HAVE_FLOAT16
    std::printf("  (no _Float16 in this compiler: checked against the double reference only)\n");
#endif
}

TEST(bf16_widening_is_exact_for_all_65536_patterns) {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; ++h) {
        const float got = bf16_to_float(uint16_t(h));
        const double want = inkwell_ref::value_of(uint16_t(h), kBF16);
        const bool ok = is_nan_bf16(uint16_t(h))
                            ? std::isnan(got) && (float_bits(got) >> 31) == (h >> 15) && ((float_bits(got) >> 16) & 0x7f) == (h & 0x7f)
                            : double(got) == want && std::signbit(got) == std::signbit(want);
        if (!ok && ++bad <= 10) std::printf("  bf16_to_float(0x%04x) = %.9g, reference %.9g\n", h, got, want);
    }
    CHECK_MSG(bad == 0, "%d patterns differ", bad);
}

TEST(f16_narrowing_matches_references_around_every_f16_value_and_tie) {
    int printed = 0;
    const int bad = neighbourhoods(0x7bff, f16_to_float, [&](float x) { return check_f16_narrowing(x, printed); });
    CHECK_MSG(bad == 0, "%d floats differ", bad);
}

TEST(bf16_narrowing_matches_reference_around_every_bf16_value_and_tie) {
    int printed = 0;
    const int bad = neighbourhoods(0x7f7f, bf16_to_float, [&](float x) { return check_bf16_narrowing(x, printed); });
    CHECK_MSG(bad == 0, "%d floats differ", bad);
}

TEST(narrowing_matches_references_on_a_strided_sweep_of_float_bit_patterns) {
    // A stride coprime to 2^32 that is not a multiple of any power of two, so every exponent
    // and every low mantissa pattern is visited: about 1.05 million floats, NaNs included.
    constexpr uint64_t kStride = 4093;
    int printed16 = 0, printed_bf = 0, bad16 = 0, bad_bf = 0;
    for (uint64_t x = 0; x < (uint64_t(1) << 32); x += kStride) {
        const float f = float_from_bits(uint32_t(x));
        bad16 += check_f16_narrowing(f, printed16);
        bad_bf += check_bf16_narrowing(f, printed_bf);
    }
    CHECK_MSG(bad16 == 0, "f16: %d floats differ", bad16);
    CHECK_MSG(bad_bf == 0, "bf16: %d floats differ", bad_bf);
}

TEST(narrowing_special_values) {
    const float inf = std::numeric_limits<float>::infinity();
    // f16: the largest finite is 65504; 65520 is the tie to 65536 and rounds (to even) up.
    CHECK(float_to_f16(65504.0f) == 0x7bff);
    CHECK(float_to_f16(std::nextafter(65520.0f, 0.0f)) == 0x7bff);
    CHECK(float_to_f16(65520.0f) == 0x7c00);
    CHECK(float_to_f16(-65520.0f) == 0xfc00);
    CHECK(float_to_f16(1e6f) == 0x7c00);
    CHECK(float_to_f16(inf) == 0x7c00);
    CHECK(float_to_f16(-inf) == 0xfc00);
    CHECK(float_to_f16(std::numeric_limits<float>::max()) == 0x7c00);
    // Subnormals: 2^-24 is the smallest, 2^-25 the tie to zero (rounds to even: 0), just
    // above it rounds up; 2^-14 - 2^-25 rounds up to the smallest normal.
    CHECK(float_to_f16(std::ldexp(1.0f, -24)) == 0x0001);
    CHECK(float_to_f16(std::ldexp(1.0f, -25)) == 0x0000);
    CHECK(float_to_f16(std::nextafter(std::ldexp(1.0f, -25), 1.0f)) == 0x0001);
    CHECK(float_to_f16(std::ldexp(3.0f, -25)) == 0x0002);  // 1.5 units: tie to even 2
    CHECK(float_to_f16(std::ldexp(5.0f, -25)) == 0x0002);  // 2.5 units: tie to even 2
    CHECK(float_to_f16(-std::ldexp(1.0f, -24)) == 0x8001);
    CHECK(float_to_f16(std::ldexp(1.0f, -14) - std::ldexp(1.0f, -25)) == 0x0400);
    CHECK(float_to_f16(std::ldexp(1023.0f, -24)) == 0x03ff);
    CHECK(float_to_f16(1e-40f) == 0x0000);   // float subnormal
    CHECK(float_to_f16(-1e-40f) == 0x8000);
    CHECK(float_to_f16(-0.0f) == 0x8000);
    CHECK(float_to_f16(0.0f) == 0x0000);
    CHECK(f16_to_float(0x8000) == 0.0f && std::signbit(f16_to_float(0x8000)));
    CHECK(f16_to_float(0x0001) == std::ldexp(1.0f, -24));
    CHECK(f16_to_float(0x7c00) == inf && f16_to_float(0xfc00) == -inf);
    // 1 + 2^-11 is the tie between 1 and 1 + 2^-10: to even (1); 1 + 3 2^-11 goes up.
    CHECK(float_to_f16(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);
    CHECK(float_to_f16(1.0f + std::ldexp(3.0f, -11)) == 0x3c02);

    // NaN: stays NaN, keeps its sign, comes out quiet (also a signalling NaN, whose payload
    // sits in bits f16 drops).
    const float signalling = float_from_bits(0x7f800001u), negative_nan = float_from_bits(0xffc00000u);
    for (float nan : {std::numeric_limits<float>::quiet_NaN(), signalling, negative_nan, float_from_bits(0x7fbfe000u)}) {
        const uint16_t h = float_to_f16(nan), b = float_to_bf16(nan);
        CHECK_MSG(is_nan_f16(h) && (h & 0x0200) && (h >> 15) == (float_bits(nan) >> 31), "f16 of 0x%08x: 0x%04x",
                  float_bits(nan), h);
        CHECK_MSG(is_nan_bf16(b) && (b & 0x0040) && (b >> 15) == (float_bits(nan) >> 31), "bf16 of 0x%08x: 0x%04x",
                  float_bits(nan), b);
        CHECK(std::isnan(f16_to_float(h)) && std::isnan(bf16_to_float(b)));
    }

    // bf16: float's range, 8-bit significand. Largest finite 0x7f7f; the tie above it and
    // float's max round to infinity; float subnormals round on bf16's subnormal grid.
    CHECK(float_to_bf16(bf16_to_float(0x7f7f)) == 0x7f7f);
    CHECK(float_to_bf16(std::ldexp(255.5f, 120)) == 0x7f80);  // (2 - 2^-8) 2^127: the tie
    CHECK(float_to_bf16(std::nextafter(std::ldexp(255.5f, 120), 0.0f)) == 0x7f7f);
    CHECK(float_to_bf16(std::numeric_limits<float>::max()) == 0x7f80);
    CHECK(float_to_bf16(inf) == 0x7f80 && float_to_bf16(-inf) == 0xff80);
    CHECK(float_to_bf16(-0.0f) == 0x8000);
    CHECK(float_to_bf16(std::numeric_limits<float>::denorm_min()) == 0x0000);  // 2^-149 < half of 2^-133
    CHECK(float_to_bf16(std::ldexp(1.0f, -133)) == 0x0001);
    CHECK(float_to_bf16(std::ldexp(3.0f, -134)) == 0x0002);  // 1.5 units: tie to even 2
    CHECK(float_to_bf16(1.0f + std::ldexp(1.0f, -8)) == 0x3f80);  // tie: to even (1)
    CHECK(float_to_bf16(1.0f + std::ldexp(3.0f, -8)) == 0x3f82);
    CHECK(bf16_to_float(0x0001) == std::ldexp(1.0f, -133));
}
