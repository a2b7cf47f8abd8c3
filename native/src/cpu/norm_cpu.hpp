// GroupNorm and LayerNorm of float32 tensors on the CPU, as torch.nn.functional.group_norm
// and layer_norm compute them (biased variance: the mean first, then the sum of squared
// deviations from it, or from a shift inside the data; never an unshifted E[x^2] - E[x]^2):
//   group_norm  per (sample, group) of channels / groups channels x spatial elements,
//               y = (x - mean) / sqrt(var + eps) * weight[c] + bias[c], then the activation
//   layer_norm  per row of dim elements, y = (x - mean) / sqrt(var + eps) * weight[i] + bias[i]
// A null weight counts as 1, a null bias as 0. Non-finite inputs propagate as in torch: a NaN
// or an infinity in a group makes its mean or variance NaN or infinite and the whole group NaN.
//
// Variants:
//   *_reference  plain loops, everything in double (sequential sums), the output rounded once.
//   *_fast       statistics in double over fixed chunks of kStatChunk elements (32 lanes per
//                chunk, the lanes and then the chunks added in a fixed order: the bits depend
//                on the sizes only, never on the thread count or the split of the work); a
//                segment of one chunk (<= kStatChunk elements) takes them in one pass of
//                (x - c) and (x - c)^2 with c its first element (the shift bounds the
//                cancellation: see shifted_stats in norm_cpu.cpp), longer ones in two; the
//                normalisation in float: d = (x - mean_hi) - mean_lo with the mean split into
//                two floats (exact for x near the mean, so an offset of 1e4 with a spread of
//                0.1 costs nothing), y = fma(d * rstd, w, b). Groups whose statistics fall
//                outside the range where that float arithmetic is accurate (a spread near
//                float's overflow or underflow, non-finite statistics) are normalised in
//                double instead. Parallel over whole groups / rows while there are enough of
//                them, otherwise over fixed chunks in three phases (sums, squares, apply).
//                The loops use AVX-512 or AVX2 + FMA where the CPU has them, all with the same
//                bits; NormIsa::kAvx2 and kPortable cap the level (tests compare every level
//                with the reference and with each other).
#pragma once

#include <cstdint>

#include "../thread_pool.hpp"
#include "inkwell/inkwell.h"

namespace inkwell::cpu {

// kAuto: the widest loops the CPU has (AVX-512, AVX2 + FMA, portable); the others cap it.
enum class NormIsa { kAuto, kAvx2, kPortable };

// Elements summed into one partial sum of the fast path's statistics.
constexpr int64_t kStatChunk = 8192;

// The params' data pointers are float32 here; sizes, groups, eps and activation are valid
// (the ABI entries check them).
void group_norm_reference(const inkwell_group_norm_params& p);
void group_norm_fast(ThreadPool& pool, const inkwell_group_norm_params& p, NormIsa isa = NormIsa::kAuto);

void layer_norm_reference(const inkwell_layer_norm_params& p);
void layer_norm_fast(ThreadPool& pool, const inkwell_layer_norm_params& p, NormIsa isa = NormIsa::kAuto);

// Whether NormIsa::kAvx2 runs the AVX2 loops, and kAuto the AVX-512 ones, on this machine.
bool norm_has_avx2();
bool norm_has_avx512();

}  // namespace inkwell::cpu
