// Scaled dot-product attention of float16 / bfloat16 tensors on tensor cores (the _f16 and
// _bf16 entries), layout [B, H, L, D] or [B, L, H, D] (p.layout; rows are read and written
// with AttentionShape's strides, so a BLHD call computes exactly what a BHLD call on permuted
// copies does): out = softmax(q k^T scale + mask) v, the mask a visible key prefix per query
// row (kv_lens[b], and j <= i when causal), as cpu/attention_cpu.hpp defines it. Variants:
//   CPU                 the float32 kernel on widened copies (src/attention.cpp)
//   flash_mma_kernel    flash-attention style on mma.sync m16n8k16 (mma_half.cuh), one
//     <Type, Dp>        template for both element types. One block of 128 threads (4 warps)
//                       per 64 query rows of one (batch, head), each warp owning 16 rows.
//                       The Q tile is loaded once into shared memory (and, for Dp <= 128,
//                       kept in registers as A fragments); keys and values stream through
//                       shared memory 64 at a time. Per tile and warp: S = Q K^T on tensor
//                       cores (16 x 64 float32 accumulators, 32 per thread), scale and mask
//                       in float32, online softmax in float32 (running max and sum per row;
//                       exp2 with scale * log2(e) folded in; a row's 4 lanes reduced with
//                       shuffles), then O += P V on tensor cores with O in float32
//                       registers (16 x Dp per warp, Dp / 2 per thread), O / l at the end,
//                       one rounding per output.
// Where P is rounded: the float32 probabilities p = exp2(s - m) of a tile are rounded to the
// element type (nearest even) when they are packed into the A fragments of P V (the
// accumulator layout of two n8 score tiles is the A layout of one k16 step, so P never goes
// through shared memory). This is what flash-attention does. The row sum l is accumulated
// from the unrounded float32 p, as flash-attention does too; so the result differs from the
// float32 CPU result by up to the rounding of P (2^-11 relative for f16, plus 2^-25
// absolute below f16's normal range; 2^-8 for bf16) times sum_j w_j |v_j|, which the test's
// tolerance accounts for (native/tests/test_cuda_attention.cpp).
// Head sizes: Dp = head_dim rounded up to a multiple of 16, one instantiation per multiple
// (16 ... 256), so every head_dim 1..256 runs padded by at most 15 columns (40 -> 48, 80,
// 160 exact). Columns head_dim..Dp of Q, K and V and rows past the tile's keys are zero in
// shared memory: they add nothing to the scores, and masked keys get p = 0.
// Shared memory rows have a stride of Dp + 8 elements ((Dp + 8) / 2 words, 4 mod 8), so the
// fragment loads (8 rows x 4 words) are free of bank conflicts; 3 x 64 x (Dp + 8) x 2 bytes
// in all (Q, K, V): 21 KiB at Dp = 48, 33 KiB at 80, 63 KiB at 160, 99 KiB at 256.
// Tiles are loaded with 16-byte vectors (cp.async for K and V) when head_dim % 8 == 0 and q,
// k, v are 16-byte aligned (40, 80, 160 are), element by element otherwise (every row and
// head offset is then a multiple of 8 elements in both layouts).
// Causal blocks stop at their last row's key (kv_end). Deterministic: fixed order, no atomics.
// Fragments come from ldmatrix.x4 (Q, K) and ldmatrix.x4.trans (V), one instruction for a
// Q fragment or for two n8 tiles of K or V (rows are 16-byte aligned since Dp + 8 is a
// multiple of 8, and Dp / 8 is even); half::kUseLdmatrix = false switches to plain 32-bit
// (Q, K) and 2-byte (V) shared loads of the same elements.
// K and V tiles arrive by cp.async (16-byte, zero-filling) into one buffer each: K of the
// next tile is issued right after this tile's Q K^T, V of the next right after this P V, so
// each copy overlaps the other half of the work (four barriers per tile).
// Expected bottlenecks / not yet tuned (never run on a GPU so far): a copy is exposed when
// the math it overlaps is shorter than its latency (small Dp; a second buffer would hide it
// at 2x the K/V shared memory), fully masked n8 score tiles of causal blocks are still
// computed, and Dp > 128 reads its Q fragments from shared memory on every tile. Registers
// (ptxas, nvcc 13, no spills on sm_80 or sm_90): about 105-130 at Dp = 16, 135-140 at
// 32-80, 165-180 at 96-192, up to ~250 at 256.
#include <cmath>

