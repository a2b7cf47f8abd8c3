// Fuzz target for inkwell_linear_f32/_f16/_bf16 and inkwell_geglu_f32/_f16/_bf16 (the input
// picks the kernel and the element type): random rows, in_features (past the 256-long K
// blocks now and then), out_features / inner_dim, activation and bias, on grid floats with
// the occasional NaN, infinity or huge value.
// f32: the ABI result (the widest micro-kernel the CPU has) and the portable micro-kernel
// must both stay within a float error bound of the double reference (NaN and infinities
// where the reference has them), and the ABI result must be bit-identical for two thread
// counts. 16-bit: the same for the two thread counts, narrow(f32 entry on the widened
// tensors) bit for bit, and within 1 ulp of the reference rounded once or within the float32
// bound where it cancels (native/tests/reference16.hpp).
// About one input in eight breaks an argument, which must be refused with a message and
// nothing written.
//
// The bound: a float sum of K products and a bias errs by at most gamma(K + 1) S, S the sum
// of their magnitudes (Higham); an activation multiplies that by at most 1.13 (GELU's
// steepest slope) and adds its own float error, taken as 8u (|pre| + |act(pre)|); GEGLU's
// product combines the bounds of a and gelu(gate) and adds one rounding.
#include <cmath>
#include <string>

#include "context.hpp"
#include "cpu/activations.hpp"
#include "cpu/linear_cpu.hpp"
#include "element_types.hpp"
#include "fuzz_input.hpp"
#include "../tests/reference16.hpp"

using namespace inkwell_fuzz;

namespace {

// Multiply-adds of one reference run.
constexpr int64_t kWorkBudget = 300000;
constexpr double kU = kFloatEps / 2;

// Per output: the double value, a bound on the float32 error, and whether the float32
// computation may overflow where the double one does not (then any output is accepted).
struct Exact {
    std::vector<double> value, delta;
    std::vector<char> anything;
};

struct Sum {
    double value, delta;
    bool anything;
};

// Float32 partial sums stay below S (1 + gamma) in magnitude, S the sum of the finite terms'
// magnitudes; once that or the result can pass FLT_MAX (huge special values), the float
// result may be an infinity or NaN where the double one is finite or the other infinity.
constexpr double kOverflow = 0.99 * 3.4028234663852886e38;

bool may_overflow(double magnitude, double delta) { return !(std::fabs(magnitude) + delta < kOverflow); }

Sum exact_sum(const float* x, const float* w, const float* bias, int64_t k_len, int64_t m, int64_t n) {
    double sum = 0, magnitude = 0, finite_magnitude = 0;
    for (int64_t k = 0; k < k_len; ++k) {
        const double t = double(x[m * k_len + k]) * w[n * k_len + k];
        sum += t;
        magnitude += std::fabs(t);
        if (std::isfinite(t)) finite_magnitude += std::fabs(t);
    }
    if (bias != nullptr) {
        sum += bias[n];
        magnitude += std::fabs(double(bias[n]));
        if (std::isfinite(bias[n])) finite_magnitude += std::fabs(double(bias[n]));
    }
    const double delta = inkwell_ref::gamma(double(k_len + 1)) * magnitude + std::ldexp(magnitude, -40) + 1e-30;
    return {sum, delta, may_overflow(finite_magnitude, 1e-3 * finite_magnitude)};
}

Sum activate(int32_t a, Sum s) {
    if (a == INKWELL_ACTIVATION_NONE) return s;
    const double v = inkwell::cpu::activation_reference(a, s.value);
    return {v, 1.13 * s.delta + 8 * kU * (std::fabs(s.value) + std::fabs(v)), s.anything};
}

// The reference of either kernel on float tensors: linear when inner == 0, else GEGLU.
Exact exact(const float* x, const float* w, const float* bias, int64_t rows, int64_t k, int64_t out, int64_t inner,
            int32_t activation) {
    Exact e;
    for (int64_t m = 0; m < rows; ++m)
        for (int64_t n = 0; n < out; ++n) {
            Sum s;
            if (inner == 0) {
                s = activate(activation, exact_sum(x, w, bias, k, m, n));
            } else {
                const Sum a = exact_sum(x, w, bias, k, m, n);
                const Sum g = activate(INKWELL_ACTIVATION_GELU, exact_sum(x, w, bias, k, m, inner + n));
                const double y = a.value * g.value;
                // An infinite factor times one that is zero in float but not in double (gelu's
                // tail underflows sooner in float) is NaN on one side, infinite on the other.
                const bool inf_times_zero = (std::isinf(a.value) && std::fabs(g.value) <= g.delta) ||
                                            (std::isinf(g.value) && std::fabs(a.value) <= a.delta);
                s = {y, a.delta * (std::fabs(g.value) + g.delta) + (std::fabs(a.value) + a.delta) * g.delta + kU * std::fabs(y),
                     a.anything || g.anything || inf_times_zero};
            }
            e.value.push_back(s.value);
            e.delta.push_back(s.delta);
            e.anything.push_back(s.anything || (std::isfinite(s.value) && may_overflow(s.value, s.delta)));
        }
    return e;
}

bool within(float got, double value, double delta) {
    if (std::isnan(value)) return std::isnan(got);
    if (std::isinf(value)) return double(got) == value;
    return std::fabs(double(got) - value) <= delta;
}

// One call of either kernel, on tensors of element type T (float, or uint16_t bits).
template <class T>
struct Call {
    bool geglu = false;
    int32_t type = INKWELL_ELEMENT_F32;
    inkwell_linear_params lin{};
    inkwell_geglu_params geg{};
    std::vector<T> x, w, b, y;

