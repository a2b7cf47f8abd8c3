// LayerNorm: the fast path (AVX2 where the CPU has it, and the portable loops) against the
// double reference within a derived float bound, on awkward shapes (dim 1, odd and prime
// dims, rows longer than one statistics chunk, fewer rows than threads) with and without
// weight and bias; the same bits for 1 and 4 threads; a mean offset of 1e4 with a spread of
// 0.1; constant rows (eps 0: NaN as 0 * inf, as the reference and torch give); NaN and
// infinity propagation per row; spreads near float's limits; values computed by hand with
// torch's formula; the 16-bit entries equal to narrow(f32 entry on the widened inputs) bit
// for bit; and the C ABI's refusals, with messages naming the value.
#include <cmath>
#include <cstring>
#include <limits>

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
    int64_t rows, dim;
    bool weight, bias;
    double eps;
};

struct Tensors {
    std::vector<float> x, w, b;
};

Tensors random_tensors(std::mt19937& rng, const Case& c, float offset = 0.0f, float spread = 1.0f) {
    std::normal_distribution<float> normal;
    Tensors t;
    t.x.resize(size_t(c.rows * c.dim));
    for (float& v : t.x) v = offset + spread * normal(rng);
    if (c.weight) {
        t.w.resize(size_t(c.dim));
        for (float& v : t.w) v = 1.0f + 0.5f * normal(rng);
    }
    if (c.bias) {
        t.b.resize(size_t(c.dim));
        for (float& v : t.b) v = 0.5f * normal(rng);
    }
    return t;
}

inkwell_layer_norm_params params(const Case& c, const Tensors& t, float* out) {
    return inkwell_layer_norm_params{t.x.data(), c.weight ? t.w.data() : nullptr, c.bias ? t.b.data() : nullptr, out,
                                     c.rows, c.dim, c.eps};
}

std::vector<float> run_reference(const Case& c, const Tensors& t) {
    std::vector<float> y(t.x.size(), -7.0f);
    layer_norm_reference(params(c, t, y.data()));
    return y;
}

std::vector<float> run_fast(const Case& c, const Tensors& t, int threads, NormIsa isa) {
    std::vector<float> y(t.x.size(), -7.0f);
    ThreadPool pool(threads);
    layer_norm_fast(pool, params(c, t, y.data()), isa);
    return y;
}

