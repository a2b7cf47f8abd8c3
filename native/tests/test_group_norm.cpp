// GroupNorm: the fast path (AVX2 where the CPU has it, and the portable loops) against the
// double reference within a derived float bound, on awkward shapes (odd sizes, G = 1, G = C,
// spatial 1, groups longer than one statistics chunk, batch > 1) and every activation; the
// same bits for 1 and 4 threads; mean offsets of 1e4 with a spread of 0.1; constant groups
// (variance 0, with eps and with eps 0: NaN as 0 * inf, as the reference and torch give);
// NaN and infinity propagation; spreads near float's limits (normalised in double); values
// computed by hand with torch's formula; the 16-bit entries equal to narrow(f32 entry on the
// widened inputs) bit for bit; and the C ABI's refusals, with messages naming the value.
#include <cmath>
#include <cstring>
#include <limits>

#include "cpu/activations.hpp"
#include "cpu/norm_cpu.hpp"
#include "element_types.hpp"
#include "inkwell/inkwell.h"
#include "norm_test_util.hpp"
#include "test_util.hpp"

using namespace inkwell;
using namespace inkwell::cpu;
using inkwell_test::count_outside_bound;
using inkwell_test::same_bits;

namespace {

constexpr double kU = 1.0 / (1 << 24);  // unit roundoff of float

struct Case {
    int64_t batch, channels, spatial, groups;
    int32_t activation;
    bool weight, bias;
    double eps;
};

struct Tensors {
    std::vector<float> x, w, b;
};

Tensors random_tensors(std::mt19937& rng, const Case& c, float offset = 0.0f, float spread = 1.0f) {
    std::normal_distribution<float> normal;
    Tensors t;
    t.x.resize(size_t(c.batch * c.channels * c.spatial));
    for (float& v : t.x) v = offset + spread * normal(rng);
    if (c.weight) {
        t.w.resize(size_t(c.channels));
        for (float& v : t.w) v = 1.0f + 0.5f * normal(rng);
    }
    if (c.bias) {
        t.b.resize(size_t(c.channels));
        for (float& v : t.b) v = 0.5f * normal(rng);
    }
    return t;
}

inkwell_group_norm_params params(const Case& c, const Tensors& t, float* out) {
    return inkwell_group_norm_params{t.x.data(), c.weight ? t.w.data() : nullptr, c.bias ? t.b.data() : nullptr, out,
                                     c.batch, c.channels, c.spatial, c.groups, c.eps, c.activation};
}

std::vector<float> run_reference(const Case& c, const Tensors& t) {
    std::vector<float> y(t.x.size(), -7.0f);
    group_norm_reference(params(c, t, y.data()));
    return y;
}

std::vector<float> run_fast(const Case& c, const Tensors& t, int threads, NormIsa isa) {
    std::vector<float> y(t.x.size(), -7.0f);
    ThreadPool pool(threads);
    group_norm_fast(pool, params(c, t, y.data()), isa);
    return y;
}

// Per output, a bound on |fast - reference|, from statistics the test computes itself. The
// fast path's deviation d = (x - mean_hi) - mean_lo errs by 2 ulp, rstd_f and d * rstd_f by
// one each, the fma by one of y; the double sums of n terms (fast and reference, in different
// orders) err by n 2^-53 (|mean| + std) each, which rstd scales; the float split of the mean
// by 2^-48 |mean|. Activations: float formulas (a few ulp, and cancellation inside
// gelu's 1 + erf of about |y| u) on an input already off by the bound, slope below 1.2.
std::vector<double> tolerance(const Case& c, const Tensors& t) {
    std::vector<double> tol(t.x.size());
    const int64_t per_group = c.channels / c.groups, n = per_group * c.spatial;
    for (int64_t s = 0; s < c.batch * c.groups; ++s) {
        const float* x = t.x.data() + s * n;
        double mean = 0, squares = 0;
        for (int64_t i = 0; i < n; ++i) mean += x[i];
        mean /= double(n);
        for (int64_t i = 0; i < n; ++i) squares += (x[i] - mean) * (x[i] - mean);
        const double var = squares / double(n), rstd = 1.0 / std::sqrt(var + c.eps);
        const double stats = 2.0 * double(n) * 0x1p-53 * (std::fabs(mean) * rstd + std::sqrt(var) * rstd) +
                             0x1p-48 * std::fabs(mean) * rstd;
        // The float statistics (norm_cpu.cpp, judge_float_sums): the mean off by 40 u of a
        // standard deviation, rstd by 126 u of itself.
        const double float_mean = 40.0 * kU * std::sqrt(var) * rstd, float_rstd = 126.0 * kU;
        for (int64_t i = 0; i < n; ++i) {
            const int64_t ch = (s % c.groups) * per_group + i / c.spatial;
            const double w = c.weight ? std::fabs(t.w[ch]) : 1.0, b = c.bias ? std::fabs(t.b[ch]) : 0.0;
            const double normed = std::fabs((x[i] - mean) * rstd), y = normed * w + b;
            double bound =
                2.0 * (w * (4.0 * kU * normed + stats + float_mean + float_rstd * normed) + 1.5 * kU * y) + 1e-37;
            if (c.activation != INKWELL_ACTIVATION_NONE) bound = 1.2 * bound + 8.0 * kU * y + 1e-37;
            tol[size_t(s * n + i)] = bound;
        }
    }
    return tol;
}

// Fast (every ISA, 1 and 4 threads) against the reference; returns outputs out of bound.
int64_t check_case(const Case& c, const Tensors& t, const char* label) {
    return count_outside_bound(run_reference(c, t), tolerance(c, t), label,
                               [&](int threads, NormIsa isa) { return run_fast(c, t, threads, isa); });
}

}  // namespace

