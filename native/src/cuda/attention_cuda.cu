// Scaled dot-product attention of float32 tensors on the GPU, layout [B, H, L, D] or
// [B, L, H, D] (p.layout; rows are read and written with AttentionShape's strides, so a
// BLHD call computes exactly what a BHLD call on permuted copies does):
// out = softmax(q k^T scale + mask) v, the mask a visible key prefix per query row
// (kv_lens[b], and j <= i when causal), as cpu/attention_cpu.hpp defines it. (This file:
// float32. The _f16 and _bf16 entries run on tensor cores, attention_half_cuda.cu.) Variants:
//   CPU reference   cpu/attention_cpu.cpp (attention_reference, scores in double)
//   flash_kernel<D> flash-attention style, one block of 256 threads per 64 query rows of
//                   one (batch, head): the Q tile stays in shared memory; keys and values
//                   stream through it 32 at a time; scores S = Q K^T (4 rows x 2 keys per
//                   thread), online softmax (running max and sum per row, exp2 with
//                   scale * log2(e) folded in, rows reduced across 16 lanes with shuffles),
//                   P through shared memory, O += P V in registers (4 rows x ceil(D/16)
//                   columns per thread), O / l at the end. The Lq x Lk matrix never exists.
// D is the head size the kernel is compiled for; head_dim may be smaller (columns up to D
// are zero-filled in shared memory). Instantiations: 32, 40, 64, 80, 128, 160, 256, so the
// Stable Diffusion sizes 40, 80, 160 run unpadded and the others at most ~1.6x padded.
// Shared memory rows have stride D + 1 (D is even), so the 16 keys a warp reads at once
// fall into distinct banks.
// Head sizes 257..512 (the VAE's one 512-channel head) go to attention_wide_cuda.cu.
// Causal blocks stop at their last row's key (kv_end). Not yet done (untuned, never run on
// a GPU so far): double-buffered K/V loads, larger Q tiles for small D, tensor cores.
#include <cmath>

#include "cuda_common.cuh"

