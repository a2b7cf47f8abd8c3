// Conv2d, CPU. Variants:
//   conv2d_reference   direct loops in double precision (tests only).
//   conv2d_fast, GEMM  per image and group, out[co][p] = sum_k W[co][k] * col[k][p] with
//                      k = (ci, kh, kw) and p = (oh, ow): W is used in place (each of its rows
//                      is contiguous in k), col is the im2col matrix, packed on the fly in
//                      panels of kNR pixels for one K block at a time; a kMR x kNR micro-kernel
//                      keeps its tile of out in registers.
//   conv2d_fast, direct groups with fewer than kMinGemmRows output channels (depthwise):
//                      per output plane, one fused multiply-add pass per tap.
// Stages: geometry, im2col rows, packing, micro-kernels, GEMM tasks, epilogue, launcher.
//
// Determinism: work is split over output tiles only. Every output sums its K range in fixed
// blocks of a length that depends on K alone, in the same order, whatever the thread count.
#include "conv2d_cpu.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define INKWELL_CONV2D_X86 1
#endif

namespace inkwell::cpu {

namespace {

// The params' data pointers as float32 (this file serves inkwell_conv2d_f32; the 16-bit
// entries widen their tensors first, see conv2d.cpp).
const float* input_of(const inkwell_conv2d_params& p) { return static_cast<const float*>(p.input); }
const float* weight_of(const inkwell_conv2d_params& p) { return static_cast<const float*>(p.weight); }
const float* bias_of(const inkwell_conv2d_params& p) { return static_cast<const float*>(p.bias); }
float* output_of(const inkwell_conv2d_params& p) { return static_cast<float*>(p.output); }


// ---------------------------------------------------------------------------------------
// Geometry
// ---------------------------------------------------------------------------------------

struct Geometry {
    int64_t batch, cin, h, w, cout, kh, kw, sh, sw, ph, pw, dh, dw, groups, oh, ow;
    int64_t cin_g, cout_g;  // channels per group
    int64_t taps;           // kh * kw
    int64_t k_len;          // reduction length cin_g * taps
    int64_t pixels;         // oh * ow