TEST(group_norm_fast_matches_reference_on_awkward_shapes) {
    std::mt19937 rng(11);
    const Case cases[] = {
        {1, 1, 1, 1, INKWELL_ACTIVATION_NONE, true, true, 1e-5},         // a single element: y = b
        {1, 4, 1, 2, INKWELL_ACTIVATION_SILU, true, true, 1e-5},         // spatial 1
        {3, 32, 1, 8, INKWELL_ACTIVATION_SILU, true, true, 1e-5},        // pixel 1x1, batch 3
        {2, 12, 35, 3, INKWELL_ACTIVATION_NONE, true, true, 1e-5},       // odd
        {1, 6, 39, 6, INKWELL_ACTIVATION_GELU, true, false, 1e-6},       // G = C (instance norm)
        {1, 8, 99, 1, INKWELL_ACTIVATION_GELU_TANH, false, true, 1e-5},  // G = 1
        {2, 97, 7, 97, INKWELL_ACTIVATION_QUICK_GELU, true, true, 1e-5}, // prime channels, G = C
        {1, 10, 1021, 5, INKWELL_ACTIVATION_RELU, false, false, 1e-5},   // no affine
        {2, 6, 257, 2, INKWELL_ACTIVATION_SILU, true, true, 0.0},        // eps 0, varied data
        {1, 4, 8193, 1, INKWELL_ACTIVATION_NONE, true, true, 1e-5},      // 4 chunks + 4: split phases
        {2, 3, 10007, 3, INKWELL_ACTIVATION_SILU, true, true, 1e-5},     // 6 segments over 1..4 threads
        {2, 64, 256, 32, INKWELL_ACTIVATION_SILU, true, true, 1e-5},     // a U-Net level, small
    };
    for (const Case& c : cases) {
        const Tensors t = random_tensors(rng, c, 0.3f, 1.7f);
        char label[96];
        std::snprintf(label, sizeof label, "[%lld,%lld,%lld] G=%lld act=%d", (long long)c.batch, (long long)c.channels,
                      (long long)c.spatial, (long long)c.groups, c.activation);
        const int64_t bad = check_case(c, t, label);
        CHECK_MSG(bad == 0, "%s: %lld outputs out of bound", label, (long long)bad);
    }
}

TEST(group_norm_avx512_and_avx2_give_the_same_bits) {
    // The AVX-512 loops keep the AVX2 loops' lanes and operations (statistics lanes summed in
    // the same order, the same float apply, masked tails): equal bits, not a bound.
    if (!norm_has_avx512()) {
        std::printf("  (no AVX-512 here: nothing to compare)\n");
        return;
    }
    std::mt19937 rng(23);
    const Case cases[] = {
        {2, 1280, 64, 32, INKWELL_ACTIVATION_NONE, true, true, 1e-5},  // [2,1280,8,8]: runs of 64
        {1, 12, 35, 3, INKWELL_ACTIVATION_SILU, true, true, 1e-5},    // runs of 35: masked tails
        {1, 5, 1, 5, INKWELL_ACTIVATION_NONE, false, true, 1e-5},     // single elements
        {1, 4, 8193, 1, INKWELL_ACTIVATION_GELU, true, false, 1e-5},  // split phases, chunk tails
        {3, 33, 17, 11, INKWELL_ACTIVATION_NONE, false, false, 0.0},
    };
    for (const Case& c : cases) {
        const Tensors t = random_tensors(rng, c, -2.5f, 3.0f);
        CHECK(same_bits(run_fast(c, t, 2, NormIsa::kAuto), run_fast(c, t, 2, NormIsa::kAvx2)));
        CHECK(same_bits(run_fast(c, t, 2, NormIsa::kAvx2), run_fast(c, t, 2, NormIsa::kPortable)));
    }
}