namespace inkwell::cuda {

namespace {

constexpr int kBr = 64;  // query rows per block
constexpr int kBc = 32;  // keys per tile
constexpr int kThreads = 256;
constexpr int kRows = 4;  // rows per thread: threads (tx, ty) = (tid % 16, tid / 16)

struct AttentionArgs : AttentionShape {
    const float* q;
    const float* k;
    const float* v;
    float* out;
    int64_t bh_offset;
};

template <int D>
struct Layout {
    static constexpr int kNj = (D + 15) / 16;  // output columns per thread
    static constexpr int kVd = kNj * 16;       // V tile row length (zero-padded)
    static constexpr int kQ = 0;
    static constexpr int kK = kQ + kBr * (D + 1);
    static constexpr int kV = kK + kBc * (D + 1);
    static constexpr int kP = kV + kBc * kVd;
    static constexpr int kFloats = kP + kBr * (kBc + 1);
    static constexpr size_t kBytes = size_t(kFloats) * sizeof(float);
};

// rows x head_dim floats at src (rows src_stride apart) into dst rows of stride `stride`,
// zero in columns [head_dim, width) and in rows [rows, max_rows).
__device__ __forceinline__ void load_tile(float* dst, int stride, int width, int max_rows, const float* src,
                                          int64_t src_stride, int rows, int head_dim) {
    const int n = max_rows * width;
    for (int idx = threadIdx.x; idx < n; idx += kThreads) {
        const int r = idx / width, d = idx % width;
        dst[r * stride + d] = (r < rows && d < head_dim) ? __ldg(src + int64_t(r) * src_stride + d) : 0.0f;
    }
}

template <int D>
__global__ void __launch_bounds__(kThreads) flash_kernel(AttentionArgs a) {
    using L = Layout<D>;
    constexpr int kNj = L::kNj;
    extern __shared__ float smem[];
    float* Qs = smem + L::kQ;
    float* Ks = smem + L::kK;
    float* Vs = smem + L::kV;
    float* Ps = smem + L::kP;

    const int64_t bh = a.bh_offset + blockIdx.y;
    const int64_t b = bh / a.heads, h = bh % a.heads;
    const int64_t row0 = int64_t(blockIdx.x) * kBr;
    const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    const int64_t rs = a.row_stride;
    const int64_t q_head = b * a.q_batch + h * a.q_head;  // q's and out's (b, h) row 0
    const int hd = a.head_dim;

    const int64_t kv_valid = a.kv_lens != nullptr ? a.kv_lens[b] : a.kv_len;
    const int rows_here = int(min(int64_t(kBr), a.q_len - row0));
    // Keys any row of this block can see.
    const int64_t kv_end = a.causal ? min(kv_valid, row0 + rows_here) : kv_valid;

    load_tile(Qs, D + 1, D, kBr, a.q + q_head + row0 * rs, rs, rows_here, hd);

    // Visible prefix of each of this thread's rows; rows past q_len see key 0 only (finite
    // garbage, never stored).
    int64_t visible[kRows];
#pragma unroll
    for (int i = 0; i < kRows; ++i) {
        const int64_t row = row0 + ty * kRows + i;
        visible[i] = row < a.q_len ? (a.causal ? min(kv_valid, row + 1) : kv_valid) : 1;
    }

    float m[kRows], l[kRows], acc[kRows][kNj];
#pragma unroll
    for (int i = 0; i < kRows; ++i) {
        m[i] = -INFINITY;
        l[i] = 0.0f;
#pragma unroll
        for (int j = 0; j < kNj; ++j) acc[i][j] = 0.0f;
    }

    const float* k_head = a.k + b * a.kv_batch + h * a.kv_head;
    const float* v_head = a.v + b * a.kv_batch + h * a.kv_head;
    for (int64_t k0 = 0; k0 < kv_end; k0 += kBc) {
        const int keys = int(min(int64_t(kBc), kv_end - k0));
        __syncthreads();  // the previous tile's K, V and P are no longer read
        load_tile(Ks, D + 1, D, kBc, k_head + k0 * rs, rs, keys, hd);
        load_tile(Vs, L::kVd, L::kVd, kBc, v_head + k0 * rs, rs, keys, hd);
        __syncthreads();

        // scores: rows ty*4 + i, keys tx and tx + 16
        float s[kRows][2];
#pragma unroll
        for (int i = 0; i < kRows; ++i) s[i][0] = s[i][1] = 0.0f;
        const float* q_rows = Qs + ty * kRows * (D + 1);
        const float* k0_row = Ks + tx * (D + 1);
        const float* k1_row = Ks + (tx + 16) * (D + 1);
#pragma unroll 8
        for (int d = 0; d < D; ++d) {
            const float ka = k0_row[d], kb = k1_row[d];
#pragma unroll
            for (int i = 0; i < kRows; ++i) {
                const float qv = q_rows[i * (D + 1) + d];
                s[i][0] = fmaf(qv, ka, s[i][0]);
                s[i][1] = fmaf(qv, kb, s[i][1]);
            }
        }

        // online softmax per row; the 16 lanes of a row are one half of a warp
#pragma unroll
        for (int i = 0; i < kRows; ++i) {
#pragma unroll
            for (int c = 0; c < 2; ++c) {
                const int64_t key = k0 + tx + 16 * c;
                s[i][c] = key < visible[i] ? s[i][c] * a.scale_log2 : -INFINITY;
            }
            float tile_max = fmaxf(s[i][0], s[i][1]);
#pragma unroll
            for (int offset = 8; offset > 0; offset >>= 1)
                tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, offset));
            const float m_new = fmaxf(m[i], tile_max);  // finite: key 0 is in the first tile
            const float alpha = exp2f(m[i] - m_new);    // 0 on the first tile (m = -inf)
            const float p0 = exp2f(s[i][0] - m_new), p1 = exp2f(s[i][1] - m_new);
            float row_sum = p0 + p1;
#pragma unroll
            for (int offset = 8; offset > 0; offset >>= 1) row_sum += __shfl_xor_sync(0xffffffffu, row_sum, offset);
            l[i] = l[i] * alpha + row_sum;
            m[i] = m_new;
#pragma unroll
            for (int j = 0; j < kNj; ++j) acc[i][j] *= alpha;
            Ps[(ty * kRows + i) * (kBc + 1) + tx] = p0;
            Ps[(ty * kRows + i) * (kBc + 1) + tx + 16] = p1;
        }
        __syncthreads();

