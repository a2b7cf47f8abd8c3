// The activations of inkwell_activation as float32 functions, shared by every CPU kernel
// that applies one (activation, group_norm, linear, geglu) and by the tests. The formulas are
// PyTorch's:
//   SILU        x / (1 + exp(-x))
//   GELU        0.5 x (1 + erf(x / sqrt 2))
//   GELU_TANH   0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
//   QUICK_GELU  x / (1 + exp(-1.702 x))
//   RELU        x > 0 ? x : 0, a NaN stays NaN (torch.relu)
// evaluated as one fixed sequence of IEEE float operations (no libm), written out here for
// one lane and in activations_simd.cpp for eight (AVX2 + FMA) and sixteen (AVX-512): every
// fused multiply-add is spelled std::fma / _mm*_fmadd_ps, every division is a true division,
// every comparison is written as the minps / maxps / cmpps it becomes, so the scalar
// functions, apply_activation_span and every kernel that uses either give the same bits
// (tests/test_activation.cpp checks all three paths against each other).
//   exp         Cody-Waite reduction a = n ln2 + r (ln 2 in two parts), Cephes' degree-6
//               polynomial for exp(r), 2^n added to the exponent bits; the argument is clamped
//               to [-86, 88] first (2^n stays a normal scale factor) and exp(a > 88) is +inf.
//               About 1 ulp.
//   SILU, QUICK_GELU  x / (1 + exp(-k x)): large negative x gives x / inf = -0 (not
//               inf / inf), x = -inf gives NaN (-inf / inf, as the libm form does).
//   GELU_TANH   0.5 x (1 + tanh(u)) = x / (1 + exp(-2u)): no cancellation in the negative
//               tail, where 1 + tanhf(u) loses all its bits; -2u = x (-2 sqrt(2/pi)
//               - 2 sqrt(2/pi) 0.044715 x^2).
//   GELU        through erfc (see gelu below), shared with GEGLU.
// Within the golden tolerance (atol 1e-6 + rtol 2e-6 against float64 torch) everywhere; the
// CUDA backend keeps expf/erff/tanhf and is compared within a tolerance.
// activation_reference() is the same in double, for tests.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "inkwell/inkwell.h"

