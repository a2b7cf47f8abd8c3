// Attention, CPU: reference, the width-independent stages of the SIMD paths
// (attention_chunk.hpp) and their chunk loop, portable fast path, AVX2+FMA stages, launcher.
// The AVX-512 stages are in attention_avx512.cpp. See the header for the semantics.
#include "attention_cpu.hpp"
#include "attention_chunk.hpp"
#include "simd_dispatch.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define INKWELL_ATTENTION_X86 1
#endif

namespace inkwell::cpu {

int64_t attention_visible_keys(const inkwell_attention_params& p, int64_t b, int64_t i) {
    int64_t visible = p.kv_lens != nullptr ? p.kv_lens[b] : p.kv_len;
    if (p.causal) visible = std::min(visible, i + 1);
    return visible;
}

AttentionStrides attention_strides(const inkwell_attention_params& p, int64_t length) {
    const int64_t d_len = p.head_dim;
    if (p.layout == INKWELL_ATTENTION_BLHD) return {length * p.heads * d_len, d_len, p.heads * d_len};
    return {p.heads * length * d_len, length * d_len, d_len};
}

// ---- CPU reference -------------------------------------------------------------------

void attention_reference(const inkwell_attention_params& p) {
    const int64_t d_len = p.head_dim;
    const AttentionStrides qs = attention_strides(p, p.q_len), ks = attention_strides(p, p.kv_len);
    std::vector<double> scores(p.kv_len), acc(d_len);
    for (int64_t b = 0; b < p.batch; ++b) {
        for (int64_t h = 0; h < p.heads; ++h) {
            const float* q = static_cast<const float*>(p.q) + b * qs.batch + h * qs.head;
            const float* k = static_cast<const float*>(p.k) + b * ks.batch + h * ks.head;
            const float* v = static_cast<const float*>(p.v) + b * ks.batch + h * ks.head;
            float* out = static_cast<float*>(p.out) + b * qs.batch + h * qs.head;
            for (int64_t i = 0; i < p.q_len; ++i) {
                const int64_t visible = attention_visible_keys(p, b, i);
                double max_score = -std::numeric_limits<double>::infinity();
                for (int64_t j = 0; j < visible; ++j) {
                    double dot = 0;
                    for (int64_t d = 0; d < d_len; ++d) dot += double(q[i * qs.row + d]) * k[j * ks.row + d];
                    scores[j] = dot * p.scale;
                    max_score = std::max(max_score, scores[j]);
                }
                double sum = 0;
                std::fill(acc.begin(), acc.end(), 0.0);
                for (int64_t j = 0; j < visible; ++j) {
                    const double w = std::exp(scores[j] - max_score);
                    sum += w;
                    for (int64_t d = 0; d < d_len; ++d) acc[d] += w * v[j * ks.row + d];
                }
                for (int64_t d = 0; d < d_len; ++d) out[i * qs.row + d] = static_cast<float>(acc[d] / sum);
            }
        }
    }
}

// ---- Scalar stages shared by the SIMD paths (attention_chunk.hpp) -------------------

namespace attention_detail {

void prepare_scratch(const inkwell_attention_params& p, const QueryChunk& c, int64_t o_align, ChunkScratch& s) {
    s.groups = (c.rows + kGroupRows - 1) / kGroupRows;
    s.o_stride = (p.head_dim + o_align - 1) / o_align * o_align;
    const int64_t rows = s.groups * kGroupRows;
    s.qt.resize(rows * p.head_dim);
    s.o.resize(rows * s.o_stride);
    s.row_max.resize(rows);
    s.row_sum.resize(rows);
    s.visible.resize(rows);
    s.group_visible.resize(s.groups);
    s.p.resize(kTile * kGroupRows);
    s.alpha.resize(kGroupRows);
    if (s.o_stride != p.head_dim) s.v_padded.resize(kTile * s.o_stride);
}

void load_queries(const inkwell_attention_params& p, const QueryChunk& c, ChunkScratch& s) {
    const int64_t d_len = p.head_dim;
    const float factor = static_cast<float>(p.scale * 1.4426950408889634);  // log2(e): softmax in base 2
    std::fill(s.qt.begin(), s.qt.end(), 0.0f);
    for (int64_t g = 0; g < s.groups; ++g) {
        float* qt = s.qt.data() + g * d_len * kGroupRows;
        int64_t most = 1;
        for (int r = 0; r < kGroupRows; ++r) {
            const int64_t row = g * kGroupRows + r;
            int64_t visible = 1;
            if (row < c.rows) {
                const float* q = c.q + row * c.q_stride;
                for (int64_t d = 0; d < d_len; ++d) qt[d * kGroupRows + r] = q[d] * factor;
                visible = attention_visible_keys(p, c.batch_index, c.row0 + row);
            }
            s.visible[g * kGroupRows + r] = visible;
            most = std::max(most, visible);
        }
        s.group_visible[g] = most;
    }
    std::fill(s.o.begin(), s.o.end(), 0.0f);
    std::fill(s.row_max.begin(), s.row_max.end(), -std::numeric_limits<float>::infinity());
    std::fill(s.row_sum.begin(), s.row_sum.end(), 0.0f);
}

// Only entries to hide are visited.
void mask_tile(const int64_t* visible, int64_t t0, int64_t keys, float* s) {
    for (int r = 0; r < kGroupRows; ++r) {
        for (int64_t j = std::max<int64_t>(visible[r] - t0, 0); j < keys; ++j)
            s[j * kGroupRows + r] = -std::numeric_limits<float>::infinity();
    }
}

void store_output(const QueryChunk& c, int64_t d_len, const ChunkScratch& s) {
    for (int64_t row = 0; row < c.rows; ++row) {
        const float* o = s.o.data() + row * s.o_stride;
        const float sum = s.row_sum[row];
        float* out = c.out + row * c.q_stride;
        for (int64_t d = 0; d < d_len; ++d) out[d] = o[d] / sum;
    }
}

const float* value_tile(const float* v, int64_t& v_stride, int64_t d_len, int64_t keys, ChunkScratch& s) {
    if (d_len == s.o_stride) return v;
    for (int64_t j = 0; j < keys; ++j) {
        float* row = s.v_padded.data() + j * s.o_stride;
        std::memcpy(row, v + j * v_stride, d_len * sizeof(float));
        std::fill(row + d_len, row + s.o_stride, 0.0f);
    }
    v_stride = s.o_stride;
    return s.v_padded.data();
}

void attention_simd(ThreadPool& pool, const inkwell_attention_params& p, const SimdStages& stages) {
    const int64_t d_len = p.head_dim;
    for_each_query_chunk(pool, p, simd_chunk_rows(p), [&](const QueryChunk& c) {
        ChunkScratch s;
        prepare_scratch(p, c, stages.o_align, s);
        load_queries(p, c, s);
        const int64_t chunk_visible = *std::max_element(s.group_visible.begin(), s.group_visible.end());
        for (int64_t t0 = 0; t0 < chunk_visible; t0 += kTile) {
            const int64_t tile_keys = std::min(kTile, chunk_visible - t0);
            int64_t v_stride = c.kv_stride;
            const float* v = value_tile(c.v + t0 * c.kv_stride, v_stride, d_len, tile_keys, s);
            for (int64_t g = 0; g < s.groups; ++g) {
                const int64_t keys = std::min(tile_keys, s.group_visible[g] - t0);
                if (keys <= 0) continue;  // causal: the whole group is left of this tile
                const int64_t row = g * kGroupRows;
                float* o = s.o.data() + row * s.o_stride;
                stages.scores(s.qt.data() + g * d_len * kGroupRows, c.k + t0 * c.kv_stride, c.kv_stride, d_len, keys,
                              s.p.data());
                mask_tile(s.visible.data() + row, t0, keys, s.p.data());
                stages.softmax(s.p.data(), keys, s.row_max.data() + row, s.row_sum.data() + row, s.alpha.data());
                stages.rescale(o, s.o_stride, s.alpha.data());
                stages.pv(s.p.data(), v, v_stride, keys, o, s.o_stride);
            }
        }
        store_output(c, d_len, s);
    });
}

}  // namespace attention_detail

namespace {

using namespace attention_detail;

// ---- Portable fast path --------------------------------------------------------------
// One row at a time against tiles of keys, with the same online softmax as the AVX2 path;
// plain loops the compiler may vectorise for the baseline ISA.

constexpr int64_t kPortableTile = 64;
constexpr int64_t kPortableChunkRows = 16;
constexpr int64_t kDotBlock = 32;

// Summed in blocks, for accuracy with large logits (see scores_block in the AVX2 path).
float dot_product(const float* a, const float* b, int64_t n) {
    float sum = 0;
    for (int64_t d0 = 0; d0 < n; d0 += kDotBlock) {
        float partial = 0;
        for (int64_t d = d0; d < std::min(n, d0 + kDotBlock); ++d) partial += a[d] * b[d];
        sum += partial;
    }
    return sum;
}

// k and v rows are kv_stride apart.
void portable_row(const float* q, const float* k, const float* v, int64_t kv_stride, float* out, int64_t d_len,
                  int64_t visible, float scale, float* scores, float* acc) {
    float running_max = -std::numeric_limits<float>::infinity();
    float running_sum = 0;
    std::fill(acc, acc + d_len, 0.0f);
    for (int64_t t0 = 0; t0 < visible; t0 += kPortableTile) {
        const int64_t n = std::min(kPortableTile, visible - t0);
        float tile_max = running_max;
        for (int64_t j = 0; j < n; ++j) {
            scores[j] = dot_product(q, k + (t0 + j) * kv_stride, d_len) * scale;
            tile_max = std::max(tile_max, scores[j]);
        }
        // Rescale what was accumulated against the old maximum (exp(-inf) = 0 on the first tile).
        const float alpha = std::exp(running_max - tile_max);
        running_sum *= alpha;
        for (int64_t d = 0; d < d_len; ++d) acc[d] *= alpha;
        for (int64_t j = 0; j < n; ++j) {
            const float w = std::exp(scores[j] - tile_max);
            const float* v_row = v + (t0 + j) * kv_stride;
            running_sum += w;
            for (int64_t d = 0; d < d_len; ++d) acc[d] += w * v_row[d];
        }
        running_max = tile_max;
    }
    for (int64_t d = 0; d < d_len; ++d) out[d] = acc[d] / running_sum;
}

void attention_portable(ThreadPool& pool, const inkwell_attention_params& p) {
    const float scale = static_cast<float>(p.scale);
    for_each_query_chunk(pool, p, kPortableChunkRows, [&](const QueryChunk& c) {
        std::vector<float> scores(kPortableTile), acc(p.head_dim);
        for (int64_t r = 0; r < c.rows; ++r) {
            const int64_t visible = attention_visible_keys(p, c.batch_index, c.row0 + r);
            portable_row(c.q + r * c.q_stride, c.k, c.v, c.kv_stride, c.out + r * c.q_stride, p.head_dim, visible,
                         scale, scores.data(), acc.data());
        }
    });
}

// ---- AVX2+FMA fast path --------------------------------------------------------------
//
// A task owns a chunk of query rows, split into groups of 16 (two 8-lane vectors of rows).
// Keys are visited in tiles; per tile and group:
//   scores     S[j][r] = q_r . k_j for the group's 16 rows at once: the group's queries are
//              stored transposed (qt[d][r]), so each step is a broadcast key element times a
//              vector of 8 rows; no horizontal sums.
//   mask       S = -inf for keys past the row's visible prefix (causal, kv_lens).
//   softmax    online: running max m and sum l per row, vectorised over rows; P = 2^(S-m)
//              (scale * log2(e) is folded into qt, so a polynomial exp2 suffices).
//   rescale    the row's accumulator by 2^(m_old - m_new), skipped when the max is unchanged.
//   pv         O[r][:] += P[j][r] v_j, 4 rows x up to 3 vectors of columns in registers.
// Only S for one tile (tile x 16 floats) exists at a time.

#if INKWELL_ATTENTION_X86

#define INKWELL_TARGET_AVX2 __attribute__((target("avx2,fma")))

// Tuning on this 2-core AMD EPYC (Zen 3), one thread, GFLOP/s at D = 40 / 80 / 160 (self,
// L = 2048) and D = 40 / 160 (cross, Lk = 77); timings on this shared VM vary by ~5%:
//   4 keys x 16 rows, tile 64, 64-row chunks:  75 / 79 / 84, 60 / 68  (chosen)
//   6 keys x 16 rows (12 accumulators):        69 / 76 / 80, 58 / 66
//   tile 32: 72 / 75 / 80, 57 / 62;  tile 128: 75 / 72 / 81, 62 / 69
//   32- or 128-row chunks: within the noise.
// BLHD (rows heads * D apart, values read in place with that stride) against BHLD, one
// thread, Lq = 1024, H = 8 (D = 40, 80) or 4 (160): Lk = 1024 59 / 62 / 68 vs 59 / 67 / 72,
// Lk = 77 49 / 53 / 56 vs 51 / 56 / 59 GFLOP/s; the strides left BHLD's speed as it was.
// "#pragma GCC unroll" on the fixed-count loops of the micro-kernels is what keeps their
// __m256 accumulator arrays in registers: without it GCC 12 stores every accumulator to
// the stack on each iteration and the whole kernel runs at half the speed (31-35 GFLOP/s).
constexpr int kQkKeys = 4;           // keys per scores micro-kernel step: 8 accumulators
constexpr int kPvRows = 4;           // rows per pv micro-kernel: with 3 column vectors, 12 accumulators

// 2^x for x <= 127, exactly 0 below -126 (so masked -inf scores weigh nothing). Cephes'
// exp2f polynomial on [-0.5, 0.5]: relative error about 2e-7, well inside the tolerance.
INKWELL_TARGET_AVX2 inline __m256 exp2_ps(__m256 x) {
    const __m256 lowest = _mm256_set1_ps(-126.0f);
    const __m256 representable = _mm256_cmp_ps(x, lowest, _CMP_GE_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, lowest), _mm256_set1_ps(127.0f));
    const __m256 n = _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256 f = _mm256_sub_ps(x, n);
    __m256 poly = _mm256_set1_ps(1.535336188319500e-4f);
    poly = _mm256_fmadd_ps(poly, f, _mm256_set1_ps(1.339887440266574e-3f));
    poly = _mm256_fmadd_ps(poly, f, _mm256_set1_ps(9.618437357674640e-3f));
    poly = _mm256_fmadd_ps(poly, f, _mm256_set1_ps(5.550332471162809e-2f));
    poly = _mm256_fmadd_ps(poly, f, _mm256_set1_ps(2.402264791363012e-1f));
    poly = _mm256_fmadd_ps(poly, f, _mm256_set1_ps(6.931472028550421e-1f));
    poly = _mm256_fmadd_ps(poly, f, _mm256_set1_ps(1.0f));
    const __m256i exponent = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(_mm256_mul_ps(poly, _mm256_castsi256_ps(exponent)), representable);
}

// ---- stage: scores

// S[j][r] for keys [0, KB) of k (rows of d_len floats, k_stride apart) and the group's 16
// rows, written to s[j * 16 + r]. The dot products are summed in blocks of kScoreBlock
// elements whose partial sums are then added in s: with large logits (~100) float32
// rounding of one long running sum dominates the error (D = 256: worst error 1.8x the
// tolerance; in blocks of 32, 0.55x; golden large_logits at D = 64: 0.50x -> 0.16x).
template <int KB>
INKWELL_TARGET_AVX2 inline void scores_block(const float* qt, const float* k, int64_t k_stride, int64_t d_len,
                                             float* s) {
    for (int64_t d0 = 0; d0 < d_len; d0 += kScoreBlock) {
        const int64_t d_end = std::min(d_len, d0 + kScoreBlock);
        __m256 acc[KB][2];
#pragma GCC unroll 16
        for (int kb = 0; kb < KB; ++kb) acc[kb][0] = acc[kb][1] = _mm256_setzero_ps();
        for (int64_t d = d0; d < d_end; ++d) {
            const __m256 q_lo = _mm256_loadu_ps(qt + d * kGroupRows);
            const __m256 q_hi = _mm256_loadu_ps(qt + d * kGroupRows + 8);
#pragma GCC unroll 16
            for (int kb = 0; kb < KB; ++kb) {
                const __m256 key = _mm256_broadcast_ss(k + kb * k_stride + d);
                acc[kb][0] = _mm256_fmadd_ps(q_lo, key, acc[kb][0]);
                acc[kb][1] = _mm256_fmadd_ps(q_hi, key, acc[kb][1]);
            }
        }
#pragma GCC unroll 16
        for (int kb = 0; kb < KB; ++kb) {
            float* out = s + kb * kGroupRows;
            if (d0 > 0) {
                acc[kb][0] = _mm256_add_ps(acc[kb][0], _mm256_loadu_ps(out));
                acc[kb][1] = _mm256_add_ps(acc[kb][1], _mm256_loadu_ps(out + 8));
            }
            _mm256_storeu_ps(out, acc[kb][0]);
            _mm256_storeu_ps(out + 8, acc[kb][1]);
        }
    }
}

// The last 1..KB-1 keys of a tile, one instantiation per count.
template <int KB>
INKWELL_TARGET_AVX2 inline void scores_tail(const float* qt, const float* k, int64_t k_stride, int64_t d_len,
                                            int64_t keys, float* s) {
    if constexpr (KB > 0) {
        if (keys == KB) {
            scores_block<KB>(qt, k, k_stride, d_len, s);
        } else {
            scores_tail<KB - 1>(qt, k, k_stride, d_len, keys, s);
        }
    }
}

INKWELL_TARGET_AVX2 void tile_scores(const float* qt, const float* k, int64_t k_stride, int64_t d_len, int64_t keys,
                                     float* s) {
    int64_t j = 0;
    for (; j + kQkKeys <= keys; j += kQkKeys)
        scores_block<kQkKeys>(qt, k + j * k_stride, k_stride, d_len, s + j * kGroupRows);
    scores_tail<kQkKeys - 1>(qt, k + j * k_stride, k_stride, d_len, keys - j, s + j * kGroupRows);
}

// ---- stage: online softmax

// Turns the tile's scores into weights 2^(S - m_new) in place, updates the running max and
// sum, and leaves the accumulator rescale factors 2^(m_old - m_new) in alpha. Key 0 is
// visible to every row and lies in the first tile, so m_new is finite from then on.
INKWELL_TARGET_AVX2 void softmax_update(float* s, int64_t keys, float* row_max, float* row_sum, float* alpha) {
    for (int half = 0; half < kGroupRows; half += 8) {
        const __m256 old_max = _mm256_loadu_ps(row_max + half);
        __m256 new_max = old_max;
        for (int64_t j = 0; j < keys; ++j) new_max = _mm256_max_ps(new_max, _mm256_loadu_ps(s + j * kGroupRows + half));
        __m256 tile_sum = _mm256_setzero_ps();
        for (int64_t j = 0; j < keys; ++j) {
            float* sj = s + j * kGroupRows + half;
            const __m256 w = exp2_ps(_mm256_sub_ps(_mm256_loadu_ps(sj), new_max));
            _mm256_storeu_ps(sj, w);
            tile_sum = _mm256_add_ps(tile_sum, w);
        }
        const __m256 a = exp2_ps(_mm256_sub_ps(old_max, new_max));
        _mm256_storeu_ps(row_sum + half, _mm256_fmadd_ps(_mm256_loadu_ps(row_sum + half), a, tile_sum));
        _mm256_storeu_ps(row_max + half, new_max);
        _mm256_storeu_ps(alpha + half, a);
    }
}

// ---- stage: rescale

INKWELL_TARGET_AVX2 void rescale_rows(float* o, int64_t o_stride, const float* alpha) {
    for (int r = 0; r < kGroupRows; ++r) {
        if (alpha[r] == 1.0f) continue;  // the max did not move: the usual case after a few tiles
        const __m256 a = _mm256_set1_ps(alpha[r]);
        float* row = o + r * o_stride;
        for (int64_t c = 0; c < o_stride; c += 8) _mm256_storeu_ps(row + c, _mm256_mul_ps(_mm256_loadu_ps(row + c), a));
    }
}

// ---- stage: pv

// O[r0 + r][c .. c + 8 NV) += sum_j P[j][r0 + r] v[j][c .. c + 8 NV) for kPvRows rows. p
// points at P[0][r0], v at v[0][c], o at O[r0][c]. The accumulators stay in registers for
// the whole tile: per key NV loads of v and kPvRows broadcasts feed kPvRows * NV FMAs.
template <int NV>
INKWELL_TARGET_AVX2 inline void pv_block(const float* p, const float* v, int64_t v_stride, int64_t keys, float* o,
                                         int64_t o_stride) {
    __m256 acc[kPvRows][NV];
#pragma GCC unroll 16
    for (int r = 0; r < kPvRows; ++r) {
#pragma GCC unroll 16
        for (int n = 0; n < NV; ++n) acc[r][n] = _mm256_loadu_ps(o + r * o_stride + n * 8);
    }
    for (int64_t j = 0; j < keys; ++j) {
        __m256 value[NV];
#pragma GCC unroll 16
        for (int n = 0; n < NV; ++n) value[n] = _mm256_loadu_ps(v + j * v_stride + n * 8);
#pragma GCC unroll 16
        for (int r = 0; r < kPvRows; ++r) {
            const __m256 weight = _mm256_broadcast_ss(p + j * kGroupRows + r);
#pragma GCC unroll 16
            for (int n = 0; n < NV; ++n) acc[r][n] = _mm256_fmadd_ps(weight, value[n], acc[r][n]);
        }
    }
#pragma GCC unroll 16
    for (int r = 0; r < kPvRows; ++r) {
#pragma GCC unroll 16
        for (int n = 0; n < NV; ++n) _mm256_storeu_ps(o + r * o_stride + n * 8, acc[r][n]);
    }
}

INKWELL_TARGET_AVX2 void tile_pv(const float* p, const float* v, int64_t v_stride, int64_t keys, float* o,
                                 int64_t o_stride) {
    const int vectors = static_cast<int>(o_stride / 8);
    // Column block outer, rows inner: the value slice [keys][block] stays in L1 across the
    // four row blocks.
    for (int c = 0; c < vectors;) {
        // pv_column_block: D = 40 is 3+2 vectors, 80 is 3+3+2+2, 160 is 3x6+2.
        const int width = pv_column_block(vectors - c);
        for (int r0 = 0; r0 < kGroupRows; r0 += kPvRows) {
            const float* pr = p + r0;
            const float* vc = v + c * 8;
            float* oc = o + r0 * o_stride + c * 8;
            switch (width) {
                case 3: pv_block<3>(pr, vc, v_stride, keys, oc, o_stride); break;
                case 2: pv_block<2>(pr, vc, v_stride, keys, oc, o_stride); break;
                default: pv_block<1>(pr, vc, v_stride, keys, oc, o_stride); break;
            }
        }
        c += width;
    }
}

void attention_avx2(ThreadPool& pool, const inkwell_attention_params& p) {
    attention_simd(pool, p, {tile_scores, softmax_update, rescale_rows, tile_pv, 8});
}

#endif  // INKWELL_ATTENTION_X86

}  // namespace

bool attention_avx2_available() {
#if INKWELL_ATTENTION_X86
    return simd_avx2();
#else
    return false;
#endif
}

// ---- Launcher ------------------------------------------------------------------------

void attention_fast(ThreadPool& pool, const inkwell_attention_params& p, AttentionSimd simd) {
    if (simd == AttentionSimd::best) {
        simd = attention_avx512_available() ? AttentionSimd::avx512
               : attention_avx2_available() ? AttentionSimd::avx2
                                            : AttentionSimd::portable;
    }
#if INKWELL_ATTENTION_X86
    if (simd == AttentionSimd::avx512) {
        attention_detail::attention_avx512(pool, p);
        return;
    }
    if (simd == AttentionSimd::avx2) {
        attention_avx2(pool, p);
        return;
    }
#endif
    attention_portable(pool, p);
}

}  // namespace inkwell::cpu
