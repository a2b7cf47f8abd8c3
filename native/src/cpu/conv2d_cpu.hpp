// Conv2d of float32 NCHW tensors on the CPU: torch.nn.functional.conv2d (cross-correlation,
// zero padding, per-axis stride, padding and dilation, groups) then an optional SiLU.
//
// Both entry points expect parameters already validated by inkwell_conv2d_f32 (sizes >= 1,
// consistent output size, element counts below 2^40, no overlap).
#pragma once

#include "../thread_pool.hpp"
#include "inkwell/inkwell.h"

namespace inkwell::cpu {

// Plain direct loops, accumulating in double, then bias, then SiLU in double: for tests.
void conv2d_reference(const inkwell_conv2d_params& p);

// Which micro-kernel conv2d_fast uses. kAuto: the widest the SIMD level in effect allows
// (simd_dispatch.hpp: AVX-512 12 x 32, AVX2+FMA 6 x 16, else portable 6 x 16). The others
// ask for one kernel and fall back to the widest allowed one below it (tests cover every
// kernel the machine has this way).
enum class Conv2dIsa { kAuto, kPortable, kAvx2, kAvx512 };

// The algorithm for 3x3 stride-1 or stride-2 undilated ungrouped convolutions: kAuto picks
// Winograd (F(2x2, 3x3), or its stride-2 form, see conv2d_cpu.cpp) on large outputs (64 x 64
// and more with 32 channels and more, or 32 x 32 with cin x cout >= 128^2), the implicit
// GEMM elsewhere; kGemm and kWinograd force one (kWinograd falls back to the GEMM for shapes
// it cannot run). Winograd's rounding differs from the GEMM's: within the bound derived in
// conv2d_cpu.cpp, not the same bits.
enum class Conv2dAlgo { kAuto, kGemm, kWinograd };

// Implicit GEMM with a register-blocked micro-kernel, parallel over output tiles only: the
// result is bit-identical for any thread count, and between the AVX2 and AVX-512 kernels
// (the same FMA chains); the portable kernel differs from them in the last bits.
void conv2d_fast(ThreadPool& pool, const inkwell_conv2d_params& p, Conv2dIsa isa = Conv2dIsa::kAuto,
                 Conv2dAlgo algo = Conv2dAlgo::kAuto);

// Whether conv2d_fast runs p with Winograd under algo (only 3x3, stride 1 or 2 on both axes,
// dilation 1, groups 1 can; kAuto where it pays).
bool conv2d_uses_winograd(const inkwell_conv2d_params& p, Conv2dAlgo algo = Conv2dAlgo::kAuto);

// True when conv2d_fast runs the kernel isa asks for (not a fallback) at the level in effect.
bool conv2d_isa_available(Conv2dIsa isa);

}  // namespace inkwell::cpu
