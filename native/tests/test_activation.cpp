// inkwell_activation_*: the chunked fast path against the plain reference (bit for bit, any
// thread count, in place), the accuracy of the shared float32 activations against the
// double formulas (the golden tolerance, atol 1e-6 + rtol 2e-6, over a fine grid and huge
// values), values computed independently in Python's float64 math module, the 16-bit
// entries (widen, activate in float32, round once), special values, and the argument checks;
// apply_activation_span's portable, AVX2 and AVX-512 paths against the scalar functions bit
// for bit (random bit patterns, every tail length, in place) and near float's limits.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "cpu/activations.hpp"
#include "cpu/elementwise_cpu.hpp"
#include "element_types.hpp"
#include "inkwell/inkwell.h"
#include "test_util.hpp"

using namespace inkwell;
using namespace inkwell::cpu;

namespace {

const int32_t kActivations[] = {INKWELL_ACTIVATION_SILU, INKWELL_ACTIVATION_GELU, INKWELL_ACTIVATION_GELU_TANH,
                                INKWELL_ACTIVATION_QUICK_GELU, INKWELL_ACTIVATION_RELU};

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Normal values with some NaN, infinities, signed zeros, subnormals and huge values mixed in.
std::vector<float> random_values(std::mt19937& rng, int64_t n) {
    std::normal_distribution<float> normal(0.0f, 4.0f);
    const float special[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e-40f, -1e-40f, 3e38f, -3e38f, 88.7f, -88.7f};
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = rng() % 17 == 0 ? special[rng() % std::size(special)] : normal(rng);
    return v;
}

std::vector<float> reference(const std::vector<float>& in, int32_t a) {
    std::vector<float> out(in.size());
    activation_reference(inkwell_activation_params{in.data(), out.data(), int64_t(in.size()), a});
    return out;
}

// The golden tolerance against the double formula; both NaN counts as equal, as do equal
// infinities.
bool within_golden(float got, double ref) {
    if (std::isnan(ref) || std::isnan(got)) return std::isnan(ref) && std::isnan(got);
    if (std::isinf(ref)) return double(got) == ref;
    return std::fabs(double(got) - ref) <= 1e-6 + 2e-6 * std::fabs(ref);
}

}  // namespace

TEST(activation_fast_matches_reference_bit_for_bit) {
    std::mt19937 rng(5);
    for (int64_t n : {int64_t(1), int64_t(7), int64_t(97), int64_t(257), int64_t(1021), int64_t(65536 + 3), int64_t(200003)})
        for (int32_t a : kActivations) {
            const auto in = random_values(rng, n);
            const auto ref = reference(in, a);
            for (int threads : {1, 3, 4}) {
                ThreadPool pool(threads);
                std::vector<float> out(in.size(), -7.0f);
                activation_fast(pool, inkwell_activation_params{in.data(), out.data(), n, a});
                CHECK_MSG(same_bits(out, ref), "%s n %lld threads %d", activation_name(a), (long long)n, threads);
                std::vector<float> inplace = in;  // output == input
                activation_fast(pool, inkwell_activation_params{inplace.data(), inplace.data(), n, a});
                CHECK_MSG(same_bits(inplace, ref), "%s in place n %lld threads %d", activation_name(a), (long long)n, threads);
            }
        }
}

TEST(apply_activation_meets_the_golden_tolerance_on_a_grid_and_huge_values) {
    std::vector<float> xs;
    for (int i = -20000; i <= 20000; ++i) xs.push_back(float(i) * 1e-3f);  // [-20, 20] step 1e-3
    std::mt19937 rng(11);
    std::uniform_real_distribution<double> exponent(-40.0, 38.5);
    for (int i = 0; i < 20000; ++i) xs.push_back(float((rng() & 1 ? 1 : -1) * std::pow(10.0, exponent(rng))));
    for (int32_t a : kActivations) {
        int bad = 0;
        double worst = 0;
        for (float x : xs) {
            const float got = apply_activation(a, x);
            const double ref = activation_reference(a, double(x));
            if (!within_golden(got, ref) && bad++ < 10)
                std::printf("    %s(%.9g) = %.9g, double %.17g\n", activation_name(a), double(x), double(got), ref);
            if (std::isfinite(ref)) worst = std::max(worst, std::fabs(double(got) - ref) / (1e-6 + 2e-6 * std::fabs(ref)));
        }
        CHECK_MSG(bad == 0, "%s: %d of %zu values outside atol 1e-6 + rtol 2e-6", activation_name(a), bad, xs.size());
        std::printf("  %s: worst error %.3f of the golden tolerance\n", activation_name(a), worst);
    }
}

