// Gaussian blur of 8-bit images on the GPU, bit-identical to the CPU backend (and so to
// cv::GaussianBlur's 8-bit fixed point, BORDER_REFLECT_101). Also Canny's optional pre-blur
// (canny_cuda.cu calls blur_u8). Variants:
//   CPU reference   cpu/gaussian_blur_cpu.cpp (gaussian_blur_reference, a plain 2-D loop)
//   blur_vertical_kernel    v[y][i] = sum_t k[t] src[reflect(y + t - r)][i] over the w * cn
//                   bytes of a row: exact, at most 255 * 256, kept as u16 in scratch; one
//                   thread per byte, rows grid-strided (gridDim.y is at most 65535)
//   blur_horizontal_kernel  a block takes 256 consecutive output bytes of a row, stages
//                   the u16 row segment it needs (r pixels each side, reflected once per
//                   staged value, not once per tap) in shared memory, then
//                   out = min(255, (sum_t k[t] v[x + t - r] + 2^15) >> 16)
// Integer arithmetic throughout (the sum is at most 255 * 256 * 256 < 2^32), so the order
// of the passes and of the taps cannot change a bit. Any odd ksize up to 127, images
// narrower or shorter than the kernel (reflection repeats as the CPU's does), 1..4
// channels, any row strides; the padding bytes of dst rows are never written.
#include "cuda_common.cuh"

namespace inkwell::cuda {

namespace {

constexpr int kMaxTaps = 127;
constexpr int kMaxChannels = 4;
constexpr int kThreads = 256;
constexpr int64_t kMaxGridY = 65535;

struct Taps {
    int32_t k[kMaxTaps];
};

// OpenCV's borderInterpolate for BORDER_REFLECT_101 (gfedcb|abcdefgh|gfedcba), any offset,
// as cpu::reflect101.
__device__ __forceinline__ int64_t reflect101(int64_t p, int64_t len) {
    if (len == 1) return 0;
    while (p < 0 || p >= len) p = p < 0 ? -p : 2 * (len - 1) - p;
    return p;
}

__global__ void __launch_bounds__(kThreads) blur_vertical_kernel(const uint8_t* src, int64_t stride, int64_t h,
                                                                 int64_t row_bytes, Taps taps, int ksize, uint16_t* v) {
    const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    if (i >= row_bytes) return;
    const int r = ksize / 2;
    for (int64_t y = blockIdx.y; y < h; y += gridDim.y) {
        uint32_t sum = 0;
        for (int t = 0; t < ksize; ++t) sum += uint32_t(taps.k[t]) * src[reflect101(y + t - r, h) * stride + i];
        v[y * row_bytes + i] = uint16_t(sum);
    }
}

__global__ void __launch_bounds__(kThreads) blur_horizontal_kernel(const uint16_t* v, int64_t h, int64_t w, int cn,
                                                                   Taps taps, int ksize, uint8_t* dst,
                                                                   int64_t dst_stride) {
    // The segment: output bytes x0 .. x0 + 255 need bytes x0 - r cn .. x0 + 255 + r cn.
    __shared__ uint16_t seg[kThreads + 2 * (kMaxTaps / 2) * kMaxChannels];
    const int r = ksize / 2;
    const int64_t row_bytes = w * cn;
    const int64_t x0 = blockIdx.x * int64_t(kThreads);
    const int staged = kThreads + 2 * r * cn;
    for (int64_t y = blockIdx.y; y < h; y += gridDim.y) {
        const uint16_t* row = v + y * row_bytes;
        for (int j = threadIdx.x; j < staged; j += kThreads) {
            const int64_t q = x0 + j - int64_t(r) * cn;  // byte position, may lie outside the row
            const int64_t c = ((q % cn) + cn) % cn;
            const int64_t pixel = (q - c) / cn;
            seg[j] = row[reflect101(pixel, w) * cn + c];
        }
        __syncthreads();
        const int64_t i = x0 + threadIdx.x;
        if (i < row_bytes) {
            uint32_t sum = 0;
            for (int t = 0; t < ksize; ++t) sum += uint32_t(taps.k[t]) * seg[threadIdx.x + t * cn];
            dst[y * dst_stride + i] = uint8_t(min(255u, (sum + (1u << 15)) >> 16));
        }
        __syncthreads();  // seg is restaged for the next row
    }
}

}  // namespace

size_t blur_scratch_bytes(int64_t h, int64_t w, int64_t cn) { return size_t(h * w * cn) * sizeof(uint16_t); }

void blur_u8(State& s, const uint8_t* src, int64_t src_stride, uint8_t* dst, int64_t dst_stride, int64_t h, int64_t w,
             int64_t cn, const int32_t* taps, int ksize, uint16_t* vertical) {
    if (ksize < 1 || ksize > kMaxTaps || ksize % 2 == 0)
        fail(INKWELL_INTERNAL_ERROR, "blur: ksize " + std::to_string(ksize) + " reached the CUDA launcher");
    if (cn < 1 || cn > kMaxChannels)
        fail(INKWELL_INTERNAL_ERROR, "blur: " + std::to_string(cn) + " channels reached the CUDA launcher");
    Taps t{};
    for (int i = 0; i < ksize; ++i) t.k[i] = taps[i];
    const int64_t row_bytes = w * cn;
    const dim3 grid(unsigned(ceil_div(row_bytes, kThreads)), unsigned(std::min(h, kMaxGridY)));
    blur_vertical_kernel<<<grid, kThreads, 0, s.stream>>>(src, src_stride, h, row_bytes, t, ksize, vertical);
    blur_horizontal_kernel<<<grid, kThreads, 0, s.stream>>>(vertical, h, w, int(cn), t, ksize, dst, dst_stride);
    check(cudaGetLastError(), "blur launch");
}

void gaussian_blur(State& s, const cuda_backend::BlurArgs& a) {
    auto* vertical = static_cast<uint16_t*>(scratch(s, blur_scratch_bytes(a.height, a.width, a.channels)));
    blur_u8(s, a.src, a.src_stride, a.dst, a.dst_stride, a.height, a.width, a.channels, a.taps, a.ksize, vertical);
    finish_launch(s, "gaussian_blur");
}

}  // namespace inkwell::cuda
