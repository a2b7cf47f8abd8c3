// Linear and GEGLU: the fast paths (every micro-kernel this CPU has, the portable one forced
// too) against an independent double reference on odd shapes (sizes 1, 7, 17, 97, 257, 1021,
// K = 1, N = 1, M = 1, several K blocks, several column passes, few rows split by columns),
// every activation, with and without bias, within a derived float32 error bound;
// exactness on small integers; bit-identity for any thread count and between the two SIMD
// kernels; the fusions against their unfused forms bit for bit; NaN, infinities and huge
// values; the 16-bit entries; the C ABI's argument checks.
//
// The bound (Higham, Accuracy and Stability, 3.1): any float32 evaluation of
// sum_k x_k w_k + b, in any order, with or without FMA, errs by at most gamma(K + 1) S with
// S = sum_k |x_k w_k| + |b|. An activation then adds at most L times that (L = 1.13 bounds
// |act'| for every activation: GELU's is 1.129) plus its own float evaluation error, taken
// as 8u (|pre| + |act(pre)|): expf/erff/tanhf within 2 ulp and a few roundings, where the
// absolute term covers 1 + erf (or 1 + tanh) cancelling for negative inputs. GEGLU's
// a * gelu(gate) combines the two bounds (product rule) plus one rounding.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "cpu/activations.hpp"
#include "cpu/linear_cpu.hpp"
#include "element_types.hpp"
#include "inkwell/inkwell.h"
#include "reference16.hpp"
#include "test_util.hpp"

using namespace inkwell;
using namespace inkwell::cpu;

