// GroupNorm and LayerNorm, CPU: the plain double references, then the fast path (see the
// header): float-blocked statistics checked and, where needed, redone in double, float normalisation (AVX-512, AVX2 + FMA or portable, the same bits), and the
// scheduling that keeps the bits independent of the thread count.
#include "norm_cpu.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "activations.hpp"
#include "parallel_chunks.hpp"
#include "simd_dispatch.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define INKWELL_NORM_X86 1
#endif

namespace inkwell::cpu {

// ---------------------------------------------------------------------------------------
// References: sequential double sums, y rounded to float once (after the activation).
// ---------------------------------------------------------------------------------------

namespace {

struct DoubleStats {
    double mean, rstd;
};

DoubleStats reference_stats(const float* x, int64_t count, double eps) {
    double sum = 0;
    for (int64_t i = 0; i < count; ++i) sum += x[i];
    const double mean = sum / double(count);
    double squares = 0;
    for (int64_t i = 0; i < count; ++i) {
        const double e = double(x[i]) - mean;
        squares += e * e;
    }
    return {mean, 1.0 / std::sqrt(squares / double(count) + eps)};
}

}  // namespace

void group_norm_reference(const inkwell_group_norm_params& p) {
    const auto* x = static_cast<const float*>(p.input);
    const auto* w = static_cast<const float*>(p.weight);
    const auto* b = static_cast<const float*>(p.bias);
    auto* y = static_cast<float*>(p.output);
    const int64_t per_group = p.channels / p.groups;
    for (int64_t n = 0; n < p.batch; ++n)
        for (int64_t g = 0; g < p.groups; ++g) {
            const int64_t base = (n * p.channels + g * per_group) * p.spatial;
            const DoubleStats s = reference_stats(x + base, per_group * p.spatial, p.eps);
            for (int64_t k = 0; k < per_group; ++k) {
                const int64_t c = g * per_group + k;
                const double wc = w != nullptr ? w[c] : 1.0, bc = b != nullptr ? b[c] : 0.0;
                for (int64_t i = 0; i < p.spatial; ++i) {
                    const int64_t e = base + k * p.spatial + i;
                    const double v = (double(x[e]) - s.mean) * s.rstd * wc + bc;
                    y[e] = float(activation_reference(p.activation, v));
                }
            }
        }
}

void layer_norm_reference(const inkwell_layer_norm_params& p) {
    const auto* x = static_cast<const float*>(p.input);
    const auto* w = static_cast<const float*>(p.weight);
    const auto* b = static_cast<const float*>(p.bias);
    auto* y = static_cast<float*>(p.output);
    for (int64_t r = 0; r < p.rows; ++r) {
        const int64_t base = r * p.dim;
        const DoubleStats s = reference_stats(x + base, p.dim, p.eps);
        for (int64_t i = 0; i < p.dim; ++i) {
            const double wi = w != nullptr ? w[i] : 1.0, bi = b != nullptr ? b[i] : 0.0;
            y[base + i] = float((double(x[base + i]) - s.mean) * s.rstd * wi + bi);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Fast path, building blocks.
// ---------------------------------------------------------------------------------------

namespace {

// Lanes of one chunk's partial sum: element j of the chunk goes to lane j % kLanes (the
// AVX2 loops' eight 4-double accumulators hold lanes 0-3, 4-7, ..., 28-31: eight chains
// hide the latency of the adds).
constexpr int kLanes = 32;
// Elements a task of whole segments handles at least (small rows are many a task), and chunks
// a task of the split phases handles: large enough that the pool's per-task cost vanishes.
constexpr int64_t kTaskElements = int64_t(1) << 16;
constexpr int64_t kTaskChunks = 4;
// Elements of a group the activation step takes at a time (16 kB: they stay in L1).
constexpr int64_t kActivationPiece = 4096;

// The lanes added in a fixed tree.
inline double add_lanes(const double* l) {
    double q[16];
    for (int i = 0; i < 16; ++i) q[i] = l[i] + l[i + 16];
    double h[8];
    for (int i = 0; i < 8; ++i) h[i] = q[i] + q[i + 8];
    return ((h[0] + h[4]) + (h[2] + h[6])) + ((h[1] + h[5]) + (h[3] + h[7]));
}

// What the apply step needs of a segment's statistics.
struct Stats {
    double mean, rstd;
    float mean_hi, mean_lo, rstd_f;  // mean == mean_hi + mean_lo to ~2^-48 relative
    bool in_float;                   // the float normalisation is accurate for this segment
};

Stats finish_stats(double mean, double squares, int64_t count, double eps) {
    Stats s;
    const double var = squares / double(count);
    s.mean = mean;
    s.rstd = 1.0 / std::sqrt(var + eps);
    // Conversions of an out-of-range or NaN double give +-inf / NaN (IEEE), used only when
    // in_float holds, which excludes those.
    s.mean_hi = float(mean);
    s.mean_lo = float(mean - double(s.mean_hi));  // the difference is exact in double
    s.rstd_f = float(s.rstd);
    // Every |x| of the segment is at most |mean| + sqrt(squares) (its squared deviation is
    // part of the sum): with |mean| <= 2^125 and squares <= 2^252 that is below 2^127, so
    // no float difference x - mean_hi overflows; with rstd in [2^-100, 2^100] neither rstd_f
    // nor d * rstd_f loses bits to underflow that matter at the output's scale. Outside
    // (spreads near float's limits, non-finite statistics: NaN compares false) the segment
    // is normalised in double.
    s.in_float = std::fabs(mean) <= 0x1p125 && squares <= 0x1p252 && s.rstd >= 0x1p-100 && s.rstd <= 0x1p100;
    return s;
}

double chunk_sum_portable(const float* x, int64_t n) {
    double l[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int j = 0; j < kLanes; ++j) l[j] += double(x[i + j]);
    for (int j = 0; i + j < n; ++j) l[j] += double(x[i + j]);
    return add_lanes(l);
}

double chunk_squares_portable(const float* x, int64_t n, double mean) {
    double l[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int j = 0; j < kLanes; ++j) {
            const double e = double(x[i + j]) - mean;
            l[j] += e * e;
        }
    for (int j = 0; i + j < n; ++j) {
        const double e = double(x[i + j]) - mean;
        l[j] += e * e;
    }
    return add_lanes(l);
}

// One-pass statistics of a segment that is one chunk (n <= kStatChunk), shifted by its first
// element c: sum = sum(x - c) and squares = sum((x - c)^2), lane j taking elements j, j + 32,
// ... in order, the lanes added in add_lanes' tree (the same on every ISA). See
// shifted_stats() for why this is as safe as the two-pass statistics at these lengths.
struct ShiftedSums {
    double sum, squares;
};

ShiftedSums chunk_shifted_portable(const float* x, int64_t n) {
    const double c = double(x[0]);
    double l[kLanes] = {}, q[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int j = 0; j < kLanes; ++j) {
            const double d = double(x[i + j]) - c;
            l[j] += d;
            q[j] += d * d;
        }
    for (int j = 0; i + j < n; ++j) {
        const double d = double(x[i + j]) - c;
        l[j] += d;
        q[j] += d * d;
    }
    return {add_lanes(l), add_lanes(q)};
}

// y = (d * rstd) * w + b with d = (x - mean_hi) - mean_lo; w and b per element (kVecW,
// kVecB) or one value broadcast.
template <bool kVecW, bool kVecB>
void apply_portable(const float* __restrict x, float* __restrict y, int64_t n, const Stats& s, const float* w,
                    const float* b) {
    for (int64_t i = 0; i < n; ++i) {
        const float d = (x[i] - s.mean_hi) - s.mean_lo;
        y[i] = std::fma(d * s.rstd_f, kVecW ? w[i] : *w, kVecB ? b[i] : *b);  // the SIMD loops' fma
    }
}

#if INKWELL_NORM_X86

// Four floats as doubles (exact); the conversion reads memory directly, no shuffle.
__attribute__((target("avx2,fma"))) inline __m256d widen4(const float* x) { return _mm256_cvtps_pd(_mm_loadu_ps(x)); }

// Eight accumulators of four lanes, a0 holding lanes 0-3, a1 lanes 4-7, ..., a7 lanes 28-31
// (named, not an array: GCC keeps them in registers then).
struct Acc8 {
    __m256d a0, a1, a2, a3, a4, a5, a6, a7;
};

// The tail elements x[0..count) into lanes 0..count-1, then add_lanes: the same additions in
// the same pairs, four at a time.
template <class Term>
__attribute__((target("avx2,fma"))) inline double finish_acc8(Acc8 a, const float* x, int64_t count,
                                                              const Term& term) {
    if (count > 0) {
        alignas(32) double l[kLanes];
        _mm256_store_pd(l, a.a0);
        _mm256_store_pd(l + 4, a.a1);
        _mm256_store_pd(l + 8, a.a2);
        _mm256_store_pd(l + 12, a.a3);
        _mm256_store_pd(l + 16, a.a4);
        _mm256_store_pd(l + 20, a.a5);
        _mm256_store_pd(l + 24, a.a6);
        _mm256_store_pd(l + 28, a.a7);
        for (int64_t j = 0; j < count; ++j) l[j] = term(l[j], x[j]);
        return add_lanes(l);
    }
    const __m256d q0 = _mm256_add_pd(a.a0, a.a4), q1 = _mm256_add_pd(a.a1, a.a5);  // l[i] + l[i + 16]
    const __m256d q2 = _mm256_add_pd(a.a2, a.a6), q3 = _mm256_add_pd(a.a3, a.a7);
    const __m256d h0 = _mm256_add_pd(q0, q2), h1 = _mm256_add_pd(q1, q3);  // q[i] + q[i + 8]
    const __m256d d = _mm256_add_pd(h0, h1);                                // h[i] + h[i + 4]
    alignas(32) double v[4];
    _mm256_store_pd(v, d);
    return (v[0] + v[2]) + (v[1] + v[3]);
}

__attribute__((target("avx2,fma"))) double chunk_sum_avx2(const float* x, int64_t n) {
    const __m256d z = _mm256_setzero_pd();
    Acc8 a{z, z, z, z, z, z, z, z};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
        a.a0 = _mm256_add_pd(a.a0, widen4(x + i));
        a.a1 = _mm256_add_pd(a.a1, widen4(x + i + 4));
        a.a2 = _mm256_add_pd(a.a2, widen4(x + i + 8));
        a.a3 = _mm256_add_pd(a.a3, widen4(x + i + 12));
        a.a4 = _mm256_add_pd(a.a4, widen4(x + i + 16));
        a.a5 = _mm256_add_pd(a.a5, widen4(x + i + 20));
        a.a6 = _mm256_add_pd(a.a6, widen4(x + i + 24));
        a.a7 = _mm256_add_pd(a.a7, widen4(x + i + 28));
    }
    return finish_acc8(a, x + i, n - i, [](double l, float v) { return l + double(v); });
}

__attribute__((target("avx2,fma"))) inline __m256d square_add(__m256d acc, const float* x, __m256d mean) {
    const __m256d e = _mm256_sub_pd(widen4(x), mean);
    return _mm256_fmadd_pd(e, e, acc);
}

__attribute__((target("avx2,fma"))) double chunk_squares_avx2(const float* x, int64_t n, double mean) {
    const __m256d m = _mm256_set1_pd(mean), z = _mm256_setzero_pd();
    Acc8 a{z, z, z, z, z, z, z, z};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
        a.a0 = square_add(a.a0, x + i, m);
        a.a1 = square_add(a.a1, x + i + 4, m);
        a.a2 = square_add(a.a2, x + i + 8, m);
        a.a3 = square_add(a.a3, x + i + 12, m);
        a.a4 = square_add(a.a4, x + i + 16, m);
        a.a5 = square_add(a.a5, x + i + 20, m);
        a.a6 = square_add(a.a6, x + i + 24, m);
        a.a7 = square_add(a.a7, x + i + 28, m);
    }
    return finish_acc8(a, x + i, n - i, [mean](double l, float v) {
        const double e = double(v) - mean;
        return std::fma(e, e, l);
    });
}

template <bool kVecW, bool kVecB>
__attribute__((target("avx2,fma"))) void apply_avx2(const float* __restrict x, float* __restrict y, int64_t n,
                                                    const Stats& s, const float* w, const float* b) {
    const __m256 hi = _mm256_set1_ps(s.mean_hi), lo = _mm256_set1_ps(s.mean_lo), r = _mm256_set1_ps(s.rstd_f);
    const __m256 wb = _mm256_set1_ps(*w), bb = _mm256_set1_ps(*b);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 d = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), hi), lo);
        const __m256 wi = kVecW ? _mm256_loadu_ps(w + i) : wb;
        const __m256 bi = kVecB ? _mm256_loadu_ps(b + i) : bb;
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(_mm256_mul_ps(d, r), wi, bi));
    }
    for (; i < n; ++i) {  // the same operations, one lane
        const float d = (x[i] - s.mean_hi) - s.mean_lo;
        y[i] = std::fma(d * s.rstd_f, kVecW ? w[i] : *w, kVecB ? b[i] : *b);
    }
}

