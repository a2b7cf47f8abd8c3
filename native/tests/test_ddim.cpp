// DDIM step and add_noise: the fused float pass against the double reference on every
// combination of prediction type, guidance, clipping, eta and the optional x0 output, at
// awkward sizes and thread counts; a hand-computed step; bit-identity across splits; and
// the C ABI's argument checks.
#include <cmath>
#include <cstring>

#include "cpu/ddim_cpu.hpp"
#include "inkwell/inkwell.h"
#include "test_util.hpp"

using namespace inkwell;
using namespace inkwell::cpu;

namespace {

std::vector<float> random_floats(std::mt19937& rng, int64_t n, float scale) {
    std::normal_distribution<float> normal(0.0f, scale);
    std::vector<float> v(n);
    for (float& x : v) x = normal(rng);
    return v;
}

// First index where |got - ref| > atol + rtol |ref|, or -1; prints the first ten misses.
int64_t first_mismatch(const std::vector<float>& got, const std::vector<float>& ref, double atol, double rtol) {
    int64_t first = -1;
    int printed = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        if (std::fabs(double(got[i]) - ref[i]) <= atol + rtol * std::fabs(double(ref[i]))) continue;
        if (first < 0) first = int64_t(i);
        if (printed++ < 10) std::printf("    [%zu] got %.9g want %.9g\n", i, got[i], ref[i]);
    }
    return first;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

struct StepBuffers {
    StepBuffers(std::mt19937& rng, int64_t n)
        : x(random_floats(rng, n, 1.0f)), cond(random_floats(rng, n, 1.0f)), uncond(random_floats(rng, n, 1.0f)),
          noise(random_floats(rng, n, 1.0f)), prev(n, NAN), x0(n, NAN) {}
    std::vector<float> x, cond, uncond, noise, prev, x0;

    inkwell_ddim_step_params params(bool guided, bool with_x0) {
        inkwell_ddim_step_params p{};
        p.sample = x.data();
        p.model_output = cond.data();
        p.model_output_uncond = guided ? uncond.data() : nullptr;
        p.noise = noise.data();
        p.prev_sample = prev.data();
        p.pred_original_sample = with_x0 ? x0.data() : nullptr;
        p.count = int64_t(x.size());
        p.guidance_scale = 7.5;
        p.alpha_prod_t = 0.3;
        p.alpha_prod_t_prev = 0.45;
        p.prediction_type = INKWELL_PREDICTION_EPSILON;
        p.clip_sample_range = 1.0;
        return p;
    }
};

}  // namespace

TEST(ddim_fast_matches_double_reference_everywhere) {
    std::mt19937 rng(99);
    const int64_t sizes[] = {1, 3, 7, 97, 1021, 1025, 8192 + 5, 3 * 8192 + 17};
    std::uniform_real_distribution<double> alpha(0.02, 0.98);
    for (int64_t n : sizes)
        for (int type : {INKWELL_PREDICTION_EPSILON, INKWELL_PREDICTION_V, INKWELL_PREDICTION_SAMPLE})
            for (bool guided : {false, true})
                for (bool clip : {false, true})
                    for (double eta : {0.0, 0.7}) {
                        StepBuffers b(rng, n);
                        auto p = b.params(guided, true);
                        p.prediction_type = type;
                        p.clip_sample = clip;
                        p.eta = eta;
                        p.alpha_prod_t = alpha(rng);
                        p.alpha_prod_t_prev = std::min(1.0, p.alpha_prod_t + alpha(rng) * (1 - p.alpha_prod_t));
                        ddim_step_reference(p);
                        const auto ref_prev = b.prev, ref_x0 = b.x0;
                        for (int threads : {1, 3}) {
                            ThreadPool pool(threads);
                            std::fill(b.prev.begin(), b.prev.end(), NAN);
                            std::fill(b.x0.begin(), b.x0.end(), NAN);
                            ddim_step_fast(pool, p);
                            // Float against double: a few roundings of values up to ~100
                            // (guidance 7.5 times a 1/sqrt(0.02) amplification).
                            const bool ok = first_mismatch(b.prev, ref_prev, 2e-5, 2e-5) < 0 &&
                                            first_mismatch(b.x0, ref_x0, 2e-5, 2e-5) < 0;
                            CHECK_MSG(ok, "n=%lld type=%d guided=%d clip=%d eta=%g a=%g ap=%g threads=%d", (long long)n,
                                      type, (int)guided, (int)clip, eta, p.alpha_prod_t, p.alpha_prod_t_prev, threads);
                        }
                        if (clip)
                            for (float v : b.x0) CHECK(v >= -1.0f && v <= 1.0f);
                    }
}