namespace {

constexpr double kU = 1.0 / (1 << 24);  // unit roundoff of float32
constexpr double kLipschitz = 1.13;

double gamma(double n) { return n * kU / (1 - n * kU); }

const int32_t kActivations[] = {INKWELL_ACTIVATION_NONE,      INKWELL_ACTIVATION_SILU,
                                INKWELL_ACTIVATION_GELU,      INKWELL_ACTIVATION_GELU_TANH,
                                INKWELL_ACTIVATION_QUICK_GELU, INKWELL_ACTIVATION_RELU};

std::vector<LinearIsa> available_isas() {
    std::vector<LinearIsa> isas{LinearIsa::kAuto, LinearIsa::kPortable};
    if (linear_isa_available(LinearIsa::kAvx2)) isas.push_back(LinearIsa::kAvx2);
    if (linear_isa_available(LinearIsa::kAvx512)) isas.push_back(LinearIsa::kAvx512);
    return isas;
}

const char* isa_name(LinearIsa isa) {
    switch (isa) {
        case LinearIsa::kPortable: return "portable";
        case LinearIsa::kAvx2: return "avx2";
        case LinearIsa::kAvx512: return "avx512";
        default: return "auto";
    }
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Per output: the value in double and a bound on |float32 fast path - value|.
struct Exact {
    std::vector<double> value, delta;
};

struct Sum {
    double value, delta;
};

// Row m of x times weight row n, plus bias[n]: the sum in double (the order of
// linear_reference, so that float(value) is its output) and the gamma(K + 1) S bound.
Sum exact_sum(const float* x, const float* w, const float* bias, int64_t k_len, int64_t m, int64_t n) {
    double sum = 0, magnitude = 0;
    for (int64_t k = 0; k < k_len; ++k) {
        const double t = double(x[m * k_len + k]) * w[n * k_len + k];
        sum += t;
        magnitude += std::fabs(t);
    }
    if (bias != nullptr) {
        sum += bias[n];
        magnitude += std::fabs(double(bias[n]));
    }
    // The double sum itself errs by ~K 2^-53 S: covered by the 2^-40 S margin.
    return {sum, gamma(double(k_len + 1)) * magnitude + std::ldexp(magnitude, -40) + 1e-30};
}

Sum activate(int32_t a, Sum s) {
    if (a == INKWELL_ACTIVATION_NONE) return s;
    const double v = activation_reference(a, s.value);
    return {v, kLipschitz * s.delta + 8 * kU * (std::fabs(s.value) + std::fabs(v))};
}

Exact linear_exact(const inkwell_linear_params& p) {
    const auto* x = static_cast<const float*>(p.input);
    const auto* w = static_cast<const float*>(p.weight);
    const auto* b = static_cast<const float*>(p.bias);
    Exact e;
    for (int64_t m = 0; m < p.rows; ++m)
        for (int64_t n = 0; n < p.out_features; ++n) {
            const Sum s = activate(p.activation, exact_sum(x, w, b, p.in_features, m, n));
            e.value.push_back(s.value);
            e.delta.push_back(s.delta);
        }
    return e;
}

// y = a g with g = gelu(gate): |dy| <= |da| (|g| + |dg|) + (|a| + |da|) |dg| + u |y|.
Exact geglu_exact(const inkwell_geglu_params& p) {
    const auto* x = static_cast<const float*>(p.input);
    const auto* w = static_cast<const float*>(p.weight);
    const auto* b = static_cast<const float*>(p.bias);
    Exact e;
    for (int64_t m = 0; m < p.rows; ++m)
        for (int64_t j = 0; j < p.inner_dim; ++j) {
            const Sum a = exact_sum(x, w, b, p.in_features, m, j);
            const Sum g = activate(INKWELL_ACTIVATION_GELU, exact_sum(x, w, b, p.in_features, m, p.inner_dim + j));
            const double y = a.value * g.value;
            e.value.push_back(y);
            e.delta.push_back(a.delta * (std::fabs(g.value) + g.delta) + (std::fabs(a.value) + a.delta) * g.delta +
                              kU * std::fabs(y));
        }
    return e;
}

// Outputs outside value +- delta (a NaN value must give NaN, an infinite one the same
// infinity); prints the first five.
int count_outside(const std::vector<float>& got, const Exact& e, const std::string& what) {
    int bad = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        const double r = e.value[i];
        bool ok;
        if (std::isnan(r)) ok = std::isnan(got[i]);
        else if (std::isinf(r)) ok = double(got[i]) == r;
        else ok = std::fabs(double(got[i]) - r) <= e.delta[i];
        if (!ok && ++bad <= 5)
            std::printf("  %s: output %zu is %.9g, reference %.9g, bound %.3g\n", what.c_str(), i, got[i], r, e.delta[i]);
    }
    return bad;
}

std::vector<float> uniform(std::mt19937& rng, int64_t n, float lo = -1.0f, float hi = 1.0f) {
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(static_cast<size_t>(n));
    for (float& e : v) e = d(rng);
    return v;
}

std::vector<float> small_integers(std::mt19937& rng, int64_t n) {
    std::uniform_int_distribution<int> d(-2, 2);
    std::vector<float> v(static_cast<size_t>(n));
    for (float& e : v) e = float(d(rng));
    return v;
}

// ---- linear problems -------------------------------------------------------------------

struct LinearCase {
    int64_t m, k, n;
    int32_t activation;
    bool bias;
};

std::string name_of(const LinearCase& c) {
    char s[120];
    std::snprintf(s, sizeof s, "linear [%lld,%lld]->%lld %s%s", (long long)c.m, (long long)c.k, (long long)c.n,
                  activation_name(c.activation), c.bias ? "" : " no-bias");
    return s;
}

struct LinearProblem {
    LinearCase c;
    std::vector<float> x, w, b;
    LinearProblem(const LinearCase& lc, std::vector<float> xs, std::vector<float> ws, std::vector<float> bs)
        : c(lc), x(std::move(xs)), w(std::move(ws)), b(std::move(bs)) {}
    LinearProblem(const LinearCase& lc, std::mt19937& rng)
        : LinearProblem(lc, uniform(rng, lc.m * lc.k), uniform(rng, lc.n * lc.k), uniform(rng, lc.n)) {}
    inkwell_linear_params params(float* out) const {
        return {x.data(), w.data(), c.bias ? b.data() : nullptr, out, c.m, c.k, c.n, c.activation};
    }
    std::vector<float> fast(int threads, LinearIsa isa, int32_t activation) const {
        std::vector<float> y(size_t(c.m * c.n), std::numeric_limits<float>::quiet_NaN());
        ThreadPool pool(threads);
        inkwell_linear_params p = params(y.data());
        p.activation = activation;
        linear_fast(pool, p, isa);
        return y;
    }
    std::vector<float> fast(int threads, LinearIsa isa) const { return fast(threads, isa, c.activation); }
};

// Odd sizes around the blocking: K blocks of 256 (K 257, 300, 1021), row panels of 6 and 12,
// column panels of 16 and 32, passes of 1024 scratch columns (N 1025), few rows split by
// columns (M 1, 2, 7).
const LinearCase kLinearCases[] = {
    {1, 1, 1, INKWELL_ACTIVATION_NONE, true},
    {1, 7, 17, INKWELL_ACTIVATION_SILU, true},
    {7, 1, 17, INKWELL_ACTIVATION_GELU, false},      // K = 1
    {17, 97, 1, INKWELL_ACTIVATION_GELU_TANH, true},  // N = 1
    {97, 17, 7, INKWELL_ACTIVATION_QUICK_GELU, true},
    {257, 97, 17, INKWELL_ACTIVATION_RELU, false},
    {13, 257, 97, INKWELL_ACTIVATION_NONE, true},  // two K blocks, one of them 129 long
    {1, 1021, 33, INKWELL_ACTIVATION_GELU, true},  // M = 1, four K blocks
    {31, 1021, 7, INKWELL_ACTIVATION_NONE, false},
    {100, 300, 70, INKWELL_ACTIVATION_SILU, true},
    {203, 64, 1025, INKWELL_ACTIVATION_NONE, true},  // two passes of scratch columns
    {400, 40, 50, INKWELL_ACTIVATION_GELU_TANH, true},
    {2, 320, 1280, INKWELL_ACTIVATION_SILU, true},  // SD's time MLP: 2 rows, split by columns
    {154, 768, 40, INKWELL_ACTIVATION_NONE, false},  // SD's text-key rows and K
    {1021, 33, 97, INKWELL_ACTIVATION_RELU, true},
};

// ---- GEGLU problems --------------------------------------------------------------------

struct GegluCase {
    int64_t m, k, inner;
    bool bias;
};

std::string name_of(const GegluCase& c) {
    char s[120];
    std::snprintf(s, sizeof s, "geglu [%lld,%lld]->2x%lld%s", (long long)c.m, (long long)c.k, (long long)c.inner,
                  c.bias ? "" : " no-bias");
    return s;
}

struct GegluProblem {
    GegluCase c;
    std::vector<float> x, w, b;
    GegluProblem(const GegluCase& gc, std::mt19937& rng)
        : c(gc), x(uniform(rng, gc.m * gc.k)), w(uniform(rng, 2 * gc.inner * gc.k)), b(uniform(rng, 2 * gc.inner)) {}
    inkwell_geglu_params params(float* out) const {
        return {x.data(), w.data(), c.bias ? b.data() : nullptr, out, c.m, c.k, c.inner};
    }
    std::vector<float> fast(int threads, LinearIsa isa) const {
        std::vector<float> y(size_t(c.m * c.inner), std::numeric_limits<float>::quiet_NaN());
        ThreadPool pool(threads);
        geglu_fast(pool, params(y.data()), isa);
        return y;
    }
};

const GegluCase kGegluCases[] = {
    {1, 1, 1, true},    {2, 24, 10, true},  // diffusers-like tiny case
    {17, 97, 33, true}, {97, 17, 7, false}, {13, 300, 513, true},  // inner 513: two passes, a partial group
    {3, 1021, 40, true}, {12, 320, 1280, true},                    // SD's feed-forward
    {130, 7, 16, false},
};

// Runs `fast(threads, isa)` for every ISA and thread count: the first result of each ISA
// against the bound, the others bit-identical to it.
template <class Problem, class Case>
void check_all_isas(const Problem& pr, const Case& c, const Exact& exact, const std::vector<float>& reference) {
    // The library's reference is the test's double sum rounded once.
    int not_rounded = 0;
    for (size_t i = 0; i < reference.size(); ++i)
        not_rounded += !(float(exact.value[i]) == reference[i] || (std::isnan(exact.value[i]) && std::isnan(reference[i])));
    CHECK_MSG(not_rounded == 0, "%s: %d reference outputs are not the double value rounded", name_of(c).c_str(),
              not_rounded);
    for (LinearIsa isa : available_isas()) {
        const std::string what = name_of(c) + " " + isa_name(isa);
        const std::vector<float> first = pr.fast(1, isa);
        CHECK_MSG(count_outside(first, exact, what) == 0, "%s: outside the float32 bound", what.c_str());
        for (int threads : {2, 3, 4})
            CHECK_MSG(same_bits(first, pr.fast(threads, isa)), "%s: threads=%d differs from threads=1", what.c_str(),
                      threads);
    }
}

}  // namespace