TEST(group_norm_is_accurate_with_a_large_mean_offset) {
    // A float mean of 1e4 is off by up to 5e-4 = 0.005 spreads of 0.1; split into two floats
    // it costs nothing. Checked against the reference and against the exact mean being
    // removed: the outputs of each group have mean ~0 and variance ~1.
    std::mt19937 rng(12);
    for (float offset : {1e3f, 1e4f, -3e5f}) {
        const Case c{2, 64, 96, 32, INKWELL_ACTIVATION_NONE, false, false, 1e-5};
        const Tensors t = random_tensors(rng, c, offset, 0.1f);
        char label[64];
        std::snprintf(label, sizeof label, "offset %g", double(offset));
        CHECK_MSG(check_case(c, t, label) == 0, "%s", label);
        const std::vector<float> y = run_fast(c, t, 2, NormIsa::kAuto);
        const int64_t n = 2 * 96;
        for (int64_t s = 0; s < 64; ++s) {
            double mean = 0, sq = 0;
            for (int64_t i = 0; i < n; ++i) mean += y[size_t(s * n + i)];
            mean /= double(n);
            for (int64_t i = 0; i < n; ++i) sq += (y[size_t(s * n + i)] - mean) * (y[size_t(s * n + i)] - mean);
            // eps 1e-5 against a variance of 0.01 shrinks the unit variance by 1e-3.
            CHECK_MSG(std::fabs(mean) < 1e-5 && std::fabs(sq / double(n) - 1.0) < 2e-3, "%s group %lld: mean %g var %g",
                      label, (long long)s, mean, sq / double(n));
        }
    }
}

TEST(group_norm_one_pass_statistics_with_an_outlier_shift) {
    // Segments of one statistics chunk (here 40 x 64 = 2560 and 8192 elements) take one pass
    // shifted by their first element; the worst shift is an outlier far from the mean, with a
    // large common offset on top (3e6 / spread 1: an unshifted one-pass sum of squares would
    // lose ~1e-3 of the variance to cancellation). Still within the reference's tolerance on every ISA.
    std::mt19937 rng(31);
    for (const Case& c : {Case{2, 1280, 64, 32, INKWELL_ACTIVATION_NONE, true, true, 1e-5},
                          Case{1, 2, 8192, 2, INKWELL_ACTIVATION_NONE, false, false, 1e-5}}) {
        for (float offset : {0.0f, 1e4f, 3e6f}) {  // unshifted, 3e6 would cost ~1e-3 of the variance
            Tensors t = random_tensors(rng, c, offset, 1.0f);
            const int64_t length = c.channels / c.groups * c.spatial;
            for (size_t s = 0; s < t.x.size(); s += size_t(length)) t.x[s] = offset + (s % 2 ? -3e3f : 3e3f);
            char label[64];
            std::snprintf(label, sizeof label, "length %lld offset %g", (long long)length, double(offset));
            CHECK_MSG(check_case(c, t, label) == 0, "%s", label);
        }
    }
}

TEST(group_norm_of_constant_groups) {
    // Variance 0: y = bias with eps > 0 (the deviation is exactly 0). With eps 0, rstd is
    // inf and 0 * inf is NaN, as in torch and the reference.
    const Case c{1, 4, 5, 2, INKWELL_ACTIVATION_NONE, true, true, 1e-5};
    Tensors t;
    t.x.assign(20, 3.0f);
    for (int i = 10; i < 20; ++i) t.x[size_t(i)] = -0.5f;
    t.w = {2.0f, -1.0f, 0.5f, 4.0f};
    t.b = {0.25f, -0.75f, 1.5f, 0.0f};
    for (NormIsa isa : {NormIsa::kAuto, NormIsa::kAvx2, NormIsa::kPortable}) {
        const std::vector<float> y = run_fast(c, t, 1, isa);
        for (int i = 0; i < 20; ++i) CHECK_MSG(y[size_t(i)] == t.b[size_t(i / 5)], "output %d is %g", i, double(y[size_t(i)]));
        Case zero = c;
        zero.eps = 0.0;
        const std::vector<float> nan = run_fast(zero, t, 1, isa), ref = run_reference(zero, t);
        for (int i = 0; i < 20; ++i) CHECK(std::isnan(nan[size_t(i)]) && std::isnan(ref[size_t(i)]));
    }
}

