// Element-wise and plumbing kernels, CPU: references (plain loops) and fast paths (fixed
// chunks on the pool). See the header for the semantics of each.
#include "elementwise_cpu.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "activations.hpp"
#include "parallel_chunks.hpp"
#include "simd_dispatch.hpp"

namespace inkwell::cpu {

namespace {

// Elements per task: 64 K floats (256 KiB a stream) make the pool's per-task cost (a lock,
// a wake-up) negligible and leave small tensors on one thread.
constexpr int64_t kChunk = int64_t(1) << 16;

// torch's max pool update: a NaN replaces the maximum, and then nothing but a NaN does.
inline float max_update(float best, float v) { return (v > best || std::isnan(v)) ? v : best; }

}  // namespace

#if defined(__x86_64__)
bool elementwise_has_avx2() { return simd_avx2(); }  // the level in effect (simd_dispatch.hpp)
#else
bool elementwise_has_avx2() { return false; }
#endif

// =======================================================================================
// activation
// =======================================================================================

void activation_reference(const inkwell_activation_params& p) {
    const auto* in = static_cast<const float*>(p.input);
    auto* out = static_cast<float*>(p.output);
    for (int64_t i = 0; i < p.count; ++i) out[i] = apply_activation(p.activation, in[i]);
}

void activation_fast(ThreadPool& pool, const inkwell_activation_params& p) {
    const auto* in = static_cast<const float*>(p.input);
    auto* out = static_cast<float*>(p.output);  // may be `in`: every run reads i before writing i
    // apply_activation_span gives apply_activation's bits, vectorised. The transcendental
    // activations cost ~0.4-1 ns an element there, relu ~0.1: smaller chunks for the former
    // so that a 320x64x64 map spreads over the threads.
    const int64_t chunk = p.activation == INKWELL_ACTIVATION_RELU ? kChunk : kChunk / 8;
    parallel_chunks(pool, p.count, chunk, [&](int64_t begin, int64_t end) {
        apply_activation_span(p.activation, in + begin, out + begin, end - begin);
    });
}

// =======================================================================================
// timestep_embedding
// =======================================================================================

double timestep_frequency(const inkwell_timestep_embedding_params& p, int64_t i) {
    const int64_t half = p.dim / 2;
    // diffusers: exponent = -math.log(max_period) * arange(half); exponent / (half - shift).
    const double exponent = (-std::log(p.max_period) * double(i)) / (double(half) - p.downscale_freq_shift);
    return std::exp(exponent);
}

namespace {

// Row `row` of the embedding from the frequencies; `freq` has half entries.
void embedding_row(const inkwell_timestep_embedding_params& p, const double* freq, int64_t row) {
    const int64_t half = p.dim / 2;
    const double t = double(p.timesteps[row]);
    float* out = p.output + row * p.dim;
    float* sin_part = out + (p.flip_sin_to_cos ? half : 0);
    float* cos_part = out + (p.flip_sin_to_cos ? 0 : half);
    for (int64_t i = 0; i < half; ++i) {
        const double arg = p.scale * (t * freq[i]);  // diffusers: emb = t * freq, then scale * emb
        sin_part[i] = float(std::sin(arg));
        cos_part[i] = float(std::cos(arg));
    }
    if (p.dim % 2 == 1) out[p.dim - 1] = 0.0f;
}

}  // namespace

void timestep_embedding_reference(const inkwell_timestep_embedding_params& p) {
    const int64_t half = p.dim / 2;
    for (int64_t r = 0; r < p.count; ++r)
        for (int64_t c = 0; c < p.dim; ++c) {
            float v = 0.0f;  // the odd dim's padding column
            if (c < 2 * half) {
                const bool first = c < half;
                const int64_t i = first ? c : c - half;
                const double arg = p.scale * (double(p.timesteps[r]) * timestep_frequency(p, i));
                const bool is_sin = first != (p.flip_sin_to_cos != 0);
                v = float(is_sin ? std::sin(arg) : std::cos(arg));
            }
            p.output[r * p.dim + c] = v;
        }
}

void timestep_embedding_fast(ThreadPool& pool, const inkwell_timestep_embedding_params& p) {
    const int64_t half = p.dim / 2;
    std::vector<double> freq(static_cast<size_t>(half));
    for (int64_t i = 0; i < half; ++i) freq[size_t(i)] = timestep_frequency(p, i);
    const int64_t rows_per_task = std::max<int64_t>(1, (kChunk / 16) / p.dim);  // sin and cos are ~30 ns each
    parallel_chunks(pool, p.count, rows_per_task, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) embedding_row(p, freq.data(), r);
    });
}

