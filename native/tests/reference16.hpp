// Independent references for the 16-bit tensor entries, shared by the native tests and the
// fuzz targets (which include it as "../tests/reference16.hpp"):
//
//   round_to(x, format)  x (a double) rounded to nearest even in f16 or bf16, computed in
//                        double arithmetic (ilogb, ldexp, nearbyint): no bit tricks, so it
//                        checks the library's integer conversions rather than mirroring them.
//   bits_of / value_of   a representable value <-> its 16-bit pattern, by the format's fields.
//   ordinal              a 16-bit pattern as a position on the number line (+0 and -0 both 0,
//                        infinity one step past the largest finite value): ulp distances.
//   conv2d_exact,        the plain references of conv2d_cpu.cpp and attention_cpu.cpp, same
//   attention_exact      loops and order, kept in double (those store float): an output can
//                        then be rounded once, straight to the 16-bit type. With each value
//                        they give a bound on the error of the float32 fast path (below).
//   check16              the acceptance rule for one 16-bit output, see there.
//
// Why "1 ulp" alone is not the rule. The CPU entries compute in float32 and round the float
// result f once; the reference rounds the exact value r once. Rounding is monotonic, so
// RN16(f) lies between RN16(r - delta) and RN16(r + delta) where delta >= |f - r|: if delta
// is below the 16-bit spacing at r, RN16(f) and RN16(r) are equal or neighbours (they differ
// only when a rounding boundary of the 16-bit grid lies between f and r: near ties). delta
// is a float32 error bound, though, and float32 errors scale with the magnitude of what is
// summed (sum |x w| for conv2d, the spread of v and of the logits for attention), not with
// |r|. Where the output cancels to much less than its terms (|r| < about K 2^-24 sum|terms|
// / 2^-11 for f16, / 2^-8 for bf16), and in the f16 subnormal range whose spacing 2^-24 is
// finer than a float32 ulp of any partial sum >= 1, delta exceeds the spacing and no float32
// implementation can promise 1 ulp. So: an output passes if it is within 1 ulp of RN16(r),
// or (cancellation) inside [RN16(r - delta), RN16(r + delta)]; the tests count the second
// kind, and run well-conditioned cases (no cancellation) where 1 ulp must hold everywhere.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "cpu/attention_cpu.hpp"
#include "inkwell/inkwell.h"