// AVX-512: the same 32 lanes in four accumulators of eight (a0 lanes 0-7, ..., a3 lanes
// 24-31), so each lane sees the same additions in the same order as in the AVX2 and
// portable loops, and the lanes are added in add_lanes' tree: the same bits. Half the
// conversions and adds per element of AVX2 (the widening to double is what bounds them).
struct Acc4x8 {
    __m512d a0, a1, a2, a3;
};

template <class Term>
__attribute__((target("avx512f"))) inline double finish_acc4x8(Acc4x8 a, const float* x, int64_t count,
                                                                const Term& term) {
    if (count > 0) {
        alignas(64) double l[kLanes];
        _mm512_store_pd(l, a.a0);
        _mm512_store_pd(l + 8, a.a1);
        _mm512_store_pd(l + 16, a.a2);
        _mm512_store_pd(l + 24, a.a3);
        for (int64_t j = 0; j < count; ++j) l[j] = term(l[j], x[j]);
        return add_lanes(l);
    }
    const __m512d q0 = _mm512_add_pd(a.a0, a.a2), q1 = _mm512_add_pd(a.a1, a.a3);  // l[i] + l[i + 16]
    const __m512d h = _mm512_add_pd(q0, q1);                                           // q[i] + q[i + 8]
    const __m256d d = _mm256_add_pd(_mm512_maskz_extractf64x4_pd(__mmask8(0xF), h, 0), _mm512_maskz_extractf64x4_pd(__mmask8(0xF), h, 1));  // h[i] + h[i + 4]
    alignas(32) double v[4];
    _mm256_store_pd(v, d);
    return (v[0] + v[2]) + (v[1] + v[3]);
}