// =======================================================================================
// add
// =======================================================================================

void add_reference(const inkwell_add_params& p) {
    for (int64_t i = 0; i < p.count; ++i) p.out[i] = p.a[i] + p.b[(i / p.inner) % p.b_count];
}

namespace {

// out[i] = a[i] + b[i] and out[i] = a[i] + v over n elements; out may be a (each lane is read
// before it is written). Float addition rounds the same on any vector width.
void add_vector(float* out, const float* a, const float* b, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

void add_scalar(float* out, const float* a, float v, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = a[i] + v;
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) void add_vector_avx2(float* out, const float* a, const float* b, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    for (; i < n; ++i) out[i] = a[i] + b[i];
}

__attribute__((target("avx2"))) void add_scalar_avx2(float* out, const float* a, float v, int64_t n) {
    const __m256 splat = _mm256_set1_ps(v);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_add_ps(_mm256_loadu_ps(a + i), splat));
    for (; i < n; ++i) out[i] = a[i] + v;
}
#endif

struct AddOps {
    void (*vector)(float*, const float*, const float*, int64_t);
    void (*scalar)(float*, const float*, float, int64_t);
};

// [begin, end) of the output as runs: inner 1 walks b alongside a (runs up to b_count long),
// a larger inner holds one b value per run of up to inner elements.
void add_range(const inkwell_add_params& p, const AddOps& ops, int64_t begin, int64_t end) {
    int64_t i = begin;
    if (p.inner == 1) {
        while (i < end) {
            const int64_t k = i % p.b_count, n = std::min(end - i, p.b_count - k);
            ops.vector(p.out + i, p.a + i, p.b + k, n);
            i += n;
        }
        return;
    }
    while (i < end) {
        const int64_t segment = i / p.inner, n = std::min(end - i, (segment + 1) * p.inner - i);
        const float v = p.b[segment % p.b_count];
        if (n < 8) {  // short runs (inner 2..7): a call per run would cost more than the adds
            for (int64_t j = 0; j < n; ++j) p.out[i + j] = p.a[i + j] + v;
        } else {
            ops.scalar(p.out + i, p.a + i, v, n);
        }
        i += n;
    }
}

}  // namespace

void add_fast(ThreadPool& pool, const inkwell_add_params& p) {
    AddOps ops{add_vector, add_scalar};
#if defined(__x86_64__)
    if (elementwise_has_avx2()) ops = AddOps{add_vector_avx2, add_scalar_avx2};
#endif
    parallel_chunks(pool, p.count, kChunk, [&](int64_t begin, int64_t end) { add_range(p, ops, begin, end); });
}

// =======================================================================================
// cat
// =======================================================================================

void cat_reference(const inkwell_cat_params& p) {
    const int64_t width = p.a_inner + p.b_inner;
    for (int64_t o = 0; o < p.outer; ++o)
        for (int64_t j = 0; j < width; ++j)
            p.out[o * width + j] = j < p.a_inner ? p.a[o * p.a_inner + j] : p.b[o * p.b_inner + (j - p.a_inner)];
}

void cat_fast(ThreadPool& pool, const inkwell_cat_params& p) {
    const int64_t width = p.a_inner + p.b_inner;
    const int64_t rows_per_task = std::max<int64_t>(1, kChunk / width);
    parallel_chunks(pool, p.outer, rows_per_task, [&](int64_t begin, int64_t end) {
        for (int64_t o = begin; o < end; ++o) {
            float* row = p.out + o * width;
            std::memcpy(row, p.a + o * p.a_inner, size_t(p.a_inner) * sizeof(float));
            std::memcpy(row + p.a_inner, p.b + o * p.b_inner, size_t(p.b_inner) * sizeof(float));
        }
    });
}

// =======================================================================================
// transpose
// =======================================================================================