namespace inkwell::cpu {

inline bool is_activation(int32_t a) { return a >= INKWELL_ACTIVATION_NONE && a <= INKWELL_ACTIVATION_RELU; }

inline const char* activation_name(int32_t a) {
    switch (a) {
        case INKWELL_ACTIVATION_NONE: return "none";
        case INKWELL_ACTIVATION_SILU: return "silu";
        case INKWELL_ACTIVATION_GELU: return "gelu";
        case INKWELL_ACTIVATION_GELU_TANH: return "gelu_tanh";
        case INKWELL_ACTIVATION_QUICK_GELU: return "quick_gelu";
        case INKWELL_ACTIVATION_RELU: return "relu";
        default: return "unknown";
    }
}

constexpr float kSqrtHalf = 0.70710678118654752440f;      // 1 / sqrt(2)
constexpr float kSqrtTwoOverPi = 0.79788456080286535588f;  // sqrt(2 / pi)
constexpr float kGeluTanhCubic = 0.044715f;
constexpr float kQuickGelu = 1.702f;

namespace act {

// exp's constants (Cephes expf).
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;  // ln 2 = hi + lo, hi exact in 9 bits
constexpr float kExpPoly[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                               4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
constexpr float kExpMin = -86.0f;  // exp(-86) = 4e-38: 2^n (n >= -124) stays a normal scale factor
constexpr float kExpMax = 88.0f;   // n <= 127; exp(88..88.72) (< 3.4e38) is taken as +inf
// gelu's erfc: the degree-9 Chebyshev fit of Numerical Recipes' erfcc, cut at |z| = kTail.
constexpr float kErfc[10] = {0.17087277f,  -0.82215223f, 1.48851587f,  -1.13520398f, 0.27886807f,
                             -0.18628806f, 0.09678418f,  0.37409196f,  1.00002368f,  -1.26551223f};
constexpr float kTail = 9.0f;  // erfc(9) = 4.1e-37; t exp(..) >= 4e-37 up to here
// gelu_tanh: -2u = x (kTanhLinear + kTanhCubic x^2).
constexpr float kTanhLinear = -1.59576912160573071f;   // -2 sqrt(2 / pi)
constexpr float kTanhCubic = -0.0713548162726002527f;  // -2 sqrt(2 / pi) 0.044715

// exp(a) for a in [kExpMin, kExpMax].
inline float exp_core(float a) {
    const float n = std::nearbyint(a * kLog2e);
    float r = std::fma(n, -kLn2Hi, a);
    r = std::fma(n, -kLn2Lo, r);
    float p = kExpPoly[0];
    for (int i = 1; i < 6; ++i) p = std::fma(p, r, kExpPoly[i]);
    const float r2 = r * r;
    const float y = std::fma(p, r2, r) + 1.0f;
    uint32_t bits;
    std::memcpy(&bits, &y, 4);
    bits += uint32_t(int32_t(n)) << 23;
    float out;
    std::memcpy(&out, &bits, 4);
    return out;
}

// exp(a) for any a: clamped as minps(a, max) then maxps(.., min) (a NaN becomes kExpMax; the
// activations carry x's NaN to their result), +inf past kExpMax.
inline float exp_saturated(float a) {
    const float hi = a < kExpMax ? a : kExpMax;
    const float c = hi > kExpMin ? hi : kExpMin;
    const float e = exp_core(c);
    return a > kExpMax ? INFINITY : e;
}

}  // namespace act

inline float silu(float x) { return x / (1.0f + act::exp_saturated(-x)); }

// gelu(x) = x Phi(x) = x (1 + erf(z)) / 2 with z = x / sqrt 2, through erfc: 1 + erf(z) is
// erfc(|z|) for z < 0 and 2 - erfc(|z|) otherwise, erfc(s) = t exp(-s^2 + P(t)) with
// t = 1 / (1 + s / 2) and P the Chebyshev fit (relative error below 1.2e-7 for every s >= 0).
// It keeps its relative accuracy in the negative tail down to 1e-36 (past |z| = kTail,
// erfc(|z|) < 4.1e-37 and gelu(x) is taken as -0, as torch's float gelu is from x = -5.5
// on). |z| is clamped to kTail before t and the exponent are formed so that no step makes
// a subnormal (each one a ~100-cycle microcode assist on Intel cores). GEGLU's gelu.
inline float gelu(float x) {
    const float z = x * kSqrtHalf, s = std::fabs(z);
    const float sc = s < act::kTail ? s : act::kTail;
    const float t = 1.0f / std::fma(0.5f, sc, 1.0f);
    float p = act::kErfc[0];
    for (int i = 1; i < 10; ++i) p = std::fma(p, t, act::kErfc[i]);
    float arg = std::fma(-sc, sc, p);
    arg = arg > act::kExpMin ? arg : act::kExpMin;
    const float e = act::exp_core(arg);
    const float te = t * e;
    const float below = s > act::kTail ? 0.0f : te;  // erfc(s): 1 + erf(z) for z < 0
    const float factor = x < 0.0f ? below : std::fma(-t, e, 2.0f);
    const float half_x = 0.5f * x;
    return half_x * factor;
}

inline float gelu_tanh(float x) {
    const float x2 = x * x;
    const float k = std::fma(act::kTanhCubic, x2, act::kTanhLinear);
    const float arg = k * x;
    return x / (1.0f + act::exp_saturated(arg));
}

inline float quick_gelu(float x) {
    const float arg = -kQuickGelu * x;
    return x / (1.0f + act::exp_saturated(arg));
}

inline float relu(float x) { return x > 0.0f ? x : (x != x ? x : 0.0f); }

// a must satisfy is_activation (the ABI entries check it).
inline float apply_activation(int32_t a, float x) {
    switch (a) {
        case INKWELL_ACTIVATION_SILU: return silu(x);
        case INKWELL_ACTIVATION_GELU: return gelu(x);
        case INKWELL_ACTIVATION_GELU_TANH: return gelu_tanh(x);
        case INKWELL_ACTIVATION_QUICK_GELU: return quick_gelu(x);
        case INKWELL_ACTIVATION_RELU: return relu(x);
        default: return x;
    }
}

// Which implementation of apply_activation_span runs: all give the same bits; kAuto picks
// the widest the CPU has (AVX-512F, else AVX2 + FMA, else portable). Tests force the others.
enum class ActivationIsa { kAuto, kPortable, kAvx2, kAvx512 };
bool activation_isa_available(ActivationIsa isa);

// out[i] = apply_activation(a, in[i]) for i < n, bit for bit; out may be in (in place), may
// not otherwise overlap it. An unavailable isa falls back to the portable loop.
void apply_activation_span(int32_t a, const float* in, float* out, int64_t n, ActivationIsa isa);
inline void apply_activation_span(int32_t a, const float* in, float* out, int64_t n) {
    apply_activation_span(a, in, out, n, ActivationIsa::kAuto);
}

inline double activation_reference(int32_t a, double x) {
    switch (a) {
        case INKWELL_ACTIVATION_SILU: return x / (1.0 + std::exp(-x));
        case INKWELL_ACTIVATION_GELU: return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
        case INKWELL_ACTIVATION_GELU_TANH:
            return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
        case INKWELL_ACTIVATION_QUICK_GELU: return x / (1.0 + std::exp(-1.702 * x));
        case INKWELL_ACTIVATION_RELU: return x > 0.0 ? x : (x != x ? x : 0.0);
        default: return x;
    }
}

}  // namespace inkwell::cpu
