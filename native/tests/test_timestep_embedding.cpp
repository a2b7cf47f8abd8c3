// inkwell_timestep_embedding_f32: the fast path against the per-element reference (bit for
// bit, any thread count), both against diffusers' formula evaluated independently in long
// double (within the float rounding, 2^-25, since both compute in double), hand-checked
// layouts (dims 1, 2, 3, flip, shift), and the argument checks.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "cpu/elementwise_cpu.hpp"
#include "inkwell/inkwell.h"
#include "test_util.hpp"

using namespace inkwell;
using namespace inkwell::cpu;

namespace {

struct Case {
    int64_t dim;
    int32_t flip;
    double shift, scale, max_period;
};

inkwell_timestep_embedding_params params(const std::vector<float>& t, std::vector<float>& out, const Case& c) {
    out.assign(t.size() * size_t(c.dim), -7.0f);
    return inkwell_timestep_embedding_params{t.data(), out.data(), int64_t(t.size()), c.dim, c.flip, c.shift, c.scale, c.max_period};
}

// diffusers.models.embeddings.get_timestep_embedding, written out again in long double.
long double diffusers(const Case& c, float t, int64_t column) {
    const int64_t half = c.dim / 2;
    if (column >= 2 * half) return 0;  // odd dim: zero padding
    const bool first = column < half;
    const int64_t i = first ? column : column - half;
    const long double exponent = -std::log((long double)c.max_period) * i / ((long double)half - c.shift);
    const long double arg = (long double)c.scale * ((long double)t * std::exp(exponent));
    const bool sine = first == (c.flip == 0);  // [sin, cos], or [cos, sin] when flipped
    return sine ? std::sin(arg) : std::cos(arg);
}

const std::vector<float> kTimesteps = {0.0f, 1.0f, 0.5f, 250.25f, 500.0f, 951.0f, 999.0f, 1000.0f, 3.75f, 17.0f, 0.001f};

}  // namespace

TEST(timestep_embedding_fast_matches_reference_and_diffusers) {
    const Case cases[] = {{1, 1, 0, 1, 10000},   {2, 1, 0, 1, 10000},   {2, 0, 0, 1, 10000},  {7, 1, 0, 1, 10000},
                          {7, 0, 1, 1, 10000},   {64, 0, 1, 1, 10000},  {320, 1, 0, 1, 10000}, {321, 0, 1, 1, 10000},
                          {1280, 1, 0, 1, 10000}, {32, 1, 0, 1000, 10000}, {16, 0, -3.5, 0.25, 50}, {8, 1, 0.5, 1, 1}};
    for (const Case& c : cases) {
        std::vector<float> ref, out;
        timestep_embedding_reference(params(kTimesteps, ref, c));
        for (int threads : {1, 4}) {
            ThreadPool pool(threads);
            timestep_embedding_fast(pool, params(kTimesteps, out, c));
            CHECK_MSG(std::memcmp(out.data(), ref.data(), out.size() * sizeof(float)) == 0, "dim %lld flip %d shift %g threads %d",
                      (long long)c.dim, c.flip, c.shift, threads);
        }
        // Double arithmetic then one rounding: within half a float ulp below 1 (2^-25),
        // plus a hair for the double error of the argument (up to ~1e-13 at t = 1000 x scale).
        const double tolerance = std::ldexp(1.0, -25) + 1e-12 * c.scale;
        int bad = 0;
        for (size_t r = 0; r < kTimesteps.size(); ++r)
            for (int64_t col = 0; col < c.dim; ++col) {
                const long double want = diffusers(c, kTimesteps[r], col);
                const float got = ref[r * size_t(c.dim) + size_t(col)];
                if (!(std::fabs((long double)got - want) <= tolerance) && bad++ < 10)
                    std::printf("    dim %lld t %g column %lld: %.9g, long double %.17Lg\n", (long long)c.dim,
                                double(kTimesteps[r]), (long long)col, double(got), want);
            }
        CHECK_MSG(bad == 0, "dim %lld flip %d shift %g scale %g: %d values off", (long long)c.dim, c.flip, c.shift, c.scale, bad);
    }
}

TEST(timestep_embedding_layouts_by_hand) {
    std::vector<float> out;
    const std::vector<float> t = {2.0f};
    ThreadPool pool(1);
    timestep_embedding_fast(pool, params(t, out, Case{1, 1, 0, 1, 10000}));
    CHECK(out.size() == 1 && out[0] == 0.0f && !std::signbit(out[0]));  // dim 1: the padding column only
    // dim 2, shift 0: one frequency, exp(0) = 1.
    timestep_embedding_fast(pool, params(t, out, Case{2, 0, 0, 1, 10000}));
    CHECK(out == (std::vector<float>{float(std::sin(2.0)), float(std::cos(2.0))}));
    timestep_embedding_fast(pool, params(t, out, Case{2, 1, 0, 1, 10000}));
    CHECK(out == (std::vector<float>{float(std::cos(2.0)), float(std::sin(2.0))}));
    timestep_embedding_fast(pool, params(t, out, Case{3, 1, 0, 1, 10000}));
    CHECK(out == (std::vector<float>{float(std::cos(2.0)), float(std::sin(2.0)), 0.0f}));
    // dim 4, shift 1: half - shift = 1, so freq = {1, 1/max_period}; scale 3 multiplies t * freq.
    timestep_embedding_fast(pool, params(t, out, Case{4, 0, 1, 3, 100}));
    CHECK(out == (std::vector<float>{float(std::sin(6.0)), float(std::sin(3.0 * (2.0 * std::exp(-std::log(100.0))))),
                                     float(std::cos(6.0)), float(std::cos(3.0 * (2.0 * std::exp(-std::log(100.0)))))}));
    // t = 0: sin 0 = 0 and cos 0 = 1 in every column pair.
    timestep_embedding_fast(pool, params({0.0f}, out, Case{320, 1, 0, 1, 10000}));
    for (int i = 0; i < 160; ++i) CHECK(out[i] == 1.0f && out[160 + i] == 0.0f);
}

