// Element-wise and plumbing kernels on the GPU (semantics in cpu/elementwise_cpu.hpp).
// Variants:
//   CPU reference       cpu/elementwise_cpu.cpp (xxx_reference, plain loops)
//   activation_kernel   one element a thread, f32/f16/bf16 through Io<Type> (widen, float32
//                       activation with CUDA's expf/erff/tanhf, round once): within a few ulp
//                       of the CPU, not its bits
//   embedding_kernel    one output a thread; the frequencies come from the host (the CPU's
//                       double formula, uploaded), sin/cos in double (CUDA: <= 2 ulp of
//                       double), rounded once: the CPU's float, or one ulp from it
//   add_kernel          out[i] = a[i] + b[(i / inner) % b_count], __fadd_rn: the CPU's bits
//   cat_kernel          one output a thread, a copy: the CPU's bits
//   transpose_tile_kernel  inner 1: 32x32 tiles through shared memory (padded against bank
//                       conflicts), both global accesses coalesced; a copy: the CPU's bits
//   transpose_kernel    inner > 1: one output a thread, consecutive threads on consecutive k
//   max_pool_kernel     one output a thread, the CPU's scan order and `v > m || isnan(v)`:
//                       the CPU's bits (signed zeros included)
// Grid-stride loops with 64-bit sizes; kernels that divide an index do it in 32 bits when
// the tensor has fewer than 2^31 elements (a 64-bit division is a long software sequence).
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "activations.cuh"
#include "cuda_common.cuh"

namespace inkwell::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kBlocksPerSm = 16;

unsigned blocks_for(const State& s, int64_t work, int threads = kThreads) {
    const int64_t grid = std::min<int64_t>(ceil_div(work, threads), int64_t(s.sm_count) * kBlocksPerSm);
    return unsigned(std::max<int64_t>(grid, 1));
}

// Below 2^31 elements an index and the grid stride added to it stay below 2^32, so uint32_t
// arithmetic cannot wrap.
bool fits_32(int64_t count) { return count <= int64_t(INT32_MAX); }

#define GRID_STRIDE(Index, e, total)                                                                         \
    for (Index e = Index(blockIdx.x) * Index(blockDim.x) + Index(threadIdx.x); e < Index(total);              \
         e += Index(gridDim.x) * Index(blockDim.x))

// ---- activation ------------------------------------------------------------------------

template <int32_t Type>
__global__ void __launch_bounds__(kThreads) activation_kernel(const void* in, void* out, int64_t count, int32_t a) {
    // out may be in: each element is read before the same thread writes it.
    GRID_STRIDE(int64_t, i, count) Io<Type>::store(out, i, apply_activation(a, Io<Type>::load(in, i)));
}

// ---- timestep_embedding ----------------------------------------------------------------

template <class Index>
__global__ void __launch_bounds__(kThreads) embedding_kernel(const float* timesteps, const double* freq, float* out,
                                                             int64_t count, int64_t dim, int32_t flip, double scale) {
    const Index d = Index(dim), half = Index(dim / 2);
    GRID_STRIDE(Index, e, count * dim) {
        const Index row = e / d, col = e - row * d;
        float v = 0.0f;  // the odd dim's padding column
        if (col < 2 * half) {
            const bool first = col < half;
            const Index i = first ? col : col - half;
            const double arg = __dmul_rn(scale, __dmul_rn(double(timesteps[row]), freq[i]));  // scale * (t * freq)
            v = __double2float_rn(first != (flip != 0) ? sin(arg) : cos(arg));
        }
        out[e] = v;
    }
}

// ---- add, cat --------------------------------------------------------------------------

template <class Index>
__global__ void __launch_bounds__(kThreads) add_kernel(const float* a, const float* b, float* out, int64_t count,
                                                       int64_t b_count, int64_t inner) {
    const Index bc = Index(b_count), in = Index(inner);
    // out may be a: each element is read before the same thread writes it.
    GRID_STRIDE(Index, i, count) out[i] = __fadd_rn(a[i], b[(in == 1 ? i : i / in) % bc]);
}

template <class Index>
__global__ void __launch_bounds__(kThreads) cat_kernel(const float* a, const float* b, float* out, int64_t outer,
                                                       int64_t a_inner, int64_t b_inner) {
    const Index ai = Index(a_inner), bi = Index(b_inner), width = ai + bi;
    GRID_STRIDE(Index, e, outer * (a_inner + b_inner)) {
        const Index row = e / width, col = e - row * width;
        out[e] = col < ai ? a[row * ai + col] : b[row * bi + (col - ai)];
    }
}

// ---- transpose -------------------------------------------------------------------------

constexpr int kTile = 32;
constexpr int kTileRows = 8;  // threads per tile column: each thread moves kTile / kTileRows elements