        // O += P V over the tile's keys (masked keys have P = 0, missing ones V = 0)
        for (int c = 0; c < keys; ++c) {
            float vv[kNj];
#pragma unroll
            for (int j = 0; j < kNj; ++j) vv[j] = Vs[c * L::kVd + tx + 16 * j];
#pragma unroll
            for (int i = 0; i < kRows; ++i) {
                const float p = Ps[(ty * kRows + i) * (kBc + 1) + c];
#pragma unroll
                for (int j = 0; j < kNj; ++j) acc[i][j] = fmaf(p, vv[j], acc[i][j]);
            }
        }
    }

#pragma unroll
    for (int i = 0; i < kRows; ++i) {
        const int r = ty * kRows + i;
        if (r >= rows_here) continue;
        float* out = a.out + q_head + (row0 + r) * rs;
        const float inv = 1.0f / l[i];
#pragma unroll
        for (int j = 0; j < kNj; ++j) {
            const int d = tx + 16 * j;
            if (d < hd) out[d] = acc[i][j] * inv;
        }
    }
}

template <int D>
void launch(State& s, const AttentionArgs& base, int64_t bh_count, int64_t q_tiles) {
    using L = Layout<D>;
    if (L::kBytes > size_t(s.max_shared_optin))
        fail(INKWELL_UNSUPPORTED, "attention (CUDA): head size bucket " + std::to_string(D) + " needs " +
                                      std::to_string(L::kBytes) + " bytes of shared memory, the device allows " +
                                      std::to_string(s.max_shared_optin));
    check(cudaFuncSetAttribute(flash_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(L::kBytes)),
          "attention: cudaFuncSetAttribute");
    if (q_tiles > 0x7fffffff) fail(INKWELL_UNSUPPORTED, "attention (CUDA): q_len too large");
    for (int64_t bh0 = 0; bh0 < bh_count; bh0 += 65535) {  // gridDim.y is at most 65535
        AttentionArgs a = base;
        a.bh_offset = bh0;
        const dim3 grid(unsigned(q_tiles), unsigned(std::min<int64_t>(65535, bh_count - bh0)));
        flash_kernel<D><<<grid, kThreads, L::kBytes, s.stream>>>(a);
        check(cudaGetLastError(), "attention launch");
    }
}

}  // namespace

// float16 / bfloat16 on tensor cores: attention_half_cuda.cu.
void attention_half(State& s, const inkwell_attention_params& p, int32_t element_type);
// Head sizes above 256, every element type: attention_wide_cuda.cu.
void attention_wide(State& s, const inkwell_attention_params& p, int32_t element_type);

void attention(State& s, const inkwell_attention_params& p, int32_t element_type) {
    if (p.head_dim > 256) {
        attention_wide(s, p, element_type);
        return;
    }
    if (element_type != INKWELL_ELEMENT_F32) {
        attention_half(s, p, element_type);
        return;
    }
    AttentionArgs a{};
    static_cast<AttentionShape&>(a) = attention_shape(s, p);
    a.q = static_cast<const float*>(p.q);
    a.k = static_cast<const float*>(p.k);
    a.v = static_cast<const float*>(p.v);
    a.out = static_cast<float*>(p.out);
    const int64_t bh = p.batch * p.heads, tiles = ceil_div(p.q_len, kBr);
    const int64_t d = p.head_dim;
    if (d <= 32)
        launch<32>(s, a, bh, tiles);
    else if (d <= 40)
        launch<40>(s, a, bh, tiles);
    else if (d <= 64)
        launch<64>(s, a, bh, tiles);
    else if (d <= 80)
        launch<80>(s, a, bh, tiles);
    else if (d <= 128)
        launch<128>(s, a, bh, tiles);
    else if (d <= 160)
        launch<160>(s, a, bh, tiles);
    else
        launch<256>(s, a, bh, tiles);
    finish_launch(s, "attention");
}

}  // namespace inkwell::cuda
