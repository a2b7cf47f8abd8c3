// Fuzz target for inkwell_ddim_step_f32 and inkwell_add_noise_f32: random counts (past the
// 8192-element chunks), output
// pointers 0..3 floats off 16-byte alignment, alphas, eta, guidance, clipping and every
// prediction type. Results must stay within a float error bound of the double references
// and be bit-identical for 1 and 3 threads. About one input in eight breaks an argument,
// which must be refused.
//
// The bound: the fast pass evaluates prev = c1 x0 + c2 eps + c3 noise with x0 and eps linear
// in (x, m) (ddim_cpu.hpp), each coefficient rounded once to float; a handful of roundings
// per term gives |error| <= 8 eps * (the same sum with every term made positive).
#include <cmath>
#include <string>

#include "cpu/ddim_cpu.hpp"
#include "fuzz_input.hpp"

using namespace inkwell_fuzz;

namespace {

// Counts up to past two 8192-element chunks. The streaming stores (from 2^20 elements) are
// left to test_ddim's ddim_streaming_stores_give_the_same_bits: under ASan one such case
// takes about a second, and libFuzzer, which sees the comparison that picks it, then kept
// choosing it (82 runs/s instead of ~1000).
int64_t element_count(FuzzedDataProvider& in) {
    const int kind = in.ConsumeIntegralInRange<int>(0, 15);
    if (kind == 15) return 8192 * in.ConsumeIntegralInRange<int64_t>(1, 2) + in.ConsumeIntegralInRange<int64_t>(-9, 9);
    return in.ConsumeIntegralInRange<int64_t>(1, in.ConsumeBool() ? 3000 : 40);
}

// Mostly a moderate alpha, sometimes 1 exactly, a tiny one or one a hair below 1.
double alpha(FuzzedDataProvider& in) {
    switch (in.ConsumeIntegralInRange<int>(0, 7)) {
        case 0: return 1.0;
        case 1: return std::pow(10.0, -in.ConsumeIntegralInRange<int>(3, 6));
        case 2: return 1.0 - std::pow(10.0, -in.ConsumeIntegralInRange<int>(3, 9));
        default: return in.ConsumeIntegralInRange<int>(1, 1000) / 1000.0;
    }
}

// A buffer of n floats whose data() + offset is the tensor: offset floats off the
// allocation's 16-byte alignment, ending exactly at the end of the allocation.
struct Buffer {
    std::vector<float> storage;
    int64_t offset = 0;
    Buffer() = default;
    Buffer(std::vector<float> values, int64_t off) : offset(off) {
        storage.assign(size_t(off), 0.0f);
        storage.insert(storage.end(), values.begin(), values.end());
    }
    float* data() { return storage.data() + offset; }
    float operator[](int64_t i) const { return storage[size_t(offset + i)]; }
};

std::vector<float> values(FuzzedDataProvider& in, int64_t count) { return floats(in, count); }

void check_step(FuzzedDataProvider& in, int ctx, bool invalid) {
    inkwell_ddim_step_params p{};
    p.count = element_count(in);
    p.prediction_type = in.ConsumeIntegralInRange<int32_t>(0, 2);
    p.alpha_prod_t = alpha(in);
    if (p.prediction_type == INKWELL_PREDICTION_SAMPLE && p.alpha_prod_t == 1.0) p.alpha_prod_t = 0.5;
    p.eta = in.ConsumeBool() ? 0.0 : in.ConsumeIntegralInRange<int>(0, 200) / 100.0;
    // With eta > 0 the previous alpha may not be below the current one.
    p.alpha_prod_t_prev = alpha(in);
    if (p.eta > 0 && p.alpha_prod_t_prev < p.alpha_prod_t) std::swap(p.alpha_prod_t, p.alpha_prod_t_prev);
    if (p.prediction_type == INKWELL_PREDICTION_SAMPLE && p.alpha_prod_t == 1.0) p.prediction_type = INKWELL_PREDICTION_V;
    const bool guided = in.ConsumeBool();
    p.guidance_scale = in.ConsumeIntegralInRange<int>(-200, 2000) / 100.0;
    p.clip_sample = in.ConsumeBool() ? 1 : 0;
    p.clip_sample_range = in.ConsumeIntegralInRange<int>(1, 400) / 100.0;
    const bool with_x0 = in.ConsumeBool();
    const bool same_input = in.ConsumeIntegralInRange<int>(0, 7) == 7;  // sample and model_output alias

    const int64_t n = p.count;
    Buffer x(values(in, n), 0), cond(values(in, n), 0), uncond, noise(values(in, n), 0);
    if (guided) uncond = Buffer(values(in, n), 0);
    Buffer prev(std::vector<float>(size_t(n), NAN), in.ConsumeIntegralInRange<int64_t>(0, 3));
    Buffer x0(std::vector<float>(size_t(n), NAN), in.ConsumeIntegralInRange<int64_t>(0, 3));
    p.sample = x.data();
    p.model_output = same_input ? x.data() : cond.data();
    p.model_output_uncond = guided ? uncond.data() : nullptr;
    p.noise = in.ConsumeBool() || p.eta > 0 ? noise.data() : nullptr;
    p.prev_sample = prev.data();
    p.pred_original_sample = with_x0 ? x0.data() : nullptr;

    if (invalid) {
        std::string what;
        switch (in.ConsumeIntegralInRange<int>(0, 11)) {
            case 0: (in.ConsumeBool() ? p.alpha_prod_t : p.alpha_prod_t_prev) = in.ConsumeBool() ? bad_double(in) : in.ConsumeBool() ? 0.0 : 1.0 + in.ConsumeIntegralInRange<int>(1, 1000) / 1000.0; what = "alpha out of (0, 1]"; break;
            case 1: p.prediction_type = in.ConsumeBool() ? -1 : in.ConsumeIntegralInRange<int32_t>(3, std::numeric_limits<int32_t>::max()); what = "bad prediction_type"; break;
            case 2: p.prediction_type = INKWELL_PREDICTION_SAMPLE; p.alpha_prod_t = 1.0; p.alpha_prod_t_prev = 1.0; what = "sample with alpha_prod_t 1"; break;
            case 3: p.eta = bad_double(in); what = "bad eta"; break;
            case 4: p.eta = 0.5; p.noise = noise.data(); p.alpha_prod_t = 0.6; p.alpha_prod_t_prev = 0.3; what = "eta with a falling alpha"; break;
            case 5: p.clip_sample = in.ConsumeBool() ? -1 : 2; what = "bad clip_sample"; break;
            case 6: p.clip_sample = 1; p.clip_sample_range = in.ConsumeBool() ? bad_double(in) : 0.0; what = "bad clip range"; break;
            case 7: p.model_output_uncond = cond.data(); p.guidance_scale = bad_double(in); if (!std::isnan(p.guidance_scale) && !std::isinf(p.guidance_scale)) p.guidance_scale = NAN; what = "non-finite guidance"; break;
            case 8: p.count = bad_size(in); what = "bad count"; break;
            case 9: {
                const int which = in.ConsumeIntegralInRange<int>(0, 3);
                if (which == 0) p.sample = nullptr;
                if (which == 1) p.model_output = nullptr;
                if (which == 2) p.prev_sample = nullptr;
                if (which == 3) p.eta = 0.5, p.alpha_prod_t = 0.3, p.alpha_prod_t_prev = 0.6, p.noise = nullptr;
                what = "null tensor";
                break;
            }
            case 10: {
                // An output that starts inside an input, or the two outputs overlapping.
                float* const inputs[] = {x.data(), cond.data(), noise.data(), x0.data()};
                const int which = in.ConsumeIntegralInRange<int>(0, 3);
                float* target = inputs[which] + in.ConsumeIntegralInRange<int64_t>(0, n - 1);
                if (which == 2) p.eta = 0.5, p.alpha_prod_t = 0.3, p.alpha_prod_t_prev = 0.6, p.noise = noise.data();
                if (which == 3) p.pred_original_sample = x0.data();
                if (which == 1) p.model_output = cond.data();
                if (in.ConsumeBool() && which != 3) p.pred_original_sample = target; else p.prev_sample = target;
                what = "overlapping output";
                break;
            }
            default: {
                const int32_t s = in.ConsumeBool() ? inkwell_ddim_step_f32(context(ctx), nullptr) : inkwell_ddim_step_f32(nullptr, &p);
                expect_refused(s, "ddim_step null context or params");
                return;
            }
        }
        expect_refused(inkwell_ddim_step_f32(context(ctx), &p), ("ddim_step " + what).c_str());
        return;
    }

    char what[320];
    std::snprintf(what, sizeof what, "ddim_step n=%lld type=%d a=%.17g a_prev=%.17g eta=%g guided=%d g=%g clip=%d/%g x0=%d alias=%d offsets=%lld/%lld",
                  (long long)n, p.prediction_type, p.alpha_prod_t, p.alpha_prod_t_prev, p.eta, int(guided), p.guidance_scale,
                  p.clip_sample, p.clip_sample_range, int(with_x0), int(same_input), (long long)prev.offset, (long long)x0.offset);
    expect_ok(inkwell_ddim_step_f32(context(ctx), &p), what);
    const std::vector<float> abi_prev(prev.data(), prev.data() + n), abi_x0(x0.data(), x0.data() + n);
    expect_ok(inkwell_ddim_step_f32(context(ctx + 1), &p), what);
    if (!same_bits(abi_prev.data(), prev.data(), size_t(n)) || (with_x0 && !same_bits(abi_x0.data(), x0.data(), size_t(n))))
        fail("%s: threads %d and %d differ", what, ctx + 1, (ctx + 1) % 3 + 1);

    std::vector<float> ref_prev(static_cast<size_t>(n)), ref_x0(static_cast<size_t>(n));
    inkwell_ddim_step_params r = p;
    r.prev_sample = ref_prev.data();
    r.pred_original_sample = ref_x0.data();
    inkwell::cpu::ddim_step_reference(r);
    const inkwell::cpu::DdimCoefficients k = inkwell::cpu::ddim_coefficients(p);
    for (int64_t i = 0; i < n; ++i) {
        const double xi = std::fabs(p.sample[i]), c = std::fabs(p.model_output[i]);
        const double m = guided ? std::fabs(p.model_output_uncond[i]) + std::fabs(p.guidance_scale) * (c + std::fabs(p.model_output_uncond[i])) : c;
        const double x0_size = std::fabs(k.x0_x) * xi + std::fabs(k.x0_m) * m;
        const double eps_size = std::fabs(k.eps_x) * xi + std::fabs(k.eps_m) * m;
        const double noise_size = p.eta > 0 ? std::fabs(k.prev_noise * p.noise[i]) : 0.0;
        const double prev_tol = 8 * kFloatEps * (std::fabs(k.prev_x0) * x0_size + std::fabs(k.prev_eps) * eps_size + noise_size) + 1e-30;
        const double x0_tol = 8 * kFloatEps * x0_size + 1e-30;
        if (!(std::fabs(double(abi_prev[size_t(i)]) - ref_prev[size_t(i)]) <= prev_tol))
            fail("%s: prev_sample[%lld] = %.9g, reference %.9g, tolerance %.3g", what, (long long)i, abi_prev[size_t(i)], ref_prev[size_t(i)], prev_tol);
        if (with_x0 && !(std::fabs(double(abi_x0[size_t(i)]) - ref_x0[size_t(i)]) <= x0_tol))
            fail("%s: pred_original_sample[%lld] = %.9g, reference %.9g, tolerance %.3g", what, (long long)i, abi_x0[size_t(i)], ref_x0[size_t(i)], x0_tol);
        if (with_x0 && p.clip_sample && !(std::fabs(abi_x0[size_t(i)]) <= float(p.clip_sample_range)))
            fail("%s: pred_original_sample[%lld] = %.9g outside the clip range", what, (long long)i, abi_x0[size_t(i)]);
    }
}

void check_add_noise(FuzzedDataProvider& in, int ctx, bool invalid) {
    inkwell_add_noise_params p{};
    p.count = element_count(in);
    p.alpha_prod = in.ConsumeBool() ? double(in.ConsumeIntegralInRange<int>(0, 1)) : in.ConsumeIntegralInRange<int>(0, 1000) / 1000.0;
    const int64_t n = p.count;
    Buffer x(values(in, n), 0), noise(values(in, n), 0), out(std::vector<float>(size_t(n), NAN), in.ConsumeIntegralInRange<int64_t>(0, 3));
    p.original = x.data();
    p.noise = noise.data();
    p.out = out.data();
    if (invalid) {
        std::string what;
        switch (in.ConsumeIntegralInRange<int>(0, 4)) {
            case 0: p.count = bad_size(in); what = "bad count"; break;
            case 1: p.alpha_prod = in.ConsumeBool() ? bad_double(in) : 1.0 + in.ConsumeIntegralInRange<int>(1, 1000) / 1000.0; what = "alpha out of [0, 1]"; break;
            case 2: {
                const int which = in.ConsumeIntegralInRange<int>(0, 2);
                if (which == 0) p.original = nullptr;
                if (which == 1) p.noise = nullptr;
                if (which == 2) p.out = nullptr;
                what = "null tensor";
                break;
            }
            case 3: p.out = (in.ConsumeBool() ? x.data() : noise.data()) + in.ConsumeIntegralInRange<int64_t>(0, n - 1); what = "out overlaps an input"; break;
            default: expect_refused(inkwell_add_noise_f32(nullptr, &p), "add_noise null context"); return;
        }
        expect_refused(inkwell_add_noise_f32(context(ctx), &p), ("add_noise " + what).c_str());
        return;
    }
    char what[160];
    std::snprintf(what, sizeof what, "add_noise n=%lld alpha=%.17g offset=%lld", (long long)n, p.alpha_prod, (long long)out.offset);
    expect_ok(inkwell_add_noise_f32(context(ctx), &p), what);
    const std::vector<float> abi(out.data(), out.data() + n);
    expect_ok(inkwell_add_noise_f32(context(ctx + 1), &p), what);
    if (!same_bits(abi.data(), out.data(), size_t(n))) fail("%s: threads differ", what);
    if (p.alpha_prod == 0.0 && !same_bits(abi.data(), p.noise, size_t(n))) fail("%s: alpha 0 is not the noise", what);
    if (p.alpha_prod == 1.0 && !same_bits(abi.data(), p.original, size_t(n))) fail("%s: alpha 1 is not the original", what);
    std::vector<float> ref(static_cast<size_t>(n));
    inkwell_add_noise_params r = p;
    r.out = ref.data();
    inkwell::cpu::add_noise_reference(r);
    const double sa = std::sqrt(p.alpha_prod), sb = std::sqrt(1 - p.alpha_prod);
    for (int64_t i = 0; i < n; ++i) {
        const double tol = 4 * kFloatEps * (sa * std::fabs(p.original[i]) + sb * std::fabs(p.noise[i])) + 1e-30;
        if (!(std::fabs(double(abi[size_t(i)]) - ref[size_t(i)]) <= tol))
            fail("%s: out[%lld] = %.9g, reference %.9g", what, (long long)i, abi[size_t(i)], ref[size_t(i)]);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const bool invalid = in.ConsumeIntegralInRange<int>(0, 7) == 7;
    const int ctx = in.ConsumeIntegralInRange<int>(0, 2);
    if (in.ConsumeIntegralInRange<int>(0, 3) == 3)
        check_add_noise(in, ctx, invalid);
    else
        check_step(in, ctx, invalid);
    return 0;
}