// (The zero-masked forms: the unmasked intrinsics start from _mm512_undefined_pd, which
// GCC 12 reports as maybe-uninitialized.)
__attribute__((target("avx512f"))) inline __m512d widen8(const float* x) {
    return _mm512_maskz_cvtps_pd(__mmask8(0xFF), _mm256_loadu_ps(x));
}

__attribute__((target("avx512f"))) double chunk_sum_avx512(const float* x, int64_t n) {
    const __m512d z = _mm512_setzero_pd();
    Acc4x8 a{z, z, z, z};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
        a.a0 = _mm512_add_pd(a.a0, widen8(x + i));
        a.a1 = _mm512_add_pd(a.a1, widen8(x + i + 8));
        a.a2 = _mm512_add_pd(a.a2, widen8(x + i + 16));
        a.a3 = _mm512_add_pd(a.a3, widen8(x + i + 24));
    }
    return finish_acc4x8(a, x + i, n - i, [](double l, float v) { return l + double(v); });
}

__attribute__((target("avx512f"))) inline __m512d square_add8(__m512d acc, const float* x, __m512d mean) {
    const __m512d e = _mm512_sub_pd(widen8(x), mean);
    return _mm512_fmadd_pd(e, e, acc);
}

__attribute__((target("avx512f"))) double chunk_squares_avx512(const float* x, int64_t n, double mean) {
    const __m512d m = _mm512_set1_pd(mean), z = _mm512_setzero_pd();
    Acc4x8 a{z, z, z, z};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
        a.a0 = square_add8(a.a0, x + i, m);
        a.a1 = square_add8(a.a1, x + i + 8, m);
        a.a2 = square_add8(a.a2, x + i + 16, m);
        a.a3 = square_add8(a.a3, x + i + 24, m);
    }
    return finish_acc4x8(a, x + i, n - i, [mean](double l, float v) {
        const double e = double(v) - mean;
        return std::fma(e, e, l);
    });
}

// The AVX2 apply's operations sixteen at a time; the tail under a mask (a channel's run is
// often short, 64 elements at 8x8), not element by element.
template <bool kVecW, bool kVecB>
__attribute__((target("avx512f"))) void apply_avx512(const float* __restrict x, float* __restrict y, int64_t n,
                                                     const Stats& s, const float* w, const float* b) {
    const __m512 hi = _mm512_set1_ps(s.mean_hi), lo = _mm512_set1_ps(s.mean_lo), r = _mm512_set1_ps(s.rstd_f);
    const __m512 wb = _mm512_set1_ps(*w), bb = _mm512_set1_ps(*b);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 d = _mm512_sub_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), hi), lo);
        const __m512 wi = kVecW ? _mm512_loadu_ps(w + i) : wb;
        const __m512 bi = kVecB ? _mm512_loadu_ps(b + i) : bb;
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(_mm512_mul_ps(d, r), wi, bi));
    }
    if (i < n) {
        const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
        const __m512 d = _mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), hi), lo);
        const __m512 wi = kVecW ? _mm512_maskz_loadu_ps(m, w + i) : wb;
        const __m512 bi = kVecB ? _mm512_maskz_loadu_ps(m, b + i) : bb;
        _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(_mm512_mul_ps(d, r), wi, bi));
    }
}

// One-pass shifted statistics: lanes as in chunk_sum_avx2 (s[k] and q[k] hold lanes 4k..4k+3),
// the squares fused as in chunk_squares_avx2, the tail and the lane tree as in finish_acc8.
__attribute__((target("avx2,fma"))) ShiftedSums chunk_shifted_avx2(const float* x, int64_t n) {
    const double c = double(x[0]);
    const __m256d cv = _mm256_set1_pd(c);
    __m256d s[8], q[8];
    for (int k = 0; k < 8; ++k) s[k] = q[k] = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int k = 0; k < 8; ++k) {
            const __m256d d = _mm256_sub_pd(widen4(x + i + 4 * k), cv);
            s[k] = _mm256_add_pd(s[k], d);
            q[k] = _mm256_fmadd_pd(d, d, q[k]);
        }
    alignas(32) double ls[kLanes], lq[kLanes];
    for (int k = 0; k < 8; ++k) {
        _mm256_store_pd(ls + 4 * k, s[k]);
        _mm256_store_pd(lq + 4 * k, q[k]);
    }
    for (int64_t j = 0; i + j < n; ++j) {
        const double d = double(x[i + j]) - c;
        ls[j] += d;
        lq[j] = std::fma(d, d, lq[j]);
    }
    return {add_lanes(ls), add_lanes(lq)};
}

