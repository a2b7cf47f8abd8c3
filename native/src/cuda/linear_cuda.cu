// Linear (y = x W^T + b, then an activation) and GEGLU (y = (x Wa^T + ba) gelu(x Wg^T + bg)
// with Wa, Wg the two halves of W) on the GPU, for float32, float16 and bfloat16 tensors.
// Variants:
//   CPU reference   cpu/linear_cpu.cpp (linear_reference, geglu_reference: double loops)
//   gemm_kernel     a tiled SGEMM on CUDA cores: a block of 256 threads owns a 64 x 64 tile
//                   of the output and walks K in steps of 16; each step stages a 64 x 16
//                   slice of x and of W (GEGLU: of both halves of W, for the same output
//                   columns) in shared memory, k major, and each thread accumulates a 4 x 4
//                   micro-tile (GEGLU: two, a and gate) in registers with fused
//                   multiply-adds. Elements are widened as they are loaded (Io<Type>), every
//                   sum is float32, and the epilogue adds the bias, applies the activation
//                   (GEGLU: a * gelu(gate)) and rounds once as it stores.
// Tiles are grid-strided with 64-bit indices (an output may have up to 2^40 elements); K
// (up to 2^40 with one row and one column) is walked with 64-bit offsets too. The sums run in
// a different order from the CPU's, so the two agree within float32 error bounds, not bit
// for bit (see native/tests/test_cuda_linear.cpp). Tensor cores are not used (yet).
#include "activations.cuh"
#include "cuda_common.cuh"