TEST(activations_match_values_from_python_float64) {
    // math.exp / math.erf / math.tanh in float64 at x = -5, -1.5, -0.25, 0.75, 3.
    const double xs[] = {-5.0, -1.5, -0.25, 0.75, 3.0};
    const double expected[][5] = {
        {-0.033464254621424279, -0.27363828570953452, -0.10945587477855048, 0.50938402438154473, 2.8577223804673002},
        {-1.4332578593401202e-06, -0.10021080190328713, -0.10032341857926907, 0.5800294857173488, 2.9959503059051098},
        {-2.2917961972623857e-07, -0.10042842301976707, -0.100324649298315, 0.57996055516562028, 2.9963626079182268},
        {-0.0010070162673523693, -0.10833780155292341, -0.098800350099805825, 0.58639005753463791, 2.981928690292214},
        {0, 0, 0, 0.75, 3}};
    for (int a = 0; a < 5; ++a)
        for (int i = 0; i < 5; ++i) {
            const float got = apply_activation(kActivations[a], float(xs[i]));
            CHECK_MSG(within_golden(got, expected[a][i]), "%s(%g) = %.9g, python %.17g", activation_name(kActivations[a]),
                      xs[i], double(got), expected[a][i]);
            CHECK(std::fabs(activation_reference(kActivations[a], xs[i]) - expected[a][i]) <= 1e-15);
        }
}

TEST(activation_special_values) {
    CHECK(!std::signbit(relu(-0.0f)) && relu(-0.0f) == 0.0f);  // torch.relu(-0.) is +0
    CHECK(std::isnan(relu(NAN)));
    CHECK(relu(-INFINITY) == 0.0f && relu(INFINITY) == INFINITY);
    CHECK(silu(INFINITY) == INFINITY && gelu(INFINITY) == INFINITY && gelu_tanh(INFINITY) == INFINITY);
    CHECK(quick_gelu(-1e30f) == 0.0f && silu(-200.0f) == 0.0f);  // exp overflows: x / inf
    for (int32_t a : kActivations) CHECK(std::isnan(apply_activation(a, NAN)));
    // relu's AVX2 lanes and scalar tail give the same +0 for -0 and keep NaN.
    std::vector<float> in(19, -0.0f);
    in[3] = NAN;
    in[17] = NAN;
    const auto ref = reference(in, INKWELL_ACTIVATION_RELU);
    ThreadPool pool(1);
    std::vector<float> out(in.size());
    activation_fast(pool, inkwell_activation_params{in.data(), out.data(), int64_t(in.size()), INKWELL_ACTIVATION_RELU});
    CHECK(same_bits(out, ref));
    CHECK(std::isnan(out[3]) && std::isnan(out[17]) && !std::signbit(out[0]) && !std::signbit(out[18]));
}

// Every float class: random bit patterns (all exponents, subnormals, NaN payloads), a fine
// grid, the exp clamp's edges, and the special values.
std::vector<float> span_inputs() {
    std::mt19937 rng(23);
    std::vector<float> v;
    for (int i = 0; i < 200000; ++i) {
        const uint32_t bits = uint32_t(rng());
        float x;
        std::memcpy(&x, &bits, 4);
        v.push_back(x);
    }
    for (int i = -20000; i <= 20000; ++i) v.push_back(float(i) * 1e-3f);
    for (float e : {86.0f, 88.0f, 88.72f, 88.73f, 103.0f, 104.0f}) {
        for (float s : {1.0f, -1.0f, 1.0f / 1.702f, -1.0f / 1.702f}) {
            v.push_back(s * e);
            v.push_back(std::nextafter(s * e, 0.0f));
            v.push_back(std::nextafter(s * e, s * 1e30f));
        }
    }
    for (float x : {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, 1e-45f, -1e-45f, 1.17549435e-38f, 3.4028235e38f,
                    -3.4028235e38f, 12.727922f, -12.727922f, -12.7279225f})
        v.push_back(x);
    return v;
}