TEST(linear_fast_matches_reference_on_odd_shapes_every_kernel_and_thread_count) {
    std::mt19937 rng(2025);
    for (const LinearCase& c : kLinearCases) {
        const LinearProblem pr(c, rng);
        std::vector<float> ref(size_t(c.m * c.n));
        linear_reference(pr.params(ref.data()));
        check_all_isas(pr, c, linear_exact(pr.params(ref.data())), ref);
    }
}

TEST(linear_fast_matches_reference_for_every_activation_with_and_without_bias) {
    std::mt19937 rng(77);
    for (int32_t a : kActivations)
        for (bool bias : {true, false}) {
            const LinearCase c{37, 75, 45, a, bias};
            // Inputs up to 4 so that the activations see their whole range, tails included.
            const LinearProblem pr(c, uniform(rng, c.m * c.k, -2, 2), uniform(rng, c.n * c.k, -0.5f, 0.5f),
                                   uniform(rng, c.n, -4, 4));
            std::vector<float> ref(size_t(c.m * c.n));
            linear_reference(pr.params(ref.data()));
            check_all_isas(pr, c, linear_exact(pr.params(ref.data())), ref);
        }
}

TEST(geglu_fast_matches_reference_on_odd_shapes_every_kernel_and_thread_count) {
    std::mt19937 rng(4242);
    for (const GegluCase& c : kGegluCases) {
        const GegluProblem pr(c, rng);
        std::vector<float> ref(size_t(c.m * c.inner));
        geglu_reference(pr.params(ref.data()));
        check_all_isas(pr, c, geglu_exact(pr.params(ref.data())), ref);
    }
}

