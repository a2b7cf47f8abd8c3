// 16-bit element types for the CUDA tests (test_cuda_conv2d.cpp, test_cuda_attention.cpp):
// host conversions between float and IEEE binary16 / bfloat16 bit patterns (round to nearest
// even, as the library's narrowing does), and the error terms the tolerances are built from.
// The tests use only the C ABI, so this is a small self-contained copy of the arithmetic,
// not the library's element_types.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "inkwell/inkwell.h"

namespace inkwell_test {

inline uint32_t bits_of(float f) {
    uint32_t x;
    std::memcpy(&x, &f, sizeof x);
    return x;
}

inline float float_of(uint32_t x) {
    float f;
    std::memcpy(&f, &x, sizeof f);
    return f;
}

// Exact widening.
inline float widen16(int32_t type, uint16_t h) {
    if (type == INKWELL_ELEMENT_BF16) return float_of(uint32_t(h) << 16);
    const uint32_t sign = uint32_t(h & 0x8000u) << 16, exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
    if (exponent == 0x1f) return float_of(sign | 0x7f800000u | (mantissa << 13));
    if (exponent != 0) return float_of(sign | ((exponent + 112) << 23) | (mantissa << 13));
    return (sign ? -1.0f : 1.0f) * std::ldexp(float(mantissa), -24);
}

// Round to nearest even; the inputs the tests generate are finite and far from overflow, so
// only normal and subnormal values matter (NaN is not produced here).
inline uint16_t narrow16(int32_t type, float f) {
    const uint32_t x = bits_of(f);
    if (type == INKWELL_ELEMENT_BF16) {
        const uint32_t rest = x & 0xffffu, kept = x >> 16;
        return uint16_t(kept + ((rest > 0x8000u || (rest == 0x8000u && (kept & 1u))) ? 1u : 0u));
    }
    const uint16_t sign = uint16_t((x >> 16) & 0x8000u);
    const float a = std::fabs(f);
    if (a >= 65520.0f) return uint16_t(sign | 0x7c00u);
    // Units of the f16 spacing at a's binade (2^-24 below 2^-14), rounded to nearest even.
    int e = 0;
    std::frexp(a, &e);  // a = m 2^e, m in [0.5, 1)
    const int unit_exp = std::max(e - 11, -24);
    const float units = std::nearbyint(std::ldexp(a, -unit_exp));  // ties to even (default mode)
    const float rounded = std::ldexp(units, unit_exp);
    if (rounded == 0.0f) return sign;
    int re = 0;
    std::frexp(rounded, &re);
    if (re - 1 < -14) return uint16_t(sign | uint16_t(std::ldexp(rounded, 24)));  // subnormal
    const uint32_t biased = uint32_t(re - 1 + 15), mant = uint32_t(std::ldexp(rounded, 11 - re)) & 0x3ffu;
    return uint16_t(sign | (biased << 10) | mant);
}

// Each value rounded to the type; `values` becomes the exactly representable widened copy.
inline std::vector<uint16_t> to_bits(int32_t type, std::vector<float>& values) {
    std::vector<uint16_t> bits(values.size());
    for (size_t i = 0; i < values.size(); ++i) {
        bits[i] = narrow16(type, values[i]);
        values[i] = widen16(type, bits[i]);
    }
    return bits;
}

inline std::vector<float> widen_all(int32_t type, const std::vector<uint16_t>& bits) {
    std::vector<float> out(bits.size());
    for (size_t i = 0; i < bits.size(); ++i) out[i] = widen16(type, bits[i]);
    return out;
}

// Under compute-sanitizer (gpu-check.sh sets INKWELL_TEST_SANITIZER=1) the 16-bit tests run
// only the cases marked as covering a distinct kernel path, to stay within its time box.
inline bool sanitizer_run() {
    const char* v = std::getenv("INKWELL_TEST_SANITIZER");
    return v != nullptr && std::strcmp(v, "1") == 0;
}

inline const char* type_name(int32_t type) { return type == INKWELL_ELEMENT_F16 ? "f16" : "bf16"; }

// Unit roundoff of the output type: half its relative spacing (10 and 7 fraction bits).
inline double unit_roundoff(int32_t type) { return type == INKWELL_ELEMENT_F16 ? std::ldexp(1.0, -11) : std::ldexp(1.0, -8); }

// Absolute rounding error below the normal range: f16 subnormals are spaced 2^-24, so
// rounding there is off by up to 2^-25 whatever the magnitude; bf16 has float32's range.
inline double subnormal_floor(int32_t type) { return type == INKWELL_ELEMENT_F16 ? std::ldexp(1.0, -25) : 0.0; }

// Bound on the error of a float32 sum of `terms` products (plus one more addition), as a
// multiple of the sum of the terms' absolute values S.
//   CPU: any summation order (blocks, FMA chains, vector lanes) commits at most terms + 1
//        roundings of 2^-24 relative to a partial sum, and every partial sum is at most S.
//   GPU: mma.sync m16n8k16 adds 16 exact products and the accumulator in one step. The
//        tensor cores align the 17 terms to the largest and truncate (Fasi et al., "Numerical
//        behavior of NVIDIA tensor cores", 2021), so each term may lose up to one float32
//        ulp of the largest, 2^-23 relative: 17 * 2^-23 * S per instruction, at most
//        ceil(terms / 16) instructions, plus one IEEE rounding for the epilogue's addition.
inline double gamma_cpu(int64_t terms) { return double(terms + 1) * std::ldexp(1.0, -24); }
inline double gamma_gpu(int64_t terms) {
    return double(17 * ((terms + 15) / 16)) * std::ldexp(1.0, -23) + std::ldexp(1.0, -24);
}

}  // namespace inkwell_test
