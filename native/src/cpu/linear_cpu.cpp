// Linear and GEGLU, CPU. Variants:
//   linear_reference, geglu_reference   plain loops in double (tests only).
//   linear_fast, geglu_fast             one GEMM engine, C[M, N] = A[M, K] B[N, K]^T with
//                                       A = x and B = the weight rows, then an epilogue:
//     pack B      once per call, in parallel: the weight rows in panels of NR rows per K
//                 block, kc x NR each (k major). GEGLU interleaves its two halves: panel 2g
//                 holds rows g NR .. of the a half, panel 2g + 1 the same rows of the gate
//                 half, so one column group of NR outputs needs two adjacent panels.
//     tasks       one per (block of rows, range of column groups), no barrier between them.
//                 A task walks its column groups a pass at a time (at most kMaxPassColumns
//                 scratch columns per pass); per pass and K block it runs the micro-kernel
//                 over every (B panel, tile of MR rows) pair, B panel outer so that its
//                 kc x NR floats stay in L1 while the tiles, read from x in place (the
//                 block's rows stay in L2), pass over it. Tiles accumulate into a
//                 per-thread scratch C of full MR x NR tiles.
//     epilogue    after the last K block, per pass: bias and activation (linear), or
//                 (a + b_a) * gelu(gate + b_g) from the two panels of each column group
//                 (GEGLU), written to the output; h never exists beyond one pass's scratch.
// Stages: reference, blocking, packing, epilogues (GEGLU's gelu), tasks, launcher.
//
// Determinism: work is split over output tiles only. Every output sums its K range in the
// same fixed blocks (their length depends on K alone), in order, each block's sum in k order,
// then adds the bias and applies the activation the same way, whatever the thread count.
#include "linear_cpu.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "activations.hpp"
#include "gemm_micro.hpp"

namespace inkwell::cpu {

// ---------------------------------------------------------------------------------------
// Reference
// ---------------------------------------------------------------------------------------

namespace {

// sum_k x[row][k] w[col][k] (+ bias[col]) in double.
double dot_reference(const float* x, const float* w, const float* bias, int64_t k_len, int64_t row, int64_t col) {
    double sum = 0;
    for (int64_t k = 0; k < k_len; ++k) sum += double(x[row * k_len + k]) * double(w[col * k_len + k]);
    if (bias != nullptr) sum += bias[col];
    return sum;
}

}  // namespace

void linear_reference(const inkwell_linear_params& p) {
    const auto* x = static_cast<const float*>(p.input);
    const auto* w = static_cast<const float*>(p.weight);
    const auto* bias = static_cast<const float*>(p.bias);
    auto* out = static_cast<float*>(p.output);
    for (int64_t m = 0; m < p.rows; ++m)
        for (int64_t n = 0; n < p.out_features; ++n)
            out[m * p.out_features + n] =
                float(activation_reference(p.activation, dot_reference(x, w, bias, p.in_features, m, n)));
}

void geglu_reference(const inkwell_geglu_params& p) {
    const auto* x = static_cast<const float*>(p.input);
    const auto* w = static_cast<const float*>(p.weight);
    const auto* bias = static_cast<const float*>(p.bias);
    auto* out = static_cast<float*>(p.output);
    for (int64_t m = 0; m < p.rows; ++m)
        for (int64_t j = 0; j < p.inner_dim; ++j) {
            const double a = dot_reference(x, w, bias, p.in_features, m, j);
            const double gate = dot_reference(x, w, bias, p.in_features, m, p.inner_dim + j);
            out[m * p.inner_dim + j] = float(a * activation_reference(INKWELL_ACTIVATION_GELU, gate));
        }
}

namespace {

using gemm::KernelSpec;
using gemm::MicroTile;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// ---------------------------------------------------------------------------------------
// Blocking
// ---------------------------------------------------------------------------------------

// Tuned on a 2-core Xeon (Sapphire Rapids class: 48 KiB L1d, 2 MiB L2; AVX-512), with the
// AVX2 kernel kept in mind for a 32 KiB L1d / 512 KiB L2 Zen 3:
//  - a K block is at most kMaxKC long: the B panel (kc x NR: 16 KiB for AVX2, 32 KiB for
//    AVX-512) stays in L1 while the row panels stream past it from L2;
//  - a block of rows is about kRowsPerBlock rows, so its slice of x (rows x kc, 96 KiB) and
//    a pass of scratch C (rows x at most kMaxPassColumns, 384 KiB) share L2.
constexpr int64_t kMaxKC = 256;
constexpr int64_t kRowsPerBlock = 96;
constexpr int64_t kMaxPassColumns = 1024;

// K blocks of equal length (to within one) so that no block is a sliver: depends on K only.
struct KBlocks {
    int64_t k, count, len;
    explicit KBlocks(int64_t k_len) : k(k_len), count(ceil_div(k_len, kMaxKC)), len(ceil_div(k_len, count)) {}
    int64_t begin(int64_t b) const { return b * len; }
    int64_t size(int64_t b) const { return std::min(len, k - b * len); }
};

// What one call computes: C = x W^T over `groups` column groups, then the epilogue.
struct Job {
    const float* x;
    const float* w;
    const float* bias;
    float* out;
    int64_t m, k;
    int64_t out_cols;     // columns of the output: out_features, or inner_dim
    int64_t gate_offset;  // GEGLU: first weight (and bias) row of the gate half
    int32_t activation;   // linear only
    bool geglu;
};

struct Plan {
    KernelSpec ks;
    KBlocks kb;
    int64_t ppg;      // B panels per column group: 1 (linear) or 2 (GEGLU: a, gate)
    int64_t groups;   // column groups of NR output columns
    int64_t panels;   // groups * ppg
    int64_t m_tiles;  // MR-row tiles
    int64_t tiles_per_block, m_blocks;
    int64_t n_splits;         // column-group ranges per block of rows
    int64_t groups_per_pass;  // column groups per pass of scratch C

