// torch.nn.functional.linear (y = x W^T + b, then an optional activation) and diffusers'
// GEGLU (h = x W^T + b, y = h[:, :inner] * gelu(h[:, inner:])) of float32 tensors on the CPU.
//
// Variants:
//   *_reference  plain loops, each output's sum, bias and activation in double, rounded once:
//                for tests.
//   *_fast       a cache-blocked GEMM with packed weight panels (see linear_cpu.cpp), the
//                bias and the activation (GEGLU: the gated product, with geglu_gelu) applied
//                to each block of outputs from a per-thread scratch while it is in cache;
//                GEGLU never holds more of h than one such block.
//                Work is split over output tiles only and every output sums K in blocks
//                whose length depends on K alone, in order: bit-identical for any thread
//                count. The AVX2 and AVX-512 kernels give the same bits as each other (the
//                same fused multiply-adds in the same order); the portable kernel differs
//                from them in the last bits.
//
// The entry points expect parameters validated by the ABI entries (sizes >= 1, element
// counts within 2^40, a valid activation, no overlap) and float32 data.
#pragma once

#include "../thread_pool.hpp"
#include "inkwell/inkwell.h"

namespace inkwell::cpu {

void linear_reference(const inkwell_linear_params& p);
void geglu_reference(const inkwell_geglu_params& p);

// Which micro-kernel the fast paths use. kAuto: the widest the CPU has (AVX-512, AVX2 + FMA,
// else portable); the others force one, for tests and benchmarks (see linear_isa_available).
enum class LinearIsa { kAuto, kPortable, kAvx2, kAvx512 };

// Whether `isa` can run on this CPU (kAuto and kPortable always can).
bool linear_isa_available(LinearIsa isa);

// GEGLU's gelu: the exact-erf GELU evaluated through erfc (see linear_cpu.cpp), within
// 4u (|x| + |gelu(x)|) of x Phi(x) (u = 2^-24; 2.0u measured on a grid of step 2^-12 over
// [-20, 20]), relative accuracy kept in the negative tail down to 1e-36; vectorised in
// geglu_fast's epilogue with the same bits. Not cpu::gelu's bits (1 + erff(z)), which the
// linear kernels' GELU activation uses.
float geglu_gelu(float x);

void linear_fast(ThreadPool& pool, const inkwell_linear_params& p, LinearIsa isa = LinearIsa::kAuto);
void geglu_fast(ThreadPool& pool, const inkwell_geglu_params& p, LinearIsa isa = LinearIsa::kAuto);

}  // namespace inkwell::cpu