// The same lanes and operations eight at a time (s[k], q[k]: lanes 8k..8k+7): the same bits.
__attribute__((target("avx512f"))) ShiftedSums chunk_shifted_avx512(const float* x, int64_t n) {
    const double c = double(x[0]);
    const __m512d cv = _mm512_set1_pd(c), z = _mm512_setzero_pd();
    __m512d s0 = z, s1 = z, s2 = z, s3 = z, q0 = z, q1 = z, q2 = z, q3 = z;
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
        const __m512d d0 = _mm512_sub_pd(widen8(x + i), cv), d1 = _mm512_sub_pd(widen8(x + i + 8), cv);
        const __m512d d2 = _mm512_sub_pd(widen8(x + i + 16), cv), d3 = _mm512_sub_pd(widen8(x + i + 24), cv);
        s0 = _mm512_add_pd(s0, d0), s1 = _mm512_add_pd(s1, d1), s2 = _mm512_add_pd(s2, d2), s3 = _mm512_add_pd(s3, d3);
        q0 = _mm512_fmadd_pd(d0, d0, q0), q1 = _mm512_fmadd_pd(d1, d1, q1);
        q2 = _mm512_fmadd_pd(d2, d2, q2), q3 = _mm512_fmadd_pd(d3, d3, q3);
    }
    alignas(64) double ls[kLanes], lq[kLanes];
    _mm512_store_pd(ls, s0), _mm512_store_pd(ls + 8, s1), _mm512_store_pd(ls + 16, s2), _mm512_store_pd(ls + 24, s3);
    _mm512_store_pd(lq, q0), _mm512_store_pd(lq + 8, q1), _mm512_store_pd(lq + 16, q2), _mm512_store_pd(lq + 24, q3);
    for (int64_t j = 0; i + j < n; ++j) {
        const double d = double(x[i + j]) - c;
        ls[j] += d;
        lq[j] = std::fma(d, d, lq[j]);
    }
    return {add_lanes(ls), add_lanes(lq)};
}

#endif

// ---------------------------------------------------------------------------------------
// Float-blocked shifted sums: S1 = sum(d), S2 = sum(d^2) with d = x - c in float, c a float
// near the segment's mean. Element i goes to float lane i % 64; every kFlushRows rows of 64
// the float lanes are added into 64 double lanes and restarted, so a float lane never adds
// more than kFlushRows terms; the last (partial) row's elements go to lanes 0..t-1 before the
// final flush; the double lanes are added in add_lanes64's tree. The same operations on every
// ISA (d = x - c, s += d, q = fma(d, d, q), all float): the same bits. A third of the work
// of the double statistics per element (no widening), which is what bounded the norms of
// small groups; shifted_float_stats() says when the result is accurate enough and otherwise
// falls back to the double statistics.
// ---------------------------------------------------------------------------------------
constexpr int kFloatLanes = 64;
constexpr int64_t kFlushRows = 16;

inline double add_lanes64(const double* l) {
    double h[kLanes];
    for (int i = 0; i < kLanes; ++i) h[i] = l[i] + l[i + kLanes];
    return add_lanes(h);
}

struct FloatSums {
    double sum, squares;  // of d = x - c
};

inline void flush_lanes(float* fs, float* fq, double* ds, double* dq) {
    for (int j = 0; j < kFloatLanes; ++j) {
        ds[j] += double(fs[j]);
        dq[j] += double(fq[j]);
        fs[j] = 0.0f;
        fq[j] = 0.0f;
    }
}

FloatSums chunk_fsums_portable(const float* x, int64_t n, float c) {
    float fs[kFloatLanes] = {}, fq[kFloatLanes] = {};
    double ds[kFloatLanes] = {}, dq[kFloatLanes] = {};
    const int64_t rows = n / kFloatLanes;
    for (int64_t r = 0; r < rows; ++r) {
        for (int j = 0; j < kFloatLanes; ++j) {
            const float d = x[r * kFloatLanes + j] - c;
            fs[j] += d;
            fq[j] = std::fma(d, d, fq[j]);
        }
        if ((r + 1) % kFlushRows == 0) flush_lanes(fs, fq, ds, dq);
    }
    for (int64_t j = 0; rows * kFloatLanes + j < n; ++j) {
        const float d = x[rows * kFloatLanes + j] - c;
        fs[j] += d;
        fq[j] = std::fma(d, d, fq[j]);
    }
    flush_lanes(fs, fq, ds, dq);
    return {add_lanes64(ds), add_lanes64(dq)};
}

#if INKWELL_NORM_X86
// AVX2: the 64 lanes as two halves of 32 (four accumulators of eight each for s and q, which
// fit the 16 registers), each half over the same rows; the tail row lane by lane.
__attribute__((target("avx2,fma"), optimize("no-tree-loop-distribute-patterns"))) FloatSums
chunk_fsums_avx2(const float* x, int64_t n, float c) {
    // Zeroed with vector stores (see the AVX-512 form).
    alignas(32) float fs[kFloatLanes], fq[kFloatLanes];
    alignas(32) double ds[kFloatLanes], dq[kFloatLanes];
    for (int j = 0; j < kFloatLanes; j += 8) {
        _mm256_store_ps(fs + j, _mm256_setzero_ps());
        _mm256_store_ps(fq + j, _mm256_setzero_ps());
    }
    for (int j = 0; j < kFloatLanes; j += 4) {
        _mm256_store_pd(ds + j, _mm256_setzero_pd());
        _mm256_store_pd(dq + j, _mm256_setzero_pd());
    }
    const __m256 cv = _mm256_set1_ps(c);
    const int64_t rows = n / kFloatLanes;
    for (int64_t r0 = 0; r0 < rows; r0 += kFlushRows) {
        const int64_t r1 = std::min(rows, r0 + kFlushRows);
        for (int half = 0; half < 2; ++half) {
            __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, q0 = s0, q1 = s0, q2 = s0, q3 = s0;
            for (int64_t r = r0; r < r1; ++r) {
                const float* p = x + r * kFloatLanes + half * 32;
                const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(p), cv), d1 = _mm256_sub_ps(_mm256_loadu_ps(p + 8), cv);
                const __m256 d2 = _mm256_sub_ps(_mm256_loadu_ps(p + 16), cv), d3 = _mm256_sub_ps(_mm256_loadu_ps(p + 24), cv);
                s0 = _mm256_add_ps(s0, d0), s1 = _mm256_add_ps(s1, d1), s2 = _mm256_add_ps(s2, d2), s3 = _mm256_add_ps(s3, d3);
                q0 = _mm256_fmadd_ps(d0, d0, q0), q1 = _mm256_fmadd_ps(d1, d1, q1);
                q2 = _mm256_fmadd_ps(d2, d2, q2), q3 = _mm256_fmadd_ps(d3, d3, q3);
            }
            float* ls = fs + half * 32;
            float* lq = fq + half * 32;
            _mm256_store_ps(ls, s0), _mm256_store_ps(ls + 8, s1), _mm256_store_ps(ls + 16, s2), _mm256_store_ps(ls + 24, s3);
            _mm256_store_ps(lq, q0), _mm256_store_ps(lq + 8, q1), _mm256_store_ps(lq + 16, q2), _mm256_store_ps(lq + 24, q3);
        }
        if (r1 - r0 == kFlushRows) flush_lanes(fs, fq, ds, dq);  // a partial block waits for the tail
    }
    for (int64_t j = 0; rows * kFloatLanes + j < n; ++j) {
        const float d = x[rows * kFloatLanes + j] - c;
        fs[j] += d;
        fq[j] = std::fma(d, d, fq[j]);
    }
    flush_lanes(fs, fq, ds, dq);
    return {add_lanes64(ds), add_lanes64(dq)};
}