TEST(activation_span_paths_give_the_scalar_bits) {
    const std::vector<float> in = span_inputs();
    const ActivationIsa isas[] = {ActivationIsa::kPortable, ActivationIsa::kAvx2, ActivationIsa::kAvx512, ActivationIsa::kAuto};
    for (ActivationIsa isa : isas)
        if (!activation_isa_available(isa)) std::printf("  (isa %d not on this CPU: checked as the portable loop)\n", int(isa));
    for (int32_t a : kActivations) {
        std::vector<float> scalar(in.size());
        for (size_t i = 0; i < in.size(); ++i) scalar[i] = apply_activation(a, in[i]);
        for (ActivationIsa isa : isas) {
            std::vector<float> out(in.size(), -7.0f);
            apply_activation_span(a, in.data(), out.data(), int64_t(in.size()), isa);
            int64_t bad = 0;
            for (size_t i = 0; i < in.size(); ++i)
                if (std::memcmp(&out[i], &scalar[i], 4) != 0 && bad++ < 5)
                    std::printf("    %s isa %d x %a: %a, scalar %a\n", activation_name(a), int(isa), double(in[i]),
                                double(out[i]), double(scalar[i]));
            CHECK_MSG(bad == 0, "%s isa %d: %lld values differ from the scalar function", activation_name(a), int(isa),
                      (long long)bad);
            // Every tail length (masked AVX-512 lanes, the AVX2 scalar tail), at an odd offset, in place.
            for (int64_t n = 1; n <= 40; ++n) {
                std::vector<float> buf(in.begin() + 1000, in.begin() + 1000 + n + 3);
                apply_activation_span(a, buf.data() + 1, buf.data() + 1, n, isa);
                CHECK(std::memcmp(&buf[0], &in[1000], 4) == 0 && std::memcmp(&buf[size_t(n) + 1], &in[1000 + n + 1], 8) == 0);
                CHECK_MSG(std::memcmp(buf.data() + 1, scalar.data() + 1001, size_t(n) * 4) == 0, "%s isa %d n %lld in place",
                          activation_name(a), int(isa), (long long)n);
            }
        }
    }
    std::vector<float> copy(5, 1.0f);  // NONE copies
    apply_activation_span(INKWELL_ACTIVATION_NONE, in.data(), copy.data(), 5);
    CHECK(std::memcmp(copy.data(), in.data(), 20) == 0);
}

TEST(activations_near_float_limits_and_special_values) {
    // +-(1e-30 .. 3e38) in 1/100 decades: the golden tolerance (huge negative x gives -0,
    // never NaN: x / inf), and the sign of the double formula for every zero result.
    std::vector<float> xs;
    for (int i = -3000; i <= 3848; ++i) {
        const float x = float(std::pow(10.0, double(i) / 100.0));
        xs.push_back(x);
        xs.push_back(-x);
    }
    for (int32_t a : kActivations) {
        int bad = 0;
        for (float x : xs) {
            const float got = apply_activation(a, x);
            const double ref = activation_reference(a, double(x));
            const bool ok = within_golden(got, ref) && !std::isnan(got) &&
                            (got != 0.0f || ref != 0.0 || std::signbit(got) == std::signbit(ref));
            if (!ok && bad++ < 5) std::printf("    %s(%.9g) = %.9g, double %.17g\n", activation_name(a), double(x), double(got), ref);
        }
        CHECK_MSG(bad == 0, "%s: %d values near the limits wrong", activation_name(a), bad);
        // -0 stays -0 (-0 / 2, 0.5 (-0) 1), except relu's +0; +inf gives +inf; -inf gives what
        // the double formula gives: NaN (-inf / inf, or -inf * 0 for gelu), relu's 0.
        const float z = apply_activation(a, -0.0f);
        CHECK_MSG(z == 0.0f && std::signbit(z) == (a != INKWELL_ACTIVATION_RELU), "%s(-0) = %g", activation_name(a), double(z));
        CHECK_MSG(apply_activation(a, INFINITY) == INFINITY, "%s(inf)", activation_name(a));
        const float m = apply_activation(a, -INFINITY);
        const double mref = activation_reference(a, -INFINITY);
        CHECK_MSG(std::isnan(m) == std::isnan(mref) && (std::isnan(m) || m == 0.0f), "%s(-inf) = %g, double %g",
                  activation_name(a), double(m), mref);
        CHECK(std::isnan(apply_activation(a, NAN)));
    }
}