TEST(linear_is_exact_on_small_integers) {
    // Integers of at most 2 keep every partial sum exact in float (|sum| <= 4 K + 2 < 2^24),
    // so any summation order must give the reference bit for bit.
    std::mt19937 rng(99);
    for (const LinearCase& base : kLinearCases)
        for (int32_t a : {INKWELL_ACTIVATION_NONE, INKWELL_ACTIVATION_RELU}) {
            if (base.m * base.k * base.n > 2'000'000) continue;  // the others are here for the blocking
            LinearCase c = base;
            c.activation = a;
            const LinearProblem pr(c, small_integers(rng, c.m * c.k), small_integers(rng, c.n * c.k),
                                   small_integers(rng, c.n));
            std::vector<float> ref(size_t(c.m * c.n));
            linear_reference(pr.params(ref.data()));
            for (LinearIsa isa : available_isas())
                CHECK_MSG(same_bits(pr.fast(3, isa), ref), "%s %s", name_of(c).c_str(), isa_name(isa));
        }
}

TEST(fused_activation_and_geglu_equal_their_unfused_forms_bit_for_bit) {
    // The epilogue adds the bias and applies the shared float activation to the finished
    // sum: so linear + activation is activation(linear) element by element, and GEGLU is
    // a * geglu_gelu(gate) of the plain linear over all 2 inner outputs (its vector
    // epilogue included).
    std::mt19937 rng(8);
    for (LinearIsa isa : available_isas()) {
        for (int32_t a : kActivations) {
            const LinearProblem pr(LinearCase{29, 300, 41, a, true}, rng);
            const std::vector<float> fused = pr.fast(2, isa);
            std::vector<float> plain = pr.fast(2, isa, INKWELL_ACTIVATION_NONE);
            for (float& v : plain) v = apply_activation(a, v);
            CHECK_MSG(same_bits(fused, plain), "%s %s", activation_name(a), isa_name(isa));
        }
        for (const GegluCase& c : {GegluCase{29, 300, 41, true}, GegluCase{5, 33, 70, false}}) {
            const GegluProblem pr(c, rng);
            const std::vector<float> fused = pr.fast(2, isa);
            const LinearProblem whole(LinearCase{c.m, c.k, 2 * c.inner, INKWELL_ACTIVATION_NONE, c.bias}, pr.x, pr.w, pr.b);
            const std::vector<float> h = whole.fast(2, isa);
            std::vector<float> unfused(fused.size());
            for (int64_t m = 0; m < c.m; ++m)
                for (int64_t j = 0; j < c.inner; ++j)
                    unfused[size_t(m * c.inner + j)] =
                        h[size_t(m * 2 * c.inner + j)] * geglu_gelu(h[size_t(m * 2 * c.inner + c.inner + j)]);
            CHECK_MSG(same_bits(fused, unfused), "%s %s", name_of(c).c_str(), isa_name(isa));
        }
    }
}

TEST(geglu_gelu_is_accurate_and_every_epilogue_gives_its_bits) {
    // Through the whole kernel: one row x = 1, K = 1, the a half of W zero with bias 1 and
    // the gate half holding the values, so y[j] = 1 * gelu(v[j]) exactly, computed by the
    // vector epilogue (runs of 8) and its scalar tail.
    std::vector<float> values;
    for (double v = -14; v <= 14; v += 1.0 / 512) values.push_back(float(v));
    for (float v : {0.0f, -0.0f, 1e-40f, -1e-40f, 1e-30f, 3e38f, -3e38f, 1e20f, -1e20f, INFINITY, -INFINITY, NAN})
        values.push_back(v);
    const int64_t inner = int64_t(values.size());
    std::vector<float> x{1.0f}, w(size_t(2 * inner), 0.0f), b(size_t(2 * inner), 0.0f);
    std::copy(values.begin(), values.end(), w.begin() + inner);
    std::fill(b.begin(), b.begin() + inner, 1.0f);
    int worst_at = -1;
    double worst = 0;
    for (int64_t j = 0; j < inner; ++j) {
        // The error bound the tests use for an activation's own float error: 8u (|x| + |gelu|).
        const double v = values[size_t(j)], ref = activation_reference(INKWELL_ACTIVATION_GELU, v);
        const float got = geglu_gelu(values[size_t(j)]);
        if (std::isnan(ref) || std::isinf(ref)) {
            CHECK_MSG(std::isnan(ref) ? std::isnan(got) : double(got) == ref, "gelu(%g) = %g, want %g", v, got, ref);
            continue;
        }
        const double err = std::fabs(double(got) - ref) / (kU * (std::fabs(v) + std::fabs(ref)) + 1e-45);
        if (err > worst) worst = err, worst_at = int(j);
    }
    std::printf("  largest error %.2f u (|x| + |gelu(x)|) at x = %g\n", worst, worst_at >= 0 ? values[size_t(worst_at)] : 0.0f);
    CHECK(worst <= 4);
    for (LinearIsa isa : available_isas()) {
        std::vector<float> y(static_cast<size_t>(inner));
        ThreadPool pool(2);
        geglu_fast(pool, inkwell_geglu_params{x.data(), w.data(), b.data(), y.data(), 1, 1, inner}, isa);
        int differ = 0;
        for (int64_t j = 0; j < inner; ++j) {
            const float want = geglu_gelu(values[size_t(j)] + 0.0f);  // the sum starts at +0: -0 arrives as +0
            differ += std::memcmp(&want, &y[size_t(j)], 4) != 0 && !(std::isnan(want) && std::isnan(y[size_t(j)]));
        }
        CHECK_MSG(differ == 0, "%s: %d outputs differ from geglu_gelu", isa_name(isa), differ);
    }
}