namespace inkwell_ref {

struct Format {
    int digits;  // significand bits, the implicit one included
    int emin;    // exponent of the smallest normal
    int emax;    // exponent of the largest finite value (also the bias)
    const char* name;
};

constexpr Format kF16{11, -14, 15, "f16"};
constexpr Format kBF16{8, -126, 127, "bf16"};

inline const Format& format_of(int32_t type) { return type == INKWELL_ELEMENT_F16 ? kF16 : kBF16; }

inline double max_finite(const Format& f) { return std::ldexp(2.0 - std::ldexp(1.0, 1 - f.digits), f.emax); }

// Spacing of the format's grid at magnitude a (the subnormal spacing below the normal range).
inline double spacing(double a, const Format& f) {
    const int e = a == 0 ? f.emin : std::max(std::ilogb(a), f.emin);
    return std::ldexp(1.0, e - (f.digits - 1));
}

// x rounded to nearest, ties to even, with the format's range: overflow to infinity, gradual
// underflow, signed zeros, NaN stays NaN. nearbyint rounds ties to even in the default mode.
inline double round_to(double x, const Format& f) {
    if (std::isnan(x) || std::isinf(x) || x == 0) return x;
    const double a = std::fabs(x);
    const double q = spacing(a, f);
    double r = std::nearbyint(a / q) * q;  // a / q and the product are exact (powers of two)
    if (r > max_finite(f)) r = std::numeric_limits<double>::infinity();
    return std::copysign(r, x);
}

// The pattern of a value representable in the format (a NaN gives the canonical quiet NaN).
inline uint16_t bits_of(double v, const Format& f) {
    const int bias = f.emax, mantissa_bits = f.digits - 1;
    const uint16_t sign = std::signbit(v) ? 0x8000 : 0;
    const uint16_t inf = uint16_t(((2 * bias + 1) << mantissa_bits));
    if (std::isnan(v)) return uint16_t(sign | inf | (1 << (mantissa_bits - 1)));
    const double a = std::fabs(v);
    if (std::isinf(a)) return uint16_t(sign | inf);
    if (a == 0) return sign;
    const int e = std::ilogb(a);
    if (e < f.emin) return uint16_t(sign | uint16_t(a / spacing(a, f)));
    const double fraction = std::ldexp(a, -e) - 1;  // in [0, 1)
    return uint16_t(sign | ((e + bias) << mantissa_bits) | uint16_t(std::ldexp(fraction, mantissa_bits)));
}

inline double value_of(uint16_t bits, const Format& f) {
    const int mantissa_bits = f.digits - 1;
    const int exponent = (bits & 0x7fff) >> mantissa_bits, mantissa = bits & ((1 << mantissa_bits) - 1);
    const double sign = bits & 0x8000 ? -1.0 : 1.0;
    if (exponent == 2 * f.emax + 1)
        return mantissa != 0 ? std::numeric_limits<double>::quiet_NaN() : sign * std::numeric_limits<double>::infinity();
    if (exponent == 0) return sign * std::ldexp(double(mantissa), f.emin - mantissa_bits);
    return sign * std::ldexp(1.0 + std::ldexp(double(mantissa), -mantissa_bits), exponent - f.emax);
}

inline uint16_t narrow_ref(double x, const Format& f) { return bits_of(round_to(x, f), f); }

inline bool is_nan16(uint16_t bits, const Format& f) { return std::isnan(value_of(bits, f)); }

inline int32_t ordinal(uint16_t bits) { return bits & 0x8000 ? -int32_t(bits & 0x7fff) : int32_t(bits); }

// ---- double references ---------------------------------------------------------------

// Per output: the reference value in double, and delta, a bound on |float32 fast path - r|.
struct Exact {
    std::vector<double> value, delta;
};

constexpr double kU = 1.0 / (1 << 24);  // unit roundoff of float32

inline double gamma(double n) { return n * kU / (1 - n * kU); }

// conv2d_reference's loops in double on float tensors (the widened 16-bit inputs).
//
// delta: any float32 evaluation of sum_k x_k w_k + b, in any order, with or without FMA, errs
// by at most gamma(K + 1) (sum |x_k w_k| + |b|) (Higham, Accuracy and Stability, 3.1 and
// 4.2: K products, at most K additions on any path). SiLU evaluated in float on f as
// f / (1 + expf(-f)): expf within 1 ulp (2u), the add and the division one rounding each, so
// 4u of |silu(f)|, taken as 6u of |silu(r)| + delta_sum for slack; silu is 1.1-Lipschitz.
// Where expf(-f) overflows (f < -88.7) the float result is -0 against a value below
// 1e-36: the whole value is added. The double reference itself errs by ~K 2^-53 sum|.|,
// covered by the margin of gamma (counted in as 2^-40 of the magnitude).
inline Exact conv2d_exact(const inkwell_conv2d_params& p) {
    const auto* in = static_cast<const float*>(p.input);
    const auto* wt = static_cast<const float*>(p.weight);
    const auto* bias = static_cast<const float*>(p.bias);
    const int64_t cin_g = p.in_channels / p.groups, cout_g = p.out_channels / p.groups;
    const int64_t k_len = cin_g * p.kernel_h * p.kernel_w;
    Exact e;
    const size_t count = size_t(p.batch * p.out_channels * p.out_height * p.out_width);
    e.value.resize(count);
    e.delta.resize(count);
    for (int64_t n = 0; n < p.batch; ++n)
        for (int64_t co = 0; co < p.out_channels; ++co) {
            const int64_t c0 = (co / cout_g) * cin_g;
            for (int64_t y = 0; y < p.out_height; ++y)
                for (int64_t x = 0; x < p.out_width; ++x) {
                    double sum = 0, magnitude = 0;
                    for (int64_t ci = 0; ci < cin_g; ++ci)
                        for (int64_t i = 0; i < p.kernel_h; ++i)
                            for (int64_t j = 0; j < p.kernel_w; ++j) {
                                const int64_t iy = y * p.stride_h - p.pad_h + i * p.dilation_h;
                                const int64_t ix = x * p.stride_w - p.pad_w + j * p.dilation_w;
                                if (iy < 0 || iy >= p.in_height || ix < 0 || ix >= p.in_width) continue;
                                const double xv = in[((n * p.in_channels + c0 + ci) * p.in_height + iy) * p.in_width + ix];
                                const double wv = wt[((co * cin_g + ci) * p.kernel_h + i) * p.kernel_w + j];
                                sum += xv * wv;
                                magnitude += std::fabs(xv * wv);
                            }
                    if (bias != nullptr) {
                        sum += bias[co];
                        magnitude += std::fabs(double(bias[co]));
                    }
                    double delta = gamma(double(k_len + 1)) * magnitude + std::ldexp(magnitude, -40);
                    if (p.activation == INKWELL_ACTIVATION_SILU) {
                        const double pre = sum;
                        sum = sum / (1.0 + std::exp(-sum));
                        delta = 1.1 * delta + 6 * kU * (std::fabs(sum) + delta);
                        if (pre < -80) delta += std::fabs(sum);
                    }
                    const size_t at = size_t(((n * p.out_channels + co) * p.out_height + y) * p.out_width + x);
                    e.value[at] = sum;
                    e.delta[at] = delta;
                }
        }
    return e;
}

// attention_reference's loops in double on float tensors.
//
// delta, per output o_d of a row with visible keys j < n, probabilities p_j, logits s_j and
// L_j = scale sum_d |q_d k_jd| (derivation for both fast paths, first order in u):
//   logit j errs (in natural-log units) by at most E_j = gamma(D + 4) L_j + 2u |s_j|: a float
//     dot product of D terms in any blocking, the scale (times log2 e on the AVX2 path)
//     rounded to float and multiplied in once;
//   the exponent s_j - m errs by E_j + E_max + 2u |s_j - m| (the subtraction, base change);
//   exp of it errs by kExp relative (AVX2: a degree-6 exp2 polynomial, documented at 2e-7
//     = 3.4u, its evaluation and the final scaling; portable: std::exp, 1 ulp): kExp = 8u;
//   each of the T = ceil(n / 64) + 1 tile changes rescales what was summed before by
//     2^(m_old - m_new), one exp and one rounding more: T (kExp + 2u);
//   so every weight is w_j (1 + eta_j) with |eta_j| <= H = max_j(exponent error) * 1.01
//     + kExp + T (kExp + 2u) (the 1.01 covers exp(x) - 1 <= 1.01 x for x <= 0.02).
//   A weighted mean with weights perturbed so moves by at most H / (1 - H) sum_j p_j |v_jd - o_d|
//   (exactly: sum p_j (v_j - o) = 0). Summing the n weighted values and the n weights in
//   float adds gamma(n + T) (sum_j p_j |v_jd| + |o_d|), the division u |o_d|, and weights the
//   AVX2 path flushes to zero (below 2^-126) at most n 2^-126 max |v_jd - o_d|.
// Rows where H > 0.1 get delta = infinity (no bound claimed; the tests keep logits sane).
inline Exact attention_exact(const inkwell_attention_params& p) {
    constexpr double kExp = 8 * kU;
    const int64_t D = p.head_dim;
    const size_t count = size_t(p.batch * p.heads * p.q_len * D);
    Exact e;
    e.value.resize(count);
    e.delta.resize(count);
    std::vector<double> scores(static_cast<size_t>(p.kv_len)), sizes(static_cast<size_t>(p.kv_len)),
        probability(static_cast<size_t>(p.kv_len)), acc(static_cast<size_t>(D));
    for (int64_t b = 0; b < p.batch; ++b)
        for (int64_t h = 0; h < p.heads; ++h) {
            const int64_t bh = b * p.heads + h;
            const float* q = static_cast<const float*>(p.q) + bh * p.q_len * D;
            const float* k = static_cast<const float*>(p.k) + bh * p.kv_len * D;
            const float* v = static_cast<const float*>(p.v) + bh * p.kv_len * D;
            for (int64_t i = 0; i < p.q_len; ++i) {
                const int64_t n = inkwell::cpu::attention_visible_keys(p, b, i);
                double max_score = -std::numeric_limits<double>::infinity();
                int64_t arg_max = 0;
                for (int64_t j = 0; j < n; ++j) {
                    double dot = 0, size = 0;
                    for (int64_t d = 0; d < D; ++d) {
                        dot += double(q[i * D + d]) * k[j * D + d];
                        size += std::fabs(double(q[i * D + d]) * k[j * D + d]);
                    }
                    scores[size_t(j)] = dot * p.scale;
                    sizes[size_t(j)] = size * p.scale;
                    if (scores[size_t(j)] > max_score) arg_max = j;
                    max_score = std::max(max_score, scores[size_t(j)]);
                }
                double sum = 0;
                std::fill(acc.begin(), acc.end(), 0.0);
                for (int64_t j = 0; j < n; ++j) {
                    const double w = std::exp(scores[size_t(j)] - max_score);
                    sum += w;
                    for (int64_t d = 0; d < D; ++d) acc[size_t(d)] += w * v[j * D + d];
                }
                auto logit_error = [&](int64_t j) {
                    return gamma(double(D + 4)) * sizes[size_t(j)] + 2 * kU * std::fabs(scores[size_t(j)]);
                };
                const double tiles = double((n + 63) / 64 + 1);
                double exponent_error = 0;
                for (int64_t j = 0; j < n; ++j)
                    exponent_error = std::max(exponent_error, logit_error(j) + logit_error(arg_max) +
                                                                  2 * kU * std::fabs(scores[size_t(j)] - max_score));
                const double H = exponent_error * 1.01 + kExp + tiles * (kExp + 2 * kU);
                for (int64_t j = 0; j < n; ++j) probability[size_t(j)] = std::exp(scores[size_t(j)] - max_score) / sum;
                for (int64_t d = 0; d < D; ++d) {
                    const double o = acc[size_t(d)] / sum;
                    double spread = 0, weighted = 0, widest = 0;
                    for (int64_t j = 0; j < n; ++j) {
                        const double pj = probability[size_t(j)];
                        spread += pj * std::fabs(v[j * D + d] - o);
                        weighted += pj * std::fabs(double(v[j * D + d]));
                        widest = std::max(widest, std::fabs(v[j * D + d] - o));
                    }
                    const size_t at = size_t((bh * p.q_len + i) * D + d);
                    e.value[at] = o;
                    e.delta[at] = H > 0.1 ? std::numeric_limits<double>::infinity()
                                          : H / (1 - H) * spread + gamma(double(n) + tiles) * (weighted + std::fabs(o)) +
                                                kU * std::fabs(o) + double(n) * std::ldexp(widest, -126) +
                                                std::ldexp(weighted + std::fabs(o), -40);
                }
            }
        }
    return e;
}

// ---- the acceptance rule -----------------------------------------------------------------

enum class Verdict { exact, one_ulp, cancellation, fail };

// got: an output of a 16-bit entry; r, delta: the double reference and the float32 error
// bound. exact / one_ulp: within 1 ulp of RN16(r). cancellation: further, but inside
// [RN16(r - delta), RN16(r + delta)] (delta is then at least the spacing at r). fail: neither.
inline Verdict check16(uint16_t got, double r, double delta, const Format& f) {
    const uint16_t want = narrow_ref(r, f);
    if (is_nan16(got, f) || is_nan16(want, f)) return is_nan16(got, f) && is_nan16(want, f) ? Verdict::exact : Verdict::fail;
    const int32_t distance = std::abs(ordinal(got) - ordinal(want));
    if (distance == 0) return Verdict::exact;
    if (distance == 1) return Verdict::one_ulp;
    const int32_t lo = ordinal(narrow_ref(r - delta, f)), hi = ordinal(narrow_ref(r + delta, f));
    return ordinal(got) >= lo && ordinal(got) <= hi ? Verdict::cancellation : Verdict::fail;
}

}  // namespace inkwell_ref