#include "cuda_common.cuh"
#include "mma_half.cuh"

namespace inkwell::cuda {

namespace {

constexpr int kBr = 64;  // query rows per block (16 per warp)
constexpr int kBc = 64;  // keys per tile
constexpr int kThreads = 128;
constexpr int kScoreTiles = kBc / 8;  // n8 score tiles per warp and tile

struct HalfAttentionArgs : AttentionShape {
    const uint16_t* q;
    const uint16_t* k;
    const uint16_t* v;
    uint16_t* out;
    int vector_loads;  // head_dim % 8 == 0 and q, k, v 16-byte aligned
    int64_t bh_offset;
};

template <int Dp>
struct HalfLayout {
    static constexpr int kStride = Dp + 8;  // elements; (Dp + 8) / 2 words is 4 mod 8
    static constexpr int kQ = 0;
    static constexpr int kK = kQ + kBr * kStride;
    static constexpr int kV = kK + kBc * kStride;
    static constexpr int kElems = kV + kBc * kStride;
    static constexpr size_t kBytes = size_t(kElems) * sizeof(uint16_t);
};

// rows x head_dim elements at src (rows src_stride apart) into dst rows of stride kStride,
// zero in columns [head_dim, Dp) and in rows [rows, max_rows).
template <int Dp>
__device__ __forceinline__ void load_tile(uint16_t* dst, const uint16_t* src, int64_t src_stride, int rows,
                                          int max_rows, int head_dim, bool vector_loads) {
    constexpr int kStride = HalfLayout<Dp>::kStride;
    if (vector_loads) {
        constexpr int kChunks = Dp / 8;
        for (int idx = threadIdx.x; idx < max_rows * kChunks; idx += kThreads) {
            const int r = idx / kChunks, d = (idx % kChunks) * 8;
            uint4 v = make_uint4(0, 0, 0, 0);
            if (r < rows && d < head_dim) v = __ldg(reinterpret_cast<const uint4*>(src + r * src_stride + d));
            *reinterpret_cast<uint4*>(dst + r * kStride + d) = v;
        }
    } else {
        for (int idx = threadIdx.x; idx < max_rows * Dp; idx += kThreads) {
            const int r = idx / Dp, d = idx % Dp;
            dst[r * kStride + d] = (r < rows && d < head_dim) ? half::load_u16(src + r * src_stride + d) : 0;
        }
    }
}

// load_tile for K and V tiles: with vector loads, 16-byte cp.async copies (zero-filled where
// the source is out of range: src-size 0); otherwise the same plain loads and stores as
// load_tile. Either way the data is in shared memory after the next cp_async_wait that
// covers its commit group and a barrier.
template <int Dp>
__device__ __forceinline__ void issue_tile(uint16_t* dst, const uint16_t* src, int64_t src_stride, int rows,
                                           int head_dim, bool vector_loads) {
    constexpr int kStride = HalfLayout<Dp>::kStride;
    if (vector_loads) {
        constexpr int kChunks = Dp / 8;
        for (int idx = threadIdx.x; idx < kBc * kChunks; idx += kThreads) {
            const int r = idx / kChunks, d = (idx % kChunks) * 8;
            const bool inside = r < rows && d < head_dim;
            half::cp_async_16(dst + r * kStride + d, inside ? src + r * src_stride + d : src, inside);
        }
    } else {
        load_tile<Dp>(dst, src, src_stride, rows, kBc, head_dim, false);
    }
}

template <int32_t Type, int Dp>
__global__ void __launch_bounds__(kThreads) flash_mma_kernel(HalfAttentionArgs a) {
    using E = half::Element<Type>;
    using L = HalfLayout<Dp>;
    constexpr int S = L::kStride;
    constexpr int kDk = Dp / 16;  // k16 steps of Q K^T
    constexpr int kDt = Dp / 8;   // n8 tiles of O
    constexpr bool kQInRegisters = Dp <= 128;
    extern __shared__ uint4 smem_raw[];
    uint16_t* smem = reinterpret_cast<uint16_t*>(smem_raw);
    uint16_t* Qs = smem + L::kQ;
    uint16_t* Ks = smem + L::kK;
    uint16_t* Vs = smem + L::kV;

    const int64_t bh = a.bh_offset + blockIdx.y;
    const int64_t b = bh / a.heads, head = bh % a.heads;
    const int64_t row0 = int64_t(blockIdx.x) * kBr;
    const int64_t rs = a.row_stride;
    const int64_t q_head = b * a.q_batch + head * a.q_head;  // q's and out's (b, head) row 0
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int group = lane / 4, quad = lane % 4;
    const int hd = a.head_dim;
    const bool vec = a.vector_loads != 0;

    const int64_t kv_valid = a.kv_lens != nullptr ? a.kv_lens[b] : a.kv_len;
    const int rows_here = int(min(int64_t(kBr), a.q_len - row0));
    const int64_t kv_end = a.causal ? min(kv_valid, row0 + rows_here) : kv_valid;  // keys any row here sees

    load_tile<Dp>(Qs, a.q + q_head + row0 * rs, rs, rows_here, kBr, hd, vec);

    // This thread's two rows: warp * 16 + group (index 0) and + 8 (index 1). Their visible
    // key prefix; rows past q_len see key 0 only (finite garbage, never stored).
    const int my_row[2] = {warp * 16 + group, warp * 16 + group + 8};
    int64_t visible[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const int64_t row = row0 + my_row[h];
        visible[h] = row < a.q_len ? (a.causal ? min(kv_valid, row + 1) : kv_valid) : 1;
    }

    float o[kDt][4];
#pragma unroll
    for (int dj = 0; dj < kDt; ++dj)
#pragma unroll
        for (int r = 0; r < 4; ++r) o[dj][r] = 0.0f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};  // l: this thread's part of the row sum