void transpose_reference(const inkwell_transpose_params& p) {
    for (int64_t o = 0; o < p.outer; ++o)
        for (int64_t i = 0; i < p.size0; ++i)
            for (int64_t m = 0; m < p.middle; ++m)
                for (int64_t j = 0; j < p.size1; ++j)
                    for (int64_t k = 0; k < p.inner; ++k) {
                        const int64_t src = (((o * p.size0 + i) * p.middle + m) * p.size1 + j) * p.inner + k;
                        const int64_t dst = (((o * p.size1 + j) * p.middle + m) * p.size0 + i) * p.inner + k;
                        p.output[dst] = p.input[src];
                    }
}

namespace {

// Tiles of kTile x kTile (i, j) pairs: with inner 1 a 32x32 tile touches 32 input lines and
// 32 output lines (4 KiB each way), all in L1 while the tile is copied, so every line
// fetched is used whole instead of one float per fetch.
constexpr int64_t kTile = 32;

// One (o, m) plane as a matrix: input rows i (stride in_row) become output columns (output
// rows j, stride out_row); each element a group of `inner` floats.
struct TransposePlane {
    const float* in;
    float* out;
    int64_t in_row, out_row, inner;
};

// Elements [i0, i1) x [j0, j1) one at a time.
void transpose_block_scalar(const TransposePlane& t, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
        float* dst = t.out + j * t.out_row;
        const float* src = t.in + j * t.inner;
        if (t.inner == 1)
            for (int64_t i = i0; i < i1; ++i) dst[i] = src[i * t.in_row];
        else
            for (int64_t i = i0; i < i1; ++i) std::memcpy(dst + i * t.inner, src + i * t.in_row, size_t(t.inner) * sizeof(float));
    }
}

#if defined(__x86_64__)
// inner 1: 8x8 blocks in registers (unpack, shuffle, swap 128-bit halves: the textbook
// AVX transpose; only moves, so the same bits), the ragged edges of the tile one by one.
__attribute__((target("avx2"))) void transpose_tile_avx2(const TransposePlane& t, int64_t i0, int64_t i1, int64_t j0,
                                                         int64_t j1) {
    int64_t j = j0;
    for (; j + 8 <= j1; j += 8) {
        int64_t i = i0;
        for (; i + 8 <= i1; i += 8) {
            const float* src = t.in + i * t.in_row + j;
            __m256 r[8];
            for (int k = 0; k < 8; ++k) r[k] = _mm256_loadu_ps(src + k * t.in_row);
            const __m256 a0 = _mm256_unpacklo_ps(r[0], r[1]), a1 = _mm256_unpackhi_ps(r[0], r[1]);
            const __m256 a2 = _mm256_unpacklo_ps(r[2], r[3]), a3 = _mm256_unpackhi_ps(r[2], r[3]);
            const __m256 a4 = _mm256_unpacklo_ps(r[4], r[5]), a5 = _mm256_unpackhi_ps(r[4], r[5]);
            const __m256 a6 = _mm256_unpacklo_ps(r[6], r[7]), a7 = _mm256_unpackhi_ps(r[6], r[7]);
            const __m256 b0 = _mm256_shuffle_ps(a0, a2, _MM_SHUFFLE(1, 0, 1, 0));
            const __m256 b1 = _mm256_shuffle_ps(a0, a2, _MM_SHUFFLE(3, 2, 3, 2));
            const __m256 b2 = _mm256_shuffle_ps(a1, a3, _MM_SHUFFLE(1, 0, 1, 0));
            const __m256 b3 = _mm256_shuffle_ps(a1, a3, _MM_SHUFFLE(3, 2, 3, 2));
            const __m256 b4 = _mm256_shuffle_ps(a4, a6, _MM_SHUFFLE(1, 0, 1, 0));
            const __m256 b5 = _mm256_shuffle_ps(a4, a6, _MM_SHUFFLE(3, 2, 3, 2));
            const __m256 b6 = _mm256_shuffle_ps(a5, a7, _MM_SHUFFLE(1, 0, 1, 0));
            const __m256 b7 = _mm256_shuffle_ps(a5, a7, _MM_SHUFFLE(3, 2, 3, 2));
            float* dst = t.out + j * t.out_row + i;  // output row j + k holds input column j + k
            _mm256_storeu_ps(dst + 0 * t.out_row, _mm256_permute2f128_ps(b0, b4, 0x20));
            _mm256_storeu_ps(dst + 1 * t.out_row, _mm256_permute2f128_ps(b1, b5, 0x20));
            _mm256_storeu_ps(dst + 2 * t.out_row, _mm256_permute2f128_ps(b2, b6, 0x20));
            _mm256_storeu_ps(dst + 3 * t.out_row, _mm256_permute2f128_ps(b3, b7, 0x20));
            _mm256_storeu_ps(dst + 4 * t.out_row, _mm256_permute2f128_ps(b0, b4, 0x31));
            _mm256_storeu_ps(dst + 5 * t.out_row, _mm256_permute2f128_ps(b1, b5, 0x31));
            _mm256_storeu_ps(dst + 6 * t.out_row, _mm256_permute2f128_ps(b2, b6, 0x31));
            _mm256_storeu_ps(dst + 7 * t.out_row, _mm256_permute2f128_ps(b3, b7, 0x31));
        }
        transpose_block_scalar(t, i, i1, j, j + 8);
    }
    transpose_block_scalar(t, i0, i1, j, j1);
}
#endif

}  // namespace

