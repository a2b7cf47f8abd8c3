// PSNR and SSIM of 8-bit images on the GPU (scikit-image's definitions, see
// cpu/metrics_cpu.hpp). Variants:
//   CPU reference   cpu/metrics_cpu.cpp (psnr_reference, ssim_reference: plain loops)
//   psnr_kernel     sum of squared differences as 64-bit integers: per-thread sums, a warp
//                   and block reduction, one 64-bit integer atomicAdd per block. Integer
//                   addition is associative, so the sum is exact and the same in any order;
//                   the host turns it into dB with the CPU's formula.
//   ssim_row_kernel one block per (channel, valid row): in segments of 256 output columns,
//                   the vertical (axis 0) Gaussian moments of the segment and its 5-column
//                   halo into shared memory, then per pixel the horizontal pass and the SSIM
//                   formula, then thread 0 adds the segment's values to the row's sum in
//                   column order.
//   ssim_channel_kernel  one thread per channel adds its rows' sums in row order.
// The SSIM arithmetic is the CPU fast path's, operation for operation: the same taps
// (computed on the host with the same expression), scipy's symmetric filter order (centre
// tap, then pairs from the outermost in), the same SSIM expression, and the same summation
// order (columns within a row from 0, rows within a channel from 0, channels on the host),
// with every double operation an explicit round-to-nearest intrinsic (no FMA
// contraction; the file is also compiled with -fmad=false). So the result is the CPU's bit
// for bit wherever the CPU build does not contract multiply-adds either (x86-64 without
// -mfma, as the project builds); the test allows 1e-12 relative for CPU builds that do.
// No floating-point atomics: the reduction order is fixed, the result deterministic.
#include <cmath>
#include <limits>

#include "cuda_common.cuh"

