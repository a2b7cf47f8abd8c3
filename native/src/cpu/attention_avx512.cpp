// Attention's AVX-512 fast path: the AVX2 path (attention_cpu.cpp) 16 lanes wide. A group of
// 16 query rows is one vector, so a scores step is one load of the transposed queries and a
// broadcast key element per key; pv keeps 8 rows x up to 3 vectors (48 columns) of the
// output in 24 registers. Every output element goes through the AVX2 path's operations in
// the same order (each lane is one row or one column, dot products summed in the same
// blocks, the same exp2 polynomial, the same FMA chain over keys): the two give the same
// bits, which test_attention checks.
#include "attention_chunk.hpp"
#include "simd_dispatch.hpp"

#include <limits>

#if defined(__x86_64__) || defined(__i386__)
// GCC 12's AVX-512 headers pass an undefined vector as the unused pass-through operand of
// the unmasked max/min/round/convert forms, which -W(maybe-)uninitialized reports once
// they are inlined here; nothing in this file reads an uninitialised value.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#define INKWELL_ATTENTION512_X86 1
#endif

namespace inkwell::cpu {

bool attention_avx512_available() {
#if INKWELL_ATTENTION512_X86
    return simd_avx512();
#else
    return false;
#endif
}

#if INKWELL_ATTENTION512_X86

namespace attention_detail {
namespace {

#define INKWELL_TARGET_AVX512 __attribute__((target("avx512f")))

constexpr int kQkKeys = 8;        // keys per scores step: 8 accumulators, as the AVX2 path's 4 x 2
constexpr int kPvRows = 8;        // rows per pv block: 8 x 3 vectors = 24 accumulators
static_assert(kGroupRows == 16, "one 16-lane vector of rows");

// The AVX2 path's exp2_ps, 16 lanes: 2^x for x <= 127, exactly 0 below -126.
INKWELL_TARGET_AVX512 inline __m512 exp2_ps(__m512 x) {
    const __m512 lowest = _mm512_set1_ps(-126.0f);
    const __mmask16 representable = _mm512_cmp_ps_mask(x, lowest, _CMP_GE_OQ);
    x = _mm512_min_ps(_mm512_max_ps(x, lowest), _mm512_set1_ps(127.0f));
    const __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512 f = _mm512_sub_ps(x, n);
    __m512 poly = _mm512_set1_ps(1.535336188319500e-4f);
    poly = _mm512_fmadd_ps(poly, f, _mm512_set1_ps(1.339887440266574e-3f));
    poly = _mm512_fmadd_ps(poly, f, _mm512_set1_ps(9.618437357674640e-3f));
    poly = _mm512_fmadd_ps(poly, f, _mm512_set1_ps(5.550332471162809e-2f));
    poly = _mm512_fmadd_ps(poly, f, _mm512_set1_ps(2.402264791363012e-1f));
    poly = _mm512_fmadd_ps(poly, f, _mm512_set1_ps(6.931472028550421e-1f));
    poly = _mm512_fmadd_ps(poly, f, _mm512_set1_ps(1.0f));
    const __m512i exponent = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_maskz_mov_ps(representable, _mm512_mul_ps(poly, _mm512_castsi512_ps(exponent)));
}

// S[j][r] for keys [0, KB) and the group's 16 rows, summed in blocks of kScoreBlock as the
// AVX2 path does.
template <int KB>
INKWELL_TARGET_AVX512 inline void scores_block(const float* qt, const float* k, int64_t k_stride, int64_t d_len,
                                               float* s) {
    for (int64_t d0 = 0; d0 < d_len; d0 += kScoreBlock) {
        const int64_t d_end = std::min(d_len, d0 + kScoreBlock);
        __m512 acc[KB];
#pragma GCC unroll 16
        for (int kb = 0; kb < KB; ++kb) acc[kb] = _mm512_setzero_ps();
        for (int64_t d = d0; d < d_end; ++d) {
            const __m512 q = _mm512_loadu_ps(qt + d * kGroupRows);
#pragma GCC unroll 16
            for (int kb = 0; kb < KB; ++kb) acc[kb] = _mm512_fmadd_ps(q, _mm512_set1_ps(k[kb * k_stride + d]), acc[kb]);
        }
#pragma GCC unroll 16
        for (int kb = 0; kb < KB; ++kb) {
            float* out = s + kb * kGroupRows;
            if (d0 > 0) acc[kb] = _mm512_add_ps(acc[kb], _mm512_loadu_ps(out));
            _mm512_storeu_ps(out, acc[kb]);
        }
    }
}

template <int KB>
INKWELL_TARGET_AVX512 inline void scores_tail(const float* qt, const float* k, int64_t k_stride, int64_t d_len,
                                              int64_t keys, float* s) {
    if constexpr (KB > 0) {
        if (keys == KB) {
            scores_block<KB>(qt, k, k_stride, d_len, s);
        } else {
            scores_tail<KB - 1>(qt, k, k_stride, d_len, keys, s);
        }
    }
}

INKWELL_TARGET_AVX512 void tile_scores(const float* qt, const float* k, int64_t k_stride, int64_t d_len, int64_t keys,
                                       float* s) {
    int64_t j = 0;
    for (; j + kQkKeys <= keys; j += kQkKeys)
        scores_block<kQkKeys>(qt, k + j * k_stride, k_stride, d_len, s + j * kGroupRows);
    scores_tail<kQkKeys - 1>(qt, k + j * k_stride, k_stride, d_len, keys - j, s + j * kGroupRows);
}

// The online softmax of the AVX2 path, all 16 rows at once.
INKWELL_TARGET_AVX512 void softmax_update(float* s, int64_t keys, float* row_max, float* row_sum, float* alpha) {
    const __m512 old_max = _mm512_loadu_ps(row_max);
    __m512 new_max = old_max;
    for (int64_t j = 0; j < keys; ++j) new_max = _mm512_max_ps(new_max, _mm512_loadu_ps(s + j * kGroupRows));
    __m512 tile_sum = _mm512_setzero_ps();
    for (int64_t j = 0; j < keys; ++j) {
        float* sj = s + j * kGroupRows;
        const __m512 w = exp2_ps(_mm512_sub_ps(_mm512_loadu_ps(sj), new_max));
        _mm512_storeu_ps(sj, w);
        tile_sum = _mm512_add_ps(tile_sum, w);
    }
    const __m512 a = exp2_ps(_mm512_sub_ps(old_max, new_max));
    _mm512_storeu_ps(row_sum, _mm512_fmadd_ps(_mm512_loadu_ps(row_sum), a, tile_sum));
    _mm512_storeu_ps(row_max, new_max);
    _mm512_storeu_ps(alpha, a);
}

INKWELL_TARGET_AVX512 void rescale_rows(float* o, int64_t o_stride, const float* alpha) {
    for (int r = 0; r < kGroupRows; ++r) {
        if (alpha[r] == 1.0f) continue;  // the max did not move
        const __m512 a = _mm512_set1_ps(alpha[r]);
        float* row = o + r * o_stride;
        for (int64_t c = 0; c < o_stride; c += 16) _mm512_storeu_ps(row + c, _mm512_mul_ps(_mm512_loadu_ps(row + c), a));
    }
}

// O[r0 + r][c .. c + 16 NV) += sum_j P[j][r0 + r] v[j][c .. c + 16 NV) for kPvRows rows, the
// accumulators in registers for the whole tile.
template <int NV>
INKWELL_TARGET_AVX512 inline void pv_block(const float* p, const float* v, int64_t v_stride, int64_t keys, float* o,
                                           int64_t o_stride) {
    __m512 acc[kPvRows][NV];
#pragma GCC unroll 16
    for (int r = 0; r < kPvRows; ++r) {
#pragma GCC unroll 16
        for (int n = 0; n < NV; ++n) acc[r][n] = _mm512_loadu_ps(o + r * o_stride + n * 16);
    }
    for (int64_t j = 0; j < keys; ++j) {
        __m512 value[NV];
#pragma GCC unroll 16
        for (int n = 0; n < NV; ++n) value[n] = _mm512_loadu_ps(v + j * v_stride + n * 16);
#pragma GCC unroll 16
        for (int r = 0; r < kPvRows; ++r) {
            const __m512 weight = _mm512_set1_ps(p[j * kGroupRows + r]);
#pragma GCC unroll 16
            for (int n = 0; n < NV; ++n) acc[r][n] = _mm512_fmadd_ps(weight, value[n], acc[r][n]);
        }
    }
#pragma GCC unroll 16
    for (int r = 0; r < kPvRows; ++r) {
#pragma GCC unroll 16
        for (int n = 0; n < NV; ++n) _mm512_storeu_ps(o + r * o_stride + n * 16, acc[r][n]);
    }
}

INKWELL_TARGET_AVX512 void tile_pv(const float* p, const float* v, int64_t v_stride, int64_t keys, float* o,
                                   int64_t o_stride) {
    const int vectors = static_cast<int>(o_stride / 16);
    // Column block outer, rows inner: the value slice stays in L1 across the row blocks.
    // D = 40 is 3 vectors (48 columns, padded), 80 is 3 + 2, 160 is 3 + 3 + 2 + 2.
    for (int c = 0; c < vectors;) {
        const int width = pv_column_block(vectors - c);
        for (int r0 = 0; r0 < kGroupRows; r0 += kPvRows) {
            const float* pr = p + r0;
            const float* vc = v + c * 16;
            float* oc = o + r0 * o_stride + c * 16;
            switch (width) {
                case 3: pv_block<3>(pr, vc, v_stride, keys, oc, o_stride); break;
                case 2: pv_block<2>(pr, vc, v_stride, keys, oc, o_stride); break;
                default: pv_block<1>(pr, vc, v_stride, keys, oc, o_stride); break;
            }
        }
        c += width;
    }
}

}  // namespace

void attention_avx512(ThreadPool& pool, const inkwell_attention_params& p) {
    attention_simd(pool, p, {tile_scores, softmax_update, rescale_rows, tile_pv, 16});
}

}  // namespace attention_detail

#else

void attention_detail::attention_avx512(ThreadPool&, const inkwell_attention_params&) {}

#endif  // INKWELL_ATTENTION512_X86

}  // namespace inkwell::cpu