void transpose_fast(ThreadPool& pool, const inkwell_transpose_params& p) {
    // A unit: one (o, m) plane and kTile columns j of it, all rows i, tile by tile.
    const int64_t tiles_j = (p.size1 + kTile - 1) / kTile;
    const int64_t units = p.outer * p.middle * tiles_j;
    const int64_t unit_elements = p.size0 * std::min(p.size1, kTile) * p.inner;
    const int64_t units_per_task = std::max<int64_t>(1, kChunk / unit_elements);
    const bool wide = p.inner == 1 && elementwise_has_avx2();
    parallel_chunks(pool, units, units_per_task, [&](int64_t begin, int64_t end) {
        for (int64_t u = begin; u < end; ++u) {
            const int64_t tile = u % tiles_j, plane = u / tiles_j;
            const int64_t m = plane % p.middle, o = plane / p.middle;
            const TransposePlane t{p.input + ((o * p.size0 * p.middle + m) * p.size1) * p.inner,
                                   p.output + ((o * p.size1 * p.middle + m) * p.size0) * p.inner,
                                   p.middle * p.size1 * p.inner, p.middle * p.size0 * p.inner, p.inner};
            const int64_t j0 = tile * kTile, j1 = std::min(p.size1, j0 + kTile);
            for (int64_t i0 = 0; i0 < p.size0; i0 += kTile) {
                const int64_t i1 = std::min(p.size0, i0 + kTile);
#if defined(__x86_64__)
                if (wide) {
                    transpose_tile_avx2(t, i0, i1, j0, j1);
                    continue;
                }
#endif
                transpose_block_scalar(t, i0, i1, j0, j1);
            }
        }
    });
}

// =======================================================================================
// max_pool2d
// =======================================================================================

void max_pool2d_reference(const inkwell_max_pool2d_params& p) {
    const int64_t planes = p.batch * p.channels;
    for (int64_t n = 0; n < planes; ++n) {
        const float* in = p.input + n * p.in_height * p.in_width;
        float* out = p.output + n * p.out_height * p.out_width;
        for (int64_t oy = 0; oy < p.out_height; ++oy)
            for (int64_t ox = 0; ox < p.out_width; ++ox) {
                const int64_t y0 = oy * p.stride_h - p.pad_h, x0 = ox * p.stride_w - p.pad_w;
                float best = -INFINITY;  // the padding
                for (int64_t y = std::max<int64_t>(y0, 0); y < std::min(y0 + p.kernel_h, p.in_height); ++y)
                    for (int64_t x = std::max<int64_t>(x0, 0); x < std::min(x0 + p.kernel_w, p.in_width); ++x)
                        best = max_update(best, in[y * p.in_width + x]);
                out[oy * p.out_width + ox] = best;
            }
    }
}

