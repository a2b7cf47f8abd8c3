// Register-blocked GEMM micro-kernels, full tiles only:
//   c[r * ldc + q] (+)= sum_k a[r * lda + k] * b[k * NR + q]   for r < MR, q < NR
// a is MR rows of the left operand in place (row r at a + r lda, contiguous in k: no
// packing), b a packed panel of NR columns of the right operand (kc x NR, k major), c a tile
// of a scratch buffer that always has room for a full MR x NR tile (the caller pads missing
// rows and columns and copies only the valid part out).
//
// Variants (one function per instruction set; the caller picks the widest the CPU has):
//   portable  6 x 16, plain C++ (the compiler may vectorise it, but never fuses the
//             multiply and the add: no -mfma here), for CPUs without AVX2 and for tests.
//   avx2      6 x 16: 12 ymm accumulators, per k two loads of b and one broadcast of a per
//             row (the BLIS Haswell/Zen shape).
//   avx512    12 x 32: 24 zmm accumulators, per k two loads of b, twelve broadcasts.
// Both SIMD kernels compute every output as the same chain of fused multiply-adds in k
// order, so for the same K blocking they give the same bits; the portable one rounds the
// product and the sum separately and differs from them in the last bits.
//
// Reading a in place rather than packing it into a k-major panel: measured on the 12 x 32
// kernel with the block of rows in L2 (2-core Xeon, AVX-512), packing cost 14% of the
// multiply and the packed kernel itself was only ~4% faster; x's rows are contiguous in k
// already, and twelve row streams are within what the prefetchers follow.
//
// Each kernel also has a packed-a form (kPackedA: a is k-major, a[k * MR + r], lda unused),
// for operands that are produced per call anyway and can be written that way for free: the
// Winograd transform's U, which streams from L3 once per tile block. There one sequential
// stream beat twelve strided ones by 7-10% (conv2d_cpu.cpp). Same FMA chains, same bits.
#pragma once

#include <cstdint>

#include "simd_dispatch.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define INKWELL_GEMM_X86 1
#endif

namespace inkwell::cpu::gemm {

struct MicroTile {
    const float* a;  // MR rows, lda floats apart, kc floats each
    int64_t lda;
    const float* b;  // kc x NR, packed
    int64_t kc;      // >= 1
    float* c;        // MR x NR tile, rows ldc floats apart
    int64_t ldc;
    bool accumulate;  // c += the product (every K block but the first), else c = it
};

using MicroKernel = void (*)(const MicroTile&);

// The shape of a kernel's tile, the packing it expects.
struct KernelSpec {
    int mr, nr;
    MicroKernel fn;
    MicroKernel packed_a = nullptr;  // the same kernel over a packed a (see above)
};

template <int MR, int NR, bool kPackedA = false>
inline void micro_portable(const MicroTile& t) {
    float acc[MR][NR] = {};
    const float* b = t.b;
    for (int64_t k = 0; k < t.kc; ++k, b += NR)
        for (int r = 0; r < MR; ++r) {
            const float av = kPackedA ? t.a[k * MR + r] : t.a[r * t.lda + k];
            for (int q = 0; q < NR; ++q) acc[r][q] += av * b[q];
        }
    for (int r = 0; r < MR; ++r) {
        float* c = t.c + r * t.ldc;
        for (int q = 0; q < NR; ++q) c[q] = t.accumulate ? c[q] + acc[r][q] : acc[r][q];
    }
}

#ifdef INKWELL_GEMM_X86

// The unroll pragmas matter: without them GCC keeps acc in memory and stores it every
// iteration.
template <bool kPackedA = false>
__attribute__((target("avx2,fma"))) inline void micro_avx2_6x16(const MicroTile& t) {
    constexpr int kMR = 6;
    __m256 acc[kMR][2];
#pragma GCC unroll 6
    for (int r = 0; r < kMR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    // Two base pointers and offsets of 1 and 2 rows: x86 addressing covers all six rows
    // without six pointer registers. Packed: row r of step k at a0 + r, a0 moving by 6.
    const int64_t l = kPackedA ? 1 : t.lda, step = kPackedA ? kMR : 1;
    const float* a0 = t.a;
    const float* a3 = t.a + 3 * l;
    const float* b = t.b;
    for (int64_t k = 0; k < t.kc; ++k, a0 += step, a3 += step, b += 16) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        const float* row[kMR] = {a0, a0 + l, a0 + 2 * l, a3, a3 + l, a3 + 2 * l};
#pragma GCC unroll 6
        for (int r = 0; r < kMR; ++r) {
            const __m256 av = _mm256_broadcast_ss(row[r]);
            acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < kMR; ++r) {
        float* c = t.c + r * t.ldc;
        if (t.accumulate) {
            acc[r][0] = _mm256_add_ps(_mm256_loadu_ps(c), acc[r][0]);
            acc[r][1] = _mm256_add_ps(_mm256_loadu_ps(c + 8), acc[r][1]);
        }
        _mm256_storeu_ps(c, acc[r][0]);
        _mm256_storeu_ps(c + 8, acc[r][1]);
    }
}

// 24 of the 32 zmm registers hold the tile; each k is 2 loads of b and 12 broadcasts.
template <bool kPackedA = false>
__attribute__((target("avx512f"))) inline void micro_avx512_12x32(const MicroTile& t) {
    constexpr int kMR = 12;
    __m512 acc[kMR][2];
#pragma GCC unroll 12
    for (int r = 0; r < kMR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    const int64_t l = kPackedA ? 1 : t.lda, step = kPackedA ? kMR : 1;
    const float* a0 = t.a;
    const float* a3 = t.a + 3 * l;
    const float* a6 = t.a + 6 * l;
    const float* a9 = t.a + 9 * l;
    const float* b = t.b;
    for (int64_t k = 0; k < t.kc; ++k, a0 += step, a3 += step, a6 += step, a9 += step, b += 32) {
        const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        const float* row[kMR] = {a0, a0 + l, a0 + 2 * l, a3, a3 + l, a3 + 2 * l,
                                 a6, a6 + l, a6 + 2 * l, a9, a9 + l, a9 + 2 * l};
#pragma GCC unroll 12
        for (int r = 0; r < kMR; ++r) {
            const __m512 av = _mm512_set1_ps(*row[r]);
            acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
        }
    }
#pragma GCC unroll 12
    for (int r = 0; r < kMR; ++r) {
        float* c = t.c + r * t.ldc;
        if (t.accumulate) {
            acc[r][0] = _mm512_add_ps(_mm512_loadu_ps(c), acc[r][0]);
            acc[r][1] = _mm512_add_ps(_mm512_loadu_ps(c + 16), acc[r][1]);
        }
        _mm512_storeu_ps(c, acc[r][0]);
        _mm512_storeu_ps(c + 16, acc[r][1]);
    }
}

// The level in effect (simd_dispatch.hpp: the CPU's, or a lower forced one).
inline bool cpu_has_avx2_fma() { return simd_avx2(); }
inline bool cpu_has_avx512f() { return simd_avx512(); }

#else

inline bool cpu_has_avx2_fma() { return false; }
inline bool cpu_has_avx512f() { return false; }

#endif

}  // namespace inkwell::cpu::gemm
