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

// Which micro-kernel conv2d_fast uses. kAuto picks AVX2+FMA where the CPU has it; kPortable
// forces the plain C++ one (so tests cover it on AVX2 machines too).
enum class Conv2dIsa { kAuto, kPortable };

// Implicit GEMM with a register-blocked micro-kernel, parallel over output tiles only: the
// result is bit-identical for any thread count (but may differ between the two ISAs).
void conv2d_fast(ThreadPool& pool, const inkwell_conv2d_params& p, Conv2dIsa isa = Conv2dIsa::kAuto);

// True when kAuto runs the AVX2+FMA micro-kernel on this CPU.
bool conv2d_has_avx2();

}  // namespace inkwell::cpu