// AVX-512: four accumulators of sixteen lanes for s and q; the tail row under masks (lanes
// past the tail keep their sums).
struct FloatAcc16 {
    __m512 s0, s1, s2, s3, q0, q1, q2, q3;
};

__attribute__((target("avx512f"))) inline void flush_acc16(FloatAcc16& a, double* ds, double* dq) {
    alignas(64) float fs[kFloatLanes], fq[kFloatLanes];
    _mm512_store_ps(fs, a.s0), _mm512_store_ps(fs + 16, a.s1), _mm512_store_ps(fs + 32, a.s2), _mm512_store_ps(fs + 48, a.s3);
    _mm512_store_ps(fq, a.q0), _mm512_store_ps(fq + 16, a.q1), _mm512_store_ps(fq + 32, a.q2), _mm512_store_ps(fq + 48, a.q3);
    for (int j = 0; j < kFloatLanes; j += 8) {
        _mm512_store_pd(ds + j, _mm512_add_pd(_mm512_load_pd(ds + j),
                                              _mm512_maskz_cvtps_pd(__mmask8(0xFF), _mm256_load_ps(fs + j))));
        _mm512_store_pd(dq + j, _mm512_add_pd(_mm512_load_pd(dq + j),
                                              _mm512_maskz_cvtps_pd(__mmask8(0xFF), _mm256_load_ps(fq + j))));
    }
    a.s0 = a.s1 = a.s2 = a.s3 = a.q0 = a.q1 = a.q2 = a.q3 = _mm512_setzero_ps();
}

// The lanes of accumulator k (lanes 16k..16k+15) that a tail of t elements fills.
inline __mmask16 tail_lanes(int64_t t, int k) {
    const int64_t m = std::clamp<int64_t>(t - 16 * k, 0, 16);
    return static_cast<__mmask16>((uint32_t(1) << m) - 1u);
}

// no-tree-loop-distribute-patterns: GCC turns the zeroing loop into a memset, which it
// emits as "rep stos", a fifth of this function's time on layer_norm's 320-element rows.
__attribute__((target("avx512f"), optimize("no-tree-loop-distribute-patterns"))) FloatSums
chunk_fsums_avx512(const float* x, int64_t n, float c) {
    // Zeroed with vector stores.
    alignas(64) double ds[kFloatLanes], dq[kFloatLanes];
    for (int j = 0; j < kFloatLanes; j += 8) {
        _mm512_store_pd(ds + j, _mm512_setzero_pd());
        _mm512_store_pd(dq + j, _mm512_setzero_pd());
    }
    const __m512 cv = _mm512_set1_ps(c);
    const __m512 z = _mm512_setzero_ps();
    FloatAcc16 a{z, z, z, z, z, z, z, z};
    const int64_t rows = n / kFloatLanes;
    for (int64_t r = 0; r < rows; ++r) {
        const float* p = x + r * kFloatLanes;
        const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(p), cv), d1 = _mm512_sub_ps(_mm512_loadu_ps(p + 16), cv);
        const __m512 d2 = _mm512_sub_ps(_mm512_loadu_ps(p + 32), cv), d3 = _mm512_sub_ps(_mm512_loadu_ps(p + 48), cv);
        a.s0 = _mm512_add_ps(a.s0, d0), a.s1 = _mm512_add_ps(a.s1, d1), a.s2 = _mm512_add_ps(a.s2, d2), a.s3 = _mm512_add_ps(a.s3, d3);
        a.q0 = _mm512_fmadd_ps(d0, d0, a.q0), a.q1 = _mm512_fmadd_ps(d1, d1, a.q1);
        a.q2 = _mm512_fmadd_ps(d2, d2, a.q2), a.q3 = _mm512_fmadd_ps(d3, d3, a.q3);
        if ((r + 1) % kFlushRows == 0) {
            flush_acc16(a, ds, dq);
        }
    }
    const int64_t t = n - rows * kFloatLanes;
    if (t > 0) {
        const float* p = x + rows * kFloatLanes;
        const __mmask16 m0 = tail_lanes(t, 0), m1 = tail_lanes(t, 1), m2 = tail_lanes(t, 2), m3 = tail_lanes(t, 3);
        const __m512 d0 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m0, p), cv);
        const __m512 d1 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m1, p + 16), cv);
        const __m512 d2 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m2, p + 32), cv);
        const __m512 d3 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m3, p + 48), cv);
        a.s0 = _mm512_mask_add_ps(a.s0, m0, a.s0, d0), a.s1 = _mm512_mask_add_ps(a.s1, m1, a.s1, d1);
        a.s2 = _mm512_mask_add_ps(a.s2, m2, a.s2, d2), a.s3 = _mm512_mask_add_ps(a.s3, m3, a.s3, d3);
        a.q0 = _mm512_mask3_fmadd_ps(d0, d0, a.q0, m0), a.q1 = _mm512_mask3_fmadd_ps(d1, d1, a.q1, m1);
        a.q2 = _mm512_mask3_fmadd_ps(d2, d2, a.q2, m2), a.q3 = _mm512_mask3_fmadd_ps(d3, d3, a.q3, m3);
    }
    flush_acc16(a, ds, dq);
    return {add_lanes64(ds), add_lanes64(dq)};
}
#endif

// Segments normalised in double (see Stats::in_float): the reference's formula.
template <bool kVecW, bool kVecB>
void apply_double(const float* x, float* y, int64_t n, const Stats& s, const float* w, const float* b) {
    for (int64_t i = 0; i < n; ++i)
        y[i] = float((double(x[i]) - s.mean) * s.rstd * double(kVecW ? w[i] : *w) + double(kVecB ? b[i] : *b));
}

