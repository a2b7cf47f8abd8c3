// DDIM scheduler arithmetic on the CPU: one step of diffusers' DDIMScheduler.step (with
// classifier-free guidance folded in) and the forward noising of add_noise.
//
// Variants: *_reference (plain per-element loops in double, following the diffusers
// formulas literally) and *_fast (scalar coefficients once in double, then one fused,
// vectorised pass over memory split into fixed chunks on the pool).
//
// The step in the fast path is linear in (x, m) up to the clamp, so it is written as
//   m    = uncond + g (cond - uncond)            (only with guidance)
//   x0   = x0_x x + x0_m m,   clamped when clipping
//   eps  = eps_x x + eps_m m                     (from the unclipped x0)
//   prev = prev_x0 x0 + prev_eps eps + prev_noise noise
// where the six coefficients depend on the prediction type and the alphas only.
#pragma once

#include <cstdint>

#include "../thread_pool.hpp"
#include "inkwell/inkwell.h"

namespace inkwell::cpu {

// The coefficients above, computed in double from validated parameters and rounded once.
struct DdimCoefficients {
    float guidance;            // g; unused without model_output_uncond
    float x0_x, x0_m;          // predicted x0
    float eps_x, eps_m;        // predicted noise
    float clip_lo, clip_hi;    // used when clip
    float prev_x0, prev_eps;   // x_{t-1} without the noise term
    float prev_noise;          // eta * sigma_t; 0 when eta == 0
    bool clip;
};

// sigma_t^2 of DDIM: ((1 - a_prev) / (1 - a)) (1 - a / a_prev); 0 when a == 1 (no noise
// is left to remove, and the formula would divide 0 by 0).
double ddim_variance(double alpha_prod_t, double alpha_prod_t_prev);

DdimCoefficients ddim_coefficients(const inkwell_ddim_step_params& p);

void ddim_step_reference(const inkwell_ddim_step_params& p);
// allow_avx2 = false keeps the 4-lane body; true runs the widest the SIMD level allows (8 lanes
// with AVX2, 16 with AVX-512). Tests compare them: they give the same bits.
void ddim_step_fast(ThreadPool& pool, const inkwell_ddim_step_params& p, bool allow_avx2 = true);

void add_noise_reference(const inkwell_add_noise_params& p);
void add_noise_fast(ThreadPool& pool, const inkwell_add_noise_params& p, bool allow_avx2 = true);

}  // namespace inkwell::cpu