    explicit Geometry(const inkwell_conv2d_params& p)
        : batch(p.batch), cin(p.in_channels), h(p.in_height), w(p.in_width), cout(p.out_channels),
          kh(p.kernel_h), kw(p.kernel_w), sh(p.stride_h), sw(p.stride_w), ph(p.pad_h), pw(p.pad_w),
          dh(p.dilation_h), dw(p.dilation_w), groups(p.groups), oh(p.out_height), ow(p.out_width),
          cin_g(cin / groups), cout_g(cout / groups), taps(kh * kw), k_len(cin_g * taps), pixels(oh * ow) {}
};

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

float silu(float v) { return v / (1.0f + std::exp(-v)); }

// ---------------------------------------------------------------------------------------
// Reference
// ---------------------------------------------------------------------------------------

}  // namespace

void conv2d_reference(const inkwell_conv2d_params& p) {
    const Geometry g(p);
    for (int64_t n = 0; n < g.batch; ++n)
        for (int64_t co = 0; co < g.cout; ++co) {
            const int64_t c0 = (co / g.cout_g) * g.cin_g;
            for (int64_t y = 0; y < g.oh; ++y)
                for (int64_t x = 0; x < g.ow; ++x) {
                    double sum = 0;
                    for (int64_t ci = 0; ci < g.cin_g; ++ci)
                        for (int64_t i = 0; i < g.kh; ++i)
                            for (int64_t j = 0; j < g.kw; ++j) {
                                const int64_t iy = y * g.sh - g.ph + i * g.dh, ix = x * g.sw - g.pw + j * g.dw;
                                if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
                                const double xv = input_of(p)[((n * g.cin + c0 + ci) * g.h + iy) * g.w + ix];
                                const double wv = weight_of(p)[((co * g.cin_g + ci) * g.kh + i) * g.kw + j];
                                sum += xv * wv;
                            }
                    if (p.bias != nullptr) sum += bias_of(p)[co];
                    if (p.activation == INKWELL_ACTIVATION_SILU) sum = sum / (1.0 + std::exp(-sum));
                    output_of(p)[((n * g.cout + co) * g.oh + y) * g.ow + x] = static_cast<float>(sum);
                }
        }
}

namespace {

// ---------------------------------------------------------------------------------------
// im2col rows
// ---------------------------------------------------------------------------------------

// Row (i, j) of the im2col matrix of one input plane, for output pixels p0 .. p0 + count - 1:
// out[q] = plane[iy][ix] of pixel p0 + q, or 0 in the padding. Works a run of one output row
// at a time so that the in-bounds part is one copy (a memcpy at stride 1).
void im2col_row(const Geometry& g, const float* plane, int64_t i, int64_t j, int64_t p0, int64_t count, float* out) {
    int64_t y = p0 / g.ow, x = p0 % g.ow;
    for (int64_t q = 0; q < count; x = 0, ++y) {
        const int64_t run = std::min(g.ow - x, count - q);
        float* dst = out + q;
        q += run;
        const int64_t iy = y * g.sh - g.ph + i * g.dh;
        if (iy < 0 || iy >= g.h) {
            std::fill(dst, dst + run, 0.0f);
            continue;
        }
        // Output columns t in [lo, hi) of the run read inside the row: 0 <= ix0 + t sw < w.
        const int64_t ix0 = x * g.sw - g.pw + j * g.dw;
        const int64_t lo = std::min(run, ix0 >= 0 ? 0 : ceil_div(-ix0, g.sw));
        const int64_t hi = std::clamp<int64_t>(ix0 >= g.w ? 0 : ceil_div(g.w - ix0, g.sw), lo, run);
        const float* src = plane + iy * g.w + ix0;
        std::fill(dst, dst + lo, 0.0f);
        if (g.sw == 1) {
            std::memcpy(dst + lo, src + lo, sizeof(float) * (hi - lo));
        } else {
            for (int64_t t = lo; t < hi; ++t) dst[t] = src[t * g.sw];
        }
        std::fill(dst + hi, dst + run, 0.0f);
    }
}

// ---------------------------------------------------------------------------------------
// Blocking and packing
// ---------------------------------------------------------------------------------------

// Micro-tile: kMR output channels x kNR output pixels, 12 of the 16 ymm registers as
// accumulators, 2 loads + 6 broadcasts per 12 FMAs (the BLIS Haswell/Zen shape; 4x24 was not
// tried). Pixels along the vectors keep the output stores contiguous in NCHW.
constexpr int kMR = 6;
constexpr int kNR = 16;

// Cache blocking, for a 32 KiB L1d / 512 KiB L2 (Zen 3) and similar:
//  - a K block is at most kMaxKC long, so the packed col panel of kNR pixels (16 KiB) stays
//    in L1 while the tiles walk the channel rows of their task;
//  - a pixel block has kPixelsPerTask pixels and tiles pass over it kMaxRowsPerTask channel
//    rows at a time, so the packed col block (KC x pixels) and those rows' packed weights
//    (rows x KC) share L2.
// Measured on a shared 2-core Zen 3 VM (noisy: +-15% run to run), single thread: KC 128 was
// ~10% slower than 256, KC 384 and 144 rows per task no better, 128 pixels per block ~10%
// slower, 512 no better.
constexpr int64_t kMaxKC = 256;
constexpr int64_t kPixelsPerTask = 256;
constexpr int64_t kMaxRowsPerTask = 96;

// Fewer output channels per group than this (depthwise) go to the direct path: a 6-row tile
// would be mostly empty.
constexpr int64_t kMinGemmRows = 3;

// K blocks of equal length (to within one) so that no block is a sliver: depends on K only.
struct KBlocks {
    int64_t count, len;
    explicit KBlocks(int64_t k) : count(ceil_div(k, kMaxKC)), len(ceil_div(k, ceil_div(k, kMaxKC))) {}
    int64_t begin(int64_t b) const { return b * len; }
    int64_t size(int64_t b, int64_t k) const { return std::min(len, k - b * len); }
};

// Packs im2col rows k0 .. k0 + kc - 1 of one image group (x_group: its first channel plane)
// for pixels p0 .. p0 + count - 1 into panels of kNR pixels: panel t holds row kk at
// packed[(t * kc + kk) * kNR]. row is scratch of round_up(count, kNR) floats whose tail is 0,
// so the last panel is zero-padded.
void pack_col_block(const Geometry& g, const float* x_group, int64_t k0, int64_t kc, int64_t p0, int64_t count,
                    float* row, float* packed) {
    const int64_t panels = ceil_div(count, kNR);
    for (int64_t kk = 0; kk < kc; ++kk) {
        const int64_t k = k0 + kk, ci = k / g.taps, tap = k % g.taps;
        im2col_row(g, x_group + ci * g.h * g.w, tap / g.kw, tap % g.kw, p0, count, row);
        for (int64_t t = 0; t < panels; ++t)
            std::memcpy(packed + (t * kc + kk) * kNR, row + t * kNR, sizeof(float) * kNR);
    }
}

// Packs weight rows 0 .. rows - 1 (row r at w + r * ldw), columns 0 .. kc - 1, into panels
// of kMR rows: panel t holds column k at packed[(t * kc + k) * kMR]; missing rows are 0.
// One contiguous stream per tile instead of kMR strided ones: ~15% faster on 3x3 320.
void pack_weight_block(const float* w, int64_t ldw, int64_t rows, int64_t kc, float* packed) {
    for (int64_t r0 = 0; r0 < rows; r0 += kMR) {
        float* panel = packed + (r0 / kMR) * kc * kMR;
        const int64_t valid = std::min<int64_t>(kMR, rows - r0);
        if (valid < kMR) std::fill(panel, panel + kc * kMR, 0.0f);
        for (int64_t r = 0; r < valid; ++r) {
            const float* src = w + (r0 + r) * ldw;
            for (int64_t k = 0; k < kc; ++k) panel[k * kMR + r] = src[k];
        }
    }
}

// ---------------------------------------------------------------------------------------
// Micro-kernels: c[r][q] (+)= sum_k a[r * lda + k] * b[k * kNR + q] over one K block.
// ---------------------------------------------------------------------------------------

struct Tile {
    const float* a;  // packed weight panel, kc x kMR (rows past the valid ones are 0)
    const float* b;  // packed col panel, kc x kNR
    int64_t kc;
    float* c;  // output at (first channel, first pixel)
    int64_t ldc;
    int rows, cols;   // the valid part, <= kMR x kNR
    bool accumulate;  // add to c (every K block but the first)
};

using MicroKernel = void (*)(const Tile&);

// Writes a full kMR x kNR tile computed in acc to the valid part of c.
void store_tile(const Tile& t, const float (&acc)[kMR][kNR]) {
    for (int r = 0; r < t.rows; ++r) {
        float* c = t.c + r * t.ldc;
        for (int q = 0; q < t.cols; ++q) c[q] = t.accumulate ? c[q] + acc[r][q] : acc[r][q];
    }
}

void micro_kernel_portable(const Tile& t) {
    float acc[kMR][kNR] = {};
    for (int64_t k = 0; k < t.kc; ++k) {
        const float* a = t.a + k * kMR;
        const float* b = t.b + k * kNR;
        for (int r = 0; r < kMR; ++r) {
            const float av = a[r];
            for (int q = 0; q < kNR; ++q) acc[r][q] += av * b[q];
        }
    }
    store_tile(t, acc);
}

#ifdef INKWELL_CONV2D_X86

// The AVX2 micro-kernel: 12 accumulators, per k two loads of the col panel and one
// broadcast per row. The unroll pragmas matter: without them GCC keeps acc in memory and
// stores it every iteration. Unrolling k by 4 gained nothing measurable.
__attribute__((target("avx2,fma"))) void micro_kernel_avx2(const Tile& t) {
    __m256 acc[kMR][2];
#pragma GCC unroll 6
    for (int r = 0; r < kMR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    const float* a = t.a;
    const float* b = t.b;
    const int64_t kc = t.kc;
    for (int64_t k = 0; k < kc; ++k, a += kMR, b += kNR) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
        for (int r = 0; r < kMR; ++r) {
            const __m256 av = _mm256_broadcast_ss(a + r);
            acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
        }
    }
    if (t.rows == kMR && t.cols == kNR) {
#pragma GCC unroll 6
        for (int r = 0; r < kMR; ++r) {
            float* c = t.c + r * t.ldc;
            if (t.accumulate) {
                acc[r][0] = _mm256_add_ps(_mm256_loadu_ps(c), acc[r][0]);
                acc[r][1] = _mm256_add_ps(_mm256_loadu_ps(c + 8), acc[r][1]);
            }
            _mm256_storeu_ps(c, acc[r][0]);
            _mm256_storeu_ps(c + 8, acc[r][1]);
        }
        return;
    }
    float spill[kMR][kNR];
#pragma GCC unroll 6
    for (int r = 0; r < kMR; ++r) {
        _mm256_storeu_ps(spill[r], acc[r][0]);
        _mm256_storeu_ps(spill[r] + 8, acc[r][1]);
    }
    store_tile(t, spill);
}

bool cpu_has_avx2_fma() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#else

bool cpu_has_avx2_fma() { return false; }

#endif

MicroKernel select_micro_kernel(Conv2dIsa isa) {
#ifdef INKWELL_CONV2D_X86
    if (isa == Conv2dIsa::kAuto && cpu_has_avx2_fma()) return micro_kernel_avx2;
#endif
    (void)isa;
    return micro_kernel_portable;
}

// ---------------------------------------------------------------------------------------
// Epilogue: bias, then SiLU, on a block of output rows after the last K block.
// ---------------------------------------------------------------------------------------

void epilogue(const inkwell_conv2d_params& p, int64_t co0, int64_t rows, float* out, int64_t ld, int64_t count) {
    const bool silu_on = p.activation == INKWELL_ACTIVATION_SILU;
    if (p.bias == nullptr && !silu_on) return;
    for (int64_t r = 0; r < rows; ++r) {
        float* o = out + r * ld;
        if (p.bias != nullptr) {
            const float b = bias_of(p)[co0 + r];
            for (int64_t q = 0; q < count; ++q) o[q] += b;
        }
        if (silu_on) {
            for (int64_t q = 0; q < count; ++q) o[q] = silu(o[q]);
        }
    }
}

// ---------------------------------------------------------------------------------------
// GEMM: weights packed once per call, then independent tasks with no barrier between them.
//   pack weights  one task per (group, K block): all of the group's rows in kMR-row panels;
//   multiply      one task per (image, pixel block, row range): for each K block in order,
//                 pack that block's im2col panels for the task's pixels into per-thread
//                 scratch (kept in L2), then run every tile of the row range over them; the
//                 epilogue after the last K block.
// A task normally owns all rows of its pixels, so each im2col panel is packed exactly once;
// only when pixel blocks are too few to share out evenly are rows split as well, and each
// split re-packs the panels it needs (about 1/rows of the multiply work per split).
// When every weight meets only one pixel block (one image of at most kPixelsPerTask
// pixels: the 16x16 U-Net level) packing them up front buys no reuse and costs a buffer as
// large as the weights (59 MB at 1280 channels, page faults and all): each task then packs
// the weights of its tiles per K block into per-thread scratch instead.
// ---------------------------------------------------------------------------------------

struct GemmPlan {
    KBlocks kb;
    int64_t tiles;         // kMR-row tiles per group
    int64_t pixel_blocks;  // per image
    int64_t row_splits;    // row ranges per pixel block
    bool prepacked;        // weights packed once per call (else per task, into scratch)
    int64_t tasks() const { return pixel_blocks * row_splits; }
    // Floats of one (group, K block) slot of packed weights: every tile's kc x kMR panel.
    int64_t weight_slot() const { return tiles * kb.len * kMR; }
};

// Row splits: 1 when the pixel blocks of all images and groups share out evenly over the
// threads (or are plenty), else the fewest splits that make the task count a multiple of
// the thread count. Only the split changes with the thread count, never an output's sum.
GemmPlan plan_gemm(const Geometry& g, int threads) {
    GemmPlan plan{KBlocks(g.k_len), ceil_div(g.cout_g, kMR), ceil_div(g.pixels, kPixelsPerTask), 1, false};
    plan.prepacked = g.batch * plan.pixel_blocks > 1;
    const int64_t outer = g.batch * g.groups * plan.pixel_blocks;
    if (outer % threads != 0 && outer < 8 * int64_t(threads)) {
        int64_t splits = 1;
        while (splits < plan.tiles && (outer * splits) % threads != 0 && splits < 4 * int64_t(threads)) ++splits;
        plan.row_splits = splits;
    }
    return plan;
}

// One im2col row of scratch per thread, reused across calls (its tail past the pixel count
// must be 0: pack_col_block copies whole panels).
std::vector<float>& im2col_scratch() {
    thread_local std::vector<float> row;
    row.assign(kPixelsPerTask, 0.0f);
    return row;
}

// The packed weights of one pass of tiles over one K block when they are not prepacked, per
// thread and reused across calls.
float* weight_scratch() {
    thread_local std::vector<float> block(kMaxRowsPerTask * kMaxKC);
    return block.data();
}

// The packed im2col panels of one K block for one pixel block, per thread, reused across
// calls: at most kMaxKC x kPixelsPerTask floats (256 KiB), sized to stay in L2.
float* col_scratch() {
    thread_local std::vector<float> block(kMaxKC * kPixelsPerTask);
    return block.data();
}

void pack_weight_task(const inkwell_conv2d_params& p, const Geometry& g, const GemmPlan& plan, float* packed,
                      int64_t task) {
    const int64_t group = task / plan.kb.count, b = task % plan.kb.count;
    const int64_t k0 = plan.kb.begin(b), kc = plan.kb.size(b, g.k_len);
    pack_weight_block(weight_of(p) + group * g.cout_g * g.k_len + k0, g.k_len, g.cout_g, kc,
                      packed + task * plan.weight_slot());
}

// Tiles of a row range pass over an L1-resident im2col panel in sub-blocks of at most
// kMaxRowsPerTask rows, so the sub-block's packed weights (rows x KC) stay in L2 beside the
// K block's panels.
void multiply_task(const inkwell_conv2d_params& p, const Geometry& g, const GemmPlan& plan, const float* packed_weights,
                   MicroKernel kernel, int64_t task) {
    const int64_t split = task % plan.row_splits, outer = task / plan.row_splits;
    const int64_t pixel_block = outer % plan.pixel_blocks, image_group = outer / plan.pixel_blocks;
    const int64_t group = image_group % g.groups, image = image_group / g.groups;
    const int64_t p0 = pixel_block * kPixelsPerTask, count = std::min(kPixelsPerTask, g.pixels - p0);
    const int64_t t_begin = plan.tiles * split / plan.row_splits, t_end = plan.tiles * (split + 1) / plan.row_splits;
    const int64_t r_begin = t_begin * kMR, r_end = std::min(g.cout_g, t_end * kMR);
    if (r_begin >= r_end) return;
    const float* x_group = input_of(p) + (image * g.cin + group * g.cin_g) * g.h * g.w;
    float* out = output_of(p) + (image * g.cout + group * g.cout_g) * g.pixels + p0;
    float* cols = col_scratch();
    float* row = im2col_scratch().data();
    constexpr int64_t kTilesPerPass = kMaxRowsPerTask / kMR;
    for (int64_t b = 0; b < plan.kb.count; ++b) {
        const int64_t k0 = plan.kb.begin(b), kc = plan.kb.size(b, g.k_len);
        pack_col_block(g, x_group, k0, kc, p0, count, row, cols);
        for (int64_t t0 = t_begin; t0 < t_end; t0 += kTilesPerPass) {
            const int64_t t1 = std::min(t_end, t0 + kTilesPerPass);
            // Tile t's panel for this K block is at pass_weights + (t - t0) * kc * kMR.
            const float* pass_weights;
            if (plan.prepacked) {
                pass_weights = packed_weights + (group * plan.kb.count + b) * plan.weight_slot() + t0 * kc * kMR;
            } else {
                float* scratch = weight_scratch();
                const int64_t r0 = t0 * kMR;
                pack_weight_block(weight_of(p) + (group * g.cout_g + r0) * g.k_len + k0, g.k_len,
                                  std::min(g.cout_g, t1 * kMR) - r0, kc, scratch);
                pass_weights = scratch;
            }
            // Pixel panel outer, so its kc x 16 floats stay in L1 while the tiles pass over it.
            for (int64_t q = 0; q < count; q += kNR) {
                const float* panel = cols + (q / kNR) * kc * kNR;
                for (int64_t t = t0; t < t1; ++t) {
                    const int64_t r = t * kMR;
                    Tile tile{pass_weights + (t - t0) * kc * kMR, panel, kc, out + r * g.pixels + q, g.pixels,
                              int(std::min<int64_t>(kMR, g.cout_g - r)), int(std::min<int64_t>(kNR, count - q)), b > 0};
                    kernel(tile);
                }
            }
        }
    }
    epilogue(p, group * g.cout_g + r_begin, r_end - r_begin, out + r_begin * g.pixels, g.pixels, count);
}

void conv2d_gemm(ThreadPool& pool, const inkwell_conv2d_params& p, const Geometry& g, MicroKernel kernel) {
    const GemmPlan plan = plan_gemm(g, pool.threads());
    // Uninitialised: pack_weight_block writes every float of every slot's used panels.
    std::unique_ptr<float[]> packed;
    if (plan.prepacked) {
        packed.reset(new float[g.groups * plan.kb.count * plan.weight_slot()]);
        pool.parallel_for(g.groups * plan.kb.count,
                          [&](int64_t task) { pack_weight_task(p, g, plan, packed.get(), task); });
    }
    pool.parallel_for(g.batch * g.groups * plan.tasks(),
                      [&](int64_t task) { multiply_task(p, g, plan, packed.get(), kernel, task); });
}

// ---------------------------------------------------------------------------------------
// Direct path: one output plane per task, taps accumulated in order.
// ---------------------------------------------------------------------------------------

void direct_plane(const inkwell_conv2d_params& p, const Geometry& g, int64_t plane) {
    const int64_t n = plane / g.cout, co = plane % g.cout;
    const float* x_group = input_of(p) + (n * g.cin + (co / g.cout_g) * g.cin_g) * g.h * g.w;
    const float* w = weight_of(p) + co * g.k_len;
    float* out = output_of(p) + plane * g.pixels;
    constexpr int64_t kChunk = 512;
    float acc[kChunk], row[kChunk];
    for (int64_t p0 = 0; p0 < g.pixels; p0 += kChunk) {
        const int64_t count = std::min(kChunk, g.pixels - p0);
        std::fill(acc, acc + count, 0.0f);
        for (int64_t k = 0; k < g.k_len; ++k) {
            const int64_t ci = k / g.taps, tap = k % g.taps;
            im2col_row(g, x_group + ci * g.h * g.w, tap / g.kw, tap % g.kw, p0, count, row);
            const float wk = w[k];
            for (int64_t q = 0; q < count; ++q) acc[q] += wk * row[q];
        }
        std::memcpy(out + p0, acc, sizeof(float) * count);
    }
    epilogue(p, co, 1, out, g.pixels, g.pixels);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Launcher
// ---------------------------------------------------------------------------------------

bool conv2d_has_avx2() { return cpu_has_avx2_fma(); }

void conv2d_fast(ThreadPool& pool, const inkwell_conv2d_params& p, Conv2dIsa isa) {
    const Geometry g(p);
    if (g.cout_g < kMinGemmRows) {
        pool.parallel_for(g.batch * g.cout, [&](int64_t plane) { direct_plane(p, g, plane); });
        return;
    }
    conv2d_gemm(pool, p, g, select_micro_kernel(isa));
}

}  // namespace inkwell::cpu
