// 2x resampling of NCHW float32 tensors on the GPU, bit-identical to the CPU backend
// (torch's float arithmetic, see cpu/resample_cpu.hpp). Variants:
//   CPU reference   cpu/resample_cpu.cpp (resample_reference, one formula per element)
//   nearest_kernel  out[y][x] = in[y / 2][x / 2]
//   bilinear_kernel align_corners=False taps per output element (linear_tap of the CPU),
//                   (in[h0][w0] lw0 + in[h0][w1] lw1) lh0 + (in[h1][w0] lw0 + in[h1][w1] lw1) lh1
//   nearest_size_kernel  upsample_nearest2d to any size, float32 or a 16-bit type (bit copies): per axis aten's nearest_idx
//                   (cpu nearest_source_index), float(in) / float(out) and the product in
//                   round-to-nearest float as on the CPU
//   pool_kernel     2x2 stride 2: max (a NaN wins, torch's "val > max || isnan(val)") or
//                   avg ((a + b) + c + d) / 4
// One thread per output element, grid-strided over all planes (64-bit indices: a tensor
// may hold up to 2^40 elements). Every multiply, add and divide is an explicit
// round-to-nearest intrinsic in the CPU's order (and the file is compiled with
// -fmad=false), so no contraction into FMA can change a bit.
#include "cuda_common.cuh"

namespace inkwell::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kBlocksPerSm = 16;

struct Shape {
    int64_t in_h, in_w, out_h, out_w, total;  // total: output elements of all planes
};

__global__ void __launch_bounds__(kThreads) nearest_kernel(const float* in, float* out, Shape s) {
    for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < s.total; e += int64_t(gridDim.x) * blockDim.x) {
        const int64_t x = e % s.out_w, row = e / s.out_w;
        const int64_t y = row % s.out_h, n = row / s.out_h;
        out[e] = in[(n * s.in_h + y / 2) * s.in_w + x / 2];
    }
}

struct LinearTap {
    int64_t i0, i1;
    float l0, l1;
};

// cpu linear_tap: src = max(0, float(0.5 (dst + 0.5) - 0.5)), every value a multiple of 1/4.
__device__ __forceinline__ LinearTap linear_tap(int64_t dst, int64_t in_size) {
    const float scaled = __double2float_rn(__dsub_rn(__dmul_rn(0.5, __dadd_rn(double(dst), 0.5)), 0.5));
    const float src = 0.0f < scaled ? scaled : 0.0f;  // std::max(0.0f, scaled)
    LinearTap t;
    t.i0 = int64_t(src);
    t.i1 = t.i0 + (t.i0 < in_size - 1 ? 1 : 0);
    float l1 = __fsub_rn(src, float(t.i0));
    l1 = l1 < 0.0f ? 0.0f : l1;  // std::max(x, 0.0f)
    l1 = 1.0f < l1 ? 1.0f : l1;  // std::min(x, 1.0f)
    t.l1 = l1;
    t.l0 = __fsub_rn(1.0f, l1);
    return t;
}

__device__ __forceinline__ float lerp_row(const float* row, const LinearTap& w) {
    return __fadd_rn(__fmul_rn(row[w.i0], w.l0), __fmul_rn(row[w.i1], w.l1));
}

__global__ void __launch_bounds__(kThreads) bilinear_kernel(const float* in, float* out, Shape s) {
    for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < s.total; e += int64_t(gridDim.x) * blockDim.x) {
        const int64_t x = e % s.out_w, row = e / s.out_w;
        const int64_t y = row % s.out_h, n = row / s.out_h;
        const float* plane = in + n * s.in_h * s.in_w;
        const LinearTap h = linear_tap(y, s.in_h), w = linear_tap(x, s.in_w);
        out[e] = __fadd_rn(__fmul_rn(lerp_row(plane + h.i0 * s.in_w, w), h.l0),
                           __fmul_rn(lerp_row(plane + h.i1 * s.in_w, w), h.l1));
    }
}

__device__ __forceinline__ float max_update(float best, float v) { return (v > best || isnan(v)) ? v : best; }

template <bool Max>
__global__ void __launch_bounds__(kThreads) pool_kernel(const float* in, float* out, Shape s) {
    for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < s.total; e += int64_t(gridDim.x) * blockDim.x) {
        const int64_t x = e % s.out_w, row = e / s.out_w;
        const int64_t y = row % s.out_h, n = row / s.out_h;
        const float* w = in + (n * s.in_h + 2 * y) * s.in_w + 2 * x;
        const float a = w[0], b = w[1], c = w[s.in_w], d = w[s.in_w + 1];
        out[e] = Max ? max_update(max_update(max_update(max_update(-INFINITY, a), b), c), d)
                     : __fdiv_rn(__fadd_rn(__fadd_rn(__fadd_rn(a, b), c), d), 4.0f);
    }
}

