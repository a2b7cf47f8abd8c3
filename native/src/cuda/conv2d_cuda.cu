// Conv2d of float32 NCHW tensors on the GPU: torch.nn.functional.conv2d (cross-correlation,
// zero padding, stride, dilation, groups), then bias and optional SiLU. Variants:
//   CPU reference   cpu/conv2d_cpu.cpp (conv2d_reference, direct loops in double)
// (This file: float32. The _f16 and _bf16 entries run on tensor cores, conv2d_half_cuda.cu.)
//   conv_gemm_kernel  implicit GEMM per (image, group): out[co][p] = sum_k W[co][k] col[k][p],
//                   k = (ci, kh, kw), p = (oh, ow). A 64 x 64 output tile per block of 256
//                   threads, 4 x 4 outputs per thread in registers; K in steps of 16 through
//                   shared memory: W rows are contiguous in k, the im2col column is gathered
//                   on the fly (zero outside the image), both stored k-major so the inner
//                   product reads float4s. The next step's tiles are fetched into registers
//                   while the current one is multiplied. Fused epilogue: bias, SiLU, store.
// Sums are float, in k order within a thread: results differ from the CPU backend by
// rounding only (the test compares with atol + rtol |ref|).
// Not yet tuned (never run on a GPU so far): the k-major stores into As are 16-way bank
// conflicted (a transposed or swizzled layout would fix it); depthwise convolutions (one output channel per group) use 1/64 of the
// tile's rows; a direct kernel would suit them better.
#include "conv2d_geometry.cuh"

namespace inkwell::cuda {

namespace {

constexpr int kBM = 64, kBN = 64, kBK = 16;
constexpr int kThreads = 256;                       // 16 x 16, 4 x 4 outputs each
constexpr int kLoads = kBM * kBK / kThreads;        // A and B elements each thread fetches per step
static_assert(kBM * kBK == kBN * kBK, "one load count for both tiles");

struct ConvArgs : ConvGeometry {
    const float* input;
    const float* weight;
    const float* bias;
    float* output;
    int64_t z_offset;  // (image * groups + group) index of blockIdx.z == 0
};

__global__ void __launch_bounds__(kThreads) conv_gemm_kernel(ConvArgs a) {
    __shared__ __align__(16) float As[kBK][kBM];
    __shared__ __align__(16) float Bs[kBK][kBN];
    const int64_t z = a.z_offset + blockIdx.z;
    const int n = int(z / a.groups), g = int(z % a.groups);
    const int m0 = blockIdx.y * kBM, p0 = blockIdx.x * kBN;
    const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;

    const float* weight = a.weight + int64_t(g) * a.cout_g * a.k_len;
    const float* input = a.input + (int64_t(n) * a.cin + int64_t(g) * a.cin_g) * a.h * a.w;

    // What this thread fetches: A element (m, k) = W[m0 + m][k0 + k], B element (k, p).
    float a_reg[kLoads], b_reg[kLoads];
    auto fetch = [&](int k0) {
#pragma unroll
        for (int l = 0; l < kLoads; ++l) {
            const int idx = tid + l * kThreads;
            const int m = idx / kBK, k = idx % kBK;
            const int co = m0 + m, kk = k0 + k;
            a_reg[l] = (co < a.cout_g && kk < a.k_len) ? __ldg(weight + int64_t(co) * a.k_len + kk) : 0.0f;
        }
#pragma unroll
        for (int l = 0; l < kLoads; ++l) {
            const int idx = tid + l * kThreads;
            const int k = idx / kBN, p = idx % kBN;
            const int kk = k0 + k, pp = p0 + p;
            float v = 0.0f;
            if (kk < a.k_len && pp < a.pixels) {
                const int ci = kk / a.taps, t = kk % a.taps, i = t / a.kw, j = t % a.kw;
                const int oy = pp / a.ow, ox = pp % a.ow;
                const int iy = oy * a.sh - a.ph + i * a.dh, ix = ox * a.sw - a.pw + j * a.dw;
                if (iy >= 0 && iy < a.h && ix >= 0 && ix < a.w) v = __ldg(input + (int64_t(ci) * a.h + iy) * a.w + ix);
            }
            b_reg[l] = v;
        }
    };
    auto store = [&] {
#pragma unroll
        for (int l = 0; l < kLoads; ++l) {
            const int idx = tid + l * kThreads;
            As[idx % kBK][idx / kBK] = a_reg[l];
            Bs[idx / kBN][idx % kBN] = b_reg[l];
        }
    };

    float acc[4][4] = {};
    fetch(0);
    for (int k0 = 0; k0 < a.k_len; k0 += kBK) {
        store();
        __syncthreads();
        if (k0 + kBK < a.k_len) fetch(k0 + kBK);  // overlaps the global loads with the math below
#pragma unroll
        for (int k = 0; k < kBK; ++k) {
            const float4 av = *reinterpret_cast<const float4*>(&As[k][ty * 4]);
            const float4 bv = *reinterpret_cast<const float4*>(&Bs[k][tx * 4]);
            const float ar[4] = {av.x, av.y, av.z, av.w}, br[4] = {bv.x, bv.y, bv.z, bv.w};
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(ar[i], br[j], acc[i][j]);
        }
        __syncthreads();
    }

    // Epilogue: bias, SiLU, store (4 consecutive pixels per thread and row).
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const int co = m0 + ty * 4 + i;
        if (co >= a.cout_g) continue;
        const int64_t channel = int64_t(g) * a.cout_g + co;
        const float b = a.bias != nullptr ? __ldg(a.bias + channel) : 0.0f;
        float* out = a.output + (int64_t(n) * a.cout + channel) * a.pixels;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const int p = p0 + tx * 4 + j;
            if (p >= a.pixels) continue;
            float v = acc[i][j] + b;
            if (a.silu) v = v / (1.0f + expf(-v));
            out[p] = v;
        }
    }
}

}  // namespace

// float16 / bfloat16 on tensor cores: conv2d_half_cuda.cu.
void conv2d_half(State& s, const inkwell_conv2d_params& p, int32_t element_type);

void conv2d(State& s, const inkwell_conv2d_params& p, int32_t element_type) {
    if (element_type != INKWELL_ELEMENT_F32) {
        conv2d_half(s, p, element_type);
        return;
    }
    ConvArgs a{};
    static_cast<ConvGeometry&>(a) = conv_geometry(p, kBK, kBN, "conv2d (CUDA)");
    a.input = static_cast<const float*>(p.input);
    a.weight = static_cast<const float*>(p.weight);
    a.bias = static_cast<const float*>(p.bias);
    a.output = static_cast<float*>(p.output);

    const int64_t slices = p.batch * p.groups;
    const dim3 grid(unsigned(ceil_div(a.pixels, kBN)), unsigned(ceil_div(a.cout_g, kBM)));
    if (grid.y > 65535) fail(INKWELL_UNSUPPORTED, "conv2d (CUDA): more than 65535 * 64 output channels per group");
    for (int64_t z0 = 0; z0 < slices; z0 += 65535) {  // gridDim.z is at most 65535
        a.z_offset = z0;
        const dim3 chunk(grid.x, grid.y, unsigned(std::min<int64_t>(65535, slices - z0)));
        conv_gemm_kernel<<<chunk, kThreads, 0, s.stream>>>(a);
        check(cudaGetLastError(), "conv2d launch");
    }
    finish_launch(s, "conv2d");
}

}  // namespace inkwell::cuda
