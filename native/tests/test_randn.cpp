// randn: Philox known answers, our logf / sincos(2 pi u) against libm in double, the
// distribution (moments and a Kolmogorov-Smirnov bound), and the defining property: element
// i of the stream is the same bits for any (offset, count) split and any thread count.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/randn_cpu.hpp"
#include "inkwell/inkwell.h"
#include "test_util.hpp"

using namespace inkwell;
using namespace inkwell::cpu;

namespace {

uint32_t bits_of(float x) {
    uint32_t b;
    std::memcpy(&b, &x, sizeof b);
    return b;
}

// Distance from got to the exact value in units of the float spacing at the exact value.
double ulp_error(float got, double exact) {
    const float rounded = float(exact);
    const double spacing = std::nextafter(std::fabs(rounded), INFINITY) - std::fabs(rounded);
    return std::fabs(double(got) - exact) / spacing;
}

std::vector<float> stream(uint64_t seed, uint64_t offset, int64_t count, int threads) {
    std::vector<float> out(count);
    ThreadPool pool(threads);
    randn_fast(pool, out.data(), count, seed, offset);
    return out;
}

int count_bit_differences(const std::vector<float>& a, const float* b, int64_t n) {
    int bad = 0;
    for (int64_t i = 0; i < n; ++i) bad += bits_of(a[i]) != bits_of(b[i]);
    return bad;
}

}  // namespace

