// randn, CPU: Philox4x32-10, our own logf and sincos(2 pi u), Box-Muller, the reference
// and the fast path. See the header for the exact definition of the stream.
//
// Compiled with -ffp-contract=off (native/CMakeLists.txt): every a * b + c below is two
// roundings unless it is written as fmaf, on every compiler and every CPU.
#include "randn_cpu.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "parallel_chunks.hpp"
#include "simd_dispatch.hpp"

namespace inkwell::cpu {

namespace {

// ---------------------------------------------------------------------------------------
// Constants, derived in double at compile time and rounded once to float.
// ---------------------------------------------------------------------------------------

// Philox multipliers and Weyl key increments (Random123's PHILOX_M4x32_*, PHILOX_W32_*).
constexpr uint32_t kPhiloxM0 = 0xD2511F53u;
constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;  // golden ratio
constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;  // sqrt(3) - 1
constexpr int kPhiloxRounds = 10;

constexpr double kTwoPi = 6.283185307179586476925286766559;
constexpr double kLn2 = 0.693147180559945309417232121458;

// ln 2 in two parts: dk * hi + dk * lo keeps the exponent's contribution exact to far
// beyond float precision.
constexpr float kLn2Hi = float(kLn2);
constexpr float kLn2Lo = float(kLn2 - double(kLn2Hi));

constexpr double power(double x, int n) { return n == 0 ? 1.0 : x * power(x, n - 1); }
constexpr double factorial(int n) { return n <= 1 ? 1.0 : n * factorial(n - 1); }

// Taylor coefficient of x^n in sin/cos(2 pi f), as a polynomial in f: (2 pi)^n / n!,
// with the sign of the series. On |f| <= 1/8 (|2 pi f| <= pi/4) the first omitted
// terms, (pi/4)^11 / 11! and (pi/4)^12 / 12!, are below 0.05 ulp.
constexpr float turn_coefficient(int n) {
    const double magnitude = power(kTwoPi, n) / factorial(n);
    return float((n / 2) % 2 == 0 ? magnitude : -magnitude);
}

// The leading coefficients of sin (2 pi) and cos (-(2 pi)^2 / 2) in two parts each, so
// the largest term of each polynomial is exact to about 48 bits before the final sums.
constexpr float kSin1Hi = float(kTwoPi);
constexpr float kSin1Lo = float(kTwoPi - double(kSin1Hi));
constexpr double kCos2 = -kTwoPi * kTwoPi / 2;
constexpr float kCos2Hi = float(kCos2);
constexpr float kCos2Lo = float(kCos2 - double(kCos2Hi));

// log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)), s = f / (2 + f), R(z) = sum 2 z^k / (2k + 1)
// (fdlibm's decomposition). |s| <= 0.172 after reduction, so z^6 / 13 < 2e-11: five terms.
constexpr float log_series_coefficient(int k) { return float(2.0 / (2 * k + 1)); }

// Reduction of log's argument: x = 2^k m with m in [sqrt(1/2), sqrt(2)). Offsetting the
// bits by (1.0's bits - sqrt(1/2)'s bits) makes the exponent field count from sqrt(1/2).
constexpr uint32_t kOneBits = 0x3f800000u;
constexpr uint32_t kSqrtHalfBits = 0x3f3504f3u;  // float(sqrt(0.5))
constexpr uint32_t kMantissaMask = 0x007fffffu;

uint32_t float_bits(float x) {
    uint32_t b;
    std::memcpy(&b, &x, sizeof b);
    return b;
}

float bits_float(uint32_t b) {
    float x;
    std::memcpy(&x, &b, sizeof x);
    return x;
}

// ---------------------------------------------------------------------------------------
// The building blocks, always inlined so that the FMA copy of the fast path gets them.
// ---------------------------------------------------------------------------------------

#define INKWELL_INLINE inline __attribute__((always_inline))

INKWELL_INLINE PhiloxCounter philox_round(PhiloxCounter c, PhiloxKey k) {
    const uint64_t p0 = uint64_t(kPhiloxM0) * c[0];
    const uint64_t p1 = uint64_t(kPhiloxM1) * c[2];
    return {uint32_t(p1 >> 32) ^ c[1] ^ k[0], uint32_t(p1), uint32_t(p0 >> 32) ^ c[3] ^ k[1], uint32_t(p0)};
}

INKWELL_INLINE PhiloxCounter philox(PhiloxCounter c, PhiloxKey k) {
    for (int round = 0; round < kPhiloxRounds; ++round) {
        if (round > 0) k = {k[0] + kPhiloxW0, k[1] + kPhiloxW1};
        c = philox_round(c, k);
    }
    return c;
}

INKWELL_INLINE float uniform(uint32_t word) {
    // Both steps are exact: an integer below 2^24 + 1 and a power-of-two scale.
    return float((word >> 8) + 1u) * (1.0f / 16777216.0f);
}

INKWELL_INLINE float log_positive(float x) {
    // Reduction: x = 2^k (1 + f), 1 + f in [sqrt(1/2), sqrt(2)); f = m - 1 is exact.
    uint32_t bits = float_bits(x) + (kOneBits - kSqrtHalfBits);
    const int32_t k = int32_t(bits >> 23) - 0x7f;
    bits = (bits & kMantissaMask) + kSqrtHalfBits;
    const float f = bits_float(bits) - 1.0f;
    // Polynomial: R(z) by Horner, each step one rounding.
    const float s = f / (2.0f + f);
    const float z = s * s;
    float r = log_series_coefficient(5);
    for (int i = 4; i >= 1; --i) r = std::fmaf(z, r, log_series_coefficient(i));
    r = r * z;
    const float hfsq = 0.5f * (f * f);
    // Reconstruction, small terms first: s (hfsq + R) + k ln2_lo - hfsq + f + k ln2_hi.
    const float dk = float(k);
    const float small = std::fmaf(s, hfsq + r, dk * kLn2Lo);
    return std::fmaf(dk, kLn2Hi, (small - hfsq) + f);
}

struct SinCos {
    float sin, cos;
};

INKWELL_INLINE SinCos sincos_turns(float u) {
    // Reduction: u = q/4 + f, |f| <= 1/8. 4u and q/4 are exact, and u - q/4 is exact
    // because the two are within a factor of two of each other (Sterbenz) or q is 0.
    const float q = std::floor(4.0f * u + 0.5f);
    const float f = u - 0.25f * q;
    const float f2 = f * f;
    // Polynomials in f on the quarter turn around 0.
    float ps = turn_coefficient(9);
    for (int n = 7; n >= 3; n -= 2) ps = std::fmaf(f2, ps, turn_coefficient(n));
    const float s = std::fmaf(f, kSin1Hi, std::fmaf(f, kSin1Lo, (f * f2) * ps));
    // cos = 1 + h, h = f^2 C2 + f^4 P(f^2). h reaches -0.3, so it is formed with f^2's
    // rounding error (f2_lo) and C2's low part folded in and rounded once: only the final
    // sum to 1 then costs half an ulp of cos.
    float pc = turn_coefficient(10);
    for (int n = 8; n >= 4; n -= 2) pc = std::fmaf(f2, pc, turn_coefficient(n));
    const float f2_lo = std::fmaf(f, f, -f2);
    const float small = std::fmaf(f2 * f2, pc, std::fmaf(f2_lo, kCos2Hi, f2 * kCos2Lo));
    const float c = 1.0f + std::fmaf(f2, kCos2Hi, small);
    // Rotation by q quarter turns.
    switch (int32_t(q) & 3) {
        case 0: return {s, c};
        case 1: return {c, -s};
        case 2: return {-s, -c};
        default: return {-c, s};
    }
}

INKWELL_INLINE std::array<float, 4> normals_of_block(uint64_t seed, uint64_t block) {
    const PhiloxKey key{uint32_t(seed), uint32_t(seed >> 32)};
    const PhiloxCounter words = philox({uint32_t(block), uint32_t(block >> 32), 0u, 0u}, key);
    std::array<float, 4> z;
    for (int pair = 0; pair < 2; ++pair) {
        const float radius = std::sqrt(-2.0f * log_positive(uniform(words[2 * pair])));
        const SinCos angle = sincos_turns(uniform(words[2 * pair + 1]));
        z[2 * pair] = radius * angle.cos;
        z[2 * pair + 1] = radius * angle.sin;
    }
    return z;
}

// Elements first .. first + count - 1 of the stream into out; blocks cut by the ends are
// computed whole and the lanes in range kept. Counts what is done rather than comparing
// with first + count, which wraps to 0 for a span that ends with the stream.
INKWELL_INLINE void randn_span(float* out, int64_t count, uint64_t seed, uint64_t first) {
    for (int64_t done = 0; done < count;) {
        const uint64_t i = first + uint64_t(done);
        const std::array<float, 4> z = normals_of_block(seed, i / 4);
        const int64_t lane = int64_t(i % 4), take = std::min<int64_t>(4 - lane, count - done);
        std::copy_n(z.begin() + lane, take, out + done);
        done += take;
    }
}

#undef INKWELL_INLINE

void randn_span_portable(float* out, int64_t count, uint64_t seed, uint64_t first) {
    randn_span(out, count, seed, first);
}

#if defined(__x86_64__) && defined(__GNUC__)
// Without FMA hardware fmaf is a library call that emulates it exactly; with it, one
// instruction. Same results, several times the speed.
__attribute__((target("fma"))) void randn_span_fma(float* out, int64_t count, uint64_t seed, uint64_t first) {
    randn_span(out, count, seed, first);
}

// The AVX2 level includes FMA (simd_dispatch.hpp); the portable path's libm fmaf gives the
// same bits, only slower.
bool cpu_has_fma() { return simd_avx2(); }
#endif

using RandnSpan = void (*)(float*, int64_t, uint64_t, uint64_t);

RandnSpan best_randn_span() {
#if defined(__x86_64__) && defined(__GNUC__)
    if (cpu_has_fma()) return randn_span_fma;
#endif
    return randn_span_portable;
}

// Elements per task: enough work (about 0.1 ms) to hide the pool's cost per task.
constexpr int64_t kChunk = 16384;

}  // namespace

// ---------------------------------------------------------------------------------------
// Exported pieces (for the tests and the reference).
// ---------------------------------------------------------------------------------------

PhiloxCounter philox4x32_10(PhiloxCounter counter, PhiloxKey key) { return philox(counter, key); }

float randn_uniform(uint32_t word) { return uniform(word); }

float randn_logf(float x) { return log_positive(x); }

void randn_sincos2pi(float u, float* sin_out, float* cos_out) {
    const SinCos r = sincos_turns(u);
    *sin_out = r.sin;
    *cos_out = r.cos;
}

std::array<float, 4> randn_block(uint64_t seed, uint64_t block) { return normals_of_block(seed, block); }

// ---------------------------------------------------------------------------------------
// Reference: every element from its own block, in the portable build.
// ---------------------------------------------------------------------------------------

void randn_reference(float* out, int64_t count, uint64_t seed, uint64_t offset) {
    for (int64_t j = 0; j < count; ++j) {
        const uint64_t i = offset + uint64_t(j);
        out[j] = randn_block(seed, i / 4)[i % 4];
    }
}

// ---------------------------------------------------------------------------------------
// Fast path: fixed chunks of the output on the pool.
// ---------------------------------------------------------------------------------------

void randn_fast(ThreadPool& pool, float* out, int64_t count, uint64_t seed, uint64_t offset) {
    const RandnSpan span = best_randn_span();
    parallel_chunks(pool, count, kChunk, [&](int64_t begin, int64_t end) {
        span(out + begin, end - begin, seed, offset + uint64_t(begin));
    });
}

}  // namespace inkwell::cpu