TEST(simd_kernels_agree_bit_for_bit) {
    // AVX2 (6 x 16) and AVX-512 (12 x 32) tiles run the same chain of FMAs per output over the
    // same K blocks. Only checkable where the CPU has both.
    if (!linear_isa_available(LinearIsa::kAvx2) || !linear_isa_available(LinearIsa::kAvx512)) {
        std::printf("  (no AVX-512 here: nothing to compare)\n");
        return;
    }
    std::mt19937 rng(31);
    for (const LinearCase& c : kLinearCases) {
        const LinearProblem pr(c, rng);
        CHECK_MSG(same_bits(pr.fast(2, LinearIsa::kAvx2), pr.fast(2, LinearIsa::kAvx512)), "%s", name_of(c).c_str());
    }
    for (const GegluCase& c : kGegluCases) {
        const GegluProblem pr(c, rng);
        CHECK_MSG(same_bits(pr.fast(2, LinearIsa::kAvx2), pr.fast(2, LinearIsa::kAvx512)), "%s", name_of(c).c_str());
    }
}

TEST(large_shapes_are_identical_for_any_thread_count) {
    std::mt19937 rng(5);
    const LinearProblem lin(LinearCase{400, 320, 640, INKWELL_ACTIVATION_GELU, true}, rng);
    const GegluProblem geg(GegluCase{150, 320, 1280, true}, rng);
    const std::vector<float> lin1 = lin.fast(1, LinearIsa::kAuto), geg1 = geg.fast(1, LinearIsa::kAuto);
    for (int threads : {2, 4, 16}) {
        CHECK_MSG(same_bits(lin1, lin.fast(threads, LinearIsa::kAuto)), "linear threads=%d", threads);
        CHECK_MSG(same_bits(geg1, geg.fast(threads, LinearIsa::kAuto)), "geglu threads=%d", threads);
    }
}

TEST(nan_infinity_and_huge_values_propagate_as_in_the_reference) {
    // A NaN in a row of x makes that row NaN; an infinity gives the infinity where it meets
    // only finite terms and NaN where it meets the opposite one (or a zero weight); a NaN
    // bias makes its column NaN. Huge finite values (products near 1e37) stay within the
    // bound. Either way the double reference classifies each output the same.
    std::mt19937 rng(13);
    const LinearCase base{23, 41, 37, INKWELL_ACTIVATION_NONE, true};
    for (int32_t a : kActivations) {
        LinearCase c = base;
        c.activation = a;
        LinearProblem pr(c, rng);
        pr.x[size_t(3 * c.k + 5)] = NAN;
        pr.x[size_t(7 * c.k + 2)] = INFINITY;
        pr.x[size_t(8 * c.k + 9)] = -INFINITY;
        pr.w[size_t(11 * c.k + 2)] = 0.0f;  // inf * 0 in row 7, column 11
        pr.w[size_t(20 * c.k + 9)] = INFINITY;
        pr.b[size_t(30)] = NAN;
        for (int64_t k = 0; k < c.k; ++k) pr.x[size_t(15 * c.k + k)] *= 1e34f;  // row 15: huge
        for (int64_t k = 0; k < c.k; ++k) pr.w[size_t(25 * c.k + k)] *= 1e2f;
        std::vector<float> ref(size_t(c.m * c.n));
        linear_reference(pr.params(ref.data()));
        check_all_isas(pr, c, linear_exact(pr.params(ref.data())), ref);
        std::vector<float> got = pr.fast(2, LinearIsa::kAuto);
        CHECK(std::isnan(got[size_t(3 * c.n + 0)]) && std::isnan(got[size_t(0 * c.n + 30)]));
        CHECK(std::isnan(got[size_t(7 * c.n + 11)]));
    }
    GegluProblem g(GegluCase{9, 20, 13, true}, rng);
    g.x[size_t(2 * 20 + 4)] = NAN;
    g.w[size_t(15 * 20 + 3)] = INFINITY;  // gate of column 2
    std::vector<float> ref(size_t(9 * 13));
    geglu_reference(g.params(ref.data()));
    check_all_isas(g, g.c, geglu_exact(g.params(ref.data())), ref);
}

// ---- the ABI: f32, f16, bf16 -------------------------------------------------------------