TEST(philox_matches_random123_known_answers) {
    // Random123's kat_vectors for philox4x32_10.
    CHECK((philox4x32_10({0, 0, 0, 0}, {0, 0}) == PhiloxCounter{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
    CHECK((philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}) ==
           PhiloxCounter{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
    CHECK((philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}) ==
           PhiloxCounter{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(uniform_covers_zero_exclusive_one_inclusive) {
    CHECK(randn_uniform(0) == std::ldexp(1.0f, -24));
    CHECK(randn_uniform(0xff) == std::ldexp(1.0f, -24));  // the low 8 bits are dropped
    CHECK(randn_uniform(0x100) == std::ldexp(2.0f, -24));
    CHECK(randn_uniform(0xffffffff) == 1.0f);
}

TEST(logf_is_within_one_ulp_of_libm_double) {
    // Every value the stream can feed it (k 2^-24, k = 1..2^24), then a sweep over many
    // binades with awkward mantissas.
    double worst = 0;
    float worst_at = 0;
    auto check = [&](float x) {
        const double e = ulp_error(randn_logf(x), std::log(double(x)));
        if (e > worst) {
            worst = e;
            worst_at = x;
        }
    };
    for (uint32_t k = 1; k <= (1u << 24); ++k) check(float(k) * std::ldexp(1.0f, -24));
    for (float x = 1e-30f; x < 1e30f; x *= 1.0001234f) check(x);
    CHECK(randn_logf(1.0f) == 0.0f);
    CHECK_MSG(worst <= 1.0, "worst %.3f ulp at %a", worst, worst_at);
    std::printf("  logf: worst error %.3f ulp at %a\n", worst, worst_at);
}

TEST(sincos2pi_is_within_one_ulp_of_libm_double) {
    // The exact value, in long double after an exact reduction to the nearest quarter turn
    // (without it, sinl(2 pi * 0.5) is 1e-20, not the true 0).
    auto exact = [](float u, double* s, double* c) {
        const long double q = std::nearbyint(4.0L * u), r = (long double)u - q / 4;
        const long double angle = 2.0L * 3.141592653589793238462643383279503L * r;
        const long double rs = std::sin(angle), rc = std::cos(angle);
        const long double rot[4][2] = {{rs, rc}, {rc, -rs}, {-rs, -rc}, {-rc, rs}};
        const int quadrant = int(int64_t(q) & 3);
        *s = double(rot[quadrant][0]);
        *c = double(rot[quadrant][1]);
    };
    double worst_sin = 0, worst_cos = 0;
    auto check = [&](float u) {
        float s, c;
        double es, ec;
        randn_sincos2pi(u, &s, &c);
        exact(u, &es, &ec);
        worst_sin = std::max(worst_sin, ulp_error(s, es));
        worst_cos = std::max(worst_cos, ulp_error(c, ec));
    };
    // Every third value the stream can feed it (k 2^-24), then a geometric sweep.
    for (uint32_t k = 1; k <= (1u << 24); k += 3) check(float(k) * std::ldexp(1.0f, -24));
    for (float u = 1e-9f; u < 1000.0f; u *= 1.0003f) check(u);
    float s, c;
    randn_sincos2pi(0.25f, &s, &c);
    CHECK(s == 1.0f && c == 0.0f);
    randn_sincos2pi(1.0f, &s, &c);
    CHECK(s == 0.0f && c == 1.0f);
    CHECK_MSG(worst_sin <= 1.0 && worst_cos <= 1.0, "worst sin %.3f ulp, cos %.3f ulp", worst_sin, worst_cos);
    std::printf("  sincos2pi: worst error sin %.3f ulp, cos %.3f ulp\n", worst_sin, worst_cos);
}

TEST(randn_moments_and_distribution_are_standard_normal) {
    const int64_t n = 1000000;
    auto z = stream(20240607, 0, n, 4);
    double sum = 0, sum2 = 0;
    for (float v : z) {
        sum += v;
        sum2 += double(v) * v;
    }
    const double mean = sum / n, var = sum2 / n - mean * mean;
    // Five standard errors: sd(mean) = 1/sqrt(n), sd(var) = sqrt(2/n).
    CHECK_MSG(std::fabs(mean) < 5 / std::sqrt(double(n)), "mean %g", mean);
    CHECK_MSG(std::fabs(var - 1) < 5 * std::sqrt(2.0 / n), "variance %g", var);
    // Kolmogorov-Smirnov: sup |F_n - Phi| below the 0.1% critical value 1.95 / sqrt(n).
    std::sort(z.begin(), z.end());
    double d = 0;
    for (int64_t i = 0; i < n; ++i) {
        const double phi = 0.5 * std::erfc(-z[i] / std::sqrt(2.0));
        d = std::max({d, std::fabs(phi - double(i) / n), std::fabs(phi - double(i + 1) / n)});
    }
    CHECK_MSG(d < 1.95 / std::sqrt(double(n)), "KS distance %g", d);
    std::printf("  mean %.5f variance %.5f KS %.5f (bound %.5f)\n", mean, var, d, 1.95 / std::sqrt(double(n)));
}

TEST(randn_element_depends_on_index_only) {
    const uint64_t seed = 0x0123456789abcdefull;
    const int64_t n = 70001;  // several chunks and a ragged end
    std::vector<float> ref(n);
    randn_reference(ref.data(), n, seed, 0);
    for (int threads : {1, 2, 3, 8}) {
        auto fast = stream(seed, 0, n, threads);
        CHECK_MSG(count_bit_differences(fast, ref.data(), n) == 0, "threads=%d", threads);
    }
    // Splits at every alignment against the 4-element blocks.
    const int64_t cuts[][2] = {{0, 1}, {1, 2}, {3, 5}, {5, 16384}, {16389, 3}, {16392, 40000}, {56392, 13609}};
    for (auto& cut : cuts) {
        auto part = stream(seed, cut[0], cut[1], 3);
        CHECK_MSG(count_bit_differences(part, ref.data() + cut[0], cut[1]) == 0, "offset %lld count %lld",
                  (long long)cut[0], (long long)cut[1]);
    }
    // Far into the stream: the counter's high word is in use.
    const uint64_t far = (uint64_t(1) << 40) + 2;
    std::vector<float> far_ref(9);
    randn_reference(far_ref.data(), 9, seed, far);
    CHECK(count_bit_differences(stream(seed, far, 9, 2), far_ref.data(), 9) == 0);
    CHECK(randn_block(seed, far / 4)[2] == far_ref[0]);
}

TEST(randn_seeds_give_different_streams) {
    auto a = stream(1, 0, 64, 1), b = stream(2, 0, 64, 1), c = stream(uint64_t(1) << 32 | 1, 0, 64, 1);
    int same_ab = 0, same_ac = 0;
    for (int i = 0; i < 64; ++i) {
        same_ab += a[i] == b[i];
        same_ac += a[i] == c[i];
    }
    CHECK(same_ab == 0 && same_ac == 0);
}

TEST(randn_first_values_are_pinned_for_other_backends) {
    // The bits every backend must produce: seed 42, elements 0..7. If this changes, the
    // stream changed, and every saved seed in every user's project means something else.
    // (A float64 evaluation of the same definition in Python gives -0.97018978, 0.19401866,
    // -1.2356208, 1.9239266, -0.073181358, 0.13913721, -1.1066650, 0.32668294.)
    const uint32_t expected[8] = {0xbf785e5c, 0x3e46acd4, 0xbf9e28d2, 0x3ff64339,
                                  0xbd95e01b, 0x3e0e79fc, 0xbf8da733, 0x3ea742fc};
    auto z = stream(42, 0, 8, 1);
    for (int i = 0; i < 8; ++i) CHECK_MSG(bits_of(z[i]) == expected[i], "element %d: %08x (%.9g)", i, bits_of(z[i]), z[i]);
}

TEST(randn_abi_rejects_bad_arguments_with_messages) {
    inkwell_context* ctx = nullptr;
    CHECK(inkwell_context_create(nullptr, &ctx) == INKWELL_OK);
    std::vector<float> out(16);
    inkwell_randn_params p{out.data(), 16, 7, 0};
    CHECK(inkwell_randn_f32(ctx, &p) == INKWELL_OK);
    auto expect = [&](inkwell_randn_params q, const char* fragment) {
        int32_t s = inkwell_randn_f32(ctx, &q);
        const char* msg = inkwell_last_error_message();
        CHECK_MSG(s == INKWELL_INVALID_ARGUMENT && std::strstr(msg, fragment) != nullptr, "status %d, message '%s'", s,
                  msg);
    };
    auto q = p;
    q.out = nullptr;
    expect(q, "randn: out is null");
    q = p;
    q.count = 0;
    expect(q, "count must be 1..2^40, got 0");
    q.count = (int64_t(1) << 40) + 1;
    expect(q, "count must be 1..2^40");
    q = p;
    q.offset = UINT64_MAX - 3;
    expect(q, "exceeds the 2^64 elements");
    CHECK(inkwell_randn_f32(ctx, nullptr) == INKWELL_INVALID_ARGUMENT);
    CHECK(inkwell_randn_f32(nullptr, &p) == INKWELL_INVALID_ARGUMENT);
    inkwell_context_destroy(ctx);
}

// Found by fuzz_randn: the last elements of the stream (offset + count == 2^64) were out of
// reach. The ABI refused the range, and randn_span's end = first + count wrapped to 0 so
// the fast path would have written nothing.
TEST(randn_reaches_the_end_of_the_stream) {
    const uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (int64_t count : {1, 2, 3, 4, 5, 17}) {
        const uint64_t offset = UINT64_MAX - uint64_t(count) + 1;  // offset + count == 2^64
        std::vector<float> ref(count);
        randn_reference(ref.data(), count, seed, offset);
        CHECK(bits_of(ref.back()) == bits_of(randn_block(seed, UINT64_MAX / 4)[3]));
        CHECK_MSG(count_bit_differences(stream(seed, offset, count, 2), ref.data(), count) == 0, "fast, count %lld",
                  (long long)count);

        inkwell_context* ctx = nullptr;
        CHECK(inkwell_context_create(nullptr, &ctx) == INKWELL_OK);
        std::vector<float> out(count + 1, NAN);
        inkwell_randn_params p{out.data(), count, seed, offset};
        CHECK_MSG(inkwell_randn_f32(ctx, &p) == INKWELL_OK, "abi, count %lld: %s", (long long)count,
                  inkwell_last_error_message());
        CHECK(count_bit_differences(out, ref.data(), count) == 0);
        p.count += 1;  // one element past the end
        CHECK(inkwell_randn_f32(ctx, &p) == INKWELL_INVALID_ARGUMENT);
        inkwell_context_destroy(ctx);
    }
}
