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
//   *_fast       statistics first from float sums of d = x - c and d^2 (c a float near the
//                mean: that of the first 16 elements), 64 float lanes flushed into double
//                lanes every 16 rows, over fixed chunks of kStatChunk elements added in chunk
//                order (the bits depend on the sizes only, never on the thread count or the
//                split of the work); judge_float_sums (norm_cpu.cpp) accepts them when c is
//                within two standard deviations of the mean and nothing overflowed or
//                underflowed (mean off by at most 40 u of a standard deviation, rstd by
//                126 u, u = 2^-24), retries once about the mean found, and otherwise takes
//                the double statistics: one pass of (x - c) and (x - c)^2 about the first
//                element for one chunk (the shift bounds the cancellation: see shifted_stats),
//                two passes over longer segments. The normalisation in float: group_norm
//                folds rstd and the channel's weight into a = rstd_f * w and the mean's low
//                part into b' = b - mean_lo * a, y = fma(x - mean_hi, a, b') (x - mean_hi is
//                exact for x near the mean, so an offset of 1e4 with a spread of 0.1 costs
//                nothing); layer_norm (weights per element) d = (x - mean_hi) - mean_lo,
//                y = fma(d * rstd, w, b). Groups whose statistics fall
//                outside the range where that float arithmetic is accurate (a spread near
//                float's overflow or underflow, non-finite statistics) are normalised in
//                double instead. Parallel over whole groups / rows while there are enough of
//                them, otherwise over fixed chunks in two phases (sums, apply).
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
