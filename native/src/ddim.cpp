// ABI entries inkwell_ddim_step_f32 and inkwell_add_noise_f32: validate, dispatch.
#include <string>

#include "context.hpp"
#include "cpu/ddim_cpu.hpp"
#include "tensor_args.hpp"

using namespace inkwell;

namespace {

constexpr const char* kStep = "ddim_step";
constexpr const char* kAddNoise = "add_noise";

void check_alpha(double value, const char* kernel, const char* name, bool zero_allowed) {
    const bool ok = std::isfinite(value) && value <= 1.0 && (zero_allowed ? value >= 0.0 : value > 0.0);
    if (!ok)
        invalid_argument(std::string(kernel) + ": " + name + " must be in " + (zero_allowed ? "[0, 1]" : "(0, 1]") +
                         ", got " + std::to_string(value));
}

void check_step_scalars(const inkwell_ddim_step_params& p) {
    check_alpha(p.alpha_prod_t, kStep, "alpha_prod_t", false);
    check_alpha(p.alpha_prod_t_prev, kStep, "alpha_prod_t_prev", false);
    const int32_t type = p.prediction_type;
    if (type != INKWELL_PREDICTION_EPSILON && type != INKWELL_PREDICTION_V && type != INKWELL_PREDICTION_SAMPLE)
        invalid_argument(std::string(kStep) + ": prediction_type must be 0 (epsilon), 1 (v) or 2 (sample), got " +
                         std::to_string(type));
    // The sample parameterisation recovers eps by dividing by sqrt(1 - alpha_prod_t).
    if (type == INKWELL_PREDICTION_SAMPLE && p.alpha_prod_t == 1.0)
        invalid_argument(std::string(kStep) + ": prediction_type sample needs alpha_prod_t < 1, got 1");
    if (!std::isfinite(p.eta) || p.eta < 0)
        invalid_argument(std::string(kStep) + ": eta must be finite and >= 0, got " + std::to_string(p.eta));
    // sigma_t^2 has the factor 1 - a / a_prev: a step towards more noise has no real sigma.
    if (p.eta > 0 && p.alpha_prod_t_prev < p.alpha_prod_t)
        invalid_argument(std::string(kStep) + ": with eta > 0, alpha_prod_t_prev (" +
                         std::to_string(p.alpha_prod_t_prev) + ") must be >= alpha_prod_t (" +
                         std::to_string(p.alpha_prod_t) + ")");
    if (p.clip_sample != 0 && p.clip_sample != 1)
        invalid_argument(std::string(kStep) + ": clip_sample must be 0 or 1, got " + std::to_string(p.clip_sample));
    if (p.clip_sample == 1 && !(std::isfinite(p.clip_sample_range) && p.clip_sample_range > 0))
        invalid_argument(std::string(kStep) + ": clip_sample_range must be finite and > 0 when clipping, got " +
                         std::to_string(p.clip_sample_range));
    if (p.model_output_uncond != nullptr) check_finite(p.guidance_scale, kStep, "guidance_scale");
}

void check_step_buffers(const inkwell_ddim_step_params& p) {
    check_count(p.count, kStep, "count");
    check_not_null(p.sample, kStep, "sample");
    check_not_null(p.model_output, kStep, "model_output");
    check_not_null(p.prev_sample, kStep, "prev_sample");
    if (p.eta > 0 && p.noise == nullptr) invalid_argument(std::string(kStep) + ": noise is null but eta > 0");
    const FloatSpan inputs[] = {{p.sample, p.count, "sample"},
                                {p.model_output, p.count, "model_output"},
                                {p.model_output_uncond, p.count, "model_output_uncond"},
                                {p.eta > 0 ? p.noise : nullptr, p.count, "noise"}};
    const FloatSpan prev{p.prev_sample, p.count, "prev_sample"};
    const FloatSpan x0{p.pred_original_sample, p.count, "pred_original_sample"};
    for (const FloatSpan& input : inputs) {
        check_no_overlap(prev, input, kStep);
        check_no_overlap(x0, input, kStep);
    }
    check_no_overlap(x0, prev, kStep);
}

}  // namespace

extern "C" int32_t inkwell_ddim_step_f32(inkwell_context* context, const inkwell_ddim_step_params* params) {
    return guarded([&] {
        inkwell_context& ctx = require_context(context);
        if (params == nullptr) invalid_argument("params is null");
        check_step_scalars(*params);
        check_step_buffers(*params);
        if (ctx.cuda != nullptr) {
            inkwell_ddim_step_params p = *params;
            if (!(p.eta > 0)) p.noise = nullptr;  // as the CPU path: noise is read only when eta > 0
            const cpu::DdimCoefficients c = cpu::ddim_coefficients(p);
            const cuda_backend::DdimCoefficients k{c.guidance, c.x0_x,    c.x0_m,     c.eps_x,      c.eps_m,        c.clip_lo,
                                                   c.clip_hi,  c.prev_x0, c.prev_eps, c.prev_noise, int32_t(c.clip)};
            cuda_check(ctx, ctx.cuda->ddim_step(ctx.cuda_state, &p, &k));
            return;
        }
        cpu::ddim_step_fast(ctx.pool, *params);
    });
}

extern "C" int32_t inkwell_add_noise_f32(inkwell_context* context, const inkwell_add_noise_params* params) {
    return guarded([&] {
        inkwell_context& ctx = require_context(context);
        if (params == nullptr) invalid_argument("params is null");
        const inkwell_add_noise_params& p = *params;
        check_count(p.count, kAddNoise, "count");
        check_not_null(p.original, kAddNoise, "original");
        check_not_null(p.noise, kAddNoise, "noise");
        check_not_null(p.out, kAddNoise, "out");
        check_alpha(p.alpha_prod, kAddNoise, "alpha_prod", true);
        const FloatSpan out{p.out, p.count, "out"};
        check_no_overlap(out, FloatSpan{p.original, p.count, "original"}, kAddNoise);
        check_no_overlap(out, FloatSpan{p.noise, p.count, "noise"}, kAddNoise);
        if (ctx.cuda != nullptr) {
            // The coefficients exactly as add_noise_fast rounds them.
            cuda_check(ctx, ctx.cuda->add_noise(ctx.cuda_state, &p, float(std::sqrt(p.alpha_prod)),
                                                float(std::sqrt(1.0 - p.alpha_prod))));
            return;
        }
        cpu::add_noise_fast(ctx.pool, p);
    });
}
