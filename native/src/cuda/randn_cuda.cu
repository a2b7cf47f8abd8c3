// Philox4x32-10 + Box-Muller normal noise on the GPU: the stream of cpu/randn_cpu.hpp,
// bit-identical to the CPU backend element for element, for any seed, offset and count.
// Variants:
//   CPU reference   cpu/randn_cpu.cpp (randn_reference: every element from its own block)
//   randn_kernel    one thread per Philox block (four elements) that the range touches,
//                   grid-strided; the blocks cut by the range's ends keep only their lanes
//                   inside it.
// Arithmetic: a line-by-line port of randn_cpu.cpp's philox, uniform, log_positive and
// sincos_turns. Every float operation is an explicit round-to-nearest intrinsic
// (__fmul_rn, __fadd_rn, __fsub_rn, __fdiv_rn, __fsqrt_rn, and __fmaf_rn exactly where the
// CPU writes fmaf), so nothing can be contracted or approximated; the file is compiled with
// -fmad=false as well (native/CMakeLists.txt). Each of those operations is correctly
// rounded on both sides, so each result has one right answer. The constants are the CPU's
// compile-time expressions (double, rounded once to float), repeated here because the
// backend does not link the core.
#include "cuda_common.cuh"

namespace inkwell::cuda {

namespace {

constexpr uint32_t kPhiloxM0 = 0xD2511F53u;
constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;
constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;
constexpr int kPhiloxRounds = 10;

constexpr double kTwoPi = 6.283185307179586476925286766559;
constexpr double kLn2 = 0.693147180559945309417232121458;
constexpr float kLn2Hi = float(kLn2);
constexpr float kLn2Lo = float(kLn2 - double(kLn2Hi));

constexpr double power(double x, int n) { return n == 0 ? 1.0 : x * power(x, n - 1); }
constexpr double factorial(int n) { return n <= 1 ? 1.0 : n * factorial(n - 1); }
constexpr float turn_coefficient(int n) {
    const double magnitude = power(kTwoPi, n) / factorial(n);
    return float((n / 2) % 2 == 0 ? magnitude : -magnitude);
}
// As named scalars: constexpr scalars are usable in device code, arrays are not.
constexpr float kTurn3 = turn_coefficient(3), kTurn5 = turn_coefficient(5), kTurn7 = turn_coefficient(7),
                kTurn9 = turn_coefficient(9);
constexpr float kTurn4 = turn_coefficient(4), kTurn6 = turn_coefficient(6), kTurn8 = turn_coefficient(8),
                kTurn10 = turn_coefficient(10);
constexpr float kSin1Hi = float(kTwoPi);
constexpr float kSin1Lo = float(kTwoPi - double(kSin1Hi));
constexpr double kCos2 = -kTwoPi * kTwoPi / 2;
constexpr float kCos2Hi = float(kCos2);
constexpr float kCos2Lo = float(kCos2 - double(kCos2Hi));

constexpr float log_series_coefficient(int k) { return float(2.0 / (2 * k + 1)); }
constexpr float kLog1 = log_series_coefficient(1), kLog2 = log_series_coefficient(2),
                kLog3 = log_series_coefficient(3), kLog4 = log_series_coefficient(4),
                kLog5 = log_series_coefficient(5);

constexpr uint32_t kOneBits = 0x3f800000u;
constexpr uint32_t kSqrtHalfBits = 0x3f3504f3u;
constexpr uint32_t kMantissaMask = 0x007fffffu;

constexpr int kThreads = 256;
constexpr int kBlocksPerSm = 16;

__device__ __forceinline__ uint4 philox(uint4 c, uint32_t k0, uint32_t k1) {
#pragma unroll
    for (int round = 0; round < kPhiloxRounds; ++round) {
        if (round > 0) {
            k0 += kPhiloxW0;
            k1 += kPhiloxW1;
        }
        const uint64_t p0 = uint64_t(kPhiloxM0) * c.x;
        const uint64_t p1 = uint64_t(kPhiloxM1) * c.z;
        c = make_uint4(uint32_t(p1 >> 32) ^ c.y ^ k0, uint32_t(p1), uint32_t(p0 >> 32) ^ c.w ^ k1, uint32_t(p0));
    }
    return c;
}

__device__ __forceinline__ float uniform(uint32_t word) {
    return __fmul_rn(__uint2float_rn((word >> 8) + 1u), 1.0f / 16777216.0f);
}

__device__ __forceinline__ float log_positive(float x) {
    uint32_t bits = __float_as_uint(x) + (kOneBits - kSqrtHalfBits);
    const int32_t k = int32_t(bits >> 23) - 0x7f;
    bits = (bits & kMantissaMask) + kSqrtHalfBits;
    const float f = __fsub_rn(__uint_as_float(bits), 1.0f);
    const float s = __fdiv_rn(f, __fadd_rn(2.0f, f));
    const float z = __fmul_rn(s, s);
    float r = kLog5;
    r = __fmaf_rn(z, r, kLog4);
    r = __fmaf_rn(z, r, kLog3);
    r = __fmaf_rn(z, r, kLog2);
    r = __fmaf_rn(z, r, kLog1);
    r = __fmul_rn(r, z);
    const float hfsq = __fmul_rn(0.5f, __fmul_rn(f, f));
    const float dk = __int2float_rn(k);
    const float small = __fmaf_rn(s, __fadd_rn(hfsq, r), __fmul_rn(dk, kLn2Lo));
    return __fmaf_rn(dk, kLn2Hi, __fadd_rn(__fsub_rn(small, hfsq), f));
}

__device__ __forceinline__ void sincos_turns(float u, float& sin_out, float& cos_out) {
    const float q = floorf(__fadd_rn(__fmul_rn(4.0f, u), 0.5f));
    const float f = __fsub_rn(u, __fmul_rn(0.25f, q));
    const float f2 = __fmul_rn(f, f);
    float ps = kTurn9;
    ps = __fmaf_rn(f2, ps, kTurn7);
    ps = __fmaf_rn(f2, ps, kTurn5);
    ps = __fmaf_rn(f2, ps, kTurn3);
    const float s = __fmaf_rn(f, kSin1Hi, __fmaf_rn(f, kSin1Lo, __fmul_rn(__fmul_rn(f, f2), ps)));
    float pc = kTurn10;
    pc = __fmaf_rn(f2, pc, kTurn8);
    pc = __fmaf_rn(f2, pc, kTurn6);
    pc = __fmaf_rn(f2, pc, kTurn4);
    const float f2_lo = __fmaf_rn(f, f, -f2);
    const float small = __fmaf_rn(__fmul_rn(f2, f2), pc, __fmaf_rn(f2_lo, kCos2Hi, __fmul_rn(f2, kCos2Lo)));
    const float c = __fadd_rn(1.0f, __fmaf_rn(f2, kCos2Hi, small));
    switch (int32_t(q) & 3) {
        case 0: sin_out = s; cos_out = c; break;
        case 1: sin_out = c; cos_out = -s; break;
        case 2: sin_out = -s; cos_out = -c; break;
        default: sin_out = -c; cos_out = s; break;
    }
}

// The normal pair of two words (lanes 2p, 2p + 1 of a block).
__device__ __forceinline__ void box_muller(uint32_t w1, uint32_t w2, float& z0, float& z1) {
    const float radius = __fsqrt_rn(__fmul_rn(-2.0f, log_positive(uniform(w1))));
    float sn, cs;
    sincos_turns(uniform(w2), sn, cs);
    z0 = __fmul_rn(radius, cs);
    z1 = __fmul_rn(radius, sn);
}

// Block first_block + j covers elements 4 (first_block + j) + lane; relative to the output
// that is 4 j + lane - first_lane. Indices relative to the output never wrap, even for a
// range that ends with the stream at 2^64.
__global__ void __launch_bounds__(kThreads) randn_kernel(float* out, int64_t count, uint32_t key0, uint32_t key1,
                                                         uint64_t first_block, int first_lane, int64_t blocks) {
    for (int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; j < blocks; j += int64_t(gridDim.x) * blockDim.x) {
        const uint64_t n = first_block + uint64_t(j);
        const uint4 words = philox(make_uint4(uint32_t(n), uint32_t(n >> 32), 0u, 0u), key0, key1);
        float z[4];
        box_muller(words.x, words.y, z[0], z[1]);
        box_muller(words.z, words.w, z[2], z[3]);
        const int64_t base = 4 * j - first_lane;
#pragma unroll
        for (int lane = 0; lane < 4; ++lane) {
            const int64_t i = base + lane;
            if (i >= 0 && i < count) out[i] = z[lane];
        }
    }
}

}  // namespace

void randn(State& s, const inkwell_randn_params& p) {
    if (p.count <= 0) return;
    const uint64_t first_block = p.offset / 4;
    const int first_lane = int(p.offset % 4);
    const int64_t blocks = (int64_t(first_lane) + p.count + 3) / 4;
    const int64_t grid = std::min<int64_t>(ceil_div(blocks, kThreads), int64_t(s.sm_count) * kBlocksPerSm);
    randn_kernel<<<unsigned(grid), kThreads, 0, s.stream>>>(p.out, p.count, uint32_t(p.seed), uint32_t(p.seed >> 32),
                                                             first_block, first_lane, blocks);
    finish_launch(s, "randn");
}

}  // namespace inkwell::cuda