using ApplyFn = void (*)(const float*, float*, int64_t, const Stats&, const float*, const float*);

struct Kernels {
    double (*sum)(const float*, int64_t);
    double (*squares)(const float*, int64_t, double);
    ShiftedSums (*shifted)(const float*, int64_t);
    FloatSums (*fsums)(const float*, int64_t, float);
    ApplyFn apply[2][2];  // [per-element weight][per-element bias]
};

constexpr Kernels kPortable{chunk_sum_portable,
                            chunk_squares_portable,
                            chunk_shifted_portable,
                            chunk_fsums_portable,
                            {{apply_portable<false, false>, apply_portable<false, true>},
                             {apply_portable<true, false>, apply_portable<true, true>}}};
#if INKWELL_NORM_X86
constexpr Kernels kAvx2{chunk_sum_avx2,
                        chunk_squares_avx2,
                        chunk_shifted_avx2,
                        chunk_fsums_avx2,
                        {{apply_avx2<false, false>, apply_avx2<false, true>}, {apply_avx2<true, false>, apply_avx2<true, true>}}};
constexpr Kernels kAvx512{chunk_sum_avx512,
                          chunk_squares_avx512,
                          chunk_shifted_avx512,
                          chunk_fsums_avx512,
                          {{apply_avx512<false, false>, apply_avx512<false, true>},
                           {apply_avx512<true, false>, apply_avx512<true, true>}}};
#endif
constexpr ApplyFn kApplyDouble[2][2] = {{apply_double<false, false>, apply_double<false, true>},
                                        {apply_double<true, false>, apply_double<true, true>}};

// group_norm's apply for one channel's run, its weight and bias folded in: y = fma(x -
// mean_hi, a, b') with a = rstd_f * w and b' = fma(-mean_lo, a, b), each rounded once per
// channel. Two operations an element instead of four; x - mean_hi is exact for x near the
// mean (an offset of 1e4 with a spread of 0.1 costs nothing, as before), and mean_lo, below
// half an ulp of the mean, moves into the bias where its product is small.
struct ChannelAffine {
    float hi, a, b;
};

inline ChannelAffine channel_affine(const Stats& s, float w, float b) {
    const float a = s.rstd_f * w;
    return {s.mean_hi, a, std::fma(-s.mean_lo, a, b)};
}

inline void apply_channel_portable(const float* __restrict x, float* __restrict y, int64_t n, const Stats& s,
                                   const float* w, const float* b) {
    const ChannelAffine f = channel_affine(s, *w, *b);
    for (int64_t i = 0; i < n; ++i) y[i] = std::fma(x[i] - f.hi, f.a, f.b);
}

#if INKWELL_NORM_X86
__attribute__((target("avx2,fma"))) inline void apply_channel_avx2(const float* __restrict x, float* __restrict y,
                                                                   int64_t n, const Stats& s, const float* w,
                                                                   const float* b) {
    const ChannelAffine f = channel_affine(s, *w, *b);
    const __m256 hi = _mm256_set1_ps(f.hi), a = _mm256_set1_ps(f.a), bb = _mm256_set1_ps(f.b);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), hi), a, bb));
    for (; i < n; ++i) y[i] = std::fma(x[i] - f.hi, f.a, f.b);  // the same operations, one lane
}

__attribute__((target("avx512f"))) inline void apply_channel_avx512(const float* __restrict x, float* __restrict y,
                                                                    int64_t n, const Stats& s, const float* w,
                                                                    const float* b) {
    const ChannelAffine f = channel_affine(s, *w, *b);
    const __m512 hi = _mm512_set1_ps(f.hi), a = _mm512_set1_ps(f.a), bb = _mm512_set1_ps(f.b);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), hi), a, bb));
    if (i < n) {
        const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
        _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), hi), a, bb));
    }
}
#endif

// group_norm's apply over elements [begin, end) of a segment whose channels have `spatial`
// elements each, the first being channel c0: one run per channel, its weight and bias
// broadcast. One function per ISA so that the per-run apply is inlined (no indirect call and
// reload per run of 64 elements at 8x8).
#define INKWELL_CHANNEL_RUNS(NAME, TARGET, APPLY)                                                                   \
    TARGET void NAME(const float* x, float* y, int64_t begin, int64_t end, int64_t spatial, int64_t c0,          \
                     const Stats& s, const float* w, const float* b) {                                          \
        int64_t c = c0 + begin / spatial;                                                                       \
        for (int64_t i = begin; i < end; ++c) {                                                                 \
            const int64_t stop = std::min(end, (c - c0 + 1) * spatial);                                         \
            const float wc = w != nullptr ? w[c] : 1.0f, bc = b != nullptr ? b[c] : 0.0f;                       \
            APPLY(x + i, y + i, stop - i, s, &wc, &bc);                                                         \
            i = stop;                                                                                           \
        }                                                                                                       \
    }
INKWELL_CHANNEL_RUNS(channel_runs_portable, , apply_channel_portable)
INKWELL_CHANNEL_RUNS(channel_runs_double, , (apply_double<false, false>))
#if INKWELL_NORM_X86
INKWELL_CHANNEL_RUNS(channel_runs_avx2, __attribute__((target("avx2,fma"))), apply_channel_avx2)
INKWELL_CHANNEL_RUNS(channel_runs_avx512, __attribute__((target("avx512f"))), apply_channel_avx512)
#endif
#undef INKWELL_CHANNEL_RUNS

using ChannelRunsFn = void (*)(const float*, float*, int64_t, int64_t, int64_t, int64_t, const Stats&, const float*,
                               const float*);

ChannelRunsFn channel_runs(const Kernels& k) {
#if INKWELL_NORM_X86
    if (&k == &kAvx512) return channel_runs_avx512;
    if (&k == &kAvx2) return channel_runs_avx2;
#endif
    return channel_runs_portable;
}

// The widest loops the SIMD level in effect allows (simd_dispatch.hpp: the CPU's, or the
// forced INKWELL_SIMD level), at most the level asked for; asked at every call.
const Kernels& kernels(NormIsa isa) {
#if INKWELL_NORM_X86
    if (isa == NormIsa::kAuto && simd_avx512()) return kAvx512;
    if ((isa == NormIsa::kAuto || isa == NormIsa::kAvx2) && simd_avx2()) return kAvx2;
#endif
    (void)isa;
    return kPortable;
}