TEST(timestep_embedding_abi_threads_and_refusals) {
    inkwell_context* one = nullptr;
    inkwell_context* four = nullptr;
    inkwell_context_options o1{INKWELL_DEVICE_CPU, 1, 0}, o4{INKWELL_DEVICE_CPU, 4, 0};
    CHECK(inkwell_context_create(&o1, &one) == INKWELL_OK && inkwell_context_create(&o4, &four) == INKWELL_OK);
    std::vector<float> t(1000);
    for (size_t i = 0; i < t.size(); ++i) t[i] = float(i) * 1.001f;
    std::vector<float> a, b;
    auto p = params(t, a, Case{320, 1, 0, 1, 10000});
    CHECK(inkwell_timestep_embedding_f32(one, &p) == INKWELL_OK);
    auto q = params(t, b, Case{320, 1, 0, 1, 10000});
    CHECK(inkwell_timestep_embedding_f32(four, &q) == INKWELL_OK);
    CHECK(a == b);

    std::vector<float> ts = {1.0f, 2.0f, 3.0f}, out(3 * 8, -7.0f);
    const inkwell_timestep_embedding_params good{ts.data(), out.data(), 3, 8, 1, 0.0, 1.0, 10000.0};
    CHECK(inkwell_timestep_embedding_f32(one, &good) == INKWELL_OK);
    std::fill(out.begin(), out.end(), -7.0f);
    auto expect = [&](const inkwell_timestep_embedding_params& bad, const char* fragment) {
        const int32_t s = inkwell_timestep_embedding_f32(one, &bad);
        const char* msg = inkwell_last_error_message();
        CHECK_MSG(s == INKWELL_INVALID_ARGUMENT && std::strstr(msg, fragment) != nullptr,
                  "status %d, message '%s', wanted '%s'", s, msg, fragment);
        CHECK(std::all_of(out.begin(), out.end(), [](float v) { return v == -7.0f; }));  // nothing written
    };
    auto r = good;
    r.dim = 0;
    expect(r, "timestep_embedding: dim must be 1..2^40, got 0");
    r = good;
    r.count = -1;
    expect(r, "timestep_embedding: count must be 1..2^40, got -1");
    r = good;
    r.count = int64_t(1) << 21;
    r.dim = int64_t(1) << 20;
    expect(r, "output [2097152, 1048576] would have more than 2^40 elements");
    r = good;
    r.timesteps = nullptr;
    expect(r, "timestep_embedding: timesteps is null");
    r = good;
    r.output = nullptr;
    expect(r, "timestep_embedding: output is null");
    r = good;
    r.downscale_freq_shift = NAN;
    expect(r, "downscale_freq_shift must be finite, got nan");
    r = good;
    r.scale = INFINITY;
    expect(r, "scale must be finite, got inf");
    r = good;
    r.max_period = -INFINITY;
    expect(r, "max_period must be finite, got -inf");
    r.max_period = 0;
    expect(r, "max_period must be > 0, got 0");
    r.max_period = -10;
    expect(r, "max_period must be > 0, got -10");
    r = good;
    r.downscale_freq_shift = 4;  // dim 8: half 4
    expect(r, "timestep_embedding: half of dim 8 minus downscale_freq_shift 4 is 0");
    r.dim = 2;
    r.downscale_freq_shift = 1;
    expect(r, "half of dim 2 minus downscale_freq_shift 1 is 0");
    r.dim = 1;  // half 0: no frequencies, nothing divides
    CHECK(inkwell_timestep_embedding_f32(one, &r) == INKWELL_OK);
    std::fill(out.begin(), out.end(), -7.0f);
    ts[1] = NAN;
    expect(good, "timestep_embedding: timesteps[1] must be finite, got nan");
    ts[1] = 2.0f;
    ts[2] = -INFINITY;
    expect(good, "timesteps[2] must be finite, got -inf");
    ts[2] = 3.0f;
    r = good;
    r.output = ts.data();
    expect(r, "timestep_embedding: output overlaps timesteps");
    CHECK(inkwell_timestep_embedding_f32(one, nullptr) == INKWELL_INVALID_ARGUMENT);
    CHECK(inkwell_timestep_embedding_f32(nullptr, &good) == INKWELL_INVALID_ARGUMENT);
    inkwell_context_destroy(one);
    inkwell_context_destroy(four);
}
