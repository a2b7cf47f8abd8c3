// Element types of the tensor entries (inkwell_element_type): sizes, names, and the scalar
// conversions between float32 and the two 16-bit types.
//
// Widening (f16 or bf16 to float) is exact. Narrowing rounds to nearest, ties to even, as
// IEEE 754 and PyTorch's .half()/.bfloat16() do: values past the largest finite 16-bit
// value round to infinity, float32 subnormals and tiny values round to f16 subnormals or
// zero (bf16 keeps float32's exponent range, so it has no such step), and a NaN stays a
// quiet NaN with its sign. Plain integer arithmetic, so every compiler and the Java side
// (Float.floatToFloat16, Tensor's bfloat16 code) give the same bits.
#pragma once

#include <cstdint>
#include <cstring>

#include "inkwell/inkwell.h"

namespace inkwell {

inline bool is_element_type(int32_t type) { return type >= INKWELL_ELEMENT_F32 && type <= INKWELL_ELEMENT_BF16; }

inline int64_t element_size(int32_t type) { return type == INKWELL_ELEMENT_F32 ? 4 : 2; }

inline const char* element_type_name(int32_t type) {
    switch (type) {
        case INKWELL_ELEMENT_F32: return "f32";
        case INKWELL_ELEMENT_F16: return "f16";
        case INKWELL_ELEMENT_BF16: return "bf16";
        default: return "unknown";
    }
}

inline uint32_t float_bits(float f) {
    uint32_t x;
    std::memcpy(&x, &f, sizeof x);
    return x;
}

inline float float_from_bits(uint32_t x) {
    float f;
    std::memcpy(&f, &x, sizeof f);
    return f;
}

inline float f16_to_float(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000) << 16;
    const uint32_t exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ffu;
    if (exponent == 0x1f) return float_from_bits(sign | 0x7f800000u | (mantissa << 13));  // inf, NaN
    if (exponent != 0) return float_from_bits(sign | ((exponent + 112) << 23) | (mantissa << 13));
    // Zero or subnormal: mantissa * 2^-24, exact in float.
    const float magnitude = float(mantissa) * float_from_bits(0x33800000u);  // 2^-24
    return float_from_bits(sign | float_bits(magnitude));
}

// Rounds (value >> shift) to nearest, ties to even; shift in 1..31.
inline uint32_t shift_right_round_even(uint32_t value, int shift) {
    const uint32_t kept = value >> shift, rest = value & ((1u << shift) - 1), half = 1u << (shift - 1);
    return kept + ((rest > half || (rest == half && (kept & 1u))) ? 1u : 0u);
}

inline uint16_t float_to_f16(float f) {
    const uint32_t x = float_bits(f);
    const uint32_t sign = (x >> 16) & 0x8000u, magnitude = x & 0x7fffffffu;
    if (magnitude > 0x7f800000u) return uint16_t(sign | 0x7e00u | ((magnitude >> 13) & 0x3ffu));  // NaN, quiet
    if (magnitude >= 0x47800000u) return uint16_t(sign | 0x7c00u);  // >= 2^16 (and inf): infinity
    if (magnitude >= 0x38800000u) {  // >= 2^-14: a normal f16, or rounds up to infinity
        const uint32_t h = shift_right_round_even(magnitude - 0x38000000u, 13);  // exponent rebiased 127 -> 15
        return uint16_t(sign | (h > 0x7c00u ? 0x7c00u : h));
    }
    if (magnitude < 0x33000000u) return uint16_t(sign);  // below 2^-25: rounds to zero
    // Subnormal f16 (or rounds up to the smallest normal): units of 2^-24.
    const uint32_t significand = (magnitude & 0x7fffffu) | 0x800000u;
    const int shift = 126 - int(magnitude >> 23);  // 14..24
    return uint16_t(sign | shift_right_round_even(significand, shift));
}

inline float bf16_to_float(uint16_t h) { return float_from_bits(uint32_t(h) << 16); }

inline uint16_t float_to_bf16(float f) {
    const uint32_t x = float_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return uint16_t((x >> 16) | 0x0040u);  // NaN, quiet
    return uint16_t(shift_right_round_even(x, 16));  // carries into the exponent, up to inf
}

}  // namespace inkwell