namespace inkwell::cuda {

namespace {

constexpr int kTile = 64;     // output rows and columns per block
constexpr int kStep = 16;     // K per shared-memory stage
constexpr int kThreads = 256; // 16 x 16 threads, 4 x 4 outputs each
constexpr int kMicro = 4;
constexpr int kPad = 4;       // shared rows of kTile + kPad floats: fewer bank conflicts on the transposed stores
constexpr int kBlocksPerSm = 4;

struct Gemm {
    const void* x;
    const void* w;
    const void* bias;  // or null
    void* out;
    int64_t m, k;
    int64_t cols;         // output columns: out_features, or inner_dim
    int64_t gate_offset;  // GEGLU: the first weight (and bias) row of the gate half
    int32_t activation;   // linear only
    int64_t col_tiles;    // ceil(cols / kTile)
    int64_t tiles;        // ceil(m / kTile) col_tiles
};

// Stages rows row0 .. row0 + 63 of a row-major [rows, k] matrix, columns k0 .. k0 + 15, into
// tile[k][row] (zeros past the matrix). Thread t loads elements t, t + 256, ...: 16
// consecutive k of one row per 16 threads, so each row's slice is one coalesced read.
template <int32_t Type>
__device__ __forceinline__ void stage(const void* matrix, int64_t rows, int64_t k_len, int64_t row0, int64_t k0,
                                      float (&tile)[kStep][kTile + kPad]) {
#pragma unroll
    for (int i = 0; i < kTile * kStep / kThreads; ++i) {
        const int e = threadIdx.x + i * kThreads;
        const int r = e / kStep, kk = e % kStep;
        const int64_t row = row0 + r, k = k0 + kk;
        tile[kk][r] = row < rows && k < k_len ? Io<Type>::load(matrix, row * k_len + k) : 0.0f;
    }
}

template <int32_t Type, bool Geglu>
__global__ void __launch_bounds__(kThreads) gemm_kernel(Gemm g) {
    __shared__ float xs[kStep][kTile + kPad];
    __shared__ float ws[kStep][kTile + kPad];
    __shared__ float gs[Geglu ? kStep : 1][kTile + kPad];
    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    for (int64_t tile = blockIdx.x; tile < g.tiles; tile += gridDim.x) {
        const int64_t row0 = (tile / g.col_tiles) * kTile, col0 = (tile % g.col_tiles) * kTile;
        float acc[kMicro][kMicro] = {}, gate[Geglu ? kMicro : 1][Geglu ? kMicro : 1] = {};
        for (int64_t k0 = 0; k0 < g.k; k0 += kStep) {
            // The a half (or the whole W) is rows 0 .. cols - 1 of W, the gate half starts at
            // gate_offset; both are staged for the same output columns.
            stage<Type>(g.x, g.m, g.k, row0, k0, xs);
            stage<Type>(g.w, g.cols, g.k, col0, k0, ws);
            if constexpr (Geglu) {
                const char* gate_rows =
                    static_cast<const char*>(g.w) + g.gate_offset * g.k * (Type == INKWELL_ELEMENT_F32 ? 4 : 2);
                stage<Type>(gate_rows, g.cols, g.k, col0, k0, gs);
            }
            __syncthreads();
#pragma unroll
            for (int kk = 0; kk < kStep; ++kk) {
                float a[kMicro], b[kMicro];
#pragma unroll
                for (int i = 0; i < kMicro; ++i) a[i] = xs[kk][ty + 16 * i];
#pragma unroll
                for (int j = 0; j < kMicro; ++j) b[j] = ws[kk][tx + 16 * j];
#pragma unroll
                for (int i = 0; i < kMicro; ++i)
#pragma unroll
                    for (int j = 0; j < kMicro; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
                if constexpr (Geglu) {
#pragma unroll
                    for (int j = 0; j < kMicro; ++j) b[j] = gs[kk][tx + 16 * j];
#pragma unroll
                    for (int i = 0; i < kMicro; ++i)
#pragma unroll
                        for (int j = 0; j < kMicro; ++j) gate[i][j] = fmaf(a[i], b[j], gate[i][j]);
                }
            }
            __syncthreads();
        }
        // Epilogue: threads of a row store 16 consecutive columns (coalesced).
#pragma unroll
        for (int i = 0; i < kMicro; ++i) {
            const int64_t row = row0 + ty + 16 * i;
            if (row >= g.m) continue;
#pragma unroll
            for (int j = 0; j < kMicro; ++j) {
                const int64_t col = col0 + tx + 16 * j;
                if (col >= g.cols) continue;
                float v = acc[i][j];
                if (g.bias != nullptr) v += Io<Type>::load(g.bias, col);
                if constexpr (Geglu) {
                    float h = gate[i][j];
                    if (g.bias != nullptr) h += Io<Type>::load(g.bias, g.gate_offset + col);
                    v *= apply_activation(INKWELL_ACTIVATION_GELU, h);
                } else {
                    v = apply_activation(g.activation, v);
                }
                Io<Type>::store(g.out, row * g.cols + col, v);
            }
        }
    }
}

template <bool Geglu>
void launch(State& s, Gemm g, int32_t element_type, const char* name) {
    g.col_tiles = ceil_div(g.cols, kTile);
    g.tiles = ceil_div(g.m, kTile) * g.col_tiles;  // <= 2^40 / 64^2 + ...: the output has <= 2^40 elements
    const unsigned blocks = unsigned(std::max<int64_t>(1, std::min<int64_t>(g.tiles, int64_t(s.sm_count) * kBlocksPerSm)));
    dispatch_element_type(element_type, [&](auto type) {
        gemm_kernel<decltype(type)::value, Geglu><<<blocks, kThreads, 0, s.stream>>>(g);
    });
    finish_launch(s, name);
}

}  // namespace

void linear(State& s, const inkwell_linear_params& p, int32_t element_type) {
    const Gemm g{p.input, p.weight, p.bias, p.output, p.rows, p.in_features, p.out_features, 0, p.activation, 0, 0};
    launch<false>(s, g, element_type, "linear");
}

void geglu(State& s, const inkwell_geglu_params& p, int32_t element_type) {
    const Gemm g{p.input,  p.weight,       p.bias,      p.output, p.rows, p.in_features,
                 p.inner_dim, p.inner_dim, INKWELL_ACTIVATION_GELU, 0, 0};
    launch<true>(s, g, element_type, "geglu");
}

}  // namespace inkwell::cuda
