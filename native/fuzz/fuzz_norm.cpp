// Fuzz target for inkwell_group_norm_* and inkwell_layer_norm_* (f32, f16, bf16; the input
// picks the kernel and the type): random batch, channels, groups, spatial, rows, dim (now
// and then past one statistics chunk, so the split phases run), eps (0 included), every
// activation, weight and bias present or not, inputs with NaN, infinities, huge and
// subnormal values now and then. About one input in eight breaks an argument, which must be
// refused with a message and nothing written.
//
// f32: the ABI result (AVX2 where the CPU has it) and the portable loops must both stay
// within the float bound below of the double reference (a NaN where the reference has one),
// and the ABI result must be bit-identical for 1 and 3 threads. f16 / bf16: identical for 1
// and 3 threads and equal to narrow(f32 entry on the widened inputs) bit for bit.
//
// The bound, per output of a segment (group or row) of n elements with mean m, rstd r:
// the fast path's deviation (x - m_hi) - m_lo errs by 2 ulp, rstd_f and d * rstd_f by one
// each, the fma by one of y; the double sums by n 2^-53 (|m| + std) each (fast and
// reference), scaled by r; the float split of m by 2^-48 |m|; the float statistics (when
// judge_float_sums accepts them) m by 40 u of a standard deviation and r by 126 u of itself. Activations: float formulas
// a few ulp off (and gelu's 1 + erf cancels, about |y| ulp) on an input already off by the
// bound, slope below 1.2.
#include <string>
#include <tuple>
#include <type_traits>

#include "cpu/activations.hpp"
#include "cpu/norm_cpu.hpp"
#include "context.hpp"
#include "element_types.hpp"
#include "fuzz_input.hpp"

using namespace inkwell_fuzz;