    int64_t tasks() const { return m_blocks * n_splits; }
    // Panel p of K block b in the packed B: blocks one after another, each panels x kc x NR.
    int64_t b_offset(int64_t b, int64_t p) const { return (kb.begin(b) * panels + p * kb.size(b)) * ks.nr; }
};

// Blocks of rows of (nearly) equal size; column splits only when the blocks of rows do not
// share out evenly over the threads (or are too few), the fewest that make the task count a
// multiple of the thread count. Only the split changes with the thread count, never an
// output's arithmetic.
Plan make_plan(const Job& j, const KernelSpec& ks, int threads) {
    Plan p{ks, KBlocks(j.k), j.geglu ? 2 : 1, ceil_div(j.out_cols, ks.nr), 0, ceil_div(j.m, ks.mr), 0, 0, 1, 0};
    p.panels = p.groups * p.ppg;
    const int64_t max_tiles = std::max<int64_t>(1, kRowsPerBlock / ks.mr);
    p.m_blocks = ceil_div(p.m_tiles, max_tiles);
    p.tiles_per_block = ceil_div(p.m_tiles, p.m_blocks);
    p.m_blocks = ceil_div(p.m_tiles, p.tiles_per_block);
    if (p.m_blocks % threads != 0 && p.m_blocks < 8 * int64_t(threads)) {
        int64_t splits = 1;
        while (splits < p.groups && (p.m_blocks * splits) % threads != 0 && splits < 4 * int64_t(threads)) ++splits;
        p.n_splits = splits;
    }
    p.groups_per_pass = std::max<int64_t>(1, kMaxPassColumns / (p.ppg * ks.nr));
    return p;
}

// ---------------------------------------------------------------------------------------
// Packing
// ---------------------------------------------------------------------------------------

// B panel p of K block b: the weight rows of column group p / ppg (of the gate half when p
// is odd in GEGLU), columns k0 .. k0 + kc - 1, as panel[k * NR + q] (k major); rows past the
// output columns are 0.
void pack_b_panel(const Job& j, const Plan& pl, int64_t b, int64_t p, float* packed) {
    const int nr = pl.ks.nr;
    const int64_t group = p / pl.ppg, half = p % pl.ppg;
    const int64_t col0 = group * nr, valid = std::min<int64_t>(nr, j.out_cols - col0);
    const int64_t k0 = pl.kb.begin(b), kc = pl.kb.size(b);
    const float* rows = j.w + (half * j.gate_offset + col0) * j.k + k0;
    float* panel = packed + pl.b_offset(b, p);
    if (valid < nr) std::fill(panel, panel + kc * nr, 0.0f);
    for (int64_t q = 0; q < valid; ++q) {
        const float* src = rows + q * j.k;
        for (int64_t k = 0; k < kc; ++k) panel[k * nr + q] = src[k];
    }
}

constexpr int64_t kPanelsPerPackTask = 8;

// Per-thread scratch, reused across calls; its size is bounded by the blocking constants.
float* thread_scratch(std::vector<float>& buffer, int64_t count) {
    if (buffer.size() < size_t(count)) buffer.resize(size_t(count));
    return buffer.data();
}

float* edge_scratch(int64_t count) {
    thread_local std::vector<float> buffer;
    return thread_scratch(buffer, count);
}

float* c_scratch(int64_t count) {
    thread_local std::vector<float> buffer;
    return thread_scratch(buffer, count);
}

// ---------------------------------------------------------------------------------------
// Epilogues: scratch C (rows x ldc, this pass's column groups from g0) to the output.
// ---------------------------------------------------------------------------------------

// Bias added in float, then the activation over the row in place (apply_activation_span:
// apply_activation's bits, vectorised).
void linear_epilogue(const Job& j, const float* c, int64_t ldc, int64_t row0, int64_t rows, int64_t col0, int64_t cols) {
    for (int64_t r = 0; r < rows; ++r) {
        const float* cr = c + r * ldc;
        float* o = j.out + (row0 + r) * j.out_cols + col0;
        if (j.bias != nullptr) {
            const float* b = j.bias + col0;
            for (int64_t q = 0; q < cols; ++q) o[q] = cr[q] + b[q];
        } else {
            std::memcpy(o, cr, sizeof(float) * size_t(cols));
        }
        if (j.activation != INKWELL_ACTIVATION_NONE) apply_activation_span(j.activation, o, o, cols);
    }
}

// ---- GEGLU's gelu ------------------------------------------------------------------------
// cpu::gelu (activations.hpp: erfc through a Chebyshev fit and a Cody-Waite exp, written out
// as IEEE operations), and gelu8 below, the same operations on eight lanes. Why not
// 1 + erff(z): glibc's scalar erff (+ expf) cost twice the GEMM of SD's GEGLU [8192, 320] ->
// 2 x 1280 here. The tests check both paths against each other and against the double gelu.
// (activations_simd.cpp has the same eight-lane gelu for the activation kernels.)

constexpr float kHalfSqrt2 = kSqrtHalf;
using act::kErfc;
using act::kExpMin;
using act::kExpPoly;
using act::kLn2Hi;
using act::kLn2Lo;
using act::kLog2e;
using act::kTail;

}  // namespace

float geglu_gelu(float x) { return gelu(x); }

namespace {

#ifdef INKWELL_GEMM_X86

__attribute__((target("avx2,fma"))) inline __m256 exp8(__m256 a) {
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(a, _mm256_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-kLn2Hi), a);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(-kLn2Lo), r);
    __m256 p = _mm256_set1_ps(kExpPoly[0]);
    for (int i = 1; i < 6; ++i) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpPoly[i]));
    const __m256 y = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    const __m256i scale = _mm256_slli_epi32(_mm256_cvtps_epi32(n), 23);
    return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(y), scale));
}