    uint32_t qf[kQInRegisters ? kDk : 1][4];
    const int matrix = lane / 8;  // ldmatrix: lane 8 i + r addresses row r of matrix i
    auto q_fragment = [&](int kd, uint32_t (&f)[4]) {
        if constexpr (half::kUseLdmatrix) {
            half::ldmatrix_x4(f, Qs + (warp * 16 + (matrix % 2) * 8 + lane % 8) * S + kd * 16 + (matrix / 2) * 8);
        } else {
            const uint16_t* p = Qs + my_row[0] * S + kd * 16 + 2 * quad;
            f[0] = half::load_pair(p);
            f[1] = half::load_pair(p + 8 * S);
            f[2] = half::load_pair(p + 8);
            f[3] = half::load_pair(p + 8 * S + 8);
        }
    };
    if constexpr (kQInRegisters) {
        __syncthreads();
#pragma unroll
        for (int kd = 0; kd < kDk; ++kd) q_fragment(kd, qf[kd]);
    }

    // K and V stream through one buffer each, their copies split so that each overlaps other
    // work: K of tile t + 1 is issued once every warp has its scores of tile t (it overlaps
    // the softmax and P V), V of tile t + 1 once P V of tile t is done (it overlaps the next
    // Q K^T). One commit group per issue (empty ones included), so cp_async_wait<1> always
    // means "all but the latest group": the K (or V) this step needs.
    const uint16_t* k_head = a.k + b * a.kv_batch + head * a.kv_head;
    const uint16_t* v_head = a.v + b * a.kv_batch + head * a.kv_head;
    auto tile_keys = [&](int64_t k0) { return int(min(int64_t(kBc), kv_end - k0)); };
    issue_tile<Dp>(Ks, k_head, rs, tile_keys(0), hd, vec);
    half::cp_async_commit();
    issue_tile<Dp>(Vs, v_head, rs, tile_keys(0), hd, vec);
    half::cp_async_commit();
    for (int64_t k0 = 0; k0 < kv_end; k0 += kBc) {
        const bool more = k0 + kBc < kv_end;
        half::cp_async_wait<1>();  // this tile's K (its V may still be in flight)
        __syncthreads();

        // S = Q K^T: 16 rows x 64 keys per warp; B[d][key] = K[key][d] (K rows are contiguous in d).
        float s[kScoreTiles][4];
#pragma unroll
        for (int nj = 0; nj < kScoreTiles; ++nj)
#pragma unroll
            for (int r = 0; r < 4; ++r) s[nj][r] = 0.0f;
#pragma unroll
        for (int kd = 0; kd < kDk; ++kd) {
            uint32_t af[4];
            if constexpr (kQInRegisters) {
#pragma unroll
                for (int r = 0; r < 4; ++r) af[r] = qf[kd][r];
            } else {
                q_fragment(kd, af);
            }
            if constexpr (half::kUseLdmatrix) {
#pragma unroll
                for (int nj = 0; nj < kScoreTiles; nj += 2) {
                    uint32_t r[4];
                    half::ldmatrix_x4(r, Ks + ((nj + matrix / 2) * 8 + lane % 8) * S + kd * 16 + (matrix % 2) * 8);
                    const uint32_t b0[2] = {r[0], r[1]}, b1[2] = {r[2], r[3]};
                    E::mma(s[nj], af, b0);
                    E::mma(s[nj + 1], af, b1);
                }
            } else {
#pragma unroll
                for (int nj = 0; nj < kScoreTiles; ++nj) {
                    const uint16_t* p = Ks + (nj * 8 + group) * S + kd * 16 + 2 * quad;
                    const uint32_t bf[2] = {half::load_pair(p), half::load_pair(p + 8)};
                    E::mma(s[nj], af, bf);
                }
            }
        }

        __syncthreads();  // every warp is done with K: the next tile's K may overwrite it
        if (more) issue_tile<Dp>(Ks, k_head + (k0 + kBc) * rs, rs, tile_keys(k0 + kBc), hd, vec);
        half::cp_async_commit();

        // Online softmax in float32 (log2 units): mask, tile max, rescale, p = exp2(s - m).
        float tile_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
        for (int nj = 0; nj < kScoreTiles; ++nj) {
#pragma unroll
            for (int r = 0; r < 4; ++r) {
                const int h = r / 2;
                const int64_t key = k0 + nj * 8 + 2 * quad + (r & 1);
                s[nj][r] = key < visible[h] ? s[nj][r] * a.scale_log2 : -INFINITY;
                tile_max[h] = fmaxf(tile_max[h], s[nj][r]);
            }
        }
        float alpha[2];
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            tile_max[h] = fmaxf(tile_max[h], __shfl_xor_sync(0xffffffffu, tile_max[h], 1));
            tile_max[h] = fmaxf(tile_max[h], __shfl_xor_sync(0xffffffffu, tile_max[h], 2));
            const float m_new = fmaxf(m[h], tile_max[h]);  // finite: key 0 is in the first tile
            alpha[h] = exp2f(m[h] - m_new);                // 0 on the first tile (m = -inf)
            m[h] = m_new;
            l[h] *= alpha[h];
        }
#pragma unroll
        for (int nj = 0; nj < kScoreTiles; ++nj) {
#pragma unroll
            for (int r = 0; r < 4; ++r) {
                const int h = r / 2;
                s[nj][r] = exp2f(s[nj][r] - m[h]);  // masked keys: exp2(-inf) = 0
                l[h] += s[nj][r];                   // the unrounded p, as flash-attention sums it
            }
        }
#pragma unroll
        for (int dj = 0; dj < kDt; ++dj) {
            o[dj][0] *= alpha[0];
            o[dj][1] *= alpha[0];
            o[dj][2] *= alpha[1];
            o[dj][3] *= alpha[1];
        }

