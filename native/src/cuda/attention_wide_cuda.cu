// Attention with head sizes above 256 (up to the ABI's 512), every element type: the VAE's
// mid-block attention is one head of 512 channels (Stable Diffusion 1.x/2.x and XL), beyond
// what the flash kernels keep in shared memory and registers (attention_cuda.cu: Q, K and V
// tiles of 64/32 rows at D = 512 need 260 kB). Same definition as cpu/attention_cpu.hpp:
// out = softmax(q k^T scale + mask) v, the mask a visible key prefix per row (kv_lens[b],
// j <= i when causal), layouts BHLD and BLHD through AttentionShape's strides.
//
// One block of 256 threads per query row: q and the output accumulator live in shared
// memory (2 * head_dim floats); keys stream in chunks of 256, one key's score per thread
// (float dot product, in blocks of 32 elements as the CPU fast path adds them), then the
// chunk's max and sum by block reductions, the online-softmax rescale, and O += P V with
// each thread owning output columns tid, tid + 256. Simple rather than fast: at 64x64
// latents (4096 rows, D 512) it is about 17 GFLOP, milliseconds on a data-centre GPU, and
// runs once per VAE decode. Inputs load widened (Io<Type>), the output rounds once.
#include <cmath>

#include "activations.cuh"
#include "cuda_common.cuh"

namespace inkwell::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kScoreBlock = 32;

struct WideArgs : AttentionShape {
    const void* q;
    const void* k;
    const void* v;
    void* out;
    int64_t row_offset;  // first (b, h, row) index of this launch
};

// The block's maximum and sum of one float per thread (red: kThreads / 32 floats).
__device__ __forceinline__ float block_max(float x, float* red) {
    for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
    __syncthreads();
    if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = x;
    __syncthreads();
    float m = red[0];
    for (int w = 1; w < kThreads / 32; ++w) m = fmaxf(m, red[w]);
    return m;
}

__device__ __forceinline__ float block_sum(float x, float* red) {
    for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
    __syncthreads();
    if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = x;
    __syncthreads();
    float s = 0.0f;
    for (int w = 0; w < kThreads / 32; ++w) s += red[w];  // the same order in every thread
    return s;
}

template <int32_t Type>
__global__ void __launch_bounds__(kThreads) wide_row_kernel(WideArgs a) {
    using IoT = Io<Type>;
    extern __shared__ float smem[];
    const int hd = a.head_dim;
    float* qs = smem;         // [hd]: q * scale * log2(e)
    float* os = smem + hd;    // [hd]: unnormalised output
    float* ps = os + hd;      // [kThreads]: the chunk's weights
    float* red = ps + kThreads;

    const int64_t index = a.row_offset + blockIdx.x;  // (b * heads + h) * q_len + row
    const int64_t row = index % a.q_len, bh = index / a.q_len;
    const int64_t b = bh / a.heads, h = bh % a.heads;
    const int64_t q_at = b * a.q_batch + h * a.q_head + row * a.row_stride;
    const int64_t kv_at = b * a.kv_batch + h * a.kv_head;
    const int64_t kv_valid = a.kv_lens != nullptr ? a.kv_lens[b] : a.kv_len;
    const int64_t visible = a.causal ? min(kv_valid, row + 1) : kv_valid;

    for (int d = threadIdx.x; d < hd; d += kThreads) {
        qs[d] = IoT::load(a.q, q_at + d) * a.scale_log2;
        os[d] = 0.0f;
    }
    __syncthreads();

    float m = -INFINITY, l = 0.0f;  // the same in every thread (block reductions)
    for (int64_t k0 = 0; k0 < visible; k0 += kThreads) {
        const int64_t key = k0 + threadIdx.x;
        float s = -INFINITY;
        if (key < visible) {
            const int64_t at = kv_at + key * a.row_stride;
            s = 0.0f;
            for (int d0 = 0; d0 < hd; d0 += kScoreBlock) {
                float part = 0.0f;
                const int d_end = min(hd, d0 + kScoreBlock);
                for (int d = d0; d < d_end; ++d) part = fmaf(qs[d], IoT::load(a.k, at + d), part);
                s += part;
            }
        }
        const float m_new = fmaxf(m, block_max(s, red));  // finite: key k0 is visible
        const float alpha = exp2f(m - m_new);              // 0 on the first chunk
        const float p = key < visible ? exp2f(s - m_new) : 0.0f;
        l = l * alpha + block_sum(p, red);
        m = m_new;
        ps[threadIdx.x] = p;
        __syncthreads();
        const int keys = int(min(int64_t(kThreads), visible - k0));
        for (int d = threadIdx.x; d < hd; d += kThreads) {
            float acc = os[d] * alpha;
            for (int j = 0; j < keys; ++j) acc = fmaf(ps[j], IoT::load(a.v, kv_at + (k0 + j) * a.row_stride + d), acc);
            os[d] = acc;
        }
        __syncthreads();  // ps is rewritten by the next chunk
    }
    const float inv = 1.0f / l;
    for (int d = threadIdx.x; d < hd; d += kThreads) IoT::store(a.out, q_at + d, os[d] * inv);
}

}  // namespace

void attention_wide(State& s, const inkwell_attention_params& p, int32_t element_type) {
    WideArgs a{};
    static_cast<AttentionShape&>(a) = attention_shape(s, p);
    a.q = p.q;
    a.k = p.k;
    a.v = p.v;
    a.out = p.out;
    const size_t bytes = (2 * size_t(p.head_dim) + kThreads + kThreads / 32) * sizeof(float);
    const int64_t rows = p.batch * p.heads * p.q_len;
    dispatch_element_type(element_type, [&](auto type) {
        constexpr int32_t Type = decltype(type)::value;
        for (int64_t r0 = 0; r0 < rows; r0 += 0x7fffffff) {  // gridDim.x is at most 2^31 - 1
            a.row_offset = r0;
            const unsigned blocks = unsigned(std::min<int64_t>(0x7fffffff, rows - r0));
            wide_row_kernel<Type><<<blocks, kThreads, bytes, s.stream>>>(a);
            check(cudaGetLastError(), "attention (head_dim > 256) launch");
        }
    });
    finish_launch(s, "attention (head_dim > 256)");
}

}  // namespace inkwell::cuda
