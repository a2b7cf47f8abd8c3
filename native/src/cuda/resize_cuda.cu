// Resizing of 8-bit images on the GPU, bit-identical to the CPU backend (and so to OpenCV
// 4.6's cv::resize, see cpu/resize_cpu.hpp). The core plans on the host (per-axis taps,
// area cells, the method); this file uploads the plan's tables and runs one thread per
// output byte (grid-strided, 64-bit indices). Variants:
//   CPU reference     cpu/resize_cpu.cpp (resize_reference, taps recomputed per sample)
//   copy              cudaMemcpy2DAsync (a dst as large as src)
//   area_fast_kernel  box sum of factor_y x factor_x samples, modulo 2^32 as OpenCV's int,
//                     then (sum + 2) >> 2 or round(sum * (1 / area)) in float
//   area_kernel       per source row of the output's cells: buf = 0 + S * wx (in order),
//                     acc = wy * buf or acc + wy * buf; round(acc) clamped
//   tap_kernel<2>     the bilinear emulation: rows h0, h1 (int, clamped taps), then
//                     (((wy0 (h0 >> 4)) >> 16) + ((wy1 (h1 >> 4)) >> 16) + 2) >> 2
//   tap_kernel<8>     Lanczos-4: 8 rows h_k (int, clamped taps), (sum wy h + 2^21) >> 22,
//                     saturated
// Integer sums are exact in any order; every float operation is an explicit round-to-
// nearest intrinsic in the CPU's order, so no FMA contraction can change a bit.
#include <vector>

#include "cuda_common.cuh"

namespace inkwell::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kBlocksPerSm = 16;
constexpr int kMethodCopy = 0, kMethodAreaFast = 1, kMethodArea = 2, kMethodAreaLinear = 3, kMethodLanczos4 = 4;

struct Geometry {
    const uint8_t* src;
    int64_t src_stride, src_h, src_w;
    uint8_t* dst;
    int64_t dst_stride, dst_h, dst_w, cn;
    int64_t total;  // dst_h * dst_w * cn
};

__device__ __forceinline__ int64_t clamp_index(int64_t i, int64_t n) { return i < 0 ? 0 : (i >= n ? n - 1 : i); }

__device__ __forceinline__ uint8_t saturate_u8(int v) { return uint8_t(v < 0 ? 0 : (v > 255 ? 255 : v)); }

__global__ void __launch_bounds__(kThreads) area_fast_kernel(Geometry g, int fx, int fy, int round_shift) {
    const int64_t row_bytes = g.dst_w * g.cn;
    for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < g.total; e += int64_t(gridDim.x) * blockDim.x) {
        const int64_t y = e / row_bytes, i = e % row_bytes;
        const int64_t x = i / g.cn, c = i % g.cn;
        uint32_t sum_mod = 0;
        for (int64_t a = 0; a < fy; ++a) {
            const uint8_t* s = g.src + (y * fy + a) * g.src_stride + x * fx * g.cn + c;
            for (int64_t b = 0; b < fx; ++b) sum_mod += s[b * g.cn];
        }
        const int32_t sum = int32_t(sum_mod);  // two's complement, as OpenCV's int
        uint8_t v;
        if (round_shift) {
            v = uint8_t((sum + 2) >> 2);
        } else {
            const float scale = __fdiv_rn(1.0f, __int2float_rn(fx * fy));
            v = saturate_u8(__float2int_rn(__fmul_rn(__int2float_rn(sum), scale)));
        }
        g.dst[y * g.dst_stride + i] = v;
    }
}

struct Cells {
    const int32_t *x_start, *x_index, *y_start, *y_index;
    const float *x_weight, *y_weight;
};

__global__ void __launch_bounds__(kThreads) area_kernel(Geometry g, Cells t) {
    const int64_t row_bytes = g.dst_w * g.cn;
    for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < g.total; e += int64_t(gridDim.x) * blockDim.x) {
        const int64_t y = e / row_bytes, i = e % row_bytes;
        const int64_t x = i / g.cn, c = i % g.cn;
        float acc = 0.0f;
        for (int32_t j = t.y_start[y]; j < t.y_start[y + 1]; ++j) {
            const uint8_t* row = g.src + int64_t(t.y_index[j]) * g.src_stride + c;
            float buf = 0.0f;
            for (int32_t k = t.x_start[x]; k < t.x_start[x + 1]; ++k)
                buf = __fadd_rn(buf, __fmul_rn(float(row[int64_t(t.x_index[k]) * g.cn]), t.x_weight[k]));
            const float p = __fmul_rn(t.y_weight[j], buf);
            acc = j == t.y_start[y] ? p : __fadd_rn(acc, p);
        }
        g.dst[y * g.dst_stride + i] = saturate_u8(__float2int_rn(acc));
    }
}

struct Taps {
    const int32_t *x_first, *y_first;
    const int16_t *x_coef, *y_coef;
};