// inner 1: a (size0 x size1) matrix per (o, m) plane, input rows i (stride middle * size1),
// output rows j (stride middle * size0). Tiles are grid-strided; the tile index is uniform
// over a block, so every thread meets the same barriers.
__global__ void __launch_bounds__(kTile * kTileRows) transpose_tile_kernel(const float* in, float* out, int64_t outer,
                                                                          int64_t size0, int64_t middle, int64_t size1) {
    __shared__ float tile[kTile][kTile + 1];
    const int64_t tiles_i = (size0 + kTile - 1) / kTile, tiles_j = (size1 + kTile - 1) / kTile;
    const int64_t tiles = outer * middle * tiles_i * tiles_j;
    const int tx = threadIdx.x, ty = threadIdx.y;
    for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {
        const int64_t tj = t % tiles_j, rest = t / tiles_j;
        const int64_t ti = rest % tiles_i, plane = rest / tiles_i;
        const int64_t m = plane % middle, o = plane / middle;
        const float* src = in + (o * size0 * middle + m) * size1;   // (o, i = 0, m, j = 0)
        float* dst = out + (o * size1 * middle + m) * size0;        // (o, j = 0, m, i = 0)
        const int64_t i0 = ti * kTile, j0 = tj * kTile;
        for (int r = ty; r < kTile; r += kTileRows) {
            const int64_t i = i0 + r, j = j0 + tx;
            if (i < size0 && j < size1) tile[r][tx] = src[i * middle * size1 + j];
        }
        __syncthreads();
        for (int r = ty; r < kTile; r += kTileRows) {
            const int64_t j = j0 + r, i = i0 + tx;
            if (j < size1 && i < size0) dst[j * middle * size0 + i] = tile[tx][r];
        }
        __syncthreads();  // the tile is refilled by the next iteration
    }
}

struct TransposeShape {
    int64_t outer, size0, middle, size1, inner;
};

template <class Index>
__global__ void __launch_bounds__(kThreads) transpose_kernel(const float* in, float* out, TransposeShape s) {
    const Index s0 = Index(s.size0), mid = Index(s.middle), s1 = Index(s.size1), inner = Index(s.inner);
    GRID_STRIDE(Index, e, s.outer * s.size0 * s.middle * s.size1 * s.inner) {
        // e = (((o * size1 + j) * middle + m) * size0 + i) * inner + k
        Index r = e;
        const Index k = r % inner;
        r /= inner;
        const Index i = r % s0;
        r /= s0;
        const Index m = r % mid;
        r /= mid;
        const Index j = r % s1, o = r / s1;
        out[e] = in[(((o * s0 + i) * mid + m) * s1 + j) * inner + k];
    }
}

// ---- max_pool2d ------------------------------------------------------------------------

__device__ __forceinline__ float max_update(float best, float v) { return (v > best || isnan(v)) ? v : best; }

template <class Index>
__global__ void __launch_bounds__(kThreads) max_pool_kernel(inkwell_max_pool2d_params p) {
    const Index oh = Index(p.out_height), ow = Index(p.out_width);
    GRID_STRIDE(Index, e, p.batch * p.channels * p.out_height * p.out_width) {
        const Index ox = e % ow, row = e / ow;
        const Index oy = row % oh, n = row / oh;
        const int64_t y0 = int64_t(oy) * p.stride_h - p.pad_h, x0 = int64_t(ox) * p.stride_w - p.pad_w;
        const int64_t y_end = y0 + p.kernel_h < p.in_height ? y0 + p.kernel_h : p.in_height;
        const int64_t x_end = x0 + p.kernel_w < p.in_width ? x0 + p.kernel_w : p.in_width;
        const float* plane = p.input + int64_t(n) * p.in_height * p.in_width;
        float best = -INFINITY;  // the padding
        for (int64_t y = y0 > 0 ? y0 : 0; y < y_end; ++y)
            for (int64_t x = x0 > 0 ? x0 : 0; x < x_end; ++x) best = max_update(best, plane[y * p.in_width + x]);
        p.output[e] = best;
    }
}

#undef GRID_STRIDE

std::string float_text(float v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.9g", double(v));
    return buffer;
}

}  // namespace

void activation(State& s, const inkwell_activation_params& p, int32_t element_type) {
    dispatch_element_type(element_type, [&](auto type) {
        activation_kernel<decltype(type)::value><<<blocks_for(s, p.count), kThreads, 0, s.stream>>>(p.input, p.output, p.count,
                                                                                                   p.activation);
    });
    finish_launch(s, "activation");
}