TEST(ddim_step_by_hand) {
    // epsilon, a = 0.25, a_prev = 0.64, x = 1, m = 0.5, eta = 0:
    // x0 = (1 - sqrt(0.75) 0.5) / 0.5, prev = 0.8 x0 + sqrt(1 - 0.64) 0.5.
    float x = 1.0f, m = 0.5f, prev = 0, x0 = 0;
    inkwell_ddim_step_params p{};
    p.sample = &x;
    p.model_output = &m;
    p.prev_sample = &prev;
    p.pred_original_sample = &x0;
    p.count = 1;
    p.alpha_prod_t = 0.25;
    p.alpha_prod_t_prev = 0.64;
    ThreadPool pool(1);
    ddim_step_fast(pool, p);
    const double want_x0 = (1 - std::sqrt(0.75) * 0.5) / 0.5;
    CHECK(std::fabs(x0 - want_x0) < 1e-6);
    CHECK(std::fabs(prev - (0.8 * want_x0 + 0.6 * 0.5)) < 1e-6);
    // Guidance: m = u + g (c - u) = 0.1 + 3 (0.5 - 0.1) = 1.3.
    float u = 0.1f;
    p.model_output_uncond = &u;
    p.guidance_scale = 3.0;
    ddim_step_fast(pool, p);
    CHECK(std::fabs(x0 - (1 - std::sqrt(0.75) * 1.3) / 0.5) < 1e-6);
    // sample prediction: x0 is the model output itself, exactly.
    p.model_output_uncond = nullptr;
    p.prediction_type = INKWELL_PREDICTION_SAMPLE;
    ddim_step_fast(pool, p);
    CHECK(x0 == 0.5f);
}

TEST(ddim_outputs_are_the_same_bits_for_any_split_and_option) {
    std::mt19937 rng(5);
    const int64_t n = 17 * 8192 + 13;  // above the size that runs on the calling thread alone
    StepBuffers b(rng, n);
    auto p = b.params(true, true);
    p.eta = 1.0;
    ThreadPool one(1), many(7);
    ddim_step_fast(one, p);
    const auto prev = b.prev, x0 = b.x0;
    ddim_step_fast(many, p);
    CHECK(same_bits(prev, b.prev) && same_bits(x0, b.x0));
    // Shifted by one element: SIMD groups and chunks fall elsewhere, the arithmetic not.
    auto q = p;
    q.sample += 1;
    q.model_output += 1;
    q.model_output_uncond += 1;
    q.noise += 1;
    q.prev_sample += 1;
    q.pred_original_sample += 1;
    q.count -= 1;
    ddim_step_fast(many, q);
    CHECK(std::memcmp(prev.data() + 1, b.prev.data() + 1, (n - 1) * sizeof(float)) == 0);
    // Leaving out x0 does not change x_{t-1}.
    std::fill(b.prev.begin(), b.prev.end(), 0.0f);
    p.pred_original_sample = nullptr;
    ddim_step_fast(many, p);
    CHECK(same_bits(prev, b.prev));
}

// allow_avx2 = true runs the widest body the SIMD level in effect allows: 16 lanes with
// AVX-512, 8 under the _simd_avx2 variant of this test (INKWELL_SIMD=avx2).
TEST(ddim_four_and_wide_lane_bodies_give_the_same_bits) {
    std::mt19937 rng(9);
    ThreadPool pool(2);
    for (int64_t n : {int64_t(1), int64_t(7), int64_t(8), int64_t(37), int64_t(2 * 4 * 64 * 64), int64_t(17 * 8192 + 5)}) {
        StepBuffers b(rng, n + 1);
        for (int type : {INKWELL_PREDICTION_EPSILON, INKWELL_PREDICTION_V, INKWELL_PREDICTION_SAMPLE})
            for (int variant = 0; variant < 4; ++variant) {
                auto p = b.params(variant & 1, true);  // with and without guidance
                p.prediction_type = type;
                p.eta = variant & 2 ? 0.7 : 0.0;
                p.clip_sample = variant == 3;
                // one element in: the vector bodies start off their natural alignment
                p.sample += 1, p.model_output += 1, p.noise += 1, p.prev_sample += 1, p.pred_original_sample += 1;
                if (p.model_output_uncond != nullptr) p.model_output_uncond += 1;
                p.count = n;
                ddim_step_fast(pool, p, false);
                const auto prev = b.prev, x0 = b.x0;
                ddim_step_fast(pool, p, true);
                CHECK_MSG(same_bits(prev, b.prev) && same_bits(x0, b.x0), "n=%lld type=%d variant=%d", (long long)n, type,
                          variant);
            }
        std::vector<float> out4(n), out8(n);
        inkwell_add_noise_params a{b.x.data(), b.noise.data(), out4.data(), n, 0.37};
        add_noise_fast(pool, a, false);
        a.out = out8.data();
        add_noise_fast(pool, a, true);
        CHECK_MSG(same_bits(out4, out8), "add_noise n=%lld", (long long)n);
    }
}

