// Conv2d of float16 / bfloat16 NCHW tensors on tensor cores (the _f16 and _bf16 entries):
// torch.nn.functional.conv2d (cross-correlation, zero padding, stride, dilation, groups),
// then bias and optional SiLU, as conv2d_cuda.cu does for float32. Inputs are widened exactly
// (a 16-bit product is exact in float32), products are summed in float32 by the tensor cores,
// bias and SiLU are applied in float32 and each output is rounded once, to nearest even.
// Variants:
//   CPU              the float32 kernel on widened copies (src/conv2d.cpp, conv2d_widened)
//   conv_mma_kernel  implicit GEMM per (image, group), out[co][p] = sum_k W[co][k] col[k][p],
//                    k = (ci, kh, kw), p = (oh, ow), on mma.sync m16n8k16 (mma_half.cuh), one
//                    template for both element types. A 128 (co) x 128 (p) output tile per
//                    block of 256 threads = 8 warps in 2 x 4, each warp 64 x 32 = 4 x 4 mma
//                    tiles (64 float accumulators per thread); K in steps of 32 (two k16
//                    instructions) through shared memory. W rows are contiguous in k and
//                    are fetched as 16-byte vectors when in_channels / groups * kh * kw is a
//                    multiple of 8 and the weight pointer is 16-byte aligned (else element by
//                    element); the im2col column is gathered on the fly, one output pixel
//                    per thread (its coordinates computed once), 16 consecutive k per step,
//                    zero outside the image and past every edge (channels, K, pixels), so
//                    any shape the float32 path takes runs here. Both tiles are stored
//                    k-contiguous (As[co][k], Bs[p][k]) with a row stride of 40 elements
//                    (20 words, 4 mod 8), so the fragment loads (ldmatrix.x4: 8 rows x 16
//                    bytes per phase) hit 32 distinct banks. The next step's tiles are fetched
//                    into registers while the current one is multiplied. Epilogue from the
//                    accumulators: bias, SiLU, one rounding, store.
// Shared memory: 2 x 128 x 40 x 2 bytes = 20 KiB (static). Registers: __launch_bounds__(256, 2)
// caps them at 128 (ptxas, nvcc 13: no spills on sm_80 or sm_90), so two blocks (16 warps)
// fit an SM. Deterministic: every output is
// summed by one thread in a fixed k order (no atomics, no split K).
// Expected bottlenecks / not yet tuned (never run on a GPU so far): the im2col gather (16
// scalar 2-byte loads per thread per step, L1/L2 bound for 3x3), no cp.async multi-stage
// pipeline (one shared buffer, two barriers per step), the epilogue's 2-byte stores (8 pixels
// of a row per 4 lanes; staging through shared memory would give 16-byte stores), the 2-way
// bank conflict of the 16-byte As stores, and the waste of a 128-row tile on small or
// depthwise groups (one output channel per group uses 1/128 of the rows; a direct kernel
// would suit those better).
#include "conv2d_geometry.cuh"
#include "mma_half.cuh"