namespace {

inkwell_context* cpu_context(int32_t threads) {
    inkwell_context_options o{INKWELL_DEVICE_CPU, threads, 0};
    inkwell_context* ctx = nullptr;
    return inkwell_context_create(&o, &ctx) == INKWELL_OK ? ctx : nullptr;
}

uint16_t narrow16(int32_t type, float f) { return type == INKWELL_ELEMENT_F16 ? float_to_f16(f) : float_to_bf16(f); }
float widen16(int32_t type, uint16_t h) { return type == INKWELL_ELEMENT_F16 ? f16_to_float(h) : bf16_to_float(h); }

int32_t linear_entry(int32_t type, inkwell_context* ctx, const inkwell_linear_params* p) {
    if (type == INKWELL_ELEMENT_F16) return inkwell_linear_f16(ctx, p);
    if (type == INKWELL_ELEMENT_BF16) return inkwell_linear_bf16(ctx, p);
    return inkwell_linear_f32(ctx, p);
}

int32_t geglu_entry(int32_t type, inkwell_context* ctx, const inkwell_geglu_params* p) {
    if (type == INKWELL_ELEMENT_F16) return inkwell_geglu_f16(ctx, p);
    if (type == INKWELL_ELEMENT_BF16) return inkwell_geglu_bf16(ctx, p);
    return inkwell_geglu_f32(ctx, p);
}

// Tensors rounded to a 16-bit type, and their exact widenings.
struct Halves {
    std::vector<uint16_t> h;
    std::vector<float> f;
    Halves(int32_t type, const std::vector<float>& values) {
        for (float v : values) {
            h.push_back(narrow16(type, v));
            f.push_back(widen16(type, h.back()));
        }
    }
};

struct Tally {
    int64_t exact = 0, one_ulp = 0, cancellation = 0, failed = 0;
};

// 1 and 4 threads give the same bits; the result is narrow(the f32 entry on the widened
// tensors) bit for bit; each output is within 1 ulp of the double reference rounded once,
// or (cancellation, refused when strict) within the float32 bound.
void check16(int32_t type, const std::vector<uint16_t>& got, const std::vector<uint16_t>& single,
             const std::vector<float>& f32, const Exact& exact, bool strict, const std::string& what, Tally& tally) {
    CHECK_MSG(got == single, "%s: 1 and 4 threads differ", what.c_str());
    int differ = 0, bad = 0;
    const inkwell_ref::Format& f = inkwell_ref::format_of(type);
    for (size_t i = 0; i < got.size(); ++i) {
        differ += narrow16(type, f32[i]) != got[i];
        auto v = inkwell_ref::check16(got[i], exact.value[i], exact.delta[i], f);
        if (strict && v == inkwell_ref::Verdict::cancellation) v = inkwell_ref::Verdict::fail;
        if (v == inkwell_ref::Verdict::exact) ++tally.exact;
        if (v == inkwell_ref::Verdict::one_ulp) ++tally.one_ulp;
        if (v == inkwell_ref::Verdict::cancellation) ++tally.cancellation;
        if (v == inkwell_ref::Verdict::fail) {
            ++tally.failed;
            if (++bad <= 5)
                std::printf("  %s: output %zu is 0x%04x, reference %.9g (0x%04x), bound %.3g\n", what.c_str(), i, got[i],
                            exact.value[i], inkwell_ref::narrow_ref(exact.value[i], f), exact.delta[i]);
        }
    }
    CHECK_MSG(differ == 0, "%s: %d outputs differ from narrow(f32 entry)", what.c_str(), differ);
    CHECK_MSG(bad == 0, "%s: %d outputs outside the bound", what.c_str(), bad);
}

}  // namespace

TEST(sixteen_bit_entries_are_the_f32_entry_narrowed_and_within_1_ulp_or_the_bound) {
    inkwell_context* one = cpu_context(1);
    inkwell_context* four = cpu_context(4);
    CHECK(one != nullptr && four != nullptr);
    std::mt19937 rng(1616);
    for (int32_t type : {INKWELL_ELEMENT_F16, INKWELL_ELEMENT_BF16})
        for (bool positive : {false, true}) {
            // positive: entries in [1/4, 1], no cancellation, so 1 ulp must hold everywhere.
            const float lo = positive ? 0.25f : -1.0f;
            Tally tally;
            for (LinearCase c : {LinearCase{17, 97, 33, INKWELL_ACTIVATION_NONE, true},
                                 LinearCase{7, 300, 20, INKWELL_ACTIVATION_GELU, false},
                                 LinearCase{40, 64, 70, INKWELL_ACTIVATION_SILU, true}, LinearCase{1, 1, 1, INKWELL_ACTIVATION_RELU, true}}) {
                const std::string what = name_of(c) + " " + inkwell_ref::format_of(type).name + (positive ? " positive" : "");
                const Halves x(type, uniform(rng, c.m * c.k, lo)), w(type, uniform(rng, c.n * c.k, lo)),
                    b(type, uniform(rng, c.n, lo));
                std::vector<uint16_t> y(size_t(c.m * c.n), 0xffff), single(y.size(), 0xffff);
                inkwell_linear_params p{x.h.data(), w.h.data(), c.bias ? b.h.data() : nullptr, y.data(), c.m, c.k, c.n,
                                        c.activation};
                CHECK_MSG(linear_entry(type, four, &p) == INKWELL_OK, "%s", inkwell_last_error_message());
                p.output = single.data();
                CHECK(linear_entry(type, one, &p) == INKWELL_OK);
                std::vector<float> f32(y.size());
                const inkwell_linear_params fp{x.f.data(), w.f.data(), c.bias ? b.f.data() : nullptr, f32.data(),
                                               c.m,        c.k,        c.n,                          c.activation};
                CHECK(inkwell_linear_f32(four, &fp) == INKWELL_OK);
                check16(type, y, single, f32, linear_exact(fp), positive, what, tally);
            }
            for (GegluCase c : {GegluCase{9, 97, 33, true}, GegluCase{3, 300, 40, false}}) {
                const std::string what = name_of(c) + " " + inkwell_ref::format_of(type).name + (positive ? " positive" : "");
                const Halves x(type, uniform(rng, c.m * c.k, lo)), w(type, uniform(rng, 2 * c.inner * c.k, lo)),
                    b(type, uniform(rng, 2 * c.inner, lo));
                std::vector<uint16_t> y(size_t(c.m * c.inner), 0xffff), single(y.size(), 0xffff);
                inkwell_geglu_params p{x.h.data(), w.h.data(), c.bias ? b.h.data() : nullptr, y.data(), c.m, c.k, c.inner};
                CHECK_MSG(geglu_entry(type, four, &p) == INKWELL_OK, "%s", inkwell_last_error_message());
                p.output = single.data();
                CHECK(geglu_entry(type, one, &p) == INKWELL_OK);
                std::vector<float> f32(y.size());
                const inkwell_geglu_params fp{x.f.data(), w.f.data(), c.bias ? b.f.data() : nullptr, f32.data(),
                                              c.m,        c.k,        c.inner};
                CHECK(inkwell_geglu_f32(four, &fp) == INKWELL_OK);
                check16(type, y, single, f32, geglu_exact(fp), positive, what, tally);
            }
            std::printf("  %s%s: %lld exact, %lld 1 ulp, %lld within the float32 bound (cancellation)\n",
                        inkwell_ref::format_of(type).name, positive ? " positive" : "", (long long)tally.exact,
                        (long long)tally.one_ulp, (long long)tally.cancellation);
        }
    inkwell_context_destroy(one);
    inkwell_context_destroy(four);
}

