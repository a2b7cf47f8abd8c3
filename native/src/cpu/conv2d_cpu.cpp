// Conv2d, CPU. Variants:
//   conv2d_reference   direct loops in double precision (tests only).
//   conv2d_fast, GEMM  per image and group, out[co][p] = sum_k W[co][k] * col[k][p] with
//                      k = (ci, kh, kw) and p = (oh, ow): W is used in place (each of its rows
//                      is contiguous in k), col is the im2col matrix, packed on the fly in
//                      panels of NR pixels for one K block at a time; an MR x NR micro-kernel
//                      keeps its tile of out in registers (AVX-512 12 x 32, AVX2 and portable
//                      6 x 16, picked by the SIMD level in effect, see simd_dispatch.hpp).
//   conv2d_fast, direct groups with fewer than kMinGemmRows output channels (depthwise):
//                      per output plane, one fused multiply-add pass per tap.
// Stages: geometry, im2col rows, packing, micro-kernels, GEMM tasks, epilogue, launcher.
//
// Determinism: work is split over output tiles only. Every output sums its K range in fixed
// blocks of a length that depends on K alone, in the same order, whatever the thread count.
// The AVX2 and AVX-512 kernels compute each block's sum as the same chain of fused
// multiply-adds in k order, then add it to the previous blocks' total: they give the same
// bits; the portable kernel rounds products separately and differs in the last bits.
#include "conv2d_cpu.hpp"

#include "gemm_micro.hpp"
#include "simd_dispatch.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>


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

// dst[t] = src[t * stride] for t < n. Strides 1 and 2 (SD's downsampling convolutions) have
// SIMD forms; they only move values, so every level gives the same bits. The scalar strided
// loop with its per-run divisions was 16% of a [1,320,64,64] stride-2 call.
using StridedCopy = void (*)(const float* src, int64_t stride, float* dst, int64_t n);

void strided_copy_portable(const float* src, int64_t stride, float* dst, int64_t n) {
    if (stride == 1) {
        std::memcpy(dst, src, sizeof(float) * n);
        return;
    }
    for (int64_t t = 0; t < n; ++t) dst[t] = src[t * stride];
}

#ifdef INKWELL_GEMM_X86
// Stride 2: two loads and a permute of their even lanes per 16 values. Reads nothing past
// src[2 (n - 1)]: the full blocks stop while 2t + 31 < 2 (n - 1), the last one is masked.
__attribute__((target("avx512f"))) void strided_copy_avx512(const float* src, int64_t stride, float* dst,
                                                            int64_t n) {
    if (stride != 2) {
        strided_copy_portable(src, stride, dst, n);
        return;
    }
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    int64_t t = 0;
    for (; t + 16 < n; t += 16) {
        const __m512 a = _mm512_loadu_ps(src + 2 * t), b = _mm512_loadu_ps(src + 2 * t + 16);
        _mm512_storeu_ps(dst + t, _mm512_permutex2var_ps(a, even, b));
    }
    if (t < n) {  // r = n - t values (1..16) from the 2r - 1 floats src[2t .. 2t + 2r - 2]
        const int64_t r = n - t, len = 2 * r - 1;
        const __mmask16 ma = __mmask16(len >= 16 ? 0xFFFFu : (1u << len) - 1);
        const __mmask16 mb = __mmask16(len > 16 ? (1u << (len - 16)) - 1 : 0u);
        const __m512 a = _mm512_maskz_loadu_ps(ma, src + 2 * t), b = _mm512_maskz_loadu_ps(mb, src + 2 * t + 16);
        _mm512_mask_storeu_ps(dst + t, __mmask16((1u << r) - 1), _mm512_permutex2var_ps(a, even, b));
    }
}

// Stride 2, 8 values per step: shuffle the even lanes of each 128-bit half, then put the
// 64-bit pairs in order. Full steps stop while 2t + 15 < 2 (n - 1); the rest is scalar.
__attribute__((target("avx2"))) void strided_copy_avx2(const float* src, int64_t stride, float* dst, int64_t n) {
    if (stride != 2) {
        strided_copy_portable(src, stride, dst, n);
        return;
    }
    int64_t t = 0;
    for (; t + 8 < n; t += 8) {
        const __m256 a = _mm256_loadu_ps(src + 2 * t), b = _mm256_loadu_ps(src + 2 * t + 8);
        const __m256 pairs = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));  // a0 a2 b0 b2 | a4 a6 b4 b6
        _mm256_storeu_ps(dst + t, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(pairs),
                                                                          _MM_SHUFFLE(3, 1, 2, 0))));
    }
    for (; t < n; ++t) dst[t] = src[2 * t];
}
#endif

// The copy for the requested level, or the widest below it that the level in effect allows.
StridedCopy select_strided_copy(Conv2dIsa isa) {
#ifdef INKWELL_GEMM_X86
    if ((isa == Conv2dIsa::kAuto || isa == Conv2dIsa::kAvx512) && simd_avx512()) return strided_copy_avx512;
    if (isa != Conv2dIsa::kPortable && simd_avx2()) return strided_copy_avx2;
#endif
    (void)isa;
    return strided_copy_portable;
}

// Where the taps of a block of output pixels fall, worked out once per block rather than per
// im2col row: the block is cut into runs along output rows, and for each run and kernel
// column j, the run's outputs t in [lo, hi) read inside the input row, at ix0 + t sw.
struct ColRuns {
    struct Run {
        int64_t y, q, len;  // output row, offset in the block, pixels
    };
    struct Tap {
        int64_t ix0, lo, hi;
    };
    std::vector<Run> runs;
    std::vector<Tap> taps;  // runs.size() x kw
    StridedCopy copy = strided_copy_portable;
};

void plan_col_runs(const Geometry& g, int64_t p0, int64_t count, StridedCopy copy, ColRuns& cr) {
    cr.runs.clear();
    cr.taps.clear();
    cr.copy = copy;
    int64_t y = p0 / g.ow, x = p0 % g.ow;
    for (int64_t q = 0; q < count; x = 0, ++y) {
        const int64_t run = std::min(g.ow - x, count - q);
        cr.runs.push_back({y, q, run});
        for (int64_t j = 0; j < g.kw; ++j) {
            const int64_t ix0 = x * g.sw - g.pw + j * g.dw;
            const int64_t lo = std::min(run, ix0 >= 0 ? 0 : ceil_div(-ix0, g.sw));
            const int64_t hi = std::clamp<int64_t>(ix0 >= g.w ? 0 : ceil_div(g.w - ix0, g.sw), lo, run);
            cr.taps.push_back({ix0, lo, hi});
        }
        q += run;
    }
}

// Row (i, j) of the im2col matrix of one input plane for the block cr was planned for:
// out[q] = plane[iy][ix] of the block's pixel q, or 0 in the padding.
void im2col_row(const Geometry& g, const ColRuns& cr, const float* plane, int64_t i, int64_t j, float* out) {
    const ColRuns::Tap* tap = cr.taps.data() + j;
    for (const ColRuns::Run& r : cr.runs) {
        float* dst = out + r.q;
        const ColRuns::Tap t = *tap;
        tap += g.kw;
        const int64_t iy = r.y * g.sh - g.ph + i * g.dh;
        if (iy < 0 || iy >= g.h) {
            std::fill(dst, dst + r.len, 0.0f);
            continue;
        }
        std::fill(dst, dst + t.lo, 0.0f);
        cr.copy(plane + iy * g.w + t.ix0 + t.lo * g.sw, g.sw, dst + t.lo, t.hi - t.lo);
        std::fill(dst + t.hi, dst + r.len, 0.0f);
    }
}

// ---------------------------------------------------------------------------------------
// Blocking and packing
// ---------------------------------------------------------------------------------------

// Micro-tiles: MR output channels x NR output pixels (KernelSpec below), pixels along the
// vectors so that the output stores are contiguous in NCHW. AVX2 and portable: 6 x 16, 12 of
// the 16 ymm registers as accumulators, 2 loads + 6 broadcasts per 12 FMAs (the BLIS
// Haswell/Zen shape). AVX-512: 12 x 32, 24 of the 32 zmm registers, 2 loads + 12 broadcasts
// per 24 FMAs. The largest tile bounds the scratch buffers.
constexpr int kMaxMR = 12;
constexpr int kMaxNR = 32;

