// Standard normal noise on the CPU, defined by the seed alone and reproducible bit for bit
// on any backend.
//
// The stream (a CUDA port must follow this exactly):
//   element i (0-based, 64-bit) comes from Philox4x32-10 block n = i / 4, lane i % 4, with
//     key     = (uint32(seed), uint32(seed >> 32))
//     counter = (uint32(n), uint32(n >> 32), 0, 0)
//   each 32-bit word w becomes u = ((w >> 8) + 1) * 2^-24, exactly, in (0, 1];
//   lanes (0, 1) and (2, 3) are Box-Muller pairs (u1, u2) -> (r cos 2 pi u2, r sin 2 pi u2)
//     with r = sqrtf(-2 log u1).
// log and sincos are our own (randn_logf, randn_sincos2pi): range reduction and
// polynomials in float with only +, -, *, /, sqrtf and explicit fmaf, each correctly
// rounded in IEEE arithmetic, so every step has one right answer. randn_cpu.cpp is
// compiled with -ffp-contract=off so that the compiler fuses nothing on its own.
//
// Variants: randn_reference (element by element, each from its own block) and randn_fast
// (blocks on the pool; on x86-64 a copy compiled for FMA hardware when the CPU has it,
// which gives the same bits since fmaf is exact either way).
#pragma once

#include <array>
#include <cstdint>

#include "../thread_pool.hpp"

namespace inkwell::cpu {

using PhiloxCounter = std::array<uint32_t, 4>;
using PhiloxKey = std::array<uint32_t, 2>;

// Philox4x32 with 10 rounds (Salmon et al., SC'11; Random123's philox4x32_10).
PhiloxCounter philox4x32_10(PhiloxCounter counter, PhiloxKey key);

// ((w >> 8) + 1) * 2^-24: 2^24 equally spaced values in (0, 1], never 0 (log u is finite).
float randn_uniform(uint32_t word);

// Natural logarithm of a positive normal float, within 1 ulp of the true value.
float randn_logf(float x);

// sin and cos of 2 pi u for |u| <= 2^20; the reduction to a quarter turn is exact.
void randn_sincos2pi(float u, float* sin_out, float* cos_out);

// The four normals of block n.
std::array<float, 4> randn_block(uint64_t seed, uint64_t block);

// Elements offset .. offset + count - 1 of the stream (offset + count <= 2^64).
void randn_reference(float* out, int64_t count, uint64_t seed, uint64_t offset);
void randn_fast(ThreadPool& pool, float* out, int64_t count, uint64_t seed, uint64_t offset);

}  // namespace inkwell::cpu