    int32_t run(int ctx) {
        inkwell_context* c = context(ctx);
        if (geglu) {
            if (type == INKWELL_ELEMENT_F16) return inkwell_geglu_f16(c, &geg);
            if (type == INKWELL_ELEMENT_BF16) return inkwell_geglu_bf16(c, &geg);
            return inkwell_geglu_f32(c, &geg);
        }
        if (type == INKWELL_ELEMENT_F16) return inkwell_linear_f16(c, &lin);
        if (type == INKWELL_ELEMENT_BF16) return inkwell_linear_bf16(c, &lin);
        return inkwell_linear_f32(c, &lin);
    }

    // Points both params at the buffers (bias only when `with_bias`).
    void attach(bool with_bias) {
        lin.input = geg.input = x.data();
        lin.weight = geg.weight = w.data();
        lin.bias = geg.bias = with_bias ? b.data() : nullptr;
        lin.output = geg.output = y.data();
    }

    // Breaks one argument so that the entry must refuse it; returns what it did.
    std::string break_one(FuzzedDataProvider& in) {
        int64_t* sizes[] = {&lin.rows, &lin.in_features, &lin.out_features, &geg.rows, &geg.in_features, &geg.inner_dim};
        switch (in.ConsumeIntegralInRange<int>(0, 4)) {
            case 0: {
                const size_t i = in.ConsumeIntegralInRange<size_t>(0, 2) + (geglu ? 3 : 0);
                *sizes[i] = bad_size(in);
                return "size field " + std::to_string(i) + " = " + std::to_string(*sizes[i]);
            }
            case 1:
                if (geglu) {
                    geg.inner_dim = in.ConsumeIntegralInRange<int64_t>((int64_t(1) << 39) + 1, std::numeric_limits<int64_t>::max());
                    return "2 inner_dim past 2^40";
                }
                lin.activation = in.ConsumeBool() ? -1 : in.ConsumeIntegralInRange<int32_t>(6, std::numeric_limits<int32_t>::max());
                return "bad activation";
            case 2: {
                const int which = in.ConsumeIntegralInRange<int>(0, 2);
                const void* none = nullptr;
                if (which == 0) lin.input = geg.input = none;
                if (which == 1) lin.weight = geg.weight = none;
                if (which == 2) lin.output = geg.output = nullptr;
                return "null tensor";
            }
            case 3: {
                // The output starts inside the input, weight or bias.
                const int which = in.ConsumeIntegralInRange<int>(0, 2);
                std::vector<T>& victim = which == 0 ? x : which == 1 ? w : b;
                if (which == 2 && lin.bias == nullptr) return break_one(in);
                lin.output = geg.output = victim.data() + in.ConsumeIntegralInRange<size_t>(0, victim.size() - 1);
                return which == 0 ? "output overlaps input" : which == 1 ? "output overlaps weight" : "output overlaps bias";
            }
            default: {
                // Sizes whose product passes 2^40 (each size alone is fine).
                const int64_t big = int64_t(1) << in.ConsumeIntegralInRange<int>(21, 40);
                lin.rows = geg.rows = big;
                lin.in_features = geg.in_features = big;
                return "input past 2^40 elements";
            }
        }
    }
};

uint16_t narrow16(int32_t type, float f) {
    return type == INKWELL_ELEMENT_F16 ? inkwell::float_to_f16(f) : inkwell::float_to_bf16(f);
}

template <class T>
int refuse(FuzzedDataProvider& in, Call<T>& call, int ctx, const char* kernel) {
    const std::string what = std::string(kernel) + " " + inkwell::element_type_name(call.type) + " " + call.break_one(in);
    const std::vector<T> y = call.y, x = call.x, w = call.w, b = call.b;
    expect_refused(call.run(ctx), what.c_str());
    // Bytes, not values: the output starts as NaN, which never equals itself.
    auto same = [](const std::vector<T>& a, const std::vector<T>& b) {
        return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
    };
    if (!same(call.y, y) || !same(call.x, x) || !same(call.w, w) || !same(call.b, b))
        fail("%s: a refused call wrote memory", what.c_str());
    return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const bool invalid = in.ConsumeIntegralInRange<int>(0, 7) == 7;
    const int ctx = in.ConsumeIntegralInRange<int>(0, 2);
    const int32_t type = std::max(0, in.ConsumeIntegralInRange<int32_t>(-1, 2));  // f32 in half of the inputs
    const bool geglu = in.ConsumeBool();
    const int64_t rows = in.ConsumeIntegralInRange<int64_t>(1, in.ConsumeBool() ? 60 : 7);
    const int64_t k = in.ConsumeIntegralInRange<int64_t>(1, in.ConsumeBool() ? 600 : 20);
    const int64_t out = in.ConsumeIntegralInRange<int64_t>(1, in.ConsumeBool() ? 80 : 9);
    const int32_t activation = geglu ? INKWELL_ACTIVATION_NONE : in.ConsumeIntegralInRange<int32_t>(0, 5);
    const bool with_bias = in.ConsumeBool();
    const bool specials = in.ConsumeIntegralInRange<int>(0, 3) == 0;
    const int64_t weight_rows = geglu ? 2 * out : out;
    if (rows * weight_rows * k > kWorkBudget) return -1;  // too slow under ASan: not added to the corpus

    Call<float> f;
    f.geglu = geglu;
    f.type = INKWELL_ELEMENT_F32;
    f.lin = {nullptr, nullptr, nullptr, nullptr, rows, k, out, activation};
    f.geg = {nullptr, nullptr, nullptr, nullptr, rows, k, out};
    f.x = floats(in, rows * k, specials);
    f.w = floats(in, weight_rows * k, specials);
    f.b = floats(in, weight_rows, specials);
    f.y.assign(size_t(rows * out), std::numeric_limits<float>::quiet_NaN());
    f.attach(with_bias);
    const char* kernel = geglu ? "geglu" : "linear";
    char what[200];
    std::snprintf(what, sizeof what, "%s %s rows=%lld in=%lld out=%lld activation=%d bias=%d specials=%d", kernel,
                  inkwell::element_type_name(type), (long long)rows, (long long)k, (long long)out, activation,
                  int(with_bias), int(specials));

    if (type != INKWELL_ELEMENT_F32) {
        Call<uint16_t> h;
        h.geglu = geglu;
        h.type = type;
        h.lin = f.lin;
        h.geg = f.geg;
        auto narrow_all = [&](const std::vector<float>& from, std::vector<uint16_t>& to) {
            for (float v : from) to.push_back(narrow16(type, v));
        };
        narrow_all(f.x, h.x);
        narrow_all(f.w, h.w);
        narrow_all(f.b, h.b);
        h.y.assign(f.y.size(), 0xffff);  // NaN in both types
        h.attach(with_bias);
        if (invalid) return refuse(in, h, ctx, kernel);
        expect_ok(h.run(ctx), what);
        const std::vector<uint16_t> abi = h.y;
        std::fill(h.y.begin(), h.y.end(), 0xffff);
        expect_ok(h.run(ctx + 1), what);
        if (abi != h.y) fail("%s: thread counts %d and %d differ", what, ctx % 3 + 1, (ctx + 1) % 3 + 1);
        // The same call on the widened tensors (grid values and specials are exact in both
        // types, huge ones become infinities in f16: widen the 16-bit values, not f's).
        for (size_t i = 0; i < f.x.size(); ++i) f.x[i] = type == INKWELL_ELEMENT_F16 ? inkwell::f16_to_float(h.x[i]) : inkwell::bf16_to_float(h.x[i]);
        for (size_t i = 0; i < f.w.size(); ++i) f.w[i] = type == INKWELL_ELEMENT_F16 ? inkwell::f16_to_float(h.w[i]) : inkwell::bf16_to_float(h.w[i]);
        for (size_t i = 0; i < f.b.size(); ++i) f.b[i] = type == INKWELL_ELEMENT_F16 ? inkwell::f16_to_float(h.b[i]) : inkwell::bf16_to_float(h.b[i]);
        expect_ok(f.run(ctx), what);
        const Exact e = exact(f.x.data(), f.w.data(), with_bias ? f.b.data() : nullptr, rows, k, out, geglu ? out : 0, activation);
        const inkwell_ref::Format& format = inkwell_ref::format_of(type);
        for (size_t i = 0; i < abi.size(); ++i) {
            if (narrow16(type, f.y[i]) != abi[i])
                fail("%s: output %zu is 0x%04x, narrow(f32 entry) 0x%04x", what, i, abi[i], narrow16(type, f.y[i]));
            if (!e.anything[i] &&
                inkwell_ref::check16(abi[i], e.value[i], e.delta[i], format) == inkwell_ref::Verdict::fail)
                fail("%s: output %zu is 0x%04x (%.9g), reference %.17g rounds to 0x%04x, float32 bound %.3g", what, i,
                     abi[i], inkwell_ref::value_of(abi[i], format), e.value[i], inkwell_ref::narrow_ref(e.value[i], format),
                     e.delta[i]);
        }
        return 0;
    }

    if (invalid) return refuse(in, f, ctx, kernel);
    expect_ok(f.run(ctx), what);
    const std::vector<float> abi = f.y;
    std::fill(f.y.begin(), f.y.end(), std::numeric_limits<float>::quiet_NaN());
    expect_ok(f.run(ctx + 1), what);
    if (!same_bits(abi.data(), f.y.data(), abi.size())) fail("%s: thread counts %d and %d differ", what, ctx % 3 + 1, (ctx + 1) % 3 + 1);

    std::vector<float> portable(abi.size(), std::numeric_limits<float>::quiet_NaN());
    f.lin.output = f.geg.output = portable.data();
    if (geglu)
        inkwell::cpu::geglu_fast(context(ctx)->pool, f.geg, inkwell::cpu::LinearIsa::kPortable);
    else
        inkwell::cpu::linear_fast(context(ctx)->pool, f.lin, inkwell::cpu::LinearIsa::kPortable);

    const Exact e = exact(f.x.data(), f.w.data(), with_bias ? f.b.data() : nullptr, rows, k, out, geglu ? out : 0, activation);
    for (size_t i = 0; i < abi.size(); ++i)
        if (!e.anything[i] && (!within(abi[i], e.value[i], e.delta[i]) || !within(portable[i], e.value[i], e.delta[i])))
            fail("%s: output %zu is %.9g (ABI) / %.9g (portable), reference %.9g, bound %.3g", what, i, abi[i], portable[i],
                 e.value[i], e.delta[i]);
    return 0;
}