        half::cp_async_wait<1>();  // this tile's V (the next K may still be in flight)
        __syncthreads();

        // O += P V: P rounded to the element type here, straight from the score accumulators
        // into A fragments; B[key][d] = V[key][d], two keys per register.
#pragma unroll
        for (int kc = 0; kc < kBc / 16; ++kc) {
            const uint32_t pf[4] = {E::pack(s[2 * kc][0], s[2 * kc][1]), E::pack(s[2 * kc][2], s[2 * kc][3]),
                                    E::pack(s[2 * kc + 1][0], s[2 * kc + 1][1]),
                                    E::pack(s[2 * kc + 1][2], s[2 * kc + 1][3])};
            if constexpr (half::kUseLdmatrix) {
                // Matrices (keys 0-7, n8 tile dj), (keys 8-15, dj), (0-7, dj + 1), (8-15, dj + 1):
                // r[0], r[1] are dj's B fragment, r[2], r[3] dj + 1's.
                const uint16_t* rows = Vs + (kc * 16 + (matrix % 2) * 8 + lane % 8) * S + (matrix / 2) * 8;
#pragma unroll
                for (int dj = 0; dj < kDt; dj += 2) {
                    uint32_t r[4];
                    half::ldmatrix_x4_trans(r, rows + dj * 8);
                    const uint32_t b0[2] = {r[0], r[1]}, b1[2] = {r[2], r[3]};
                    E::mma(o[dj], pf, b0);
                    E::mma(o[dj + 1], pf, b1);
                }
            } else {
                const uint16_t* v_rows = Vs + (kc * 16 + 2 * quad) * S + group;
#pragma unroll
                for (int dj = 0; dj < kDt; ++dj) {
                    const uint16_t* p = v_rows + dj * 8;
                    const uint32_t bf[2] = {half::pair(p[0], p[S]), half::pair(p[8 * S], p[9 * S])};
                    E::mma(o[dj], pf, bf);
                }
            }
        }
        __syncthreads();  // every warp is done with V: the next tile's V may overwrite it
        if (more) issue_tile<Dp>(Vs, v_head + (k0 + kBc) * rs, rs, tile_keys(k0 + kBc), hd, vec);
        half::cp_async_commit();
    }

#pragma unroll
    for (int h = 0; h < 2; ++h) {
        l[h] += __shfl_xor_sync(0xffffffffu, l[h], 1);
        l[h] += __shfl_xor_sync(0xffffffffu, l[h], 2);
    }
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        if (my_row[h] >= rows_here) continue;
        uint16_t* out = a.out + q_head + (row0 + my_row[h]) * rs;
        const float inv = 1.0f / l[h];
#pragma unroll
        for (int dj = 0; dj < kDt; ++dj) {
#pragma unroll
            for (int c = 0; c < 2; ++c) {
                const int d = dj * 8 + 2 * quad + c;
                if (d < hd) out[d] = E::narrow(o[dj][2 * h + c] * inv);
            }
        }
    }
}