namespace {

// Elements of one case (reference runs in double under ASan).
constexpr int64_t kMaxElements = 120000;
constexpr double kU = kFloatEps / 2;  // float's unit roundoff

// A segment view of either kernel: segment s holds n elements from s * n; channel(s, i)
// gives the index into weight and bias.
struct Shape {
    bool group;
    int64_t segments, n;
    int64_t groups, per_group, spatial;  // group_norm only
    int32_t activation;
    int64_t affine_index(int64_t s, int64_t i) const {
        return group ? (s % groups) * per_group + i / spatial : i;
    }
};

template <class T>
struct Tensors {
    std::vector<T> x, w, b, y;
};

// The bound of every output (see the header), with the statistics computed here.
std::vector<double> bounds(const Shape& s, const Tensors<float>& t) {
    std::vector<double> tol(t.x.size());
    for (int64_t g = 0; g < s.segments; ++g) {
        const float* x = t.x.data() + g * s.n;
        double mean = 0, squares = 0;
        for (int64_t i = 0; i < s.n; ++i) mean += x[i];
        mean /= double(s.n);
        for (int64_t i = 0; i < s.n; ++i) squares += (x[i] - mean) * (x[i] - mean);
        const double var = squares / double(s.n);
        double rstd = 1.0 / std::sqrt(var + 0.0);  // eps only shrinks rstd: the bound stays valid
        if (!std::isfinite(rstd)) rstd = 0;        // constant segment: outputs are b (or NaN, checked apart)
        const double stats =
            2.0 * double(s.n) * 0x1p-53 * (std::fabs(mean) + std::sqrt(var)) * rstd + 0x1p-48 * std::fabs(mean) * rstd;
        for (int64_t i = 0; i < s.n; ++i) {
            const int64_t a = s.affine_index(g, i);
            const double w = t.w.empty() ? 1.0 : std::fabs(t.w[size_t(a)]), b = t.b.empty() ? 0.0 : std::fabs(t.b[size_t(a)]);
            const double normed = std::fabs((x[i] - mean) * rstd), y = normed * w + b;
            const double float_stats = kU * (40.0 * std::sqrt(var) * rstd + 126.0 * normed);
            double bound = 2.0 * (w * (4.0 * kU * normed + stats + float_stats) + 1.5 * kU * y) + 1e-37;
            if (s.activation != INKWELL_ACTIVATION_NONE) bound = 1.2 * bound + 8.0 * kU * y + 1e-37;
            tol[size_t(g * s.n + i)] = bound;
        }
    }
    return tol;
}

inkwell_group_norm_params group_params(const inkwell_group_norm_params& shape, const void* x, const void* w,
                                       const void* b, void* y) {
    inkwell_group_norm_params p = shape;
    p.input = x;
    p.weight = w;
    p.bias = b;
    p.output = y;
    return p;
}

inkwell_layer_norm_params layer_params(const inkwell_layer_norm_params& shape, const void* x, const void* w,
                                       const void* b, void* y) {
    inkwell_layer_norm_params p = shape;
    p.input = x;
    p.weight = w;
    p.bias = b;
    p.output = y;
    return p;
}

int32_t call(int32_t type, inkwell_context* ctx, const inkwell_group_norm_params* p) {
    return type == INKWELL_ELEMENT_F32   ? inkwell_group_norm_f32(ctx, p)
           : type == INKWELL_ELEMENT_F16 ? inkwell_group_norm_f16(ctx, p)
                                         : inkwell_group_norm_bf16(ctx, p);
}

int32_t call(int32_t type, inkwell_context* ctx, const inkwell_layer_norm_params* p) {
    return type == INKWELL_ELEMENT_F32   ? inkwell_layer_norm_f32(ctx, p)
           : type == INKWELL_ELEMENT_F16 ? inkwell_layer_norm_f16(ctx, p)
                                         : inkwell_layer_norm_bf16(ctx, p);
}

void reference(const inkwell_group_norm_params& p) { inkwell::cpu::group_norm_reference(p); }
void reference(const inkwell_layer_norm_params& p) { inkwell::cpu::layer_norm_reference(p); }
void portable(const inkwell_group_norm_params& p) {
    inkwell::cpu::group_norm_fast(context(0)->pool, p, inkwell::cpu::NormIsa::kPortable);
}
void portable(const inkwell_layer_norm_params& p) {
    inkwell::cpu::layer_norm_fast(context(0)->pool, p, inkwell::cpu::NormIsa::kPortable);
}

// Breaks one argument of a case; returns what it did. T: the entry's element type.
template <class T>
std::string break_group(FuzzedDataProvider& in, inkwell_group_norm_params& p, Tensors<T>& t) {
    switch (in.ConsumeIntegralInRange<int>(0, 7)) {
        case 0: {
            int64_t* sizes[] = {&p.batch, &p.channels, &p.spatial, &p.groups};
            const int i = in.ConsumeIntegralInRange<int>(0, 3);
            *sizes[i] = bad_size(in);
            return "size field " + std::to_string(i) + " = " + std::to_string(*sizes[i]);
        }
        case 1: p.groups = p.channels + 1; return "groups not dividing channels";
        case 2: p.eps = bad_double(in); return "bad eps";
        case 3:
            p.activation = in.ConsumeBool() ? in.ConsumeIntegralInRange<int32_t>(std::numeric_limits<int32_t>::min(), -1)
                                             : in.ConsumeIntegralInRange<int32_t>(6, std::numeric_limits<int32_t>::max());
            return "bad activation";
        case 4:
            if (in.ConsumeBool()) p.input = nullptr; else p.output = nullptr;
            return "null tensor";
        case 5: {
            const int which = in.ConsumeIntegralInRange<int>(0, 2);
            std::vector<T>& victim = which == 0 ? t.x : which == 1 ? t.w : t.b;
            if (victim.empty()) return break_group(in, p, t);
            p.output = victim.data() + in.ConsumeIntegralInRange<size_t>(0, victim.size() - 1);
            return which == 0 ? "output overlaps input" : which == 1 ? "output overlaps weight" : "output overlaps bias";
        }
        case 6: p.batch = p.channels = p.spatial = int64_t(1) << 14; p.groups = 1; return "element count over 2^40";
        default: p.output = const_cast<void*>(p.input); return "in place";
    }
}

template <class T>
std::string break_layer(FuzzedDataProvider& in, inkwell_layer_norm_params& p, Tensors<T>& t) {
    switch (in.ConsumeIntegralInRange<int>(0, 5)) {
        case 0: (in.ConsumeBool() ? p.rows : p.dim) = bad_size(in); return "bad size";
        case 1: p.eps = bad_double(in); return "bad eps";
        case 2:
            if (in.ConsumeBool()) p.input = nullptr; else p.output = nullptr;
            return "null tensor";
        case 3: {
            const int which = in.ConsumeIntegralInRange<int>(0, 2);
            std::vector<T>& victim = which == 0 ? t.x : which == 1 ? t.w : t.b;
            if (victim.empty()) return break_layer(in, p, t);
            p.output = victim.data() + in.ConsumeIntegralInRange<size_t>(0, victim.size() - 1);
            return which == 0 ? "output overlaps input" : which == 1 ? "output overlaps weight" : "output overlaps bias";
        }
        case 4: p.rows = p.dim = int64_t(1) << 21; return "element count over 2^40";
        default: p.output = const_cast<void*>(p.input); return "in place";
    }
}

std::string break_params(FuzzedDataProvider& in, inkwell_group_norm_params& p, Tensors<float>& t) { return break_group(in, p, t); }
std::string break_params(FuzzedDataProvider& in, inkwell_group_norm_params& p, Tensors<uint16_t>& t) { return break_group(in, p, t); }
std::string break_params(FuzzedDataProvider& in, inkwell_layer_norm_params& p, Tensors<float>& t) { return break_layer(in, p, t); }
std::string break_params(FuzzedDataProvider& in, inkwell_layer_norm_params& p, Tensors<uint16_t>& t) { return break_layer(in, p, t); }

uint16_t narrow16(int32_t type, float f) { return type == INKWELL_ELEMENT_F16 ? inkwell::float_to_f16(f) : inkwell::float_to_bf16(f); }

std::vector<uint16_t> narrow_all(int32_t type, const std::vector<float>& v) {
    std::vector<uint16_t> h(v.size());
    for (size_t i = 0; i < v.size(); ++i) h[i] = narrow16(type, v[i]);
    return h;
}

// One case of either kernel; Params is inkwell_group_norm_params or inkwell_layer_norm_params
// with the sizes set and null data pointers. t holds float tensors whose values are exact in
// both 16-bit types (grid floats) except the specials, which the 16-bit check rounds first.
template <class Params>
int run_case(FuzzedDataProvider& in, const Params& shape, const Shape& s, Tensors<float>& t, int32_t type, bool invalid,
             int ctx, const char* what) {
    auto pointers = [](auto& tensors) {
        return std::make_tuple(static_cast<const void*>(tensors.x.data()),
                               tensors.w.empty() ? nullptr : static_cast<const void*>(tensors.w.data()),
                               tensors.b.empty() ? nullptr : static_cast<const void*>(tensors.b.data()),
                               static_cast<void*>(tensors.y.data()));
    };
    auto make = [&](auto& tensors) {
        const auto [x, w, b, y] = pointers(tensors);
        if constexpr (std::is_same_v<Params, inkwell_group_norm_params>) return group_params(shape, x, w, b, y);
        else return layer_params(shape, x, w, b, y);
    };

    if (type != INKWELL_ELEMENT_F32) {
        // The widened tensors are what the f32 entry sees.
        Tensors<uint16_t> h{narrow_all(type, t.x), narrow_all(type, t.w), narrow_all(type, t.b), {}};
        h.y.assign(t.x.size(), 0xffff);
        for (size_t i = 0; i < t.x.size(); ++i)
            t.x[i] = type == INKWELL_ELEMENT_F16 ? inkwell::f16_to_float(h.x[i]) : inkwell::bf16_to_float(h.x[i]);
        Params p = make(h);
        if (invalid) {
            const std::string why = std::string(what) + " " + break_params(in, p, h);
            const Tensors<uint16_t> before = h;
            expect_refused(call(type, context(ctx), &p), why.c_str());
            if (h.y != before.y || h.x != before.x || h.w != before.w || h.b != before.b)
                fail("%s: a refused call wrote memory", why.c_str());
            return 0;
        }
        expect_ok(call(type, context(ctx), &p), what);
        const std::vector<uint16_t> abi = h.y;
        std::fill(h.y.begin(), h.y.end(), 0xffff);
        expect_ok(call(type, context(ctx + 1), &p), what);
        if (abi != h.y) fail("%s: threads %d and %d differ", what, ctx % 3 + 1, (ctx + 1) % 3 + 1);
        t.y.assign(t.x.size(), std::numeric_limits<float>::quiet_NaN());
        const Params f = make(t);
        expect_ok(call(INKWELL_ELEMENT_F32, context(ctx), &f), what);
        for (size_t i = 0; i < abi.size(); ++i)
            if (abi[i] != narrow16(type, t.y[i]))
                fail("%s: output %zu is 0x%04x, narrow(f32 entry) 0x%04x (%.9g)", what, i, abi[i], narrow16(type, t.y[i]),
                     double(t.y[i]));
        return 0;
    }

    Params p = make(t);
    if (invalid) {
        const std::string why = std::string(what) + " " + break_params(in, p, t);
        const Tensors<float> before = t;
        expect_refused(call(type, context(ctx), &p), why.c_str());
        if (!same_bits(t.y.data(), before.y.data(), t.y.size()) || !same_bits(t.x.data(), before.x.data(), t.x.size()))
            fail("%s: a refused call wrote memory", why.c_str());
        return 0;
    }
    expect_ok(call(type, context(ctx), &p), what);
    const std::vector<float> abi = t.y;
    std::fill(t.y.begin(), t.y.end(), std::numeric_limits<float>::quiet_NaN());
    expect_ok(call(type, context(ctx + 1), &p), what);
    if (!same_bits(abi.data(), t.y.data(), abi.size())) fail("%s: threads %d and %d differ", what, ctx % 3 + 1, (ctx + 1) % 3 + 1);

    std::vector<float> ref(abi.size()), port(abi.size(), std::numeric_limits<float>::quiet_NaN());
    Params q = p;
    q.output = port.data();
    portable(q);
    q.output = ref.data();
    reference(q);
    const std::vector<double> tol = bounds(s, t);
    for (size_t i = 0; i < ref.size(); ++i) {
        const auto ok = [&](float v) {
            if (std::isnan(ref[i])) return std::isnan(v);
            return v == ref[i] || std::fabs(double(v) - double(ref[i])) <= tol[i];
        };
        if (!ok(abi[i]) || !ok(port[i]))
            fail("%s: output %zu is %.9g (ABI) / %.9g (portable), reference %.9g, bound %.3g", what, i, double(abi[i]),
                 double(port[i]), double(ref[i]), tol[i]);
    }
    return 0;
}

double pick_eps(FuzzedDataProvider& in) {
    static const double kEps[] = {1e-5, 1e-6, 0.0, 0.25, 1e-30};
    return kEps[in.ConsumeIntegralInRange<size_t>(0, std::size(kEps) - 1)];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const bool invalid = in.ConsumeIntegralInRange<int>(0, 7) == 7;
    const int ctx = in.ConsumeIntegralInRange<int>(0, 2);
    const int32_t type = std::max(0, in.ConsumeIntegralInRange<int32_t>(-1, 2));  // f32 in half the inputs
    const bool group = in.ConsumeBool();
    const bool with_weight = in.ConsumeBool(), with_bias = in.ConsumeBool();
    const bool long_segments = in.ConsumeIntegralInRange<int>(0, 7) == 7;  // past kStatChunk now and then
    const double eps = pick_eps(in);
    const char* type_name = inkwell::element_type_name(type);
    char what[200];

    if (group) {
        inkwell_group_norm_params p{};
        p.groups = in.ConsumeIntegralInRange<int64_t>(1, 6);
        p.channels = p.groups * in.ConsumeIntegralInRange<int64_t>(1, 8);
        p.batch = in.ConsumeIntegralInRange<int64_t>(1, 3);
        p.spatial = in.ConsumeIntegralInRange<int64_t>(1, long_segments ? 12000 : 40);
        p.eps = eps;
        p.activation = in.ConsumeIntegralInRange<int32_t>(INKWELL_ACTIVATION_NONE, INKWELL_ACTIVATION_RELU);
        const int64_t count = p.batch * p.channels * p.spatial;
        if (count > kMaxElements) return -1;  // too slow under ASan: not added to the corpus
        Tensors<float> t;
        t.x = floats(in, count, /*specials=*/true);
        if (with_weight) t.w = floats(in, p.channels);
        if (with_bias) t.b = floats(in, p.channels);
        t.y.assign(size_t(count), std::numeric_limits<float>::quiet_NaN());
        std::snprintf(what, sizeof what, "group_norm %s [%lld,%lld,%lld] G=%lld eps=%g act=%d w=%d b=%d", type_name,
                      (long long)p.batch, (long long)p.channels, (long long)p.spatial, (long long)p.groups, p.eps,
                      p.activation, int(with_weight), int(with_bias));
        const Shape s{true, p.batch * p.groups, p.channels / p.groups * p.spatial, p.groups, p.channels / p.groups,
                      p.spatial, p.activation};
        return run_case(in, p, s, t, type, invalid, ctx, what);
    }

    inkwell_layer_norm_params p{};
    p.rows = in.ConsumeIntegralInRange<int64_t>(1, long_segments ? 4 : 40);
    p.dim = in.ConsumeIntegralInRange<int64_t>(1, long_segments ? 30000 : 300);
    p.eps = eps;
    const int64_t count = p.rows * p.dim;
    if (count > kMaxElements) return -1;
    Tensors<float> t;
    t.x = floats(in, count, /*specials=*/true);
    if (with_weight) t.w = floats(in, p.dim);
    if (with_bias) t.b = floats(in, p.dim);
    t.y.assign(size_t(count), std::numeric_limits<float>::quiet_NaN());
    std::snprintf(what, sizeof what, "layer_norm %s [%lld,%lld] eps=%g w=%d b=%d", type_name, (long long)p.rows,
                  (long long)p.dim, p.eps, int(with_weight), int(with_bias));
    const Shape s{false, p.rows, p.dim, 1, 1, 1, INKWELL_ACTIVATION_NONE};
    return run_case(in, p, s, t, type, invalid, ctx, what);
}