// Cache blocking, for a 32 KiB L1d / 512 KiB L2 (Zen 3) and similar:
//  - a K block is at most kMaxKC long, so the packed col panel of NR pixels (16 KiB at 16,
//    32 KiB at 32: L1 on AVX-512 Xeons is 48 KiB) stays
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
// Whole tiles of every kernel: pixel blocks split into NR-pixel panels, passes into MR-row tiles.
static_assert(kPixelsPerTask % kMaxNR == 0 && kMaxRowsPerTask % kMaxMR == 0 && kMaxRowsPerTask % 6 == 0);

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
// for the pixel block cr was planned for (count pixels from pixel p0) into panels of nr
// pixels: panel t holds row kk at packed[(t * kc + kk) * nr]. row is scratch of
// round_up(count, nr) floats whose tail is 0, so the last panel is zero-padded.
void pack_col_block(const Geometry& g, const ColRuns& cr, const float* x_group, int64_t p0, int64_t k0, int64_t kc,
                    int64_t count, int nr, float* row, float* packed) {
    const int64_t panels = ceil_div(count, nr), whole = count / nr;
    // A 1x1 stride-1 unpadded convolution's im2col rows are slices of the input planes: they
    // are packed from there, without the copy into row (which was half of the packing's time,
    // and the packing 15% of a [1,320,64,64] 1x1 call).
    const bool pointwise = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
    for (int64_t kk = 0; kk < kc; ++kk) {
        const int64_t k = k0 + kk, ci = k / g.taps, tap = k % g.taps;
        const float* src = row;
        if (pointwise) {
            src = x_group + ci * g.h * g.w + p0;
        } else {
            im2col_row(g, cr, x_group + ci * g.h * g.w, tap / g.kw, tap % g.kw, row);
        }
        // nr is 16 or 32: whole 16-float copies, inlined (a libc call per panel row cost more
        // than the copy).
        for (int64_t t = 0; t < (pointwise ? whole : panels); ++t)
            for (int v = 0; v < nr; v += 16)
                std::memcpy(packed + (t * kc + kk) * nr + v, src + t * nr + v, 16 * sizeof(float));
        if (pointwise && whole < panels) {  // the last, partial panel: zero-padded here
            float* dst = packed + (whole * kc + kk) * nr;
            const int64_t valid = count - whole * nr;
            std::memcpy(dst, src + whole * nr, sizeof(float) * valid);
            std::fill(dst + valid, dst + nr, 0.0f);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Micro-kernels (gemm_micro.hpp): c[r][q] (+)= sum_k w[r * lda + k] * col[k * NR + q] over
// one K block, the weight rows read in place (each is contiguous in k), full tiles only.
// ---------------------------------------------------------------------------------------

using gemm::KernelSpec;
using gemm::MicroTile;

constexpr KernelSpec kPortableKernel{6, 16, gemm::micro_portable<6, 16>, gemm::micro_portable<6, 16, true>};
#ifdef INKWELL_GEMM_X86
constexpr KernelSpec kAvx2Kernel{6, 16, gemm::micro_avx2_6x16<>, gemm::micro_avx2_6x16<true>};
constexpr KernelSpec kAvx512Kernel{12, 32, gemm::micro_avx512_12x32<>, gemm::micro_avx512_12x32<true>};
#endif

// The requested kernel, or the widest one below it that the level in effect allows.
KernelSpec select_kernel(Conv2dIsa isa) {
#ifdef INKWELL_GEMM_X86
    if ((isa == Conv2dIsa::kAuto || isa == Conv2dIsa::kAvx512) && simd_avx512()) return kAvx512Kernel;
    if (isa != Conv2dIsa::kPortable && simd_avx2()) return kAvx2Kernel;
#endif
    (void)isa;
    return kPortableKernel;
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
// GEMM: independent tasks with no barrier between them, one per (image, group, pixel block,
// row range): for each K block in order, pack that block's im2col panels for the task's
// pixels into per-thread scratch (kept in L2), then run every tile of the row range over
// them, reading the weight rows in place; the epilogue after the last K block.
// A task normally owns all rows of its pixels, so each im2col panel is packed exactly once;
// only when pixel blocks are too few to share out evenly are rows split as well, and each
// split re-packs the panels it needs (about 1/rows of the multiply work per split).
// Weights are not packed: each tile reads its MR weight rows (contiguous in k) in place,
// the way linear reads x. Measured single-thread on a shared 2-core AVX-512 Xeon (process
// CPU time, medians of 7, interleaved runs): packed weights took ~75-120 ms at
// [1,1280,16,16] (every weight meets one pixel block only, so packing them is pure cost)
// against ~58-64 ms in place, and 64-98 ms against 62-70 ms at [1,320,64,64]. Only a
// group's last, partial tile of rows is copied, zero-padded, into a per-thread buffer.
// ---------------------------------------------------------------------------------------

struct GemmPlan {
    KernelSpec ks;
    StridedCopy copy;  // im2col's gather
    KBlocks kb;
    int64_t tiles;         // ks.mr-row tiles per group
    int64_t pixel_blocks;  // per image
    int64_t row_splits;    // row ranges per pixel block
    int64_t tasks() const { return pixel_blocks * row_splits; }
};

// Row splits: 1 when the pixel blocks of all images and groups share out evenly over the
// threads (or are plenty), else the fewest splits that make the task count a multiple of
// the thread count. Only the split changes with the thread count, never an output's sum.
GemmPlan plan_gemm(const Geometry& g, const KernelSpec& ks, StridedCopy copy, int threads) {
    GemmPlan plan{ks, copy, KBlocks(g.k_len), ceil_div(g.cout_g, ks.mr), ceil_div(g.pixels, kPixelsPerTask), 1};
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

// The packed im2col panels of one K block for one pixel block, per thread, reused across
// calls: at most kMaxKC x kPixelsPerTask floats (256 KiB), sized to stay in L2.
float* col_scratch() {
    thread_local std::vector<float> block(kMaxKC * kPixelsPerTask);
    return block.data();
}

// A group's last tile of weight rows when it has fewer than MR: the valid rows' K block,
// then zeros (mr x kc, lda kc), per thread.
float* edge_rows_scratch() {
    thread_local std::vector<float> rows(kMaxMR * kMaxKC);
    return rows.data();
}

// An output tile that is not whole (edge rows or pixels): the kernel works on this full
// MR x NR buffer and the valid part is copied in and out, per thread.
float* edge_tile_scratch() {
    thread_local std::vector<float> tile(kMaxMR * kMaxNR);
    return tile.data();
}

// Tiles of a row range pass over an L1-resident im2col panel in sub-blocks of at most
// kMaxRowsPerTask rows, so the sub-block's weight rows (rows x KC) stay in L2 beside the
// K block's panels.
void multiply_task(const inkwell_conv2d_params& p, const Geometry& g, const GemmPlan& plan, int64_t task) {
    const int mr = plan.ks.mr, nr = plan.ks.nr;
    const gemm::MicroKernel kernel = plan.ks.fn;
    const int64_t split = task % plan.row_splits, outer = task / plan.row_splits;
    const int64_t pixel_block = outer % plan.pixel_blocks, image_group = outer / plan.pixel_blocks;
    const int64_t group = image_group % g.groups, image = image_group / g.groups;
    const int64_t p0 = pixel_block * kPixelsPerTask, count = std::min(kPixelsPerTask, g.pixels - p0);
    const int64_t t_begin = plan.tiles * split / plan.row_splits, t_end = plan.tiles * (split + 1) / plan.row_splits;
    const int64_t r_begin = t_begin * mr, r_end = std::min(g.cout_g, t_end * mr);
    if (r_begin >= r_end) return;
    const float* x_group = input_of(p) + (image * g.cin + group * g.cin_g) * g.h * g.w;
    const float* w_group = weight_of(p) + group * g.cout_g * g.k_len;
    float* out = output_of(p) + (image * g.cout + group * g.cout_g) * g.pixels + p0;
    float* cols = col_scratch();
    float* row = im2col_scratch().data();
    float* edge_rows = edge_rows_scratch();
    float* edge_tile = edge_tile_scratch();
    const int64_t full_tiles = g.cout_g / mr;  // tiles before this one have all mr rows
    const int64_t tiles_per_pass = kMaxRowsPerTask / mr;
    thread_local ColRuns runs;
    plan_col_runs(g, p0, count, plan.copy, runs);
    for (int64_t b = 0; b < plan.kb.count; ++b) {
        const int64_t k0 = plan.kb.begin(b), kc = plan.kb.size(b, g.k_len);
        pack_col_block(g, runs, x_group, p0, k0, kc, count, nr, row, cols);
        if (t_end > full_tiles) {  // this task has the partial tile: its rows, zero-padded
            const int64_t valid = g.cout_g - full_tiles * mr;
            std::fill(edge_rows, edge_rows + mr * kc, 0.0f);
            for (int64_t r = 0; r < valid; ++r)
                std::memcpy(edge_rows + r * kc, w_group + (full_tiles * mr + r) * g.k_len + k0, sizeof(float) * kc);
        }
        for (int64_t t0 = t_begin; t0 < t_end; t0 += tiles_per_pass) {
            const int64_t t1 = std::min(t_end, t0 + tiles_per_pass);
            // Pixel panel outer, so its kc x nr floats stay in L1 while the tiles pass over it.
            for (int64_t q = 0; q < count; q += nr) {
                const float* panel = cols + (q / nr) * kc * nr;
                const int cols_valid = int(std::min<int64_t>(nr, count - q));
                for (int64_t t = t0; t < t1; ++t) {
                    const int64_t r = t * mr;
                    const bool full_rows = t < full_tiles;
                    const float* a = full_rows ? w_group + r * g.k_len + k0 : edge_rows;
                    const int64_t lda = full_rows ? g.k_len : kc;
                    float* c = out + r * g.pixels + q;
                    if (full_rows && cols_valid == nr) {
                        kernel(MicroTile{a, lda, panel, kc, c, g.pixels, b > 0});
                        continue;
                    }
                    const int rows_valid = int(std::min<int64_t>(mr, g.cout_g - r));
                    if (b > 0) {
                        for (int i = 0; i < rows_valid; ++i)
                            std::memcpy(edge_tile + i * nr, c + i * g.pixels, sizeof(float) * cols_valid);
                    }
                    kernel(MicroTile{a, lda, panel, kc, edge_tile, nr, b > 0});
                    for (int i = 0; i < rows_valid; ++i)
                        std::memcpy(c + i * g.pixels, edge_tile + i * nr, sizeof(float) * cols_valid);
                }
            }
        }
    }
    epilogue(p, group * g.cout_g + r_begin, r_end - r_begin, out + r_begin * g.pixels, g.pixels, count);
}

void conv2d_gemm(ThreadPool& pool, const inkwell_conv2d_params& p, const Geometry& g, Conv2dIsa isa) {
    const GemmPlan plan = plan_gemm(g, select_kernel(isa), select_strided_copy(isa), pool.threads());
    pool.parallel_for(g.batch * g.groups * plan.tasks(), [&](int64_t task) { multiply_task(p, g, plan, task); });
}

// ---------------------------------------------------------------------------------------
// Winograd F(2x2, 3x3) for 3x3 stride-1 undilated ungrouped convolutions (Lavin & Gray 2016):
// each 2x2 block of outputs ("tile") of one output channel is
//     Y = A^T [ sum_ci (G g G^T) .* (B^T d B) ] A
// with g the 3x3 kernel of (co, ci), d the 4x4 input patch of ci under the tile (zero
// outside the image), and
//     B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
//     A^T = [1 1 1 0; 0 1 -1 -1].
// The sum over ci is 16 independent GEMMs (one per element e of the 4x4 transform domain):
// M_e[co][t] = sum_ci U_e[co][ci] V_e[ci][t], U = G g G^T, V = B^T d B: 16 * 2 cin multiply-
// adds per 2x2 outputs instead of 4 * 9 * 2 cin, 2.25 times fewer.
//
// Stages: U for every (co, ci) once per call (in parallel over co); then one task per
// (image, block of kTilesPerBlock tiles in row-major tile order): V of the block's tiles
// (packed as the micro-kernel's col panels: V[e][panel][ci][nr]), the 16 GEMMs with the
// same micro-kernels and K blocks as the direct GEMM, in their packed-a form: U is written
// by its transform as k-major tiles of mr rows (WinoPlan::u_index: per K block, its tiles
// one after another; rows padded to a multiple of 12 so every tile is whole), then the
// output transform, bias and SiLU. (U streams from L3 once per tile block. As one
// sequential run per element and K block, instead of mr rows cin floats apart, the whole
// call measured 1.04-1.09x at [1,320,64,64] stride 1 and 2 and [1,640,32,32] for the packed
// tiles and 1.01-1.05x more for the per-block order; the packing costs nothing beyond the
// transform's own stores.)
//
// Rounding, and the bound the tests check: every transform is a fixed sequence of additions
// (and exact halvings), V in two levels (rows, then columns), U in two levels of up to two
// additions, the output in two levels of up to two; the GEMM is the direct path's FMA
// chain over cin. So |computed - exact| <= gamma(cin + 12) * Yabs, gamma(n) = n u / (1 - n u)
// (u = 2^-24), where Yabs is the same formula with every matrix, weight and input replaced
// by its absolute value (it sums over the tile's whole 4 x 4 patch with weights up to 1.5^2
// and 3 x 3 output terms, so it is larger than the direct path's sum |w| |x|: the price of
// the transforms). test_conv2d checks every output against it (and against the golden
// tolerances through the same kernels: the bound is orders of magnitude inside them).
//
// Determinism: outputs depend on their tile's block only through fixed-order arithmetic;
// tasks split tile blocks only. AVX2 and AVX-512 give the same bits (the same FMA chains),
// the portable kernel differs in the last bits, as for the direct path.
//
// Stride 2 (SD's downsamplers), derived here from F(2, 2). In one dimension the two outputs
// y_s = w0 d_2s + w1 d_2s+1 + w2 d_2s+2 (s = 0, 1) of the five inputs d0..d4 under them
// split into the even taps, a 2-tap filter (w0, w2) over (d0, d2, d4) that F(2, 2) computes
// with 3 multiplies, and the odd tap w1 over (d1, d3), 2 multiplies:
//     V = B'^T d = (d0 - d2, d2, d4 - d2, d1, d3),   U = G' g = (w0, w0 + w2, w2, w1, w1),
//     y0 = M0 + M1 + M3,  y1 = M1 + M2 + M4  (A'^T = [1 1 0 1 0; 0 1 1 0 1]),  M = U .* V.
// Nested over rows and columns, a 2x2 output tile reads a 5x5 patch at (4 ty - ph, 4 tx - pw)
// and takes 25 GEMMs: 25 products per (co, ci) instead of 36, 1.44 times fewer. U's entries
// 3 and 4 are equal, so U has 16 distinct entries (G' with its last row dropped), and
// element (i, j) multiplies U[min(i, 3)][min(j, 3)]. The same blocks, micro-kernels and K
// blocks as above. Rounding: V two levels of one subtraction, U two of one addition, the
// output two of two additions: within the same bound gamma(cin + 12) Yabs (Yabs with |B'|,
// |G'|, |A'|), which test_conv2d checks the same way. Measured on the 2-core Xeon at
// [1,320,64,64] stride 2, against the GEMM in the same process: 4-22% faster (the GEMM runs
// at ~84% of the FMA peak there, so the 1.44x fewer products are partly eaten by the
// transforms and by U streamed through L2 once per 64-tile block).
// ---------------------------------------------------------------------------------------

constexpr int64_t kTilesPerBlock = 64;  // a multiple of every kernel's nr
constexpr int64_t kWinoRowPad = 12;     // U's rows padded to a multiple of every kernel's mr (and
                                        // the rows of one weight-transform task)
static_assert(kTilesPerBlock % kMaxNR == 0 && kWinoRowPad % kMaxMR == 0 && kWinoRowPad % 6 == 0);

// kAuto's choice (conv2d_uses_winograd), on output pixels, for both strides.
constexpr int64_t kWinogradMinPixels = 64 * 64;
constexpr int64_t kWinogradMinChannels = 32;
// At 32x32 (256 tiles: 4 blocks, enough for the threads) when cin x cout is large enough for the
// 2.25x fewer multiply-adds to outweigh the weight transform. Measured on the 2-core Xeon,
// Winograd vs GEMM medians at 32x32: 256 ch 5.5 vs 8.4 ms, 320 8.1 vs 12.5, 512 19.7 vs 31.2,
// 640 33-37 vs 51-56, 1280 120 vs 182. At 16x16 (one block per image: one task) GEMM stays.
constexpr int64_t kWinogradMinPixelsLarge = 32 * 32;
constexpr int64_t kWinogradMinChannelProduct = 128 * 128;

bool winograd_eligible(const Geometry& g) {
    const bool stride = (g.sh == 1 && g.sw == 1) || (g.sh == 2 && g.sw == 2);
    return g.kh == 3 && g.kw == 3 && stride && g.dh == 1 && g.dw == 1 && g.groups == 1;
}

struct WinoPlan {
    KernelSpec ks;
    KBlocks kb;          // over cin
    bool stride2;        // the stride-2 variant (below)
    int64_t tiles_h, tiles_w, tiles;
    int64_t blocks;      // per image
    int64_t rows;        // cout rounded up to kWinoRowPad
    int64_t cin;
    int64_t panels() const { return kTilesPerBlock / ks.nr; }
    int64_t u_plane() const { return rows * cin; }  // floats per U entry
    // Where U_e's k-major micro-tile of rows row0 .. row0 + mr - 1 (row0 a multiple of mr)
    // holds channel ci: K block after K block, each block's tiles one after another, so that
    // a block's GEMM streams U_e as one sequential run.
    int64_t u_index(int64_t row0, int64_t ci) const {
        const int64_t b = ci / kb.len, k0 = kb.begin(b);
        return rows * k0 + row0 * kb.size(b, cin) + (ci - k0) * ks.mr;
    }
    int elements() const { return stride2 ? 25 : 16; }  // of the transform domain
    // The U entry element e multiplies: itself, or for stride 2 one of U's 16 distinct ones.
    int u_entry(int e) const { return stride2 ? std::min(e / 5, 3) * 4 + std::min(e % 5, 3) : e; }
};

// Sixteen floats of one stream, loaded and stored unaligned (memcpy: the compiler emits
// vector moves). GCC's and Clang's vector extension: 16-wide arithmetic on any target (split
// into SSE registers where AVX-512 is absent); the same operations per element as scalar code.
typedef float WinoVec __attribute__((vector_size(64)));

inline WinoVec wino_load(const float* p) {
    WinoVec v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

inline void wino_store(float* p, WinoVec v) { std::memcpy(p, &v, sizeof v); }

// U's sixteen entries of the kernels (co, ci .. ci + width - 1): load(k, ci) gives tap k
// (row 3 r + column c of the 3x3 kernel) of those channels, dst is that co's row in U[0] (the
// entry e is e * plane further). G g G^T in the order of the scalar formula, element by
// element; for the stride-2 variant G' g G'^T, G' = [1 0 0; 1 0 1; 0 0 1; 0 1 0].
template <bool kStride2, class V, class Load, class Store>
__attribute__((always_inline)) inline void wino_kernel_entries(int64_t ci, float* dst, int64_t plane, Load load,
                                                               Store store) {
    V t[4][3];
    for (int j = 0; j < 3; ++j) {  // G g: rows
        const V g0 = load(j, ci), g1 = load(3 + j, ci), g2 = load(6 + j, ci);
        t[0][j] = g0;
        if constexpr (kStride2) {
            t[1][j] = g0 + g2;
            t[2][j] = g2;
            t[3][j] = g1;
        } else {
            t[1][j] = (g0 + g1 + g2) * 0.5f;
            t[2][j] = (g0 - g1 + g2) * 0.5f;
            t[3][j] = g2;
        }
    }
    for (int i = 0; i < 4; ++i) {  // (G g) G^T: columns
        store(dst + (i * 4 + 0) * plane + ci, t[i][0]);
        if constexpr (kStride2) {
            store(dst + (i * 4 + 1) * plane + ci, t[i][0] + t[i][2]);
            store(dst + (i * 4 + 2) * plane + ci, t[i][2]);
            store(dst + (i * 4 + 3) * plane + ci, t[i][1]);
        } else {
            store(dst + (i * 4 + 1) * plane + ci, (t[i][0] + t[i][1] + t[i][2]) * 0.5f);
            store(dst + (i * 4 + 2) * plane + ci, (t[i][0] - t[i][1] + t[i][2]) * 0.5f);
            store(dst + (i * 4 + 3) * plane + ci, t[i][2]);
        }
    }
}

// U of the mr rows of one micro-tile (first: its first row, valid of them inside cout, w their
// kernels) for channels ci0 .. cin - 1, one at a time: what the transforms' blocks leave.
template <bool kStride2>
void winograd_weights_channels(const WinoPlan& plan, const float* w, int64_t first, int mr, int64_t valid,
                               int64_t ci0, float* u) {
    const int64_t cin = plan.cin, plane = plan.u_plane();
    for (int64_t ci = ci0; ci < cin; ++ci)
        for (int64_t r = 0; r < mr; ++r) {
            float* const dst = u + plan.u_index(first, ci) + r;
            if (r >= valid) {
                for (int e = 0; e < 16; ++e) dst[e * plane] = 0.0f;
                continue;
            }
            wino_kernel_entries<kStride2, float>(
                0, dst, plane, [&](int k, int64_t) { return w[(r * cin + ci) * 9 + k]; },
                [](float* q, float v) { *q = v; });
        }
}

// U[e] of output channels co0 .. co0 + kWinoRowPad - 1 (rows past cout are 0) at u_tile
// (entry e at u_tile + e * plane), packed for the micro-kernel: tile t of mr rows holds row
// r, channel ci at u_tile[t * mr * cin + ci * mr + r]. Sixteen channels at a time, with the
// arithmetic along the rows: the tile's weights for those channels (kWinoRowPad rows of 144
// contiguous floats, torch's [co][ci][3][3]) transposed into taps[ci * 9 + k][row], the
// entries computed on 16-wide vectors (lanes 12-15 unused), each stored as the mr-float
// pieces the packed layout wants; the rest of the channels one at a time. The portable
// form, for its 6-row kernel; the SIMD forms below transpose in registers.
template <bool kStride2>
void winograd_weights_tile(const inkwell_conv2d_params& p, const Geometry& g, const WinoPlan& plan, int64_t co0,
                           float* u) {
    constexpr int mr = kPortableKernel.mr, kRows = int(kWinoRowPad);
    static_assert(kRows % mr == 0);
    const int64_t cin = g.cin, plane = plan.u_plane(), valid = std::min<int64_t>(kRows, g.cout - co0);
    const float* w = weight_of(p) + co0 * cin * 9;
    alignas(64) float taps[16 * 9][16] = {};  // [ci * 9 + k][row]; rows past valid stay 0
    int64_t ci = 0;
    for (; ci + 16 <= cin; ci += 16) {
        for (int64_t r = 0; r < valid; ++r)
            for (int j = 0; j < 16 * 9; ++j) taps[j][r] = w[(r * cin + ci) * 9 + j];
        for (int c = 0; c < 16; ++c) {
            alignas(64) float entries[16][16];
            wino_kernel_entries<kStride2, WinoVec>(
                0, entries[0], 16, [&](int k, int64_t) { return wino_load(taps[c * 9 + k]); }, wino_store);
            for (int e = 0; e < 16; ++e)
                for (int t = 0; t < kRows / mr; ++t)
                    std::memcpy(u + e * plane + plan.u_index(co0 + t * mr, ci + c), entries[e] + t * mr,
                                sizeof(float) * mr);
        }
    }
    for (int t = 0; t < kRows / mr; ++t)
        winograd_weights_channels<kStride2>(plan, w + t * mr * cin * 9, co0 + t * mr, mr,
                                            std::clamp<int64_t>(valid - t * mr, 0, mr), ci, u);
}

#ifdef INKWELL_GEMM_X86
typedef float WinoVec8 __attribute__((vector_size(32)));

// Transposes eight vectors in place: unpacks, in-lane shuffles, then 128-bit lane swaps.
__attribute__((target("avx2"))) inline void transpose_8x8(__m256 r[8]) {
    __m256 t[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {  // r[i + c], lane L: rows i .. i + 3 of column 4 L + c
        r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
        r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
    }
    for (int c = 0; c < 4; ++c) {
        t[c] = _mm256_permute2f128_ps(r[c], r[4 + c], 0x20);
        t[4 + c] = _mm256_permute2f128_ps(r[c], r[4 + c], 0x31);
    }
    for (int i = 0; i < 8; ++i) r[i] = t[i];
}

// The same for the 6-row AVX2 kernel: each 6-row half of the tile, eight channels at a time,
// its weights transposed in 8 x 8 blocks (rows 6 and 7 zero), the entries computed on 8-wide
// vectors and stored six floats at a time. The same bits as the portable form.
template <bool kStride2>
__attribute__((target("avx2"))) void winograd_weights_tile_avx2(const inkwell_conv2d_params& p, const Geometry& g,
                                                                 const WinoPlan& plan, int64_t co0, float* u) {
    constexpr int kMr = 6;
    static_assert(kAvx2Kernel.mr == kMr && kWinoRowPad % kMr == 0);
    const int64_t cin = g.cin, plane = plan.u_plane();
    const __m256i six = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
    for (int64_t h = 0; h < kWinoRowPad / kMr; ++h) {
        const int64_t first = co0 + h * kMr, valid = std::clamp<int64_t>(g.cout - first, 0, kMr);
        const float* w = weight_of(p) + first * cin * 9;
        alignas(32) float taps[8 * 9][8];  // [ci * 9 + k][row]
        int64_t ci = 0;
        for (; ci + 8 <= cin; ci += 8) {
            for (int m = 0; m < 9; ++m) {
                __m256 r[8];
                for (int64_t i = 0; i < 8; ++i)
                    r[i] = i < valid ? _mm256_loadu_ps(w + (i * cin + ci) * 9 + m * 8) : _mm256_setzero_ps();
                transpose_8x8(r);
                for (int q = 0; q < 8; ++q) _mm256_store_ps(taps[m * 8 + q], r[q]);
            }
            for (int c = 0; c < 8; ++c) {
                alignas(32) float entries[16][8];  // stored in 6-float pieces here: lambdas lack the target
                wino_kernel_entries<kStride2, WinoVec8>(
                    0, entries[0], 8,
                    [&](int k, int64_t) {
                        WinoVec8 v;
                        std::memcpy(&v, taps[c * 9 + k], sizeof v);
                        return v;
                    },
                    [](float* q, WinoVec8 v) { std::memcpy(q, &v, sizeof v); });
                for (int e = 0; e < 16; ++e)
                    _mm256_maskstore_ps(u + e * plane + plan.u_index(first, ci + c), six,
                                        _mm256_load_ps(entries[e]));
            }
        }
        winograd_weights_channels<kStride2>(plan, w, first, kMr, valid, ci, u);
    }
}
#endif

#ifdef INKWELL_GEMM_X86
// GCC 12's AVX-512 shuffle intrinsics pass an undefined vector as their unused pass-through
// operand, which -Wmaybe-uninitialized reports once inlined; nothing here reads one.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
// Transposes sixteen vectors in place (r[i][j] <-> r[j][i]): unpacks of floats, then of
// float pairs, then two rounds of 128-bit lane shuffles; 64 shuffles, no memory.
__attribute__((target("avx512f"))) inline void transpose_16x16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {  // r[i + c], lane L: rows i .. i + 3 of column 4 L + c
        const __m512d t0 = _mm512_castps_pd(t[i]), t1 = _mm512_castps_pd(t[i + 1]);
        const __m512d t2 = _mm512_castps_pd(t[i + 2]), t3 = _mm512_castps_pd(t[i + 3]);
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    }
    for (int c = 0; c < 4; ++c) {  // t[c]: rows 0-3 and 4-7 of columns c and 8 + c, and so on
        t[c] = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x88);
        t[4 + c] = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xdd);
        t[8 + c] = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x88);
        t[12 + c] = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xdd);
    }
    for (int c = 0; c < 4; ++c) {
        r[c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0x88);
        r[8 + c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0xdd);
        r[4 + c] = _mm512_shuffle_f32x4(t[4 + c], t[12 + c], 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(t[4 + c], t[12 + c], 0xdd);
    }
}

// The same for the 12-row AVX-512 kernel, sixteen channels at a time, with the arithmetic
// along the rows: the tile's weights for the sixteen channels (12 rows of 144 contiguous
// floats) are transposed in 16 x 16 blocks into taps[ci * 9 + k][row], the entries computed
// on those vectors (lanes 12-15 unused) and each stored as the 12 contiguous floats that the
// packed layout wants. (Gathers, for the taps and again for the packing, cost 7% of a
// [1,320,64,64] stride-2 call: they are slow on this Xeon.) The same values in the same
// arithmetic: the same bits as the portable form.
template <bool kStride2>
__attribute__((target("avx512f"))) void winograd_weights_tile_avx512(const inkwell_conv2d_params& p,
                                                                     const Geometry& g, const WinoPlan& plan,
                                                                     int64_t co0, float* u) {
    constexpr int kRows = 12;
    static_assert(kRows == kWinoRowPad);
    const int64_t cin = g.cin, plane = plan.u_plane(), valid = std::min<int64_t>(kRows, g.cout - co0);
    const float* w = weight_of(p) + co0 * cin * 9;
    alignas(64) float taps[16 * 9][16];  // [ci * 9 + k][row]
    int64_t ci = 0;
    for (; ci + 16 <= cin; ci += 16) {
        for (int m = 0; m < 9; ++m) {
            __m512 r[16];
            for (int64_t i = 0; i < 16; ++i)
                r[i] = i < valid ? _mm512_loadu_ps(w + (i * cin + ci) * 9 + m * 16) : _mm512_setzero_ps();
            transpose_16x16(r);
            for (int q = 0; q < 16; ++q) _mm512_store_ps(taps[m * 16 + q], r[q]);
        }
        for (int c = 0; c < 16; ++c) {
            alignas(64) float entries[16][16];  // stored in 12-float pieces here: lambdas lack the target
            wino_kernel_entries<kStride2, WinoVec>(
                0, entries[0], 16, [&](int k, int64_t) { return wino_load(taps[c * 9 + k]); }, wino_store);
            float* const dst = u + plan.u_index(co0, ci + c);
            for (int e = 0; e < 16; ++e)
                _mm512_mask_storeu_ps(dst + e * plane, 0x0fff, _mm512_load_ps(entries[e]));
        }
    }
    winograd_weights_channels<kStride2>(plan, w, co0, kRows, valid, ci, u);
}
#pragma GCC diagnostic pop
#endif

// U[e] for output channels co0 .. co0 + kWinoRowPad - 1 (the rows past cout are 0), in the
// micro-kernel's packed tiles at plan.u_index.
void winograd_weights(const inkwell_conv2d_params& p, const Geometry& g, const WinoPlan& plan, int64_t co0, float* u) {
    using Tile = void (*)(const inkwell_conv2d_params&, const Geometry&, const WinoPlan&, int64_t, float*);
    Tile tile = plan.stride2 ? winograd_weights_tile<true> : winograd_weights_tile<false>;
#ifdef INKWELL_GEMM_X86
    // The kernel was chosen by the level in effect, so its transform's instructions are allowed.
    if (plan.ks.fn == kAvx512Kernel.fn)
        tile = plan.stride2 ? winograd_weights_tile_avx512<true> : winograd_weights_tile_avx512<false>;
    if (plan.ks.fn == kAvx2Kernel.fn)
        tile = plan.stride2 ? winograd_weights_tile_avx2<true> : winograd_weights_tile_avx2<false>;
#endif
    tile(p, g, plan, co0, u);
}

// Input row iy, columns ix0 .. ix0 + width - 1, into dst with zeros outside the image.
void patch_row(const Geometry& g, const float* plane, int64_t iy, int64_t ix0, int64_t width, float* dst) {
    if (iy < 0 || iy >= g.h) {
        std::fill(dst, dst + width, 0.0f);
        return;
    }
    const int64_t lo = std::clamp<int64_t>(-ix0, 0, width), hi = std::clamp<int64_t>(g.w - ix0, lo, width);
    std::fill(dst, dst + lo, 0.0f);
    std::memcpy(dst + lo, plane + iy * g.w + ix0 + lo, sizeof(float) * (hi - lo));
    std::fill(dst + hi, dst + width, 0.0f);
}

// The lanes of a block's V past its count tiles (a short last block), 0 in each of the
// elements' panels: the micro-kernels run whole panels.
void zero_missing_tiles(float* v, int64_t count, int nr, int elements, int64_t e_stride, int64_t panel_stride) {
    for (int64_t lane = count; lane < kTilesPerBlock; ++lane) {
        float* dst = v + (lane / nr) * panel_stride + lane % nr;
        for (int e = 0; e < elements; ++e) dst[e * e_stride] = 0.0f;
    }
}

// V of one input plane for the block's tiles first .. first + count - 1: V[e][panel][ci][nr]
// at v + ci * nr (the caller offsets to the channel; e and panel strides below). Tiles come in
// runs along a tile row: the four input rows of a run are copied zero-padded, combined
// vertically (B^T's rows), then horizontally (B's columns) with a stride of two. Missing
// tiles of a short last block are 0.
void winograd_input_plane(const Geometry& g, const WinoPlan& plan, const float* plane, int64_t first, int64_t count,
                          float* v, int64_t e_stride, int64_t panel_stride) {
    const int nr = plan.ks.nr;
    constexpr int64_t kMaxRun = kTilesPerBlock;
    float rows[4][2 * kMaxRun + 2], ev[4][kMaxRun + 1], od[4][kMaxRun + 1];
    for (int64_t done = 0; done < count;) {
        const int64_t t = first + done, ty = t / plan.tiles_w, tx0 = t % plan.tiles_w;
        const int64_t run = std::min(count - done, plan.tiles_w - tx0);
        const int64_t width = 2 * run + 2, ix0 = 2 * tx0 - g.pw;
        for (int a = 0; a < 4; ++a) patch_row(g, plane, 2 * ty - g.ph + a, ix0, width, rows[a]);
        // B^T's rows, split into even and odd columns so that B's columns read contiguously.
        const int64_t half = run + 1;
        for (int64_t m = 0; m < half; ++m) {
            const float r0e = rows[0][2 * m], r1e = rows[1][2 * m], r2e = rows[2][2 * m], r3e = rows[3][2 * m];
            const float r0o = rows[0][2 * m + 1], r1o = rows[1][2 * m + 1], r2o = rows[2][2 * m + 1];
            const float r3o = rows[3][2 * m + 1];
            ev[0][m] = r0e - r2e, ev[1][m] = r1e + r2e, ev[2][m] = r2e - r1e, ev[3][m] = r1e - r3e;
            od[0][m] = r0o - r2o, od[1][m] = r1o + r2o, od[2][m] = r2o - r1o, od[3][m] = r1o - r3o;
        }
        // Tile k's columns are ev[k], od[k], ev[k + 1], od[k + 1]; lanes stay within a panel per
        // piece so that each of the 16 outputs is one contiguous store stream.
        for (int64_t k0 = 0; k0 < run;) {
            const int64_t lane0 = done + k0, in_panel = nr - lane0 % nr, k1 = std::min(run, k0 + in_panel);
            float* dst = v + (lane0 / nr) * panel_stride + lane0 % nr - k0;
            for (int i = 0; i < 4; ++i) {
                const float* __restrict e = ev[i];
                const float* __restrict o = od[i];
                float* __restrict d0 = dst + (i * 4 + 0) * e_stride;
                float* __restrict d1 = dst + (i * 4 + 1) * e_stride;
                float* __restrict d2 = dst + (i * 4 + 2) * e_stride;
                float* __restrict d3 = dst + (i * 4 + 3) * e_stride;
                for (int64_t k = k0; k < k1; ++k) {
                    d0[k] = e[k] - e[k + 1];
                    d1[k] = o[k] + e[k + 1];
                    d2[k] = e[k + 1] - o[k];
                    d3[k] = o[k] - o[k + 1];
                }
            }
            k0 = k1;
        }
        done += run;
    }
    zero_missing_tiles(v, count, nr, 16, e_stride, panel_stride);
}

// The stride-2 variant's V for the block's tiles first .. first + count - 1, laid out as
// winograd_input_plane's. Tiles come in runs along a tile row: the five input rows under a
// run (4 run + 1 columns) are copied zero-padded, combined vertically (B'^T's rows: two
// differences, three rows as they are), then horizontally, tile k reading columns 4k .. 4k + 4.
// (Splitting the rows by column phase first, so that the columns read contiguously, cost
// more than the strided reads: it stored 20 floats per tile and input channel.)
void winograd_s2_input_plane(const Geometry& g, const WinoPlan& plan, const float* plane, int64_t first,
                             int64_t count, float* v, int64_t e_stride, int64_t panel_stride) {
    const int nr = plan.ks.nr;
    constexpr int64_t kMaxRun = kTilesPerBlock;
    float rows[5][4 * kMaxRun + 4], diff[2][4 * kMaxRun + 4];
    for (int64_t done = 0; done < count;) {
        const int64_t t = first + done, ty = t / plan.tiles_w, tx0 = t % plan.tiles_w;
        const int64_t run = std::min(count - done, plan.tiles_w - tx0);
        const int64_t width = 4 * run + 4, ix0 = 4 * tx0 - g.pw;  // 4 run + 1 used, the rest 0
        for (int a = 0; a < 5; ++a) patch_row(g, plane, 4 * ty - g.ph + a, ix0, width, rows[a]);
        // B'^T's rows (d0 - d2, d2, d4 - d2, d1, d3): the plain ones are the copies themselves.
        for (int64_t c = 0; c < width; ++c) {
            diff[0][c] = rows[0][c] - rows[2][c];
            diff[1][c] = rows[4][c] - rows[2][c];
        }
        const float* const transformed[5] = {diff[0], rows[2], diff[1], rows[1], rows[3]};
        // B''s columns (tile k reads columns 4k .. 4k + 4), in pieces that stay within a panel
        // (one contiguous stream per element).
        for (int64_t k0 = 0; k0 < run;) {
            const int64_t lane0 = done + k0, in_panel = nr - lane0 % nr, k1 = std::min(run, k0 + in_panel);
            float* dst = v + (lane0 / nr) * panel_stride + lane0 % nr - k0;
            for (int i = 0; i < 5; ++i) {
                const float* __restrict r = transformed[i];
                float* __restrict d0 = dst + (i * 5 + 0) * e_stride;
                float* __restrict d1 = dst + (i * 5 + 1) * e_stride;
                float* __restrict d2 = dst + (i * 5 + 2) * e_stride;
                float* __restrict d3 = dst + (i * 5 + 3) * e_stride;
                float* __restrict d4 = dst + (i * 5 + 4) * e_stride;
                for (int64_t k = k0; k < k1; ++k) {
                    const float* col = r + 4 * k;
                    d0[k] = col[0] - col[2];
                    d1[k] = col[2];
                    d2[k] = col[4] - col[2];
                    d3[k] = col[1];
                    d4[k] = col[3];
                }
            }
            k0 = k1;
        }
        done += run;
    }
    zero_missing_tiles(v, count, nr, 25, e_stride, panel_stride);
}

#ifdef INKWELL_GEMM_X86
// Lanes [lo, hi) of a 16-lane mask (either end clamped to 0..16).
inline __mmask16 lane_range(int64_t lo, int64_t hi) {
    lo = std::clamp<int64_t>(lo, 0, 16);
    hi = std::clamp<int64_t>(hi, lo, 16);
    return static_cast<__mmask16>(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

// Sixteen columns of an input row from column 16 q of row (cols[q]: those inside the image), or
// 0 for a row outside it (row null).
__attribute__((target("avx512f"))) inline __m512 s2_columns(const float* row, int q, const __mmask16* cols) {
    return row == nullptr ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(cols[q], row + 16 * q);
}

// winograd_s2_input_plane with AVX-512, sixteen tiles of a run at a time, reading the plane in
// place: the five input rows under the tiles as five vectors each (columns outside the image
// masked to 0, rows outside it 0), B'^T's rows on them, then each transformed row's columns
// 4k + j split out with two permutes and a blend (column 4k + 4 is column 4(k + 1), one lane
// over). The same subtractions of the same values as the scalar form: the same bits. The
// scalar form's row copies and stride-4 column reads were 17% of a [1,320,64,64] call.
__attribute__((target("avx512f"))) void winograd_s2_input_plane_avx512(const Geometry& g, const WinoPlan& plan,
                                                                       const float* plane, int64_t first,
                                                                       int64_t count, float* v, int64_t e_stride,
                                                                       int64_t panel_stride) {
    const int nr = plan.ks.nr;
    // Permute indices of column phase j: lane k takes element (4k + j) mod 32 of a vector pair.
    __m512i phase[4];
    for (int j = 0; j < 4; ++j)
        phase[j] = _mm512_add_epi32(_mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28),
                                    _mm512_set1_epi32(j));
    for (int64_t done = 0; done < count;) {
        const int64_t t = first + done, ty = t / plan.tiles_w, tx0 = t % plan.tiles_w;
        const int64_t run = std::min(count - done, plan.tiles_w - tx0);
        for (int64_t k0 = 0; k0 < run; k0 += 16) {
            const int64_t n = std::min<int64_t>(16, run - k0), col0 = 4 * (tx0 + k0) - g.pw;
            // The five rows' columns col0 + 16 q .. + 15 (q = 4: column col0 + 64 only), loaded
            // where used, from L1 after the first time (held in registers, the 25 vectors were
            // spilled: 3-5% slower).
            __mmask16 cols[5];
            for (int q = 0; q < 5; ++q)
                cols[q] = lane_range(-(col0 + 16 * q), g.w - (col0 + 16 * q)) & (q == 4 ? 0x1 : 0xFFFF);
            const float* rows[5];
            for (int a = 0; a < 5; ++a) {
                const int64_t iy = 4 * ty - g.ph + a;
                rows[a] = iy < 0 || iy >= g.h ? nullptr : plane + iy * g.w + col0;
            }
            // Where the sixteen lanes go: one panel, or two when they cross into the next.
            const int64_t lane0 = done + k0, in_panel = nr - lane0 % nr;
            float* dst0 = v + (lane0 / nr) * panel_stride + lane0 % nr;
            float* dst1 = v + (lane0 / nr + 1) * panel_stride - in_panel;
            const __mmask16 m0 = lane_range(0, std::min(n, in_panel)), m1 = lane_range(in_panel, n);
            for (int i = 0; i < 5; ++i) {
                __m512 row[5];  // B'^T's row i: d0 - d2, d2, d4 - d2, d1, d3
                for (int q = 0; q < 5; ++q)
                    row[q] = i == 0 ? _mm512_sub_ps(s2_columns(rows[0], q, cols), s2_columns(rows[2], q, cols))
                           : i == 1 ? s2_columns(rows[2], q, cols)
                           : i == 2 ? _mm512_sub_ps(s2_columns(rows[4], q, cols), s2_columns(rows[2], q, cols))
                           : i == 3 ? s2_columns(rows[1], q, cols)
                                    : s2_columns(rows[3], q, cols);
                __m512 col[5];  // col[j] lane k: the row's column 4k + j
                for (int j = 0; j < 4; ++j)
                    col[j] = _mm512_mask_blend_ps(0xFF00, _mm512_permutex2var_ps(row[0], phase[j], row[1]),
                                                  _mm512_permutex2var_ps(row[2], phase[j], row[3]));
                // (The zero-masked form: the plain one passes GCC 12 an undefined operand.)
                col[4] = _mm512_castsi512_ps(_mm512_maskz_alignr_epi32(__mmask16(0xFFFF), _mm512_castps_si512(row[4]),
                                                                       _mm512_castps_si512(col[0]), 1));
                const __m512 out[5] = {_mm512_sub_ps(col[0], col[2]), col[2], _mm512_sub_ps(col[4], col[2]), col[1],
                                       col[3]};
                for (int j = 0; j < 5; ++j) {
                    const int64_t e = (i * 5 + j) * e_stride;
                    _mm512_mask_storeu_ps(dst0 + e, m0, out[j]);
                    if (m1 != 0) _mm512_mask_storeu_ps(dst1 + e, m1, out[j]);
                }
            }
        }
        done += run;
    }
    zero_missing_tiles(v, count, nr, 25, e_stride, panel_stride);
}
#endif

#ifdef INKWELL_GEMM_X86
// Lanes [lo, hi) of an 8-lane AVX2 mask vector (either end clamped).
__attribute__((target("avx2"))) inline __m256i lane_range8(int64_t lo, int64_t hi) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i l = _mm256_set1_epi32(int32_t(std::clamp<int64_t>(lo, 0, 8)));
    const __m256i h = _mm256_set1_epi32(int32_t(std::clamp<int64_t>(hi, 0, 8)));
    return _mm256_andnot_si256(_mm256_cmpgt_epi32(l, lane), _mm256_cmpgt_epi32(h, lane));  // l <= lane < h
}

// Eight columns of an input row from column 8 q of row (cols[q]: those inside the image), or 0
// for a row outside it (row null).
__attribute__((target("avx2"))) inline __m256 s2_columns8(const float* row, int q, const __m256i* cols) {
    return row == nullptr ? _mm256_setzero_ps() : _mm256_maskload_ps(row + 8 * q, cols[q]);
}

// winograd_s2_input_plane with AVX2, eight tiles of a run at a time, reading the plane in place
// as the AVX-512 form does: the five input rows' 33 columns under the tiles as five vectors
// (masked loads; rows outside the image 0), B'^T's rows on them, then the columns 4k + j
// split out by a 4 x 4 transpose within each 128-bit lane and one cross-lane permute, column
// 4k + 4 being column 4(k + 1). The same subtractions of the same values: the same bits.
__attribute__((target("avx2"))) void winograd_s2_input_plane_avx2(const Geometry& g, const WinoPlan& plan,
                                                                   const float* plane, int64_t first, int64_t count,
                                                                   float* v, int64_t e_stride, int64_t panel_stride) {
    const int nr = plan.ks.nr;
    const __m256i tile_order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);  // [t0 t2 t4 t6 t1 t3 t5 t7] -> t0..t7
    const __m256i next_tile = _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 0);
    for (int64_t done = 0; done < count;) {
        const int64_t t = first + done, ty = t / plan.tiles_w, tx0 = t % plan.tiles_w;
        const int64_t run = std::min(count - done, plan.tiles_w - tx0);
        for (int64_t k0 = 0; k0 < run; k0 += 8) {
            const int64_t n = std::min<int64_t>(8, run - k0), col0 = 4 * (tx0 + k0) - g.pw;
            __m256i cols[5];  // the columns col0 + 8 q + lane inside the image (q = 4: lane 0 only)
            for (int q = 0; q < 5; ++q)
                cols[q] = lane_range8(-(col0 + 8 * q), std::min<int64_t>(q == 4 ? 1 : 8, g.w - (col0 + 8 * q)));
            const float* rows[5];
            for (int a = 0; a < 5; ++a) {
                const int64_t iy = 4 * ty - g.ph + a;
                rows[a] = iy < 0 || iy >= g.h ? nullptr : plane + iy * g.w + col0;
            }
            const int64_t lane0 = done + k0, in_panel = nr - lane0 % nr;
            float* dst0 = v + (lane0 / nr) * panel_stride + lane0 % nr;
            float* dst1 = v + (lane0 / nr + 1) * panel_stride - in_panel;
            const __m256i m0 = lane_range8(0, std::min(n, in_panel)), m1 = lane_range8(in_panel, n);
            const bool crosses = in_panel < n;
            for (int i = 0; i < 5; ++i) {
                __m256 row[5];  // B'^T's row i: d0 - d2, d2, d4 - d2, d1, d3
                for (int q = 0; q < 5; ++q)
                    row[q] = i == 0 ? _mm256_sub_ps(s2_columns8(rows[0], q, cols), s2_columns8(rows[2], q, cols))
                           : i == 1 ? s2_columns8(rows[2], q, cols)
                           : i == 2 ? _mm256_sub_ps(s2_columns8(rows[4], q, cols), s2_columns8(rows[2], q, cols))
                           : i == 3 ? s2_columns8(rows[1], q, cols)
                                    : s2_columns8(rows[3], q, cols);
                // row[q] holds tiles 2q and 2q + 1 (four columns each): transpose each 128-bit
                // lane's 4 x 4 block of (row[0..3]), then put the tiles in order.
                const __m256 t0 = _mm256_unpacklo_ps(row[0], row[1]), t1 = _mm256_unpackhi_ps(row[0], row[1]);
                const __m256 t2 = _mm256_unpacklo_ps(row[2], row[3]), t3 = _mm256_unpackhi_ps(row[2], row[3]);
                __m256 col[5];  // col[j] lane k: the row's column 4k + j
                col[0] = _mm256_permutevar8x32_ps(_mm256_shuffle_ps(t0, t2, 0x44), tile_order);
                col[1] = _mm256_permutevar8x32_ps(_mm256_shuffle_ps(t0, t2, 0xee), tile_order);
                col[2] = _mm256_permutevar8x32_ps(_mm256_shuffle_ps(t1, t3, 0x44), tile_order);
                col[3] = _mm256_permutevar8x32_ps(_mm256_shuffle_ps(t1, t3, 0xee), tile_order);
                col[4] = _mm256_blend_ps(_mm256_permutevar8x32_ps(col[0], next_tile),
                                         _mm256_permutevar8x32_ps(row[4], _mm256_setzero_si256()), 0x80);
                const __m256 out[5] = {_mm256_sub_ps(col[0], col[2]), col[2], _mm256_sub_ps(col[4], col[2]), col[1],
                                       col[3]};
                for (int j = 0; j < 5; ++j) {
                    const int64_t e = (i * 5 + j) * e_stride;
                    _mm256_maskstore_ps(dst0 + e, m0, out[j]);
                    if (crosses) _mm256_maskstore_ps(dst1 + e, m1, out[j]);
                }
            }
        }
        done += run;
    }
    zero_missing_tiles(v, count, nr, 25, e_stride, panel_stride);
}
#endif

// Per-thread scratch of one block: V (elements x cin x kTilesPerBlock) and M (elements x rows
// x kTilesPerBlock), reused across calls.
float* wino_scratch(std::vector<float>& buffer, int64_t floats) {
    if (int64_t(buffer.size()) < floats) buffer.resize(size_t(floats));
    return buffer.data();
}

// The output transform of one output channel's tiles: y[0..3][t] = the tile's outputs
// (0, 0), (0, 1), (1, 0), (1, 1) from its M entries mc[e * m_e_stride + t].
// Stride 1: A^T M A, A^T = [1 1 1 0; 0 1 -1 -1]; stride 2: A'^T M A', A'^T = [1 1 0 1 0; 0 1 1 0 1].
__attribute__((always_inline)) inline void winograd_output_transform(bool stride2, const float* __restrict mc,
                                                                     int64_t m_e_stride, int64_t count,
                                                                     float (*y)[kTilesPerBlock]) {
    if (stride2) {
        for (int64_t t = 0; t < count; ++t) {
            float s0[5], s1[5];
            for (int j = 0; j < 5; ++j) {
                const float m0 = mc[j * m_e_stride + t], m1 = mc[(5 + j) * m_e_stride + t];
                const float m2 = mc[(10 + j) * m_e_stride + t], m3 = mc[(15 + j) * m_e_stride + t];
                const float m4 = mc[(20 + j) * m_e_stride + t];
                s0[j] = m0 + m1 + m3;
                s1[j] = m1 + m2 + m4;
            }
            y[0][t] = s0[0] + s0[1] + s0[3];
            y[1][t] = s0[1] + s0[2] + s0[4];
            y[2][t] = s1[0] + s1[1] + s1[3];
            y[3][t] = s1[1] + s1[2] + s1[4];
        }
        return;
    }
    for (int64_t t = 0; t < count; ++t) {
        float s0[4], s1[4];
        for (int j = 0; j < 4; ++j) {
            const float m0 = mc[j * m_e_stride + t], m1 = mc[(4 + j) * m_e_stride + t];
            const float m2 = mc[(8 + j) * m_e_stride + t], m3 = mc[(12 + j) * m_e_stride + t];
            s0[j] = m0 + m1 + m2;
            s1[j] = m1 - m2 - m3;
        }
        y[0][t] = s0[0] + s0[1] + s0[2];
        y[1][t] = s0[1] - s0[2] - s0[3];
        y[2][t] = s1[0] + s1[1] + s1[2];
        y[3][t] = s1[1] - s1[2] - s1[3];
    }
}

// Output channel co's tiles first .. first + count - 1 (count <= kTilesPerBlock) of one image
// from their M entries (mc[e * m_e_stride + t]): the output transform, then bias and SiLU.
__attribute__((always_inline)) inline void winograd_outputs_body(const inkwell_conv2d_params& p, const Geometry& g,
                                                                 const WinoPlan& plan, int64_t image, int64_t co,
                                                                 int64_t first, int64_t count, const float* mc,
                                                                 int64_t m_e_stride) {
    const bool silu_on = p.activation == INKWELL_ACTIVATION_SILU, has_bias = p.bias != nullptr;
    const float bias = has_bias ? bias_of(p)[co] : 0.0f;
    float* o = output_of(p) + (image * g.cout + co) * g.pixels;
    float y[4][kTilesPerBlock];
    winograd_output_transform(plan.stride2, mc, m_e_stride, count, y);
    auto finish = [&](float val) {
        if (has_bias) val += bias;
        return silu_on ? silu(val) : val;
    };
    // Runs of tiles along a tile row: output rows 2 ty and 2 ty + 1 take y[0], y[1] and y[2],
    // y[3] interleaved (a division per tile was 2-3% of a stride-2 call).
    for (int64_t t = 0; t < count;) {
        const int64_t tile = first + t, ty = tile / plan.tiles_w, tx0 = tile % plan.tiles_w;
        const int64_t run = std::min(count - t, plan.tiles_w - tx0);
        const int64_t whole = std::min(run, (g.ow - 2 * tx0) / 2);  // tiles with both columns inside
        for (int i = 0; i < 2 && 2 * ty + i < g.oh; ++i) {
            float* row = o + (2 * ty + i) * g.ow + 2 * tx0;
            const float* left = y[2 * i] + t;
            const float* right = y[2 * i + 1] + t;
            for (int64_t k = 0; k < whole; ++k) {
                row[2 * k] = finish(left[k]);
                row[2 * k + 1] = finish(right[k]);
            }
            if (whole < run) row[2 * whole] = finish(left[whole]);  // odd width: the last column
        }
        t += run;
    }
}

// The body compiled for each level (the compiler vectorises its loops: only additions, no
// multiply to fuse, so the same bits at every level).
void winograd_outputs(const inkwell_conv2d_params& p, const Geometry& g, const WinoPlan& plan, int64_t image,
                      int64_t co, int64_t first, int64_t count, const float* mc, int64_t m_e_stride) {
    winograd_outputs_body(p, g, plan, image, co, first, count, mc, m_e_stride);
}

#ifdef INKWELL_GEMM_X86
__attribute__((target("avx512f"))) void winograd_outputs_avx512(const inkwell_conv2d_params& p, const Geometry& g,
                                                                const WinoPlan& plan, int64_t image, int64_t co,
                                                                int64_t first, int64_t count, const float* mc,
                                                                int64_t m_e_stride) {
    winograd_outputs_body(p, g, plan, image, co, first, count, mc, m_e_stride);
}

__attribute__((target("avx2"))) void winograd_outputs_avx2(const inkwell_conv2d_params& p, const Geometry& g,
                                                           const WinoPlan& plan, int64_t image, int64_t co,
                                                           int64_t first, int64_t count, const float* mc,
                                                           int64_t m_e_stride) {
    winograd_outputs_body(p, g, plan, image, co, first, count, mc, m_e_stride);
}
#endif

// M_e = U_e V_e of one element for a block: U's tiles packed k-major, V's panels packed
// (V_e[panel][ci][nr]), M_e[co][tile] (kTilesPerBlock floats a row). (Running the stride-2
// elements that share a U entry together, to read its rows once, measured 0.99-1.03x.)
void winograd_gemm(const Geometry& g, const WinoPlan& plan, const float* u_e, const float* v_e, int64_t panel_stride,
                   float* m_e) {
    const int mr = plan.ks.mr, nr = plan.ks.nr;
    for (int64_t b = 0; b < plan.kb.count; ++b) {
        const int64_t k0 = plan.kb.begin(b), kc = plan.kb.size(b, g.cin);
        for (int64_t pn = 0; pn < plan.panels(); ++pn) {
            const float* panel = v_e + pn * panel_stride + k0 * nr;
            for (int64_t r = 0; r < plan.rows; r += mr)
                plan.ks.packed_a(MicroTile{u_e + plan.u_index(r, k0), mr, panel, kc,
                                           m_e + r * kTilesPerBlock + pn * nr, kTilesPerBlock, b > 0});
        }
    }
}

void winograd_task(const inkwell_conv2d_params& p, const Geometry& g, const WinoPlan& plan, const float* u,
                   int64_t task) {
    const int64_t image = task / plan.blocks, block = task % plan.blocks;
    const int64_t first = block * kTilesPerBlock, count = std::min(kTilesPerBlock, plan.tiles - first);
    const int nr = plan.ks.nr;
    const int64_t panels = plan.panels();
    const int elements = plan.elements();
    thread_local std::vector<float> v_buffer, m_buffer;
    // V[e][panel][ci][nr]
    const int64_t panel_stride = g.cin * nr, v_e_stride = panels * panel_stride;
    float* v = wino_scratch(v_buffer, elements * v_e_stride);
    // M[e][co][tile]
    const int64_t m_e_stride = plan.rows * kTilesPerBlock;
    float* m = wino_scratch(m_buffer, elements * m_e_stride);

    const float* x = input_of(p) + image * g.cin * g.h * g.w;
    auto s2_input = winograd_s2_input_plane;
#ifdef INKWELL_GEMM_X86
    // The kernels were chosen by the level in effect, so their instructions are allowed.
    if (plan.ks.fn == kAvx512Kernel.fn) s2_input = winograd_s2_input_plane_avx512;
    if (plan.ks.fn == kAvx2Kernel.fn) s2_input = winograd_s2_input_plane_avx2;
#endif
    for (int64_t ci = 0; ci < g.cin; ++ci) {
        const float* plane = x + ci * g.h * g.w;
        if (plan.stride2) {
            s2_input(g, plan, plane, first, count, v + ci * nr, v_e_stride, panel_stride);
        } else {
            winograd_input_plane(g, plan, plane, first, count, v + ci * nr, v_e_stride, panel_stride);
        }
    }

    for (int e = 0; e < elements; ++e)
        winograd_gemm(g, plan, u + plan.u_entry(e) * plan.rows * g.cin, v + e * v_e_stride, panel_stride,
                      m + e * m_e_stride);

    auto outputs = winograd_outputs;
#ifdef INKWELL_GEMM_X86
    if (plan.ks.fn == kAvx512Kernel.fn) outputs = winograd_outputs_avx512;
    if (plan.ks.fn == kAvx2Kernel.fn) outputs = winograd_outputs_avx2;
#endif
    for (int64_t co = 0; co < g.cout; ++co)
        outputs(p, g, plan, image, co, first, count, m + co * kTilesPerBlock, m_e_stride);
}

// U for every (co, ci), in parallel over co. Kept per calling thread between calls, as the
// other scratch buffers: 26 MB at [640, 640] that a fresh allocation would page-fault in at
// every call. winograd_weights writes every float (the padding rows as 0).
const float* winograd_all_weights(ThreadPool& pool, const inkwell_conv2d_params& p, const Geometry& g,
                                  const WinoPlan& plan) {
    thread_local std::vector<float> u_buffer;
    float* const u = wino_scratch(u_buffer, 16 * plan.rows * g.cin);
    pool.parallel_for(plan.rows / kWinoRowPad,
                      [&](int64_t task) { winograd_weights(p, g, plan, task * kWinoRowPad, u); });
    return u;
}

void conv2d_winograd(ThreadPool& pool, const inkwell_conv2d_params& p, const Geometry& g, const KernelSpec& ks) {
    WinoPlan plan{ks, KBlocks(g.cin), g.sh == 2, ceil_div(g.oh, 2), ceil_div(g.ow, 2), 0, 0, 0, g.cin};
    plan.tiles = plan.tiles_h * plan.tiles_w;
    plan.blocks = ceil_div(plan.tiles, kTilesPerBlock);
    plan.rows = ceil_div(g.cout, kWinoRowPad) * kWinoRowPad;
    const float* u = winograd_all_weights(pool, p, g, plan);
    pool.parallel_for(g.batch * plan.blocks, [&](int64_t task) { winograd_task(p, g, plan, u, task); });
}

// ---------------------------------------------------------------------------------------
// Direct path: one output plane per task, taps accumulated in order.
// ---------------------------------------------------------------------------------------

void direct_plane(const inkwell_conv2d_params& p, const Geometry& g, StridedCopy copy, int64_t plane) {
    const int64_t n = plane / g.cout, co = plane % g.cout;
    const float* x_group = input_of(p) + (n * g.cin + (co / g.cout_g) * g.cin_g) * g.h * g.w;
    const float* w = weight_of(p) + co * g.k_len;
    float* out = output_of(p) + plane * g.pixels;
    constexpr int64_t kChunk = 512;
    float acc[kChunk], row[kChunk];
    thread_local ColRuns runs;
    for (int64_t p0 = 0; p0 < g.pixels; p0 += kChunk) {
        const int64_t count = std::min(kChunk, g.pixels - p0);
        plan_col_runs(g, p0, count, copy, runs);
        std::fill(acc, acc + count, 0.0f);
        for (int64_t k = 0; k < g.k_len; ++k) {
            const int64_t ci = k / g.taps, tap = k % g.taps;
            im2col_row(g, runs, x_group + ci * g.h * g.w, tap / g.kw, tap % g.kw, row);
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

bool conv2d_isa_available(Conv2dIsa isa) {
#ifdef INKWELL_GEMM_X86
    if (isa == Conv2dIsa::kAvx2) return simd_avx2();
    if (isa == Conv2dIsa::kAvx512) return simd_avx512();
#endif
    return isa == Conv2dIsa::kAuto || isa == Conv2dIsa::kPortable;
}

bool conv2d_uses_winograd(const inkwell_conv2d_params& p, Conv2dAlgo algo) {
    const Geometry g(p);
    if (g.cout_g < kMinGemmRows || !winograd_eligible(g)) return false;
    if (algo != Conv2dAlgo::kAuto) return algo == Conv2dAlgo::kWinograd;
    // Where it pays, measured (see the Winograd section): enough tiles per call that the
    // weight transform is small beside the GEMMs, and channels enough to fill the tiles.
    if (g.cin < kWinogradMinChannels || g.cout < kWinogradMinChannels) return false;
    const int64_t pixels = g.oh * g.ow;
    return pixels >= kWinogradMinPixels ||
           (pixels >= kWinogradMinPixelsLarge && g.cin * g.cout >= kWinogradMinChannelProduct);
}

void conv2d_fast(ThreadPool& pool, const inkwell_conv2d_params& p, Conv2dIsa isa, Conv2dAlgo algo) {
    const Geometry g(p);
    if (g.cout_g < kMinGemmRows) {
        const StridedCopy copy = select_strided_copy(isa);
        pool.parallel_for(g.batch * g.cout, [&](int64_t plane) { direct_plane(p, g, copy, plane); });
        return;
    }
    if (conv2d_uses_winograd(p, algo)) {
        conv2d_winograd(pool, p, g, select_kernel(isa));
        return;
    }
    conv2d_gemm(pool, p, g, isa);
}

}  // namespace inkwell::cpu