template <int32_t Type, int Dp>
void launch(State& s, const HalfAttentionArgs& base, int64_t bh_count, int64_t q_tiles) {
    using L = HalfLayout<Dp>;
    if (L::kBytes > size_t(s.max_shared_optin))
        fail(INKWELL_UNSUPPORTED, "attention (CUDA, 16-bit): head size " + std::to_string(Dp) + " needs " +
                                      std::to_string(L::kBytes) + " bytes of shared memory, the device allows " +
                                      std::to_string(s.max_shared_optin));
    check(cudaFuncSetAttribute(flash_mma_kernel<Type, Dp>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(L::kBytes)),
          "attention (16-bit): cudaFuncSetAttribute");
    if (q_tiles > 0x7fffffff) fail(INKWELL_UNSUPPORTED, "attention (CUDA, 16-bit): q_len too large");
    for (int64_t bh0 = 0; bh0 < bh_count; bh0 += 65535) {  // gridDim.y is at most 65535
        HalfAttentionArgs a = base;
        a.bh_offset = bh0;
        const dim3 grid(unsigned(q_tiles), unsigned(std::min<int64_t>(65535, bh_count - bh0)));
        flash_mma_kernel<Type, Dp><<<grid, kThreads, L::kBytes, s.stream>>>(a);
        check(cudaGetLastError(), "attention (16-bit) launch");
    }
}

// Dp = head_dim rounded up to a multiple of 16 (16 ... 256).
template <int32_t Type, int Dp = 16>
void dispatch(State& s, const HalfAttentionArgs& a, int64_t bh_count, int64_t q_tiles) {
    if constexpr (Dp > 256) {
        fail(INKWELL_INTERNAL_ERROR, "attention (CUDA, 16-bit): head_dim above 256");
    } else {
        if (a.head_dim <= Dp)
            launch<Type, Dp>(s, a, bh_count, q_tiles);
        else
            dispatch<Type, Dp + 16>(s, a, bh_count, q_tiles);
    }
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

// Called by attention() in attention_cuda.cu for INKWELL_ELEMENT_F16 and INKWELL_ELEMENT_BF16.
void attention_half(State& s, const inkwell_attention_params& p, int32_t element_type) {
    HalfAttentionArgs a{};
    static_cast<AttentionShape&>(a) = attention_shape(s, p);
    a.q = static_cast<const uint16_t*>(p.q);
    a.k = static_cast<const uint16_t*>(p.k);
    a.v = static_cast<const uint16_t*>(p.v);
    a.out = static_cast<uint16_t*>(p.out);
    a.vector_loads = p.head_dim % 8 == 0 && aligned16(p.q) && aligned16(p.k) && aligned16(p.v);
    const int64_t bh = p.batch * p.heads, tiles = ceil_div(p.q_len, kBr);
    if (element_type == INKWELL_ELEMENT_F16)
        dispatch<INKWELL_ELEMENT_F16>(s, a, bh, tiles);
    else
        dispatch<INKWELL_ELEMENT_BF16>(s, a, bh, tiles);
    finish_launch(s, "attention (16-bit)");
}

}  // namespace inkwell::cuda