// ---------------------------------------------------------------------------------------
// Scheduling. A segment (a group of one sample, or a row) of `length` elements starts at
// x + s * length. Its sum is the chunk partials (kStatChunk elements each, from its start)
// added in chunk order, and so is its sum of squares: the same whichever task computes them.
//   whole segments  one task normalises a run of segments (kTaskElements in all), each in
//                   its statistics pass(es), then its apply pass, over data that stays in
//                   the core's cache (a row in L1);
//   split           with fewer segments than threads, every phase runs over all chunks of
//                   all segments (the float sums, then the apply step).
// apply(segment, begin, end, stats) normalises elements [begin, end) of a segment.
// ---------------------------------------------------------------------------------------

// Statistics of a segment of n <= kStatChunk elements in one pass: with S1 = sum(x - c),
// S2 = sum((x - c)^2) and c = x[0], mean = c + S1 / n and the sum of squared deviations is
// M2 = S2 - S1^2 / n. The shift bounds the cancellation: c is one of the elements, so
// (mean - c)^2 <= M2 and S2 = M2 + n (mean - c)^2 <= (n + 1) M2. Each lane adds at most
// n / 32 terms and the tree five more, so S2 carries a relative error of about (n / 32 + 6) u
// (u = 2^-53) and S1^2 / n <= n (mean - c)^2 <= n M2 twice that; M2 is then off by at most
// about 3 (n + 1)(n / 32 + 6) u, below 2^-30 for n <= 8192: far below float's 2^-24, whatever
// the mean (a large mean cancels in x - c, exactly for floats within 2^29 of each other; it is
// never squared, which is what costs the unshifted one-pass formula everything).
// Longer segments keep the two passes. Non-finite inputs give a NaN M2 (inf - inf), as the
// two passes do.
Stats shifted_stats(const Kernels& k, const float* x, int64_t n, double eps) {
    const ShiftedSums t = k.shifted(x, n);
    const double mean = double(x[0]) + t.sum / double(n);
    const double squares = t.squares - t.sum * (t.sum / double(n));
    // Rounding can leave a constant-ish segment's M2 a hair below 0; NaN passes through.
    return finish_stats(mean, squares < 0 ? 0.0 : squares, n, eps);
}

// Statistics from float sums about a shift c (chunk_fsums_*), when they are accurate enough:
// the sums finite (no float square overflowed; no NaN or infinity in the data), the variance
// within [2^-80, 2^100] (no deviation that matters lost bits to float underflow), and c within
// two standard deviations of the mean, (S1 / n)^2 <= 4 var, so S1^2 / n <= 4 M2 and
// S2 = M2 + S1^2 / n <= 5 M2. A float lane adds at most kFlushRows (16) terms between flushes,
// so each sum is off by at most 18 u (u = 2^-24) of the sum of its terms' magnitudes
// (15 for the additions, 3 for d = x - c and its square); the double parts add nothing that
// matters. Then S1 is off by 18 u sqrt(n S2) <= 40 u sqrt(n M2), the mean by 40 u of a standard
// deviation, and M2 = S2 - S1^2 / n by 90 u + 161 u of itself, rstd by 126 u: a normalised
// output moves by at most 40 u + 126 u |y| (2.4e-6 + 7.5e-6 |y|), within the reference
// tolerances (2e-5 + 1e-4 |y|); errors that add at random are far smaller. kReshift: accurate
// but for the shift (c far from the mean: the first elements are not typical of the
// segment); the caller runs the sums again about the mean found. kExact: the double
// statistics decide.
enum class Verdict { kAccept, kReshift, kExact };

Verdict judge_float_sums(FloatSums t, int64_t n, float c, double eps, Stats& out, float& reshift) {
    const double dn = double(n);
    const double shift = t.sum / dn;
    const double m2 = t.squares - t.sum * shift;
    const double var = m2 / dn;
    if (!(std::isfinite(t.sum) && std::isfinite(t.squares) && var >= 0x1p-80 && var <= 0x1p100)) {
        return Verdict::kExact;  // NaN compares false
    }
    const double mean = double(c) + shift;
    if (shift * shift > 4.0 * var) {
        reshift = float(mean);
        return Verdict::kReshift;
    }
    out = finish_stats(mean, m2, n, eps);
    return Verdict::kAccept;
}

// The first shift of a segment: the mean of its first (up to) 16 elements, near the mean for
// data in any ordinary order. Any value near the mean serves (judge_float_sums checks it), so
// it is taken in float, each element scaled by 1/16 (exact but in underflow: no overflow on
// the way) and added in a fixed pairwise tree, the same bits everywhere; 16 sequential double
// additions here were a chain of ~70 cycles in every row's critical path.
float float_shift(const float* x, int64_t n) {
    const int64_t m = std::min<int64_t>(n, 16);
    auto v = [&](int i) { return i < m ? x[i] * 0.0625f : 0.0f; };
    float h[8];
    for (int i = 0; i < 8; ++i) h[i] = v(i) + v(i + 8);
    const float q0 = h[0] + h[4], q1 = h[1] + h[5], q2 = h[2] + h[6], q3 = h[3] + h[7];
    const float sum = (q0 + q2) + (q1 + q3);
    return m == 16 ? sum : sum * (16.0f / float(m));
}

// A segment's float sums about c: its chunks (kStatChunk elements from its start) in order.
FloatSums segment_fsums(const Kernels& k, const float* x, int64_t length, float c) {
    FloatSums t{0, 0};
    for (int64_t i = 0; i < length; i += kStatChunk) {
        const FloatSums p = k.fsums(x + i, std::min(kStatChunk, length - i), c);
        t.sum += p.sum;
        t.squares += p.squares;
    }
    return t;
}

// A segment's statistics in double (the exact path): one shifted pass for one chunk, two
// passes over its chunks otherwise.
Stats exact_stats(const Kernels& k, const float* x, int64_t length, double eps) {
    if (length <= kStatChunk) return shifted_stats(k, x, length, eps);
    double sum = 0;
    for (int64_t i = 0; i < length; i += kStatChunk) sum += k.sum(x + i, std::min(kStatChunk, length - i));
    const double mean = sum / double(length);
    double squares = 0;
    for (int64_t i = 0; i < length; i += kStatChunk) squares += k.squares(x + i, std::min(kStatChunk, length - i), mean);
    return finish_stats(mean, squares, length, eps);
}

// A segment's statistics after its first float sums t about c: accepted, or the sums again
// about the mean they found, or the exact path.
Stats settle_stats(const Kernels& k, const float* x, int64_t length, double eps, FloatSums t, float c) {
    Stats s;
    float again = 0;
    switch (judge_float_sums(t, length, c, eps, s, again)) {
        case Verdict::kAccept:
            return s;
        case Verdict::kReshift: {
            float unused = 0;
            if (judge_float_sums(segment_fsums(k, x, length, again), length, again, eps, s, unused) == Verdict::kAccept)
                return s;
            break;
        }
        case Verdict::kExact:
            break;
    }
    return exact_stats(k, x, length, eps);
}