namespace inkwell::cuda {

namespace {

constexpr double kSigma = 1.5;
constexpr double kDataRange = 255.0;
constexpr double kC1 = (0.01 * kDataRange) * (0.01 * kDataRange);
constexpr double kC2 = (0.03 * kDataRange) * (0.03 * kDataRange);
constexpr int kRadius = 5;
constexpr int kWindow = 2 * kRadius + 1;

constexpr int kThreads = 256;
constexpr int kPsnrBlocksPerSm = 8;

// ---- PSNR ----------------------------------------------------------------------------

struct Pair {
    const uint8_t* a;
    int64_t a_stride;
    const uint8_t* b;
    int64_t b_stride;
    int64_t h, row_bytes;
};

__global__ void __launch_bounds__(kThreads) psnr_kernel(Pair p, unsigned long long* sum) {
    __shared__ unsigned long long warp_sums[kThreads / 32];
    unsigned long long acc = 0;
    for (int64_t y = blockIdx.x; y < p.h; y += gridDim.x) {
        const uint8_t* ra = p.a + y * p.a_stride;
        const uint8_t* rb = p.b + y * p.b_stride;
        uint32_t row = 0;  // at most 255^2 * ceil(row_bytes / 256) < 2^32 for rows up to 2^22 bytes
        for (int64_t i = threadIdx.x; i < p.row_bytes; i += kThreads) {
            const int32_t d = int32_t(ra[i]) - int32_t(rb[i]);
            row += uint32_t(d * d);
        }
        acc += row;
    }
    for (int offset = 16; offset > 0; offset /= 2) acc += __shfl_down_sync(0xffffffffu, acc, offset);
    if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = acc;
    __syncthreads();
    if (threadIdx.x == 0) {
        unsigned long long total = 0;
        for (int w = 0; w < kThreads / 32; ++w) total += warp_sums[w];
        atomicAdd(sum, total);
    }
}

// cpu psnr_from_sum.
double psnr_from_sum(int64_t squared_error_sum, int64_t samples) {
    if (squared_error_sum == 0) return std::numeric_limits<double>::infinity();
    const double mse = double(squared_error_sum) / double(samples);
    return 10.0 * std::log10(kDataRange * kDataRange / mse);
}

// ---- SSIM ----------------------------------------------------------------------------

struct Taps {
    double t[kWindow];  // index 0 = offset -5
};

// cpu ssim_gaussian_taps.
Taps ssim_taps() {
    Taps taps;
    double sum = 0;
    for (int i = 0; i < kWindow; ++i) {
        const double x = i - kRadius;
        taps.t[i] = std::exp(-0.5 / (kSigma * kSigma) * (x * x));
        sum += taps.t[i];
    }
    for (double& t : taps.t) t /= sum;
    return taps;
}

__device__ __forceinline__ double mul(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ double add(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ double sub(double a, double b) { return __dsub_rn(a, b); }

// cpu symmetric_filter: centre tap first, then pairs from the outermost inwards.
template <class At>
__device__ __forceinline__ double symmetric_filter(const Taps& taps, const At& at) {
    double acc = mul(at(0), taps.t[kRadius]);
#pragma unroll
    for (int k = kRadius; k >= 1; --k) acc = add(acc, mul(add(at(-k), at(k)), taps.t[kRadius - k]));
    return acc;
}

// cpu ssim_of.
__device__ __forceinline__ double ssim_of(double x, double y, double xx, double yy, double xy) {
    const double vx = sub(xx, mul(x, x));
    const double vy = sub(yy, mul(y, y));
    const double vxy = sub(xy, mul(x, y));
    const double a1 = add(mul(mul(2.0, x), y), kC1), a2 = add(mul(2.0, vxy), kC2);
    const double b1 = add(add(mul(x, x), mul(y, y)), kC1), b2 = add(add(vx, vy), kC2);
    return __ddiv_rn(mul(a1, a2), mul(b1, b2));
}

struct SsimArgs {
    Pair p;
    int64_t w, cn, rows;  // rows: valid rows, h - 10
    Taps taps;
    double* row_sums;  // [cn][rows]
};

constexpr int kStaged = kThreads + 2 * kRadius;  // vertical moments a segment needs

__global__ void __launch_bounds__(kThreads) ssim_row_kernel(SsimArgs a) {
    __shared__ double mx[kStaged], my[kStaged], mxx[kStaged], myy[kStaged], mxy[kStaged];
    __shared__ double values[kThreads];
    const int64_t c = blockIdx.x / a.rows, r = blockIdx.x % a.rows;
    const int64_t y = kRadius + r;  // the output row
    const uint8_t* ra = a.p.a + (y - kRadius) * a.p.a_stride + c;
    const uint8_t* rb = a.p.b + (y - kRadius) * a.p.b_stride + c;
    const int64_t end = a.w - kRadius;  // output columns kRadius .. end - 1
    double row_sum = 0;                 // thread 0's
    for (int64_t x0 = kRadius; x0 < end; x0 += kThreads) {
        // Axis 0 at columns x0 - 5 .. x0 + 260 (those inside the image), as cpu filter_rows.
        for (int j = threadIdx.x; j < kStaged; j += kThreads) {
            const int64_t col = x0 - kRadius + j;
            if (col >= a.w) break;
            const int64_t o = col * a.cn;
            auto p = [&](int k) { return double(ra[(k + kRadius) * a.p.a_stride + o]); };
            auto q = [&](int k) { return double(rb[(k + kRadius) * a.p.b_stride + o]); };
            mx[j] = symmetric_filter(a.taps, p);
            my[j] = symmetric_filter(a.taps, q);
            mxx[j] = symmetric_filter(a.taps, [&](int k) { return mul(p(k), p(k)); });
            myy[j] = symmetric_filter(a.taps, [&](int k) { return mul(q(k), q(k)); });
            mxy[j] = symmetric_filter(a.taps, [&](int k) { return mul(p(k), q(k)); });
        }
        __syncthreads();
        // Axis 1 and the SSIM of pixel x0 + threadIdx.x, as cpu ssim_row_sum.
        if (x0 + threadIdx.x < end) {
            const int j = threadIdx.x + kRadius;
            values[threadIdx.x] =
                ssim_of(symmetric_filter(a.taps, [&](int k) { return mx[j + k]; }),
                        symmetric_filter(a.taps, [&](int k) { return my[j + k]; }),
                        symmetric_filter(a.taps, [&](int k) { return mxx[j + k]; }),
                        symmetric_filter(a.taps, [&](int k) { return myy[j + k]; }),
                        symmetric_filter(a.taps, [&](int k) { return mxy[j + k]; }));
        }
        __syncthreads();
        // In column order. The next segment's first writes to values come after its first
        // __syncthreads, which thread 0 reaches only when done here.
        if (threadIdx.x == 0) {
            const int n = int(std::min<int64_t>(kThreads, end - x0));
            for (int i = 0; i < n; ++i) row_sum = add(row_sum, values[i]);
        }
    }
    if (threadIdx.x == 0) a.row_sums[c * a.rows + r] = row_sum;
}

__global__ void ssim_channel_kernel(const double* row_sums, int64_t rows, int64_t cn, double* channel_sums) {
    const int64_t c = threadIdx.x;
    if (c >= cn) return;
    double sum = 0;
    for (int64_t r = 0; r < rows; ++r) sum = add(sum, row_sums[c * rows + r]);
    channel_sums[c] = sum;
}

Pair pair_of(const inkwell_image_metric_params& p) {
    return Pair{p.reference.data, p.reference.row_stride, p.test.data, p.test.row_stride, p.reference.height,
                p.reference.width * p.reference.channels};
}

}  // namespace

double psnr(State& s, const inkwell_image_metric_params& p) {
    const Pair pair = pair_of(p);
    if (pair.row_bytes > (int64_t(1) << 22)) fail(INKWELL_INTERNAL_ERROR, "psnr: row of more than 2^22 bytes");
    auto* sum = static_cast<unsigned long long*>(scratch(s, sizeof(unsigned long long)));
    check(cudaMemsetAsync(sum, 0, sizeof(unsigned long long), s.stream), "psnr: cudaMemsetAsync");
    const int64_t blocks = std::min<int64_t>(pair.h, int64_t(s.sm_count) * kPsnrBlocksPerSm);
    psnr_kernel<<<unsigned(blocks), kThreads, 0, s.stream>>>(pair, sum);
    finish_launch(s, "psnr");
    unsigned long long total = 0;
    check(cudaMemcpyAsync(&total, sum, sizeof total, cudaMemcpyDeviceToHost, s.stream), "psnr: result copy");
    check(cudaStreamSynchronize(s.stream), "psnr: result copy");
    return psnr_from_sum(int64_t(total), pair.h * pair.row_bytes);
}

double ssim(State& s, const inkwell_image_metric_params& p) {
    SsimArgs a;
    a.p = pair_of(p);
    a.w = p.reference.width;
    a.cn = p.reference.channels;
    a.rows = a.p.h - 2 * kRadius;  // >= 1: the core requires 11x11
    a.taps = ssim_taps();
    const int64_t blocks = a.rows * a.cn;
    if (a.rows < 1 || a.w < kWindow || a.cn < 1 || a.cn > 4 || blocks > std::numeric_limits<int32_t>::max())
        fail(INKWELL_INTERNAL_ERROR, "ssim: image shape reached the CUDA launcher unchecked");
    auto* base = static_cast<double*>(scratch(s, size_t(blocks + 4) * sizeof(double)));
    a.row_sums = base;
    double* channel_sums = base + blocks;
    ssim_row_kernel<<<unsigned(blocks), kThreads, 0, s.stream>>>(a);
    ssim_channel_kernel<<<1, 32, 0, s.stream>>>(a.row_sums, a.rows, a.cn, channel_sums);
    finish_launch(s, "ssim");
    double sums[4] = {0, 0, 0, 0};
    check(cudaMemcpyAsync(sums, channel_sums, size_t(a.cn) * sizeof(double), cudaMemcpyDeviceToHost, s.stream),
          "ssim: result copy");
    check(cudaStreamSynchronize(s.stream), "ssim: result copy");
    // cpu mean_ssim.
    const double pixels = double(a.p.h - 2 * kRadius) * double(a.w - 2 * kRadius);
    double total = 0;
    for (int64_t c = 0; c < a.cn; ++c) total += sums[c] / pixels;
    return total / double(a.cn);
}

}  // namespace inkwell::cuda
