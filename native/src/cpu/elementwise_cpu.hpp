// Element-wise and plumbing kernels of float32 tensors on the CPU (parameters validated by
// the ABI entries):
//   activation          out[i] = act(in[i]) with cpu::apply_activation (activations.hpp);
//                       in place allowed
//   timestep_embedding  diffusers' get_timestep_embedding in double, rounded once:
//                       freq[i] = exp((-ln(max_period) * i) / (half - shift)),
//                       arg = scale * (t * freq[i]), [sin | cos] (or [cos | sin]), odd dim: 0
//   add                 out[i] = a[i] + b[(i / inner) % b_count]; out may be a
//   cat                 [outer, a_inner] ++ [outer, b_inner] along the last axis
//   transpose           [outer, size0, middle, size1, inner] -> [outer, size1, middle, size0, inner]
//   max_pool2d          torch's max_pool2d (dilation 1, floor mode): window scanned row by
//                       row, clamped to the input (padding is -inf), `v > m || isnan(v)`
//
// Variants: xxx_reference (plain loops, one formula per output element) and xxx_fast (fixed
// chunks on the pool via parallel_chunks, so bits never depend on the thread count). Every
// fast path gives the reference's bits: each output is the same operations (or copies) in
// the same order in both. Where the CPU has AVX2: add and relu on eight lanes (one add or a
// mask per lane, rounded as scalars are), transpose in 8x8 register blocks (moves only), and
// max_pool2d's interior columns eight outputs at a time (the same compare-select sequence
// per output). transpose is cache-blocked in 32x32 tiles.
#pragma once

#include <cstdint>

#include "../thread_pool.hpp"
#include "inkwell/inkwell.h"

namespace inkwell::cpu {

// Float32 activation; p.input and p.output hold floats, p.activation is not NONE.
void activation_reference(const inkwell_activation_params& p);
void activation_fast(ThreadPool& pool, const inkwell_activation_params& p);

// The half-dim frequencies, as both paths (and the CUDA launcher) compute them; half >= 1.
double timestep_frequency(const inkwell_timestep_embedding_params& p, int64_t i);
void timestep_embedding_reference(const inkwell_timestep_embedding_params& p);
void timestep_embedding_fast(ThreadPool& pool, const inkwell_timestep_embedding_params& p);

void add_reference(const inkwell_add_params& p);
void add_fast(ThreadPool& pool, const inkwell_add_params& p);

void cat_reference(const inkwell_cat_params& p);
void cat_fast(ThreadPool& pool, const inkwell_cat_params& p);

void transpose_reference(const inkwell_transpose_params& p);
void transpose_fast(ThreadPool& pool, const inkwell_transpose_params& p);

void max_pool2d_reference(const inkwell_max_pool2d_params& p);
void max_pool2d_fast(ThreadPool& pool, const inkwell_max_pool2d_params& p);

// Whether the fast paths use AVX2 on this CPU (for tests and benchmarks).
bool elementwise_has_avx2();

}  // namespace inkwell::cpu