TEST(f32_entries_run_the_fast_path) {
    inkwell_context* ctx = cpu_context(3);
    CHECK(ctx != nullptr);
    std::mt19937 rng(3);
    const LinearProblem lin(LinearCase{50, 70, 90, INKWELL_ACTIVATION_QUICK_GELU, true}, rng);
    std::vector<float> y(50 * 90);
    const inkwell_linear_params lp = lin.params(y.data());
    CHECK(inkwell_linear_f32(ctx, &lp) == INKWELL_OK);
    CHECK(same_bits(y, lin.fast(1, LinearIsa::kAuto)));
    const GegluProblem geg(GegluCase{50, 70, 45, true}, rng);
    std::vector<float> g(50 * 45);
    const inkwell_geglu_params gp = geg.params(g.data());
    CHECK(inkwell_geglu_f32(ctx, &gp) == INKWELL_OK);
    CHECK(same_bits(g, geg.fast(1, LinearIsa::kAuto)));
    inkwell_context_destroy(ctx);
}

TEST(abi_rejects_bad_arguments_with_messages_and_writes_nothing) {
    inkwell_context* ctx = cpu_context(2);
    CHECK(ctx != nullptr);
    const int64_t big = int64_t(1) << 21;  // big * big = 2^42 elements
    for (int32_t type : {INKWELL_ELEMENT_F32, INKWELL_ELEMENT_F16, INKWELL_ELEMENT_BF16}) {
        const int64_t e = element_size(type);
        // Byte buffers of the element type: x [3, 4], W [10, 4] (also GEGLU's 2 x 5), b [10].
        std::vector<uint8_t> x(size_t(12 * e), 0), w(size_t(40 * e), 0), b(size_t(10 * e), 0), y(size_t(30 * e), 0xAB);
        const std::vector<uint8_t> y_before = y;
        const inkwell_linear_params good{x.data(), w.data(), b.data(), y.data(), 3, 4, 10, INKWELL_ACTIVATION_NONE};
        CHECK(linear_entry(type, ctx, &good) == INKWELL_OK);
        const inkwell_geglu_params good_g{x.data(), w.data(), b.data(), y.data(), 3, 4, 5};
        CHECK(geglu_entry(type, ctx, &good_g) == INKWELL_OK);
        std::fill(y.begin(), y.end(), uint8_t(0xAB));

        auto expect = [&](int32_t status, const char* fragment) {
            const char* msg = inkwell_last_error_message();
            CHECK_MSG(status == INKWELL_INVALID_ARGUMENT && std::strstr(msg, fragment) != nullptr,
                      "%s: status %d, message '%s', wanted '%s'", element_type_name(type), status, msg, fragment);
            CHECK(y == y_before);
        };
        auto lin = [&](auto change, const char* fragment) {
            inkwell_linear_params q = good;
            change(q);
            expect(linear_entry(type, ctx, &q), fragment);
        };
        auto geg = [&](auto change, const char* fragment) {
            inkwell_geglu_params q = good_g;
            change(q);
            expect(geglu_entry(type, ctx, &q), fragment);
        };
        using L = inkwell_linear_params;
        using G = inkwell_geglu_params;
        lin([](L& q) { q.input = nullptr; }, "linear: input is null");
        lin([](L& q) { q.weight = nullptr; }, "linear: weight is null");
        lin([](L& q) { q.output = nullptr; }, "linear: output is null");
        lin([](L& q) { q.rows = 0; }, "linear: rows must be >= 1, got 0");
        lin([](L& q) { q.in_features = -3; }, "linear: in_features must be >= 1, got -3");
        lin([](L& q) { q.out_features = std::numeric_limits<int64_t>::min(); },
            "linear: out_features must be >= 1, got -9223372036854775808");
        lin([](L& q) { q.activation = 6; }, "linear: activation must be 0..5 (NONE, SILU, GELU, GELU_TANH, QUICK_GELU, RELU), got 6");
        lin([](L& q) { q.activation = -1; }, "got -1");
        lin([&](L& q) { q.rows = big; q.in_features = big; }, "linear: input has more than 2^40 elements (2097152 x 2097152)");
        lin([&](L& q) { q.out_features = big; q.in_features = big; }, "linear: weight has more than 2^40 elements");
        lin([&](L& q) { q.rows = big; q.in_features = 1; q.out_features = big; },
            "linear: output has more than 2^40 elements (2097152 x 2097152)");
        lin([](L& q) { q.rows = std::numeric_limits<int64_t>::max(); q.in_features = 3; }, "linear: input has more than 2^40 elements");
        // Each overlap inside one fresh buffer [tensor | room for the output], so that the
        // output cannot reach another tensor by accident.
        std::vector<uint8_t> xw(size_t((12 + 30) * e)), ww(size_t((40 + 30) * e)), bw(size_t((10 + 30) * e));
        lin([&](L& q) { q.input = xw.data(); q.output = xw.data() + 11 * e; }, "linear: output overlaps input");
        lin([&](L& q) { q.weight = ww.data(); q.output = ww.data() + 39 * e; }, "linear: output overlaps weight");
        lin([&](L& q) { q.bias = bw.data(); q.output = bw.data() + 9 * e; }, "linear: output overlaps bias");
        geg([](G& q) { q.input = nullptr; }, "geglu: input is null");
        geg([](G& q) { q.weight = nullptr; }, "geglu: weight is null");
        geg([](G& q) { q.output = nullptr; }, "geglu: output is null");
        geg([](G& q) { q.rows = -1; }, "geglu: rows must be >= 1, got -1");
        geg([](G& q) { q.in_features = 0; }, "geglu: in_features must be >= 1, got 0");
        geg([](G& q) { q.inner_dim = 0; }, "geglu: inner_dim must be >= 1, got 0");
        geg([](G& q) { q.inner_dim = std::numeric_limits<int64_t>::max(); },
            "geglu: 2 * inner_dim is more than 2^40 (inner_dim 9223372036854775807)");
        geg([](G& q) { q.inner_dim = int64_t(1) << 40; }, "geglu: 2 * inner_dim is more than 2^40");
        geg([&](G& q) { q.inner_dim = big; q.in_features = big; }, "geglu: weight has more than 2^40 elements");
        geg([&](G& q) { q.input = xw.data(); q.output = xw.data(); }, "geglu: output overlaps input");
        geg([&](G& q) { q.weight = ww.data(); q.output = ww.data() + 20 * e; }, "geglu: output overlaps weight");
        geg([&](G& q) { q.bias = bw.data(); q.output = bw.data() + 9 * e; }, "geglu: output overlaps bias");
        CHECK(linear_entry(type, ctx, nullptr) == INKWELL_INVALID_ARGUMENT);
        CHECK(std::strstr(inkwell_last_error_message(), "linear: params is null") != nullptr);
        CHECK(geglu_entry(type, ctx, nullptr) == INKWELL_INVALID_ARGUMENT);
        CHECK(std::strstr(inkwell_last_error_message(), "geglu: params is null") != nullptr);
        CHECK(linear_entry(type, nullptr, &good) == INKWELL_INVALID_ARGUMENT);
        CHECK(std::strstr(inkwell_last_error_message(), "context is null") != nullptr);

        // Overlap is judged in elements of the entry's type: an output that ends right before
        // the input or starts right after the bias is accepted, and bias may be null.
        std::vector<uint8_t> joint(size_t((12 + 30) * e), 0);
        inkwell_linear_params adjacent = good;
        adjacent.output = joint.data();
        adjacent.input = joint.data() + 30 * e;
        adjacent.bias = nullptr;
        CHECK_MSG(linear_entry(type, ctx, &adjacent) == INKWELL_OK, "%s", inkwell_last_error_message());
        adjacent.input = joint.data();
        adjacent.output = joint.data() + 12 * e;
        CHECK_MSG(linear_entry(type, ctx, &adjacent) == INKWELL_OK, "%s", inkwell_last_error_message());
        adjacent.output = joint.data() + 11 * e;
        CHECK(linear_entry(type, ctx, &adjacent) == INKWELL_INVALID_ARGUMENT);
    }
    inkwell_context_destroy(ctx);
}