template <int K>
__global__ void __launch_bounds__(kThreads) tap_kernel(Geometry g, Taps t) {
    const int64_t row_bytes = g.dst_w * g.cn;
    for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < g.total; e += int64_t(gridDim.x) * blockDim.x) {
        const int64_t y = e / row_bytes, i = e % row_bytes;
        const int64_t x = i / g.cn, c = i % g.cn;
        const int16_t* a = t.x_coef + x * K;
        const int16_t* b = t.y_coef + y * K;
        int32_t h[K];
        for (int k = 0; k < K; ++k) {
            const uint8_t* row = g.src + clamp_index(int64_t(t.y_first[y]) + k, g.src_h) * g.src_stride + c;
            int32_t sum = 0;
            for (int j = 0; j < K; ++j) sum += int32_t(row[clamp_index(int64_t(t.x_first[x]) + j, g.src_w) * g.cn]) * a[j];
            h[k] = sum;
        }
        uint8_t v;
        if (K == 2) {
            const int32_t t0 = (int32_t(b[0]) * (h[0] >> 4)) >> 16;
            const int32_t t1 = (int32_t(b[1]) * (h[1] >> 4)) >> 16;
            v = uint8_t((t0 + t1 + 2) >> 2);  // at most 255, as on the CPU
        } else {
            int32_t sum = 0;
            for (int k = 0; k < K; ++k) sum += h[k] * b[k];
            v = saturate_u8((sum + (1 << 21)) >> 22);
        }
        g.dst[y * g.dst_stride + i] = v;
    }
}

// The plan's host arrays packed into the scratch buffer, each 16-byte aligned: add() them,
// send() once, then at() gives each array's device address.
class Upload {
public:
    template <class T>
    size_t add(const T* host, int64_t count) {
        const size_t offset = bytes_;
        parts_.push_back(Part{host, offset, size_t(count) * sizeof(T)});
        bytes_ += (size_t(count) * sizeof(T) + 15) / 16 * 16;
        return offset;
    }
    void send(State& s) {
        base_ = static_cast<char*>(scratch(s, std::max<size_t>(bytes_, 16)));
        for (const Part& p : parts_)
            if (p.bytes > 0)
                check(cudaMemcpyAsync(base_ + p.offset, p.host, p.bytes, cudaMemcpyHostToDevice, s.stream),
                      "resize: table upload");
    }
    template <class T>
    const T* at(size_t offset) const {
        return reinterpret_cast<const T*>(base_ + offset);
    }

private:
    struct Part {
        const void* host;
        size_t offset, bytes;
    };
    std::vector<Part> parts_;
    size_t bytes_ = 0;
    char* base_ = nullptr;
};

}  // namespace

void resize(State& s, const cuda_backend::ResizeArgs& a) {
    Geometry g{a.src, a.src_stride, a.src_height, a.src_width, a.dst, a.dst_stride, a.dst_height, a.dst_width,
               a.channels, a.dst_height * a.dst_width * a.channels};
    const int64_t grid = std::min<int64_t>(ceil_div(g.total, kThreads), int64_t(s.sm_count) * kBlocksPerSm);
    const unsigned blocks = unsigned(std::max<int64_t>(grid, 1));
    switch (a.method) {
        case kMethodCopy:
            check(cudaMemcpy2DAsync(a.dst, size_t(a.dst_stride), a.src, size_t(a.src_stride), size_t(a.src_width * a.channels),
                                    size_t(a.src_height), cudaMemcpyDeviceToDevice, s.stream),
                  "resize: copy");
            break;
        case kMethodAreaFast:
            area_fast_kernel<<<blocks, kThreads, 0, s.stream>>>(g, a.factor_x, a.factor_y, a.round_shift);
            break;
        case kMethodArea: {
            Upload up;
            const size_t xs = up.add(a.x_start, a.dst_width + 1), xi = up.add(a.x_index, a.x_cells),
                         xw = up.add(a.x_weight, a.x_cells);
            const size_t ys = up.add(a.y_start, a.dst_height + 1), yi = up.add(a.y_index, a.y_cells),
                         yw = up.add(a.y_weight, a.y_cells);
            up.send(s);
            const Cells c{up.at<int32_t>(xs), up.at<int32_t>(xi), up.at<int32_t>(ys),
                          up.at<int32_t>(yi), up.at<float>(xw),   up.at<float>(yw)};
            area_kernel<<<blocks, kThreads, 0, s.stream>>>(g, c);
            break;
        }
        case kMethodAreaLinear:
        case kMethodLanczos4: {
            const int k = a.method == kMethodLanczos4 ? 8 : 2;
            if (a.ksize != k)
                fail(INKWELL_INTERNAL_ERROR, "resize: ksize " + std::to_string(a.ksize) + " reached the CUDA launcher");
            Upload up;
            const size_t xf = up.add(a.x_first, a.dst_width), yf = up.add(a.y_first, a.dst_height);
            const size_t xc = up.add(a.x_coef, a.dst_width * k), yc = up.add(a.y_coef, a.dst_height * k);
            up.send(s);
            const Taps t{up.at<int32_t>(xf), up.at<int32_t>(yf), up.at<int16_t>(xc), up.at<int16_t>(yc)};
            if (k == 8)
                tap_kernel<8><<<blocks, kThreads, 0, s.stream>>>(g, t);
            else
                tap_kernel<2><<<blocks, kThreads, 0, s.stream>>>(g, t);
            break;
        }
        default: fail(INKWELL_INTERNAL_ERROR, "resize: method " + std::to_string(a.method) + " reached the CUDA launcher");
    }
    finish_launch(s, "resize");
}

}  // namespace inkwell::cuda