namespace {

struct Span {
    int64_t begin, end;  // clamped to the input
};

Span window(int64_t o, int64_t stride, int64_t pad, int64_t kernel, int64_t size) {
    const int64_t start = o * stride - pad;
    return Span{std::max<int64_t>(start, 0), std::min(start + kernel, size)};
}

// acc[ox] = max_update(acc[ox], src[ox * stride]) for ox in [0, n): the interior columns'
// update for one input row and one kernel column. Branch-free (a compare, an unordered
// compare and a select per lane), so it vectorises; the selection is max_update's.
inline __attribute__((always_inline)) void max_update_columns(float* acc, const float* src, int64_t stride, int64_t n) {
    for (int64_t ox = 0; ox < n; ++ox) {
        const float v = src[ox * stride];
        acc[ox] = ((v > acc[ox]) | (v != v)) ? v : acc[ox];
    }
}

void max_update_columns_plain(float* acc, const float* src, int64_t stride, int64_t n) {
    max_update_columns(acc, src, stride, n);
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) void max_update_columns_avx2(float* acc, const float* src, int64_t stride, int64_t n) {
    if (stride == 1)  // the common case, as a constant: contiguous loads
        max_update_columns(acc, src, 1, n);
    else
        max_update_columns(acc, src, stride, n);
}
#endif

// The output columns whose window lies inside the input: [lo, hi).
struct Interior {
    int64_t lo, hi;
};

Interior interior_columns(const inkwell_max_pool2d_params& p) {
    const int64_t lo = std::min(p.out_width, (p.pad_w + p.stride_w - 1) / p.stride_w);  // ox * stride_w >= pad_w
    const int64_t room = p.in_width + p.pad_w - p.kernel_w;                            // ox * stride_w <= room
    const int64_t hi = room < 0 ? 0 : std::min(p.out_width, room / p.stride_w + 1);
    return Interior{lo, std::max(lo, hi)};
}

}  // namespace

// Each output row keeps one accumulator per output column and takes the window's input rows
// in order; within a row, the kernel's columns in order. So each output sees its window in
// the reference's order (rows, then columns, ascending), and gets the reference's bits,
// ties between -0 and +0 and the NaN that wins included.
void max_pool2d_fast(ThreadPool& pool, const inkwell_max_pool2d_params& p) {
    std::vector<Span> cols(static_cast<size_t>(p.out_width));
    for (int64_t ox = 0; ox < p.out_width; ++ox) cols[size_t(ox)] = window(ox, p.stride_w, p.pad_w, p.kernel_w, p.in_width);
    const Interior mid = interior_columns(p);
    auto update = max_update_columns_plain;
#if defined(__x86_64__)
    if (elementwise_has_avx2()) update = max_update_columns_avx2;
#endif
    const int64_t rows = p.batch * p.channels * p.out_height;
    // About kChunk window reads a task.
    const int64_t work_per_row = std::max<int64_t>(1, p.out_width * p.kernel_h * p.kernel_w);
    const int64_t rows_per_task = std::max<int64_t>(1, kChunk / work_per_row);
    parallel_chunks(pool, rows, rows_per_task, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
            const int64_t n = r / p.out_height, oy = r % p.out_height;
            const float* plane = p.input + n * p.in_height * p.in_width;
            float* acc = p.output + r * p.out_width;  // the output row is the accumulator
            std::fill(acc, acc + p.out_width, -INFINITY);  // the padding
            const Span ys = window(oy, p.stride_h, p.pad_h, p.kernel_h, p.in_height);
            for (int64_t y = ys.begin; y < ys.end; ++y) {
                const float* line = plane + y * p.in_width;
                for (int64_t ox = 0; ox < p.out_width; ++ox) {
                    if (ox == mid.lo) ox = mid.hi;  // the interior below, kernel column by column
                    if (ox >= p.out_width) break;
                    for (int64_t x = cols[size_t(ox)].begin; x < cols[size_t(ox)].end; ++x) acc[ox] = max_update(acc[ox], line[x]);
                }
                if (mid.hi > mid.lo)
                    for (int64_t dx = 0; dx < p.kernel_w; ++dx)
                        update(acc + mid.lo, line + mid.lo * p.stride_w - p.pad_w + dx, p.stride_w, mid.hi - mid.lo);
            }
        }
    });
}

}  // namespace inkwell::cpu