TEST(group_norm_propagates_nan_and_infinity_per_group) {
    // torch: a NaN makes its group's mean NaN; an infinity makes the mean infinite and the
    // variance NaN (inf - inf): either way the whole group is NaN, the other groups are not.
    std::mt19937 rng(13);
    const Case c{2, 6, 50, 3, INKWELL_ACTIVATION_SILU, true, true, 1e-5};
    for (float special : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity()}) {
        Tensors t = random_tensors(rng, c);
        t.x[100 + 37] = special;  // sample 0, group 1 (elements 100..199)
        t.x[500 + 3] = special;   // sample 1, group 2 (elements 500..599)
        const std::vector<float> ref = run_reference(c, t);
        for (NormIsa isa : {NormIsa::kAuto, NormIsa::kAvx2, NormIsa::kPortable}) {
            const std::vector<float> y = run_fast(c, t, 3, isa);
            for (size_t i = 0; i < y.size(); ++i) {
                const bool poisoned = (i >= 100 && i < 200) || i >= 500;
                CHECK_MSG(std::isnan(y[i]) == poisoned && std::isnan(ref[i]) == poisoned, "special %g output %zu: %g",
                          double(special), i, double(y[i]));
            }
        }
        CHECK(check_case(c, t, "with specials") == 0);
    }
}

TEST(group_norm_near_float_limits_is_normalised_in_double) {
    // Spreads where the float deviation would overflow (|x| ~ 3e38) or rstd leave float's
    // range (spread 1e-35): those groups take the double path and still match the reference.
    std::mt19937 rng(14);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    const Case c{1, 4, 64, 2, INKWELL_ACTIVATION_NONE, true, true, 0.0};
    for (float scale : {3e38f, 1e30f, 1e-35f, 1e-40f}) {
        Tensors t = random_tensors(rng, c);
        for (float& v : t.x) v = scale * unit(rng);
        char label[48];
        std::snprintf(label, sizeof label, "scale %g", double(scale));
        CHECK_MSG(check_case(c, t, label) == 0, "%s", label);
        const std::vector<float> y = run_fast(c, t, 1, NormIsa::kAuto);
        for (float v : y) CHECK_MSG(std::isfinite(v) && std::fabs(v) < 100.0f, "%s: output %g", label, double(v));
    }
}

TEST(group_norm_matches_torch_by_hand) {
    // torch.nn.functional.group_norm(x, 2, w, b, 1e-5) of x [1, 4, 3] (float64), and silu of it.
    const Case c{1, 4, 3, 2, INKWELL_ACTIVATION_NONE, true, true, 1e-5};
    Tensors t;
    t.x = {0.5f, -1.25f, 2.0f, 3.0f, 0.25f, -0.75f, 1.5f, 1.5f, -2.0f, 4.0f, -3.0f, 0.5f};
    t.w = {1.5f, -0.5f, 2.0f, 0.25f};
    t.b = {0.125f, -1.0f, 0.5f, 0.0f};
    const double expected[] = {-0.00192403784, -1.77886057, 1.52116442, -1.80385224, -0.873075962, -0.534611861,
                               1.42797894,     1.42797894,  -1.57010687, 0.383683601, -0.365837852, 0.00892287444};
    const double silu[] = {-0.000961093442, -0.256945536, 1.24843467, -0.255033646, -0.257220979, -0.197508016,
                           1.15178813,      1.15178813,   -0.27037422, 0.228200132, -0.14982784,  0.00448134151};
    Case with_silu = c;
    with_silu.activation = INKWELL_ACTIVATION_SILU;
    const std::vector<float> y = run_fast(c, t, 1, NormIsa::kAuto), s = run_fast(with_silu, t, 1, NormIsa::kAuto);
    for (int i = 0; i < 12; ++i) {
        CHECK_MSG(std::fabs(y[size_t(i)] - expected[i]) <= 1e-6 * (1 + std::fabs(expected[i])), "y[%d] = %.9g, torch %.9g",
                  i, double(y[size_t(i)]), expected[i]);
        CHECK_MSG(std::fabs(s[size_t(i)] - silu[i]) <= 1e-6 * (1 + std::fabs(silu[i])), "silu y[%d] = %.9g, torch %.9g", i,
                  double(s[size_t(i)]), silu[i]);
    }
}

