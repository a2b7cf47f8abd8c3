// Tensor-core helpers shared by the 16-bit kernels (conv2d_half_cuda.cu, attention_half_cuda.cu):
// the element-type traits (IEEE binary16 and bfloat16, handled as raw uint16_t bit patterns
// everywhere except where a value is widened or rounded) and one mma.sync wrapper.
//
// mma.sync.aligned.m16n8k16.row.col.f32.{f16,bf16}: D[16x8] = A[16x16] B[16x8] + C, float32
// accumulators. Fragment layouts (PTX ISA, "Matrix Fragments for mma.m16n8k16 with
// floating point type"), with lane = 4 * group + quad (group = lane / 4, quad = lane % 4):
//   A, 4 x .b32 (two 16-bit elements each, the lower half holding the smaller column):
//     a[0] = A[group    ][2 quad, 2 quad + 1]    a[1] = A[group + 8][2 quad, 2 quad + 1]
//     a[2] = A[group    ][2 quad + 8, + 9]       a[3] = A[group + 8][2 quad + 8, + 9]
//   B, 2 x .b32 (the lower half holding the smaller row k):
//     b[0] = B[2 quad, 2 quad + 1][group]        b[1] = B[2 quad + 8, + 9][group]
//   C and D, 4 x f32:
//     c[0], c[1] = C[group][2 quad, 2 quad + 1]  c[2], c[3] = C[group + 8][2 quad, 2 quad + 1]
// So the accumulators of two neighbouring n8 tiles, rounded to 16 bits in pairs, are exactly
// the A fragment of one k16 step (the attention kernel feeds P to P V that way).
//
// Products of two 16-bit values are exact in float32; the tensor core adds them (and the
// accumulator) in float32-like precision, not necessarily with IEEE round-to-nearest after
// each addition (on Ampere and Hopper the sum of one instruction is aligned to its largest
// term and truncated). The tests bound that by 2 ulp of float32 per instruction relative to
// the sum of the absolute values of its terms.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "inkwell/inkwell.h"

namespace inkwell::cuda::half {

// The element type as a compile-time tag: F16 or BF16.
template <int32_t Type>
struct Element;

template <>
struct Element<INKWELL_ELEMENT_F16> {
    static __device__ __forceinline__ float widen(uint16_t bits) { return __half2float(__ushort_as_half(bits)); }
    // Round to nearest even (IEEE: overflow to infinity, tiny values to subnormals or zero).
    static __device__ __forceinline__ uint16_t narrow(float v) { return __half_as_ushort(__float2half_rn(v)); }
    // Two floats rounded to nearest even, lo in the lower 16 bits.
    static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
        return uint32_t(narrow(lo)) | (uint32_t(narrow(hi)) << 16);
    }
    static __device__ __forceinline__ void mma(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
            "{%0, %1, %2, %3};\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    }
};

template <>
struct Element<INKWELL_ELEMENT_BF16> {
    static __device__ __forceinline__ float widen(uint16_t bits) { return __uint_as_float(uint32_t(bits) << 16); }
    static __device__ __forceinline__ uint16_t narrow(float v) {
        return __bfloat16_as_ushort(__float2bfloat16_rn(v));
    }
    static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
        return uint32_t(narrow(lo)) | (uint32_t(narrow(hi)) << 16);
    }
    static __device__ __forceinline__ void mma(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
            "{%0, %1, %2, %3};\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    }
};

// Two consecutive 16-bit elements of shared memory as one .b32 (p must be 4-byte aligned).
__device__ __forceinline__ uint32_t load_pair(const uint16_t* p) { return *reinterpret_cast<const uint32_t*>(p); }

// Two 16-bit elements from anywhere, lo in the lower half.
__device__ __forceinline__ uint32_t pair(uint16_t lo, uint16_t hi) { return uint32_t(lo) | (uint32_t(hi) << 16); }

// Fragments from shared memory with ldmatrix (one instruction per four 8 x 8 matrices instead
// of four 32-bit loads), or with plain loads when false: the plain path is kept as the
// reference should ldmatrix ever be in doubt (both read the same elements).
constexpr bool kUseLdmatrix = true;

// ldmatrix.sync.aligned.m8n8.x4.shared.b16: four 8 x 8 matrices of 16-bit elements; lane
// 8 i + r gives the shared address of row r of matrix i (16-byte aligned, 8 contiguous
// elements), and lane 4 g + q receives in r[i] elements (g, 2q) and (g, 2q + 1) of matrix i.
// With matrices (rows 0-7, cols 0-7), (rows 8-15, cols 0-7), (rows 0-7, cols 8-15), (rows
// 8-15, cols 8-15) of a row-major 16 x 16 tile that is an A fragment; with (n 0-7, k 0-7),
// (n 0-7, k 8-15), (n 8-15, k 0-7), (n 8-15, k 8-15) of a tile stored [n][k] it is the B
// fragments of two n8 tiles (r[0], r[1] and r[2], r[3]).
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const uint16_t* row_address) {
    const uint32_t address = static_cast<uint32_t>(__cvta_generic_to_shared(row_address));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(address));
}

// ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16: four 8 x 8 matrices of 16-bit elements;
// lane 8 i + r gives the shared address of row r of matrix i (16-byte aligned, 8 contiguous
// elements), and with .trans lane 4 g + q receives in r[i] elements (2q, g) and (2q + 1, g)
// of matrix i (lower half first): for a matrix stored [k][n] that is a B fragment register.
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const uint16_t* row_address) {
    const uint32_t address = static_cast<uint32_t>(__cvta_generic_to_shared(row_address));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(address));
}

// 16 bytes global -> shared without going through registers (sm_80+), cached in L2 only;
// when !copy nothing is read and the 16 bytes are zero-filled (src-size 0).
__device__ __forceinline__ void cp_async_16(void* shared_dst, const void* global_src, bool copy) {
    const uint32_t dst = static_cast<uint32_t>(__cvta_generic_to_shared(shared_dst));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(global_src), "r"(copy ? 16 : 0));
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }

// Waits until at most `Pending` of this thread's most recent commit groups are in flight.
template <int Pending>
__device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(Pending));
}

__device__ __forceinline__ uint16_t load_u16(const uint16_t* p) { return __ldg(reinterpret_cast<const unsigned short*>(p)); }

}  // namespace inkwell::cuda::half