template <class Apply>
void normalize_segments(ThreadPool& pool, const Kernels& k, const float* x, int64_t segments, int64_t length,
                        double eps, const Apply& apply) {
    const int64_t chunks = (length + kStatChunk - 1) / kStatChunk;
    auto chunk_length = [&](int64_t c) { return std::min(kStatChunk, length - c * kStatChunk); };

    if (segments >= pool.threads() || chunks < 2) {
        // About kTaskElements a task, in a task count that is a multiple of the thread count
        // (64 groups of 2560 in 3 tasks would leave one thread 39 of them, in 4 tasks 32):
        // only the split changes, never a segment's arithmetic.
        const int64_t threads = pool.threads();
        int64_t tasks = std::max<int64_t>(1, (segments * length + kTaskElements - 1) / kTaskElements);
        tasks = std::min(segments, (tasks + threads - 1) / threads * threads);
        const int64_t per_task = (segments + tasks - 1) / tasks;
        // Each segment's statistics, then its apply step at once, while it is in L1. (Rows
        // batched pass by pass, so that the sums of consecutive rows did not wait for each
        // other's divisions and square roots, measured 3-11% slower on layer_norm at 64-1280
        // elements a row: reads and writes interleaved row by row keep memory busier.)
        parallel_chunks(pool, segments, per_task, [&](int64_t first, int64_t last) {
            for (int64_t s = first; s < last; ++s) {
                const float* xs = x + s * length;
                const float c = float_shift(xs, length);
                apply(s, int64_t(0), length, settle_stats(k, xs, length, eps, segment_fsums(k, xs, length, c), c));
            }
        });
        return;
    }

    // Fewer segments than threads, each of several chunks: every phase over all chunks of all
    // segments, the chunks' float sums added in chunk order as segment_fsums adds them.
    const int64_t total = segments * chunks;
    auto each_chunk = [&](auto&& body) {
        parallel_chunks(pool, total, kTaskChunks, [&](int64_t first, int64_t last) {
            for (int64_t t = first; t < last; ++t) body(t / chunks, t % chunks, t);
        });
    };
    std::vector<float> shift(static_cast<size_t>(segments));
    for (int64_t s = 0; s < segments; ++s) shift[s] = float_shift(x + s * length, length);
    std::vector<FloatSums> partial(static_cast<size_t>(total));
    each_chunk([&](int64_t s, int64_t c, int64_t t) {
        partial[t] = k.fsums(x + s * length + c * kStatChunk, chunk_length(c), shift[s]);
    });
    std::vector<Stats> stats(static_cast<size_t>(segments));
    for (int64_t s = 0; s < segments; ++s) {
        FloatSums sums{0, 0};
        for (int64_t c = 0; c < chunks; ++c) {
            sums.sum += partial[s * chunks + c].sum;
            sums.squares += partial[s * chunks + c].squares;
        }
        // A segment the float sums do not settle (rare: see judge_float_sums) is redone on
        // this thread; the bits are those of the whole-segment path either way.
        stats[s] = settle_stats(k, x + s * length, length, eps, sums, shift[s]);
    }
    each_chunk([&](int64_t s, int64_t c, int64_t) {
        apply(s, c * kStatChunk, c * kStatChunk + chunk_length(c), stats[s]);
    });
}

}  // namespace

bool norm_has_avx2() { return kernels(NormIsa::kAvx2).sum != kPortable.sum; }

bool norm_has_avx512() {
#if INKWELL_NORM_X86
    return kernels(NormIsa::kAuto).sum == kAvx512.sum;
#else
    return false;
#endif
}

void group_norm_fast(ThreadPool& pool, const inkwell_group_norm_params& p, NormIsa isa) {
    const Kernels& k = kernels(isa);
    const auto* x = static_cast<const float*>(p.input);
    const auto* w = static_cast<const float*>(p.weight);
    const auto* b = static_cast<const float*>(p.bias);
    auto* y = static_cast<float*>(p.output);
    const int64_t per_group = p.channels / p.groups, length = per_group * p.spatial;
    const ActivationIsa act_isa = isa == NormIsa::kAuto   ? ActivationIsa::kAuto
                                  : isa == NormIsa::kAvx2 ? ActivationIsa::kAvx2
                                                          : ActivationIsa::kPortable;
    const ChannelRunsFn runs = channel_runs(k);
    normalize_segments(pool, k, x, p.batch * p.groups, length, p.eps,
                       [&](int64_t segment, int64_t begin, int64_t end, const Stats& s) {
                           const int64_t base = segment * length, first_channel = (segment % p.groups) * per_group;
                           const ChannelRunsFn fn = s.in_float ? runs : channel_runs_double;
                           if (p.activation == INKWELL_ACTIVATION_NONE) {
                               fn(x + base, y + base, begin, end, p.spatial, first_channel, s, w, b);
                               return;
                           }
                           // The activation in place, piece by piece while each is in L1
                           // (elementwise: the same bits however the span is cut).
                           for (int64_t i = begin; i < end; i += kActivationPiece) {
                               const int64_t stop = std::min(end, i + kActivationPiece);
                               fn(x + base, y + base, i, stop, p.spatial, first_channel, s, w, b);
                               apply_activation_span(p.activation, y + base + i, y + base + i, stop - i, act_isa);
                           }
                       });
}

void layer_norm_fast(ThreadPool& pool, const inkwell_layer_norm_params& p, NormIsa isa) {
    const Kernels& k = kernels(isa);
    const auto* x = static_cast<const float*>(p.input);
    const auto* w = static_cast<const float*>(p.weight);
    const auto* b = static_cast<const float*>(p.bias);
    auto* y = static_cast<float*>(p.output);
    const float one = 1.0f, zero = 0.0f;
    const int vw = w != nullptr, vb = b != nullptr;
    normalize_segments(pool, k, x, p.rows, p.dim, p.eps, [&](int64_t row, int64_t begin, int64_t end, const Stats& s) {
        const int64_t base = row * p.dim;
        const ApplyFn fn = s.in_float ? k.apply[vw][vb] : kApplyDouble[vw][vb];
        fn(x + base + begin, y + base + begin, end - begin, s, vw ? w + begin : &one, vb ? b + begin : &zero);
    });
}

}  // namespace inkwell::cpu