TEST(ddim_streaming_stores_give_the_same_bits) {
    // From 2^20 elements the outputs bypass the cache. Run one large call (streamed, with a
    // scalar head: the buffers start one float past an allocation) against the same
    // elements in two calls below the threshold (cached stores), then with x0 misaligned
    // against prev (the fallback to cached stores).
    std::mt19937 rng(7);
    const int64_t n = (int64_t(1) << 20) + 37, half = n / 2;
    StepBuffers b(rng, n + 2);
    auto p = b.params(true, true);
    p.eta = 1.0;
    auto shift = [](inkwell_ddim_step_params q, int64_t by, int64_t count) {
        q.sample += by, q.model_output += by, q.model_output_uncond += by, q.noise += by;
        q.prev_sample += by, q.pred_original_sample += by;
        q.count = count;
        return q;
    };
    ThreadPool pool(3);
    ddim_step_fast(pool, shift(p, 1, n));
    const auto prev = b.prev, x0 = b.x0;  // elements 1..n written
    std::fill(b.prev.begin(), b.prev.end(), 0.0f);
    std::fill(b.x0.begin(), b.x0.end(), 0.0f);
    ddim_step_fast(pool, shift(p, 1, half));
    ddim_step_fast(pool, shift(p, 1 + half, n - half));
    CHECK(std::memcmp(prev.data() + 1, b.prev.data() + 1, n * sizeof(float)) == 0);
    CHECK(std::memcmp(x0.data() + 1, b.x0.data() + 1, n * sizeof(float)) == 0);
    std::vector<float> x0_odd(n + 1);
    auto q = shift(p, 1, n);
    q.pred_original_sample = x0_odd.data();  // 4 bytes off prev's alignment
    ddim_step_fast(pool, q);
    CHECK(std::memcmp(prev.data() + 1, b.prev.data() + 1, n * sizeof(float)) == 0);
    CHECK(std::memcmp(x0.data() + 1, x0_odd.data(), n * sizeof(float)) == 0);
}

TEST(ddim_eta_zero_ignores_noise) {
    std::mt19937 rng(6);
    StepBuffers b(rng, 333);
    auto p = b.params(false, false);
    ThreadPool pool(2);
    ddim_step_fast(pool, p);
    const auto with_noise = b.prev;
    p.noise = nullptr;
    ddim_step_fast(pool, p);
    CHECK(same_bits(with_noise, b.prev));
}

TEST(add_noise_matches_reference_and_endpoints) {
    std::mt19937 rng(8);
    for (int64_t n : {int64_t(1), int64_t(7), int64_t(1025), int64_t(3 * 8192 + 3)}) {
        auto x0 = random_floats(rng, n, 1.0f), noise = random_floats(rng, n, 1.0f);
        std::vector<float> out(n), ref(n);
        ThreadPool pool(3);
        for (double alpha : {0.0, 0.37, 1.0}) {
            inkwell_add_noise_params p{x0.data(), noise.data(), ref.data(), n, alpha};
            add_noise_reference(p);
            p.out = out.data();
            add_noise_fast(pool, p);
            CHECK_MSG(first_mismatch(out, ref, 1e-6, 1e-6) < 0, "n=%lld alpha=%g", (long long)n, alpha);
            if (alpha == 0.0) CHECK(same_bits(out, noise));
            if (alpha == 1.0) CHECK(same_bits(out, x0));
        }
    }
}