namespace {

uint16_t narrow16(int32_t type, float v) { return type == INKWELL_ELEMENT_F16 ? float_to_f16(v) : float_to_bf16(v); }
float widen16(int32_t type, uint16_t h) { return type == INKWELL_ELEMENT_F16 ? f16_to_float(h) : bf16_to_float(h); }

int32_t group_norm16(int32_t type, inkwell_context* ctx, const inkwell_group_norm_params* p) {
    return type == INKWELL_ELEMENT_F16 ? inkwell_group_norm_f16(ctx, p) : inkwell_group_norm_bf16(ctx, p);
}

}  // namespace

TEST(group_norm_16bit_entries_narrow_the_f32_entry_on_widened_inputs) {
    std::mt19937 rng(15);
    inkwell_context* ctx[2] = {};
    const inkwell_context_options one{INKWELL_DEVICE_CPU, 1, 0}, four{INKWELL_DEVICE_CPU, 4, 0};
    CHECK(inkwell_context_create(&one, &ctx[0]) == INKWELL_OK && inkwell_context_create(&four, &ctx[1]) == INKWELL_OK);
    const Case cases[] = {{2, 12, 35, 3, INKWELL_ACTIVATION_SILU, true, true, 1e-5},
                          {1, 8, 99, 1, INKWELL_ACTIVATION_GELU, false, true, 1e-6},
                          {1, 4, 9000, 2, INKWELL_ACTIVATION_NONE, true, false, 1e-5},
                          {3, 32, 1, 8, INKWELL_ACTIVATION_RELU, false, false, 1e-5}};
    for (int32_t type : {INKWELL_ELEMENT_F16, INKWELL_ELEMENT_BF16})
        for (const Case& c : cases) {
            Tensors t = random_tensors(rng, c, 2.0f, 3.0f);
            std::vector<uint16_t> hx(t.x.size()), hw(t.w.size()), hb(t.b.size());
            auto round_trip = [&](std::vector<float>& f, std::vector<uint16_t>& h) {
                for (size_t i = 0; i < f.size(); ++i) {
                    h[i] = narrow16(type, f[i]);
                    f[i] = widen16(type, h[i]);  // the exact widened input
                }
            };
            round_trip(t.x, hx);
            round_trip(t.w, hw);
            round_trip(t.b, hb);
            std::vector<float> f32(t.x.size());
            inkwell_group_norm_params p = params(c, t, f32.data());
            CHECK(inkwell_group_norm_f32(ctx[0], &p) == INKWELL_OK);
            p.input = hx.data();
            p.weight = c.weight ? hw.data() : nullptr;
            p.bias = c.bias ? hb.data() : nullptr;
            for (inkwell_context* context : ctx) {
                std::vector<uint16_t> out(t.x.size(), 0xffff);
                p.output = out.data();
                CHECK(group_norm16(type, context, &p) == INKWELL_OK);
                int64_t bad = 0;
                for (size_t i = 0; i < out.size(); ++i) bad += out[i] != narrow16(type, f32[i]);
                CHECK_MSG(bad == 0, "%s [%lld,%lld,%lld] G=%lld: %lld outputs differ from narrow(f32)",
                          element_type_name(type), (long long)c.batch, (long long)c.channels, (long long)c.spatial,
                          (long long)c.groups, (long long)bad);
            }
        }
    inkwell_context_destroy(ctx[0]);
    inkwell_context_destroy(ctx[1]);
}