void timestep_embedding(State& s, const inkwell_timestep_embedding_params& p) {
    // The timesteps must be finite (the CPU checks them in host memory; here they are the
    // device's): a copy to the host, small next to the output.
    std::vector<float> t(static_cast<size_t>(p.count));
    check(cudaMemcpyAsync(t.data(), p.timesteps, t.size() * sizeof(float), cudaMemcpyDeviceToHost, s.stream),
          "timestep_embedding: timesteps download");
    check(cudaStreamSynchronize(s.stream), "timestep_embedding: timesteps download");
    for (size_t i = 0; i < t.size(); ++i)
        if (!std::isfinite(t[i]))
            fail(INKWELL_INVALID_ARGUMENT,
                 "timestep_embedding: timesteps[" + std::to_string(i) + "] must be finite, got " + float_text(t[i]));
    // The frequencies exactly as the CPU computes them (cpu::timestep_frequency), on the host.
    const int64_t half = p.dim / 2;
    std::vector<double> freq(static_cast<size_t>(std::max<int64_t>(half, 1)), 0.0);
    for (int64_t i = 0; i < half; ++i)
        freq[size_t(i)] = std::exp((-std::log(p.max_period) * double(i)) / (double(half) - p.downscale_freq_shift));
    auto* device_freq = static_cast<double*>(scratch(s, freq.size() * sizeof(double)));
    check(cudaMemcpyAsync(device_freq, freq.data(), freq.size() * sizeof(double), cudaMemcpyHostToDevice, s.stream),
          "timestep_embedding: frequency upload");
    const int64_t total = p.count * p.dim;
    if (fits_32(total))
        embedding_kernel<uint32_t><<<blocks_for(s, total), kThreads, 0, s.stream>>>(p.timesteps, device_freq, p.output, p.count,
                                                                                    p.dim, p.flip_sin_to_cos, p.scale);
    else
        embedding_kernel<int64_t><<<blocks_for(s, total), kThreads, 0, s.stream>>>(p.timesteps, device_freq, p.output, p.count,
                                                                                   p.dim, p.flip_sin_to_cos, p.scale);
    // `freq` may go out of scope at once: an upload from pageable memory returns only after
    // the source has been staged.
    finish_launch(s, "timestep_embedding");
}

void add(State& s, const inkwell_add_params& p) {
    if (fits_32(p.count))
        add_kernel<uint32_t><<<blocks_for(s, p.count), kThreads, 0, s.stream>>>(p.a, p.b, p.out, p.count, p.b_count, p.inner);
    else
        add_kernel<int64_t><<<blocks_for(s, p.count), kThreads, 0, s.stream>>>(p.a, p.b, p.out, p.count, p.b_count, p.inner);
    finish_launch(s, "add");
}

void cat(State& s, const inkwell_cat_params& p) {
    const int64_t total = p.outer * (p.a_inner + p.b_inner);
    if (fits_32(total))
        cat_kernel<uint32_t><<<blocks_for(s, total), kThreads, 0, s.stream>>>(p.a, p.b, p.out, p.outer, p.a_inner, p.b_inner);
    else
        cat_kernel<int64_t><<<blocks_for(s, total), kThreads, 0, s.stream>>>(p.a, p.b, p.out, p.outer, p.a_inner, p.b_inner);
    finish_launch(s, "cat");
}

void transpose(State& s, const inkwell_transpose_params& p) {
    if (p.inner == 1) {
        const int64_t tiles = p.outer * p.middle * ceil_div(p.size0, kTile) * ceil_div(p.size1, kTile);
        const unsigned blocks = unsigned(std::min<int64_t>(tiles, int64_t(s.sm_count) * kBlocksPerSm * 4));
        transpose_tile_kernel<<<blocks, dim3(kTile, kTileRows), 0, s.stream>>>(p.input, p.output, p.outer, p.size0, p.middle,
                                                                               p.size1);
    } else {
        const TransposeShape shape{p.outer, p.size0, p.middle, p.size1, p.inner};
        const int64_t total = p.outer * p.size0 * p.middle * p.size1 * p.inner;
        if (fits_32(total))
            transpose_kernel<uint32_t><<<blocks_for(s, total), kThreads, 0, s.stream>>>(p.input, p.output, shape);
        else
            transpose_kernel<int64_t><<<blocks_for(s, total), kThreads, 0, s.stream>>>(p.input, p.output, shape);
    }
    finish_launch(s, "transpose");
}

void max_pool2d(State& s, const inkwell_max_pool2d_params& p) {
    const int64_t total = p.batch * p.channels * p.out_height * p.out_width;
    if (fits_32(total))
        max_pool_kernel<uint32_t><<<blocks_for(s, total), kThreads, 0, s.stream>>>(p);
    else
        max_pool_kernel<int64_t><<<blocks_for(s, total), kThreads, 0, s.stream>>>(p);
    finish_launch(s, "max_pool2d");
}

}  // namespace inkwell::cuda