TEST(activation_abi_thread_counts_and_16_bit_entries) {
    inkwell_context* one = nullptr;
    inkwell_context* four = nullptr;
    inkwell_context_options o1{INKWELL_DEVICE_CPU, 1, 0}, o4{INKWELL_DEVICE_CPU, 4, 0};
    CHECK(inkwell_context_create(&o1, &one) == INKWELL_OK && inkwell_context_create(&o4, &four) == INKWELL_OK);
    std::mt19937 rng(21);
    const int64_t n = 300007;
    const auto in = random_values(rng, n);
    for (int32_t a : kActivations) {
        std::vector<float> out1(n), out4(n);
        inkwell_activation_params p{in.data(), out1.data(), n, a};
        CHECK(inkwell_activation_f32(one, &p) == INKWELL_OK);
        p.output = out4.data();
        CHECK(inkwell_activation_f32(four, &p) == INKWELL_OK);
        CHECK_MSG(same_bits(out1, out4) && same_bits(out1, reference(in, a)), "%s", activation_name(a));

        for (int32_t type : {INKWELL_ELEMENT_F16, INKWELL_ELEMENT_BF16}) {
            std::vector<uint16_t> bits(n), got(n);
            for (int64_t i = 0; i < n; ++i) bits[i] = type == INKWELL_ELEMENT_F16 ? float_to_f16(in[i]) : float_to_bf16(in[i]);
            inkwell_activation_params h{bits.data(), got.data(), n, a};
            auto entry = type == INKWELL_ELEMENT_F16 ? inkwell_activation_f16 : inkwell_activation_bf16;
            CHECK(entry(four, &h) == INKWELL_OK);
            int64_t bad = 0;
            for (int64_t i = 0; i < n; ++i) {
                const float x = type == INKWELL_ELEMENT_F16 ? f16_to_float(bits[i]) : bf16_to_float(bits[i]);
                const float y = apply_activation(a, x);
                const uint16_t want = type == INKWELL_ELEMENT_F16 ? float_to_f16(y) : float_to_bf16(y);
                const bool nan_both = std::isnan(y) && (type == INKWELL_ELEMENT_F16 ? std::isnan(f16_to_float(got[i]))
                                                                                     : std::isnan(bf16_to_float(got[i])));
                if (got[i] != want && !nan_both) ++bad;
            }
            CHECK_MSG(bad == 0, "%s %s: %lld elements differ from narrow(act(widen(x)))", activation_name(a),
                      element_type_name(type), (long long)bad);
            std::vector<uint16_t> inplace = bits;  // in place on 16-bit elements
            h.input = h.output = inplace.data();
            CHECK(entry(one, &h) == INKWELL_OK);
            CHECK(inplace == got);
        }
    }
    inkwell_context_destroy(one);
    inkwell_context_destroy(four);
}

TEST(activation_abi_rejects_bad_arguments_with_messages) {
    inkwell_context* ctx = nullptr;
    CHECK(inkwell_context_create(nullptr, &ctx) == INKWELL_OK);
    std::vector<float> in(64, 1.0f), out(64, -7.0f);
    const inkwell_activation_params good{in.data(), out.data(), 64, INKWELL_ACTIVATION_GELU};
    CHECK(inkwell_activation_f32(ctx, &good) == INKWELL_OK);
    std::fill(out.begin(), out.end(), -7.0f);
    auto expect = [&](auto entry, const inkwell_activation_params& q, const char* fragment) {
        const int32_t s = entry(ctx, &q);
        const char* msg = inkwell_last_error_message();
        CHECK_MSG(s == INKWELL_INVALID_ARGUMENT && std::strstr(msg, fragment) != nullptr,
                  "status %d, message '%s', wanted '%s'", s, msg, fragment);
        CHECK(std::all_of(out.begin(), out.end(), [](float v) { return v == -7.0f; }));  // nothing written
    };
    auto q = good;
    q.activation = INKWELL_ACTIVATION_NONE;
    expect(inkwell_activation_f32, q, "activation: activation must be 1..5 (SILU, GELU, GELU_TANH, QUICK_GELU, RELU), got 0");
    q.activation = 6;
    expect(inkwell_activation_f16, q, "got 6");
    q.activation = -1;
    expect(inkwell_activation_bf16, q, "got -1");
    q = good;
    q.input = nullptr;
    expect(inkwell_activation_f32, q, "activation: input is null");
    q = good;
    q.output = nullptr;
    expect(inkwell_activation_f32, q, "activation: output is null");
    q = good;
    q.count = 0;
    expect(inkwell_activation_f32, q, "activation: count must be 1..2^40, got 0");
    q.count = -5;
    expect(inkwell_activation_f16, q, "count must be 1..2^40, got -5");
    q.count = (int64_t(1) << 40) + 1;
    expect(inkwell_activation_f32, q, "count must be 1..2^40, got 1099511627777");
    q = good;
    q.output = in.data() + 1;  // overlaps, not in place
    expect(inkwell_activation_f32, q, "activation: output overlaps input (only output == input, in place, is allowed)");
    q.count = 2;
    q.output = reinterpret_cast<uint16_t*>(in.data()) + 1;  // two 16-bit elements, shifted by one
    expect(inkwell_activation_f16, q, "output overlaps input");
    q = good;
    q.count = 2;
    q.output = reinterpret_cast<uint16_t*>(in.data()) + 2;  // 16-bit: adjacent, no overlap
    CHECK(inkwell_activation_bf16(ctx, &q) == INKWELL_OK);
    CHECK(inkwell_activation_f32(ctx, nullptr) == INKWELL_INVALID_ARGUMENT);
    CHECK(std::strstr(inkwell_last_error_message(), "activation: params is null") != nullptr);
    CHECK(inkwell_activation_f32(nullptr, &good) == INKWELL_INVALID_ARGUMENT);
    inkwell_context_destroy(ctx);
}