namespace inkwell::cuda {

namespace {

constexpr int kBM = 128, kBN = 128, kBK = 32;
constexpr int kThreads = 256;     // 8 warps: 2 along M, 4 along N
constexpr int kWarpM = 64, kWarpN = 32;
constexpr int kStride = kBK + 8;  // shared row stride in elements: 20 words, 4 mod 8
constexpr int kAChunks = kBM * kBK / 8 / kThreads;  // 16-byte A chunks per thread per step (2)
constexpr int kBPerThread = kBN * kBK / kThreads;   // im2col elements per thread per step (16)
static_assert(kThreads == 2 * kBN, "two threads per pixel, 16 k each");
static_assert(kBPerThread == 16 && kAChunks == 2, "fetch layout");

struct HalfConvArgs : ConvGeometry {
    const uint16_t* input;
    const uint16_t* weight;
    const uint16_t* bias;
    uint16_t* output;
    int vector_weights;  // k_len % 8 == 0 and weight 16-byte aligned: 16-byte W loads
    int64_t z_offset;    // (image * groups + group) index of blockIdx.z == 0
};

template <int32_t Type>
__global__ void __launch_bounds__(kThreads, 2) conv_mma_kernel(HalfConvArgs a) {
    using E = half::Element<Type>;
    __shared__ __align__(16) uint16_t As[kBM * kStride];
    __shared__ __align__(16) uint16_t Bs[kBN * kStride];

    const int64_t z = a.z_offset + blockIdx.z;
    const int n = int(z / a.groups), g = int(z % a.groups);
    const int m0 = blockIdx.y * kBM, p0 = blockIdx.x * kBN;
    const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
    const int warp_m = warp / 4, warp_n = warp % 4;
    const int group = lane / 4, quad = lane % 4;

    const uint16_t* weight = a.weight + int64_t(g) * a.cout_g * a.k_len;
    const uint16_t* input = a.input + (int64_t(n) * a.cin + int64_t(g) * a.cin_g) * a.h * a.w;

    // This thread's im2col pixel (fixed for the whole K loop) and its half of each K step.
    const int pb = tid % kBN, kb = (tid / kBN) * kBPerThread;
    const int pixel = p0 + pb;
    const bool pixel_ok = pixel < a.pixels;
    const int oy = pixel_ok ? pixel / a.ow : 0, ox = pixel_ok ? pixel % a.ow : 0;
    const int iy0 = oy * a.sh - a.ph, ix0 = ox * a.sw - a.pw;

    uint4 a_reg[kAChunks];
    uint32_t b_reg[kBPerThread / 2];
    auto fetch = [&](int k0) {
#pragma unroll
        for (int l = 0; l < kAChunks; ++l) {
            const int c = tid + l * kThreads, m = c / (kBK / 8), kk = k0 + (c % (kBK / 8)) * 8, co = m0 + m;
            uint4 v = make_uint4(0, 0, 0, 0);
            if (co < a.cout_g && kk < a.k_len) {
                const uint16_t* src = weight + int64_t(co) * a.k_len + kk;
                if (a.vector_weights) {
                    v = __ldg(reinterpret_cast<const uint4*>(src));
                } else {
                    uint16_t e[8];
#pragma unroll
                    for (int i = 0; i < 8; ++i) e[i] = kk + i < a.k_len ? half::load_u16(src + i) : uint16_t(0);
                    v = make_uint4(half::pair(e[0], e[1]), half::pair(e[2], e[3]), half::pair(e[4], e[5]),
                                   half::pair(e[6], e[7]));
                }
            }
            a_reg[l] = v;
        }
        // k = (ci, i, j) of this thread's first element, then stepped with carries.
        int k = k0 + kb;
        int ci = k / a.taps, t = k % a.taps;
        int i = t / a.kw, j = t % a.kw;
        uint16_t e[kBPerThread];
#pragma unroll
        for (int q = 0; q < kBPerThread; ++q) {
            uint16_t v = 0;
            if (pixel_ok && k < a.k_len) {
                const int iy = iy0 + i * a.dh, ix = ix0 + j * a.dw;
                if (iy >= 0 && iy < a.h && ix >= 0 && ix < a.w)
                    v = half::load_u16(input + (int64_t(ci) * a.h + iy) * a.w + ix);
            }
            e[q] = v;
            ++k;
            if (++j == a.kw) {
                j = 0;
                if (++i == a.kh) {
                    i = 0;
                    ++ci;
                }
            }
        }
#pragma unroll
        for (int q = 0; q < kBPerThread / 2; ++q) b_reg[q] = half::pair(e[2 * q], e[2 * q + 1]);
    };
    auto store = [&] {
#pragma unroll
        for (int l = 0; l < kAChunks; ++l) {
            const int c = tid + l * kThreads;
            *reinterpret_cast<uint4*>(&As[(c / (kBK / 8)) * kStride + (c % (kBK / 8)) * 8]) = a_reg[l];
        }
        uint4* dst = reinterpret_cast<uint4*>(&Bs[pb * kStride + kb]);
        dst[0] = make_uint4(b_reg[0], b_reg[1], b_reg[2], b_reg[3]);
        dst[1] = make_uint4(b_reg[4], b_reg[5], b_reg[6], b_reg[7]);
    };

    float acc[4][4][4];
#pragma unroll
    for (int mi = 0; mi < 4; ++mi)
#pragma unroll
        for (int ni = 0; ni < 4; ++ni)
#pragma unroll
            for (int r = 0; r < 4; ++r) acc[mi][ni][r] = 0.0f;

    fetch(0);
    for (int k0 = 0; k0 < a.k_len; k0 += kBK) {
        store();
        __syncthreads();
        if (k0 + kBK < a.k_len) fetch(k0 + kBK);  // global loads in flight during the MMAs below
#pragma unroll
        for (int kk = 0; kk < kBK; kk += 16) {
            uint32_t af[4][4], bf[4][2];
            if constexpr (half::kUseLdmatrix) {
                // Lane 8 i + r addresses row r of matrix i (see mma_half.cuh).
                const int matrix = lane / 8, r = lane % 8;
#pragma unroll
                for (int mi = 0; mi < 4; ++mi)
                    half::ldmatrix_x4(af[mi], &As[(warp_m * kWarpM + mi * 16 + (matrix % 2) * 8 + r) * kStride + kk +
                                                  (matrix / 2) * 8]);
#pragma unroll
                for (int ni = 0; ni < 4; ni += 2) {
                    uint32_t t[4];
                    half::ldmatrix_x4(t, &Bs[(warp_n * kWarpN + (ni + matrix / 2) * 8 + r) * kStride + kk +
                                             (matrix % 2) * 8]);
                    bf[ni][0] = t[0];
                    bf[ni][1] = t[1];
                    bf[ni + 1][0] = t[2];
                    bf[ni + 1][1] = t[3];
                }
            } else {
#pragma unroll
                for (int mi = 0; mi < 4; ++mi) {
                    const uint16_t* row = &As[(warp_m * kWarpM + mi * 16 + group) * kStride + kk + 2 * quad];
                    af[mi][0] = half::load_pair(row);
                    af[mi][1] = half::load_pair(row + 8 * kStride);
                    af[mi][2] = half::load_pair(row + 8);
                    af[mi][3] = half::load_pair(row + 8 * kStride + 8);
                }
#pragma unroll
                for (int ni = 0; ni < 4; ++ni) {
                    const uint16_t* col = &Bs[(warp_n * kWarpN + ni * 8 + group) * kStride + kk + 2 * quad];
                    bf[ni][0] = half::load_pair(col);
                    bf[ni][1] = half::load_pair(col + 8);
                }
            }
#pragma unroll
            for (int mi = 0; mi < 4; ++mi)
#pragma unroll
                for (int ni = 0; ni < 4; ++ni) E::mma(acc[mi][ni], af[mi], bf[ni]);
        }
        __syncthreads();
    }

    // Epilogue: bias, SiLU, one rounding, store.
#pragma unroll
    for (int mi = 0; mi < 4; ++mi) {
#pragma unroll
        for (int half_row = 0; half_row < 2; ++half_row) {
            const int co = m0 + warp_m * kWarpM + mi * 16 + group + 8 * half_row;
            if (co >= a.cout_g) continue;
            const int64_t channel = int64_t(g) * a.cout_g + co;
            const float b = a.bias != nullptr ? E::widen(half::load_u16(a.bias + channel)) : 0.0f;
            uint16_t* out = a.output + (int64_t(n) * a.cout + channel) * a.pixels;
#pragma unroll
            for (int ni = 0; ni < 4; ++ni) {
#pragma unroll
                for (int c = 0; c < 2; ++c) {
                    const int p = p0 + warp_n * kWarpN + ni * 8 + 2 * quad + c;
                    if (p >= a.pixels) continue;
                    float v = acc[mi][ni][2 * half_row + c] + b;
                    if (a.silu) v = v / (1.0f + expf(-v));
                    out[p] = E::narrow(v);
                }
            }
        }
    }
}

template <int32_t Type>
void launch(State& s, HalfConvArgs a, int64_t slices) {
    const dim3 grid(unsigned(ceil_div(a.pixels, kBN)), unsigned(ceil_div(a.cout_g, kBM)));
    if (grid.y > 65535) fail(INKWELL_UNSUPPORTED, "conv2d (CUDA, 16-bit): more than 65535 * 128 output channels per group");
    for (int64_t z0 = 0; z0 < slices; z0 += 65535) {  // gridDim.z is at most 65535
        a.z_offset = z0;
        const dim3 chunk(grid.x, grid.y, unsigned(std::min<int64_t>(65535, slices - z0)));
        conv_mma_kernel<Type><<<chunk, kThreads, 0, s.stream>>>(a);
        check(cudaGetLastError(), "conv2d (16-bit) launch");
    }
}

}  // namespace

// Called by conv2d() in conv2d_cuda.cu for INKWELL_ELEMENT_F16 and INKWELL_ELEMENT_BF16.
void conv2d_half(State& s, const inkwell_conv2d_params& p, int32_t element_type) {
    HalfConvArgs a{};
    static_cast<ConvGeometry&>(a) = conv_geometry(p, kBK, kBN, "conv2d (CUDA, 16-bit)");
    a.input = static_cast<const uint16_t*>(p.input);
    a.weight = static_cast<const uint16_t*>(p.weight);
    a.bias = static_cast<const uint16_t*>(p.bias);
    a.output = static_cast<uint16_t*>(p.output);
    a.vector_weights = a.k_len % 8 == 0 && reinterpret_cast<uintptr_t>(p.weight) % 16 == 0;

    const int64_t slices = p.batch * p.groups;
    if (element_type == INKWELL_ELEMENT_F16)
        launch<INKWELL_ELEMENT_F16>(s, a, slices);
    else
        launch<INKWELL_ELEMENT_BF16>(s, a, slices);
    finish_launch(s, "conv2d (16-bit)");
}

}  // namespace inkwell::cuda