__attribute__((target("avx2,fma"))) inline __m256 gelu8(__m256 x) {
    const __m256 z = _mm256_mul_ps(x, _mm256_set1_ps(kHalfSqrt2));
    const __m256 s = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), z);
    const __m256 sc = _mm256_min_ps(s, _mm256_set1_ps(kTail));
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(0.5f), sc, one));
    __m256 p = _mm256_set1_ps(kErfc[0]);
    for (int i = 1; i < 10; ++i) p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(kErfc[i]));
    const __m256 arg = _mm256_max_ps(_mm256_fnmadd_ps(sc, sc, p), _mm256_set1_ps(kExpMin));
    const __m256 e = exp8(arg);
    const __m256 tail = _mm256_cmp_ps(s, _mm256_set1_ps(kTail), _CMP_GT_OQ);
    const __m256 below = _mm256_blendv_ps(_mm256_mul_ps(t, e), _mm256_setzero_ps(), tail);
    const __m256 negative = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    const __m256 factor = _mm256_blendv_ps(_mm256_fnmadd_ps(t, e, _mm256_set1_ps(2.0f)), below, negative);
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), factor);
}

// o[q] = (a[q] + ba[q]) gelu(g[q] + bg[q]) for q < n (biases may be null).
__attribute__((target("avx2,fma"))) void geglu_run_avx2(const float* a, const float* g, const float* ba, const float* bg,
                                                       float* o, int64_t n) {
    int64_t q = 0;
    for (; q + 8 <= n; q += 8) {
        __m256 av = _mm256_loadu_ps(a + q), gv = _mm256_loadu_ps(g + q);
        if (ba != nullptr) av = _mm256_add_ps(av, _mm256_loadu_ps(ba + q));
        if (bg != nullptr) gv = _mm256_add_ps(gv, _mm256_loadu_ps(bg + q));
        _mm256_storeu_ps(o + q, _mm256_mul_ps(av, gelu8(gv)));
    }
    for (; q < n; ++q) {
        const float av = ba != nullptr ? a[q] + ba[q] : a[q], gv = bg != nullptr ? g[q] + bg[q] : g[q];
        o[q] = av * geglu_gelu(gv);
    }
}