TEST(group_norm_abi_rejects_bad_arguments_with_messages) {
    inkwell_context* ctx = nullptr;
    CHECK(inkwell_context_create(nullptr, &ctx) == INKWELL_OK);
    std::vector<float> x(2 * 12 * 5, 1.5f), w(12, 1.0f), b(12, 0.0f), out(2 * 12 * 5, -7.0f);
    x[3] = 2.0f;
    const inkwell_group_norm_params good{x.data(), w.data(), b.data(), out.data(), 2, 12, 5, 4, 1e-5,
                                         INKWELL_ACTIVATION_SILU};
    CHECK(inkwell_group_norm_f32(ctx, &good) == INKWELL_OK);
    auto expect = [&](const inkwell_group_norm_params& q, const char* fragment) {
        inkwell_test::expect_refused_by_every_type(q, out, fragment, [&](int32_t type, const inkwell_group_norm_params& r) {
            return type == INKWELL_ELEMENT_F32   ? inkwell_group_norm_f32(ctx, &r)
                   : type == INKWELL_ELEMENT_F16 ? inkwell_group_norm_f16(ctx, &r)
                                                 : inkwell_group_norm_bf16(ctx, &r);
        });
    };
    auto q = good;
    q.input = nullptr;
    expect(q, "group_norm: input is null");
    q = good;
    q.output = nullptr;
    expect(q, "group_norm: output is null");
    q = good;
    q.batch = 0;
    expect(q, "group_norm: batch must be 1..2^40, got 0");
    q = good;
    q.channels = -12;
    expect(q, "group_norm: channels must be 1..2^40, got -12");
    q = good;
    q.spatial = (int64_t(1) << 40) + 1;
    expect(q, "group_norm: spatial must be 1..2^40, got 1099511627777");
    q = good;
    q.groups = 0;
    expect(q, "group_norm: groups must be 1..2^40, got 0");
    q = good;
    q.groups = 5;
    expect(q, "group_norm: groups 5 does not divide channels 12");
    q = good;
    q.groups = 24;
    expect(q, "group_norm: groups 24 does not divide channels 12");
    q = good;
    q.batch = q.channels = q.spatial = int64_t(1) << 20;
    q.groups = 1;
    expect(q, "would have more than 2^40 elements");
    q = good;
    q.batch = q.channels = q.spatial = int64_t(1) << 40;  // the product overflows int64
    q.groups = 1;
    expect(q, "would have more than 2^40 elements");
    q = good;
    q.eps = std::nan("");
    expect(q, "group_norm: eps must be finite and >= 0, got nan");
    q.eps = -1e-5;
    expect(q, "group_norm: eps must be finite and >= 0, got -1e-05");
    q.eps = std::numeric_limits<double>::infinity();
    expect(q, "group_norm: eps must be finite and >= 0, got inf");
    q = good;
    q.activation = 6;
    expect(q, "group_norm: activation must be 0..5 (NONE, SILU, GELU, GELU_TANH, QUICK_GELU, RELU), got 6");
    q.activation = -1;
    expect(q, "got -1");
    q = good;
    q.input = out.data();  // in place
    expect(q, "group_norm: output overlaps input");
    q = good;
    q.input = out.data() + 7;  // refused before anything is read
    expect(q, "group_norm: output overlaps input");
    q = good;
    q.weight = out.data() + 59;  // inside the output for every type (f16: 60 floats' bytes)
    expect(q, "group_norm: output overlaps weight");
    q = good;
    q.bias = out.data() + 30;
    expect(q, "group_norm: output overlaps bias");
    {
        // Overlap is measured in bytes of the entry's type: an f16 output right after an
        // f16 input is fine, while the same pointers read as floats overlap.
        std::vector<uint16_t> both(2 * x.size());
        std::vector<float> wide(x.size());
        for (size_t i = 0; i < x.size(); ++i) both[i] = float_to_f16(x[i]);
        q = good;
        q.weight = q.bias = nullptr;
        q.input = both.data();
        q.output = both.data() + x.size();
        CHECK(inkwell_group_norm_f16(ctx, &q) == INKWELL_OK);
        q.input = wide.data();
        q.output = reinterpret_cast<uint16_t*>(wide.data()) + x.size();  // inside the float input
        CHECK(inkwell_group_norm_f32(ctx, &q) == INKWELL_INVALID_ARGUMENT &&
              std::strstr(inkwell_last_error_message(), "output overlaps input") != nullptr);
        CHECK(inkwell_group_norm_f16(ctx, &q) == INKWELL_OK);  // as halves it is right after the input
    }
    CHECK(inkwell_group_norm_f32(ctx, nullptr) == INKWELL_INVALID_ARGUMENT);
    CHECK(std::strstr(inkwell_last_error_message(), "params is null") != nullptr);
    CHECK(inkwell_group_norm_bf16(nullptr, &good) == INKWELL_INVALID_ARGUMENT);
    // Null weight and bias are valid (1 and 0).
    q = good;
    q.weight = nullptr;
    q.bias = nullptr;
    CHECK(inkwell_group_norm_f32(ctx, &q) == INKWELL_OK);
    inkwell_context_destroy(ctx);
}