// Per output, a bound on |fast - reference| from statistics the test computes itself: the
// deviation (x - mean_hi) - mean_lo errs by 2 ulp, rstd_f and d * rstd_f by one each, the
// fma by one of y; the double sums (fast and reference, in different orders) by
// n 2^-53 (|mean| + std) each, scaled by rstd; the float split of the mean by 2^-48 |mean|.
std::vector<double> tolerance(const Case& c, const Tensors& t) {
    std::vector<double> tol(t.x.size());
    const int64_t n = c.dim;
    for (int64_t r = 0; r < c.rows; ++r) {
        const float* x = t.x.data() + r * n;
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
            const double w = c.weight ? std::fabs(t.w[size_t(i)]) : 1.0, b = c.bias ? std::fabs(t.b[size_t(i)]) : 0.0;
            const double normed = std::fabs((x[i] - mean) * rstd), y = normed * w + b;
            tol[size_t(r * n + i)] =
                2.0 * (w * (4.0 * kU * normed + stats + float_mean + float_rstd * normed) + 1.5 * kU * y) + 1e-37;
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

TEST(layer_norm_fast_matches_reference_on_awkward_shapes) {
    std::mt19937 rng(21);
    const Case cases[] = {
        {1, 1, true, true, 1e-5},        // y = b
        {4, 1, false, false, 1e-5},      // y = 0
        {15, 37, true, true, 1e-5},      // odd
        {512, 320, true, true, 1e-5},    // U-Net tokens
        {77, 768, true, false, 1e-5},    // CLIP
        {1021, 97, false, true, 1e-6},   // primes
        {7, 1025, true, true, 0.0},      // eps 0, varied data
        {1, 16389, true, true, 1e-5},    // one row of 2 chunks + 5: split phases on 4 threads
        {3, 20000, false, false, 1e-5},  // fewer rows than threads
        {9, 24, false, false, 1e-6},     // no affine
    };
    for (const Case& c : cases) {
        const Tensors t = random_tensors(rng, c, -0.4f, 2.3f);
        char label[64];
        std::snprintf(label, sizeof label, "[%lld,%lld] w=%d b=%d", (long long)c.rows, (long long)c.dim, int(c.weight),
                      int(c.bias));
        const int64_t bad = check_case(c, t, label);
        CHECK_MSG(bad == 0, "%s: %lld outputs out of bound", label, (long long)bad);
    }
}

TEST(layer_norm_avx512_and_avx2_give_the_same_bits) {
    // Same lanes and operations on both levels (per-element weight and bias loaded under a
    // mask in the AVX-512 tail): equal bits.
    if (!norm_has_avx512()) {
        std::printf("  (no AVX-512 here: nothing to compare)\n");
        return;
    }
    std::mt19937 rng(29);
    const Case cases[] = {{2 * 64, 320, true, true, 1e-5}, {7, 77, true, false, 1e-5}, {3, 1, false, true, 1e-5},
                          {2, 8200, false, false, 0.0}, {5, 769, true, true, 1e-6}};
    for (const Case& c : cases) {
        const Tensors t = random_tensors(rng, c, 4.0f, 0.5f);
        CHECK(same_bits(run_fast(c, t, 2, NormIsa::kAuto), run_fast(c, t, 2, NormIsa::kAvx2)));
        CHECK(same_bits(run_fast(c, t, 2, NormIsa::kAvx2), run_fast(c, t, 2, NormIsa::kPortable)));
    }
}

TEST(layer_norm_is_accurate_with_a_large_mean_offset) {
    // As the golden offset_1e4 case: a float mean of 1e4 would be off by 0.005 spreads.
    std::mt19937 rng(22);
    for (float offset : {1e4f, -2e5f}) {
        const Case c{32, 64, false, false, 1e-5};
        const Tensors t = random_tensors(rng, c, offset, 0.1f);
        char label[48];
        std::snprintf(label, sizeof label, "offset %g", double(offset));
        CHECK_MSG(check_case(c, t, label) == 0, "%s", label);
        const std::vector<float> y = run_fast(c, t, 2, NormIsa::kAuto);
        for (int64_t r = 0; r < c.rows; ++r) {
            double mean = 0, sq = 0;
            for (int64_t i = 0; i < c.dim; ++i) mean += y[size_t(r * c.dim + i)];
            mean /= double(c.dim);
            for (int64_t i = 0; i < c.dim; ++i) sq += (y[size_t(r * c.dim + i)] - mean) * (y[size_t(r * c.dim + i)] - mean);
            CHECK_MSG(std::fabs(mean) < 1e-5 && std::fabs(sq / double(c.dim) - 1.0) < 2e-3, "%s row %lld: mean %g var %g",
                      label, (long long)r, mean, sq / double(c.dim));
        }
    }
}

TEST(layer_norm_of_constant_rows) {
    const Case c{2, 6, true, true, 1e-5};
    Tensors t;
    t.x = {3, 3, 3, 3, 3, 3, -0.5f, -0.5f, -0.5f, -0.5f, -0.5f, -0.5f};
    t.w = {2, -1, 0.5f, 4, 1, 1};
    t.b = {0.25f, -0.75f, 1.5f, 0, 8, -8};
    for (NormIsa isa : {NormIsa::kAuto, NormIsa::kAvx2, NormIsa::kPortable}) {
        const std::vector<float> y = run_fast(c, t, 1, isa);
        for (int i = 0; i < 12; ++i) CHECK_MSG(y[size_t(i)] == t.b[size_t(i % 6)], "output %d is %g", i, double(y[size_t(i)]));
        Case zero = c;
        zero.eps = 0.0;
        const std::vector<float> nan = run_fast(zero, t, 1, isa), ref = run_reference(zero, t);
        for (int i = 0; i < 12; ++i) CHECK(std::isnan(nan[size_t(i)]) && std::isnan(ref[size_t(i)]));
    }
}

TEST(layer_norm_propagates_nan_and_infinity_per_row) {
    std::mt19937 rng(23);
    const Case c{5, 33, true, true, 1e-5};
    for (float special : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity()}) {
        Tensors t = random_tensors(rng, c);
        t.x[33 + 5] = special;       // row 1
        t.x[4 * 33 + 32] = special;  // row 4, last element
        const std::vector<float> ref = run_reference(c, t);
        for (NormIsa isa : {NormIsa::kAuto, NormIsa::kAvx2, NormIsa::kPortable}) {
            const std::vector<float> y = run_fast(c, t, 3, isa);
            for (size_t i = 0; i < y.size(); ++i) {
                const bool poisoned = i / 33 == 1 || i / 33 == 4;
                CHECK_MSG(std::isnan(y[i]) == poisoned && std::isnan(ref[i]) == poisoned, "special %g output %zu: %g",
                          double(special), i, double(y[i]));
            }
        }
    }
}

TEST(layer_norm_near_float_limits_is_normalised_in_double) {
    std::mt19937 rng(24);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    const Case c{3, 50, true, true, 0.0};
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

TEST(layer_norm_matches_torch_by_hand) {
    // torch.nn.functional.layer_norm(x, (5,), w, b, 1e-5) of two rows (float64), the second
    // around 1e4.
    const Case c{2, 5, true, true, 1e-5};
    Tensors t;
    t.x = {0.5f, -1.25f, 2.0f, 3.0f, 0.25f, 10000.5f, 9999.75f, 10000.0f, 10000.125f, 9999.625f};
    t.w = {1.5f, -0.5f, 2.0f, 0.25f, 1.0f};
    t.b = {0.125f, -1.0f, 0.5f, 0.0f, 2.0f};
    const double expected[] = {-0.282775658, -0.269401946, 1.99517741, 0.356803701, 1.55824304,
                               2.57435911,   -0.591773481, 0.5,        0.10205663,  0.775320443};
    for (NormIsa isa : {NormIsa::kAuto, NormIsa::kAvx2, NormIsa::kPortable}) {
        const std::vector<float> y = run_fast(c, t, 1, isa);
        for (int i = 0; i < 10; ++i)
            CHECK_MSG(std::fabs(y[size_t(i)] - expected[i]) <= 1e-6 * (1 + std::fabs(expected[i])),
                      "y[%d] = %.9g, torch %.9g", i, double(y[size_t(i)]), expected[i]);
    }
}

namespace {

uint16_t narrow16(int32_t type, float v) { return type == INKWELL_ELEMENT_F16 ? float_to_f16(v) : float_to_bf16(v); }
float widen16(int32_t type, uint16_t h) { return type == INKWELL_ELEMENT_F16 ? f16_to_float(h) : bf16_to_float(h); }

int32_t layer_norm16(int32_t type, inkwell_context* ctx, const inkwell_layer_norm_params* p) {
    return type == INKWELL_ELEMENT_F16 ? inkwell_layer_norm_f16(ctx, p) : inkwell_layer_norm_bf16(ctx, p);
}

}  // namespace

TEST(layer_norm_16bit_entries_narrow_the_f32_entry_on_widened_inputs) {
    std::mt19937 rng(25);
    inkwell_context* ctx[2] = {};
    const inkwell_context_options one{INKWELL_DEVICE_CPU, 1, 0}, four{INKWELL_DEVICE_CPU, 4, 0};
    CHECK(inkwell_context_create(&one, &ctx[0]) == INKWELL_OK && inkwell_context_create(&four, &ctx[1]) == INKWELL_OK);
    const Case cases[] = {{15, 37, true, true, 1e-5}, {64, 320, false, true, 1e-5}, {2, 9001, true, false, 1e-6},
                          {4, 1, false, false, 1e-5}};
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
            inkwell_layer_norm_params p = params(c, t, f32.data());
            CHECK(inkwell_layer_norm_f32(ctx[0], &p) == INKWELL_OK);
            p.input = hx.data();
            p.weight = c.weight ? hw.data() : nullptr;
            p.bias = c.bias ? hb.data() : nullptr;
            for (inkwell_context* context : ctx) {
                std::vector<uint16_t> out(t.x.size(), 0xffff);
                p.output = out.data();
                CHECK(layer_norm16(type, context, &p) == INKWELL_OK);
                int64_t bad = 0;
                for (size_t i = 0; i < out.size(); ++i) bad += out[i] != narrow16(type, f32[i]);
                CHECK_MSG(bad == 0, "%s [%lld,%lld]: %lld outputs differ from narrow(f32)", element_type_name(type),
                          (long long)c.rows, (long long)c.dim, (long long)bad);
            }
        }
    inkwell_context_destroy(ctx[0]);
    inkwell_context_destroy(ctx[1]);
}

TEST(layer_norm_abi_rejects_bad_arguments_with_messages) {
    inkwell_context* ctx = nullptr;
    CHECK(inkwell_context_create(nullptr, &ctx) == INKWELL_OK);
    std::vector<float> x(6 * 10, 1.5f), w(10, 1.0f), b(10, 0.0f), out(6 * 10, -7.0f);
    x[3] = 2.0f;
    const inkwell_layer_norm_params good{x.data(), w.data(), b.data(), out.data(), 6, 10, 1e-5};
    CHECK(inkwell_layer_norm_f32(ctx, &good) == INKWELL_OK);
    auto expect = [&](const inkwell_layer_norm_params& q, const char* fragment) {
        inkwell_test::expect_refused_by_every_type(q, out, fragment, [&](int32_t type, const inkwell_layer_norm_params& r) {
            return type == INKWELL_ELEMENT_F32   ? inkwell_layer_norm_f32(ctx, &r)
                   : type == INKWELL_ELEMENT_F16 ? inkwell_layer_norm_f16(ctx, &r)
                                                 : inkwell_layer_norm_bf16(ctx, &r);
        });
    };
    auto q = good;
    q.input = nullptr;
    expect(q, "layer_norm: input is null");
    q = good;
    q.output = nullptr;
    expect(q, "layer_norm: output is null");
    q = good;
    q.rows = 0;
    expect(q, "layer_norm: rows must be 1..2^40, got 0");
    q = good;
    q.dim = -3;
    expect(q, "layer_norm: dim must be 1..2^40, got -3");
    q = good;
    q.dim = std::numeric_limits<int64_t>::max();
    expect(q, "layer_norm: dim must be 1..2^40, got 9223372036854775807");
    q = good;
    q.rows = q.dim = int64_t(1) << 21;
    expect(q, "layer_norm: input of rows 2097152 x dim 2097152 would have more than 2^40 elements");
    q = good;
    q.rows = q.dim = int64_t(1) << 40;  // the product overflows int64
    expect(q, "would have more than 2^40 elements");
    q = good;
    q.eps = std::nan("");
    expect(q, "layer_norm: eps must be finite and >= 0, got nan");
    q.eps = -0.5;
    expect(q, "layer_norm: eps must be finite and >= 0, got -0.5");
    q.eps = -std::numeric_limits<double>::infinity();
    expect(q, "layer_norm: eps must be finite and >= 0, got -inf");
    q = good;
    q.input = out.data();  // in place
    expect(q, "layer_norm: output overlaps input");
    q = good;
    q.input = out.data() + 29;  // inside the output for every type (f16: 30 floats' bytes)
    expect(q, "layer_norm: output overlaps input");
    q = good;
    q.weight = out.data() + 25;
    expect(q, "layer_norm: output overlaps weight");
    q = good;
    q.bias = out.data();
    expect(q, "layer_norm: output overlaps bias");
    CHECK(inkwell_layer_norm_f16(ctx, nullptr) == INKWELL_INVALID_ARGUMENT);
    CHECK(std::strstr(inkwell_last_error_message(), "layer_norm: params is null") != nullptr);
    CHECK(inkwell_layer_norm_f32(nullptr, &good) == INKWELL_INVALID_ARGUMENT);
    // Null weight and bias are valid (1 and 0); an output right after the input is fine.
    q = good;
    q.weight = nullptr;
    q.bias = nullptr;
    CHECK(inkwell_layer_norm_f32(ctx, &q) == INKWELL_OK);
    std::vector<float> both(120, 0.5f);
    q.input = both.data();
    q.output = both.data() + 60;
    CHECK(inkwell_layer_norm_f32(ctx, &q) == INKWELL_OK);
    inkwell_context_destroy(ctx);
}