#endif

void geglu_run_portable(const float* a, const float* g, const float* ba, const float* bg, float* o, int64_t n) {
    for (int64_t q = 0; q < n; ++q) {
        const float av = ba != nullptr ? a[q] + ba[q] : a[q], gv = bg != nullptr ? g[q] + bg[q] : g[q];
        o[q] = av * geglu_gelu(gv);
    }
}

using GegluRun = void (*)(const float*, const float*, const float*, const float*, float*, int64_t);

// Column group g of the pass sits at scratch columns (g - g0) 2 NR (its a half) and
// (g - g0) 2 NR + NR (its gate half).
void geglu_epilogue(const Job& j, int nr, GegluRun run, const float* c, int64_t ldc, int64_t row0, int64_t rows,
                    int64_t g0, int64_t g1) {
    for (int64_t r = 0; r < rows; ++r) {
        float* o = j.out + (row0 + r) * j.out_cols;
        for (int64_t g = g0; g < g1; ++g) {
            const float* ca = c + r * ldc + (g - g0) * 2 * nr;
            const int64_t col0 = g * nr, valid = std::min<int64_t>(nr, j.out_cols - col0);
            run(ca, ca + nr, j.bias != nullptr ? j.bias + col0 : nullptr,
                j.bias != nullptr ? j.bias + j.gate_offset + col0 : nullptr, o + col0, valid);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Tasks
// ---------------------------------------------------------------------------------------

void multiply_task(const Job& j, const Plan& pl, GegluRun geglu_run, const float* packed_b, int64_t task) {
    const int mr = pl.ks.mr, nr = pl.ks.nr;
    const int64_t block = task / pl.n_splits, split = task % pl.n_splits;
    const int64_t tile0 = block * pl.tiles_per_block, tiles = std::min(pl.m_tiles, tile0 + pl.tiles_per_block) - tile0;
    const int64_t row0 = tile0 * mr, rows = std::min(j.m, row0 + tiles * mr) - row0;
    const int64_t g_begin = pl.groups * split / pl.n_splits, g_end = pl.groups * (split + 1) / pl.n_splits;
    if (g_begin >= g_end) return;
    // Full tiles read x in place; a last tile short of MR rows reads a zero-padded copy of
    // its rows (MR x kc, per K block).
    const int64_t full_tiles = rows / mr, edge_rows = rows % mr;
    float* edge = edge_rows != 0 ? edge_scratch(int64_t(mr) * pl.kb.len) : nullptr;
    for (int64_t g0 = g_begin; g0 < g_end; g0 += pl.groups_per_pass) {
        const int64_t g1 = std::min(g_end, g0 + pl.groups_per_pass);
        const int64_t p0 = g0 * pl.ppg, p1 = g1 * pl.ppg;
        const int64_t ldc = (p1 - p0) * nr;
        float* c = c_scratch(tiles * mr * ldc);
        for (int64_t b = 0; b < pl.kb.count; ++b) {
            const int64_t k0 = pl.kb.begin(b), kc = pl.kb.size(b);
            const float* x_block = j.x + row0 * j.k + k0;
            if (edge != nullptr) {
                std::fill(edge, edge + mr * kc, 0.0f);
                for (int64_t r = 0; r < edge_rows; ++r)
                    std::memcpy(edge + r * kc, x_block + (full_tiles * mr + r) * j.k, sizeof(float) * size_t(kc));
            }
            // B panel outer: its kc x NR floats stay in L1 while the tiles pass over it.
            for (int64_t p = p0; p < p1; ++p) {
                const float* b_panel = packed_b + pl.b_offset(b, p);
                float* c_col = c + (p - p0) * nr;
                for (int64_t t = 0; t < tiles; ++t) {
                    const bool full = t < full_tiles;
                    pl.ks.fn(MicroTile{full ? x_block + t * mr * j.k : edge, full ? j.k : kc, b_panel, kc,
                                       c_col + t * mr * ldc, ldc, b > 0});
                }
            }
        }
        if (j.geglu) {
            geglu_epilogue(j, nr, geglu_run, c, ldc, row0, rows, g0, g1);
        } else {
            const int64_t col0 = g0 * nr, cols = std::min(j.out_cols, g1 * nr) - col0;
            linear_epilogue(j, c, ldc, row0, rows, col0, cols);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Launcher
// ---------------------------------------------------------------------------------------

constexpr KernelSpec kPortable{6, 16, gemm::micro_portable<6, 16>};
#ifdef INKWELL_GEMM_X86
constexpr KernelSpec kAvx2{6, 16, gemm::micro_avx2_6x16<>};
constexpr KernelSpec kAvx512{12, 32, gemm::micro_avx512_12x32<>};
#endif

// The requested kernel, or the widest available one below it; the SIMD kernels come with
// the AVX2 GEGLU epilogue, the portable one with the scalar one (the same bits).
struct Isa {
    KernelSpec ks;
    GegluRun geglu_run;
};

Isa select_isa(LinearIsa isa) {
#ifdef INKWELL_GEMM_X86
    if ((isa == LinearIsa::kAuto || isa == LinearIsa::kAvx512) && gemm::cpu_has_avx512f()) return {kAvx512, geglu_run_avx2};
    if (isa != LinearIsa::kPortable && gemm::cpu_has_avx2_fma()) return {kAvx2, geglu_run_avx2};
#endif
    (void)isa;
    return {kPortable, geglu_run_portable};
}

void run(ThreadPool& pool, const Job& j, LinearIsa isa) {
    const Isa chosen = select_isa(isa);
    const Plan pl = make_plan(j, chosen.ks, pool.threads());
    // Uninitialised: pack_b_panel writes every float of every panel.
    std::unique_ptr<float[]> packed(new float[size_t(j.k * pl.panels * pl.ks.nr)]);
    const int64_t chunks = ceil_div(pl.panels, kPanelsPerPackTask);
    pool.parallel_for(pl.kb.count * chunks, [&](int64_t task) {
        const int64_t b = task / chunks, p0 = (task % chunks) * kPanelsPerPackTask;
        for (int64_t p = p0; p < std::min(pl.panels, p0 + kPanelsPerPackTask); ++p) pack_b_panel(j, pl, b, p, packed.get());
    });
    pool.parallel_for(pl.tasks(), [&](int64_t task) { multiply_task(j, pl, chosen.geglu_run, packed.get(), task); });
}

}  // namespace

bool linear_isa_available(LinearIsa isa) {
    switch (isa) {
        case LinearIsa::kAvx2: return gemm::cpu_has_avx2_fma();
        case LinearIsa::kAvx512: return gemm::cpu_has_avx512f();
        default: return true;
    }
}

void linear_fast(ThreadPool& pool, const inkwell_linear_params& p, LinearIsa isa) {
    const Job j{static_cast<const float*>(p.input), static_cast<const float*>(p.weight),
                static_cast<const float*>(p.bias),  static_cast<float*>(p.output),
                p.rows,                              p.in_features,
                p.out_features,                      0,
                p.activation,                        false};
    run(pool, j, isa);
}

void geglu_fast(ThreadPool& pool, const inkwell_geglu_params& p, LinearIsa isa) {
    const Job j{static_cast<const float*>(p.input), static_cast<const float*>(p.weight),
                static_cast<const float*>(p.bias),  static_cast<float*>(p.output),
                p.rows,                              p.in_features,
                p.inner_dim,                         p.inner_dim,
                INKWELL_ACTIVATION_NONE,             true};
    run(pool, j, isa);
}

}  // namespace inkwell::cpu