// cpu nearest_source_index: out == in copies, out == 2 in halves, else
// min(floorf(float(dst) * (float(in) / float(out))), in - 1).
__device__ __forceinline__ int64_t nearest_source_index(int64_t dst, int64_t in_size, int64_t out_size) {
    if (out_size == in_size) return dst;
    if (out_size == 2 * in_size) return dst >> 1;
    const float scale = __fdiv_rn(__ll2float_rn(in_size), __ll2float_rn(out_size));
    const int64_t src = int64_t(floorf(__fmul_rn(__ll2float_rn(dst), scale)));
    return src < in_size - 1 ? src : in_size - 1;
}

// T: uint32_t (float32) or uint16_t (float16, bfloat16); the elements' bits are copied.
template <typename T>
__global__ void __launch_bounds__(kThreads) nearest_size_kernel(const T* in, T* out, Shape s) {
    for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < s.total; e += int64_t(gridDim.x) * blockDim.x) {
        const int64_t x = e % s.out_w, row = e / s.out_w;
        const int64_t y = row % s.out_h, n = row / s.out_h;
        out[e] = in[(n * s.in_h + nearest_source_index(y, s.in_h, s.out_h)) * s.in_w +
                    nearest_source_index(x, s.in_w, s.out_w)];
    }
}

}  // namespace

void upsample_nearest2d(State& s, const inkwell_upsample_nearest2d_params& p, int32_t element_type) {
    Shape shape;
    shape.in_h = p.in_height;
    shape.in_w = p.in_width;
    shape.out_h = p.out_height;
    shape.out_w = p.out_width;
    shape.total = p.batch * p.channels * shape.out_h * shape.out_w;  // <= 2^40, checked by the core
    const int64_t grid = std::min<int64_t>(ceil_div(shape.total, kThreads), int64_t(s.sm_count) * kBlocksPerSm);
    const unsigned blocks = unsigned(std::max<int64_t>(grid, 1));
    if (element_type == INKWELL_ELEMENT_F32)
        nearest_size_kernel<<<blocks, kThreads, 0, s.stream>>>(static_cast<const uint32_t*>(p.input),
                                                               static_cast<uint32_t*>(p.output), shape);
    else
        nearest_size_kernel<<<blocks, kThreads, 0, s.stream>>>(static_cast<const uint16_t*>(p.input),
                                                               static_cast<uint16_t*>(p.output), shape);
    finish_launch(s, "upsample_nearest2d");
}

void resample(State& s, const inkwell_resample_params& p) {
    const bool upsample = p.mode == INKWELL_UPSAMPLE_NEAREST_2X || p.mode == INKWELL_UPSAMPLE_BILINEAR_2X;
    Shape shape;
    shape.in_h = p.in_height;
    shape.in_w = p.in_width;
    shape.out_h = upsample ? p.in_height * 2 : p.in_height / 2;
    shape.out_w = upsample ? p.in_width * 2 : p.in_width / 2;
    shape.total = p.batch * p.channels * shape.out_h * shape.out_w;  // <= 2^40, checked by the core
    const int64_t grid = std::min<int64_t>(ceil_div(shape.total, kThreads), int64_t(s.sm_count) * kBlocksPerSm);
    const unsigned blocks = unsigned(std::max<int64_t>(grid, 1));
    switch (p.mode) {
        case INKWELL_UPSAMPLE_NEAREST_2X: nearest_kernel<<<blocks, kThreads, 0, s.stream>>>(p.input, p.output, shape); break;
        case INKWELL_UPSAMPLE_BILINEAR_2X:
            bilinear_kernel<<<blocks, kThreads, 0, s.stream>>>(p.input, p.output, shape);
            break;
        case INKWELL_MAX_POOL_2X2: pool_kernel<true><<<blocks, kThreads, 0, s.stream>>>(p.input, p.output, shape); break;
        case INKWELL_AVG_POOL_2X2: pool_kernel<false><<<blocks, kThreads, 0, s.stream>>>(p.input, p.output, shape); break;
        default: fail(INKWELL_INTERNAL_ERROR, "resample: mode " + std::to_string(p.mode) + " reached the CUDA launcher");
    }
    finish_launch(s, "resample");
}

}  // namespace inkwell::cuda