TEST(ddim_abi_rejects_bad_arguments_with_messages) {
    inkwell_context* ctx = nullptr;
    CHECK(inkwell_context_create(nullptr, &ctx) == INKWELL_OK);
    std::mt19937 rng(1);
    StepBuffers b(rng, 64);
    const auto good = b.params(true, true);
    CHECK(inkwell_ddim_step_f32(ctx, &good) == INKWELL_OK);

    auto expect = [&](const inkwell_ddim_step_params& q, const char* fragment) {
        const int32_t s = inkwell_ddim_step_f32(ctx, &q);
        const char* msg = inkwell_last_error_message();
        CHECK_MSG(s == INKWELL_INVALID_ARGUMENT && std::strstr(msg, fragment) != nullptr,
                  "status %d, message '%s', wanted '%s'", s, msg, fragment);
    };
    auto q = good;
    q.sample = nullptr;
    expect(q, "ddim_step: sample is null");
    q = good;
    q.model_output = nullptr;
    expect(q, "ddim_step: model_output is null");
    q = good;
    q.prev_sample = nullptr;
    expect(q, "ddim_step: prev_sample is null");
    q = good;
    q.count = 0;
    expect(q, "count must be 1..2^40, got 0");
    q.count = -5;
    expect(q, "got -5");
    q = good;
    q.alpha_prod_t = 0;
    expect(q, "alpha_prod_t must be in (0, 1], got 0");
    q.alpha_prod_t = NAN;
    expect(q, "alpha_prod_t must be in (0, 1], got nan");
    q = good;
    q.alpha_prod_t_prev = 1.5;
    expect(q, "alpha_prod_t_prev must be in (0, 1], got 1.5");
    q = good;
    q.prediction_type = 3;
    expect(q, "prediction_type must be 0 (epsilon), 1 (v) or 2 (sample), got 3");
    q = good;
    q.prediction_type = INKWELL_PREDICTION_SAMPLE;
    q.alpha_prod_t = 1.0;
    expect(q, "prediction_type sample needs alpha_prod_t < 1");
    q = good;
    q.eta = -0.1;
    expect(q, "eta must be finite and >= 0, got -0.1");
    q.eta = INFINITY;
    expect(q, "eta must be finite and >= 0, got inf");
    q = good;
    q.eta = 1.0;
    q.noise = nullptr;
    expect(q, "noise is null but eta > 0");
    q = good;
    q.eta = 1.0;
    q.alpha_prod_t_prev = 0.1;
    expect(q, "alpha_prod_t_prev (0.1");
    q = good;
    q.clip_sample = 2;
    expect(q, "clip_sample must be 0 or 1, got 2");
    q = good;
    q.clip_sample = 1;
    q.clip_sample_range = 0;
    expect(q, "clip_sample_range must be finite and > 0 when clipping, got 0");
    q = good;
    q.guidance_scale = NAN;
    expect(q, "guidance_scale must be finite, got nan");
    q.model_output_uncond = nullptr;  // without guidance the scale is unused
    CHECK(inkwell_ddim_step_f32(ctx, &q) == INKWELL_OK);
    q = good;
    q.prev_sample = b.x.data() + 10;
    expect(q, "prev_sample overlaps sample");
    q = good;
    q.pred_original_sample = b.prev.data() + 63;
    expect(q, "pred_original_sample overlaps prev_sample");
    q = good;
    q.pred_original_sample = b.uncond.data();
    expect(q, "pred_original_sample overlaps model_output_uncond");
    q = good;
    q.eta = 0.5;
    q.prev_sample = b.noise.data();
    expect(q, "prev_sample overlaps noise");
    CHECK(inkwell_ddim_step_f32(ctx, nullptr) == INKWELL_INVALID_ARGUMENT);
    CHECK(inkwell_ddim_step_f32(nullptr, &good) == INKWELL_INVALID_ARGUMENT);

    inkwell_add_noise_params a{b.x.data(), b.noise.data(), b.prev.data(), 64, 0.5};
    CHECK(inkwell_add_noise_f32(ctx, &a) == INKWELL_OK);
    auto expect_noise = [&](const inkwell_add_noise_params& q2, const char* fragment) {
        const int32_t s = inkwell_add_noise_f32(ctx, &q2);
        const char* msg = inkwell_last_error_message();
        CHECK_MSG(s == INKWELL_INVALID_ARGUMENT && std::strstr(msg, fragment) != nullptr,
                  "status %d, message '%s', wanted '%s'", s, msg, fragment);
    };
    auto an = a;
    an.alpha_prod = -0.25;
    expect_noise(an, "add_noise: alpha_prod must be in [0, 1], got -0.25");
    an = a;
    an.out = b.noise.data() + 1;
    expect_noise(an, "add_noise: out overlaps noise");
    an = a;
    an.original = nullptr;
    expect_noise(an, "add_noise: original is null");
    an = a;
    an.count = (int64_t(1) << 40) + 1;
    expect_noise(an, "add_noise: count must be 1..2^40");
    inkwell_context_destroy(ctx);
}
