// Fuzz target for inkwell_conv2d_f32, _f16 and _bf16 (the input picks the element type):
// random batch, channels, groups, image and kernel sizes, strides, padding, dilation, bias
// and SiLU. f32: the ABI result (AVX2 micro-kernel where the CPU has it) and the portable
// micro-kernel must both stay within a float error bound of the double reference, and the
// ABI result must be bit-identical for 1 and 3 threads.
// About one input in eight breaks an argument, which must be refused. The 16-bit entries:
// see check_16bit.
//
// The f32 bound: a float sum of K products errs by at most about K eps times the sum of their
// magnitudes (Higham's gamma_K), so the tolerance of each output is
// 2 (K + 4) eps * conv(|x|, |w|) + |bias|, computed by the reference itself on absolute
// values; SiLU is 1.1-Lipschitz and adds a few roundings of its own.
#include <cmath>
#include <string>

#include "context.hpp"
#include "cpu/conv2d_cpu.hpp"
#include "element_types.hpp"
#include "fuzz_input.hpp"
#include "../tests/reference16.hpp"

using namespace inkwell_fuzz;

namespace {

// Multiply-adds of one reference run.
constexpr int64_t kWorkBudget = 400000;

int64_t out_size(int64_t in, int64_t pad, int64_t dilation, int64_t kernel, int64_t stride) {
    return (in + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;
}

std::vector<float> absolute(const std::vector<float>& v) {
    std::vector<float> a(v.size());
    for (size_t i = 0; i < v.size(); ++i) a[i] = std::fabs(v[i]);
    return a;
}

// Elements of the entry's type: float, or uint16_t for f16 and bf16.
template <class T>
struct Tensors {
    std::vector<T> x, w, b, y;
};

// Breaks one argument so that validate() must refuse it; returns what it did.
template <class T>
std::string break_params(FuzzedDataProvider& in, inkwell_conv2d_params& p, Tensors<T>& t) {
    int64_t* sizes[] = {&p.batch,    &p.in_channels, &p.in_height, &p.in_width,   &p.out_channels, &p.kernel_h,
                        &p.kernel_w, &p.stride_h,    &p.stride_w,  &p.dilation_h, &p.dilation_w,   &p.groups,
                        &p.out_height, &p.out_width};
    switch (in.ConsumeIntegralInRange<int>(0, 8)) {
        case 0: {
            const size_t i = in.ConsumeIntegralInRange<size_t>(0, std::size(sizes) - 1);
            *sizes[i] = bad_size(in);
            // A huge stride or dilation can be valid (stride 2^62 with one output row,
            // dilation 2^62 with a 1-tap kernel): only a value below 1 breaks those.
            const bool stride_or_dilation = i >= 7 && i <= 10;
            if (stride_or_dilation && *sizes[i] > 0) *sizes[i] = -*sizes[i];
            return "size field " + std::to_string(i) + " = " + std::to_string(*sizes[i]);
        }
        case 1: (in.ConsumeBool() ? p.pad_h : p.pad_w) = -in.ConsumeIntegralInRange<int64_t>(1, std::numeric_limits<int64_t>::max()); return "negative pad";
        case 2: (in.ConsumeBool() ? p.pad_h : p.pad_w) = in.ConsumeIntegralInRange<int64_t>(int64_t(1) << 61, std::numeric_limits<int64_t>::max()); return "pad overflowing int64";
        case 3: (in.ConsumeBool() ? p.out_height : p.out_width) += in.ConsumeBool() ? 1 : -1; return "output size off by one";
        case 4: p.groups = p.in_channels + 1; return "groups not dividing";
        case 5: p.activation = in.ConsumeBool() ? -1 : in.ConsumeIntegralInRange<int32_t>(2, std::numeric_limits<int32_t>::max()); return "bad activation";
        case 6: {
            const int which = in.ConsumeIntegralInRange<int>(0, 2);
            if (which == 0) p.input = nullptr;
            if (which == 1) p.weight = nullptr;
            if (which == 2) p.output = nullptr;
            return "null tensor";
        }
        case 7: {
            // The output starts inside the input, weight or bias.
            const int which = in.ConsumeIntegralInRange<int>(0, 2);
            std::vector<T>& victim = which == 0 ? t.x : which == 1 ? t.w : t.b;
            if (victim.empty()) return break_params(in, p, t);
            p.output = victim.data() + in.ConsumeIntegralInRange<size_t>(0, victim.size() - 1);
            return which == 0 ? "output overlaps input" : which == 1 ? "output overlaps weight" : "output overlaps bias";
        }
        default:
            p.kernel_h = p.in_height + 2 * p.pad_h + 1;
            p.dilation_h = 1;
            return "kernel larger than the padded input";
    }
}

uint16_t narrow16(int32_t type, float f) { return type == INKWELL_ELEMENT_F16 ? inkwell::float_to_f16(f) : inkwell::float_to_bf16(f); }

int32_t conv2d16(int32_t type, inkwell_context* ctx, const inkwell_conv2d_params* p) {
    return type == INKWELL_ELEMENT_F16 ? inkwell_conv2d_f16(ctx, p) : inkwell_conv2d_bf16(ctx, p);
}

// The f16 / bf16 entries on the same case. The grid floats are exact in both types, so the
// float tensors are the widened inputs. Invalid: refused with a message, nothing written.
// Valid: 1 and 3 threads give the same bits, the result is narrow(conv2d_f32) bit for bit,
// and every output is within 1 ulp of the double reference rounded once, or within the
// float32 error bound where it cancels (the rule and the bound: native/tests/reference16.hpp).
int check_16bit(FuzzedDataProvider& in, inkwell_conv2d_params p, const Tensors<float>& t, int32_t type, bool invalid,
                int ctx, int64_t reduction) {
    Tensors<uint16_t> h;
    auto narrow_all = [&](const std::vector<float>& from, std::vector<uint16_t>& to) {
        to.resize(from.size());
        for (size_t i = 0; i < from.size(); ++i) to[i] = narrow16(type, from[i]);
    };
    narrow_all(t.x, h.x);
    narrow_all(t.w, h.w);
    narrow_all(t.b, h.b);
    h.y.assign(t.y.size(), 0xffff);  // NaN in both types
    p.input = h.x.data();
    p.weight = h.w.data();
    p.bias = p.bias != nullptr ? h.b.data() : nullptr;
    p.output = h.y.data();
    const char* name = type == INKWELL_ELEMENT_F16 ? "f16" : "bf16";

    if (invalid) {
        const std::string what = std::string("conv2d ") + name + " " + break_params(in, p, h);
        const Tensors<uint16_t> before = h;
        expect_refused(conv2d16(type, context(ctx), &p), what.c_str());
        if (h.y != before.y || h.x != before.x || h.w != before.w || h.b != before.b)
            fail("%s: a refused call wrote memory", what.c_str());
        return 0;
    }

    char what[320];
    std::snprintf(what, sizeof what,
                  "conv2d %s N=%lld Cin=%lld %lldx%lld Cout=%lld k=%lldx%lld s=%lld,%lld p=%lld,%lld d=%lld,%lld g=%lld bias=%d silu=%d",
                  name, (long long)p.batch, (long long)p.in_channels, (long long)p.in_height, (long long)p.in_width,
                  (long long)p.out_channels, (long long)p.kernel_h, (long long)p.kernel_w, (long long)p.stride_h,
                  (long long)p.stride_w, (long long)p.pad_h, (long long)p.pad_w, (long long)p.dilation_h,
                  (long long)p.dilation_w, (long long)p.groups, int(p.bias != nullptr), p.activation);
    expect_ok(conv2d16(type, context(ctx), &p), what);
    const std::vector<uint16_t> abi = h.y;
    std::fill(h.y.begin(), h.y.end(), 0xffff);
    expect_ok(conv2d16(type, context(ctx + 1), &p), what);
    if (abi != h.y) fail("%s: threads %d and %d differ", what, ctx % 3 + 1, (ctx + 1) % 3 + 1);

    // The same call on the widened (float) tensors.
    inkwell_conv2d_params f = p;
    std::vector<float> f32(abi.size(), std::numeric_limits<float>::quiet_NaN());
    f.input = t.x.data();
    f.weight = t.w.data();
    f.bias = p.bias != nullptr ? t.b.data() : nullptr;
    f.output = f32.data();
    expect_ok(inkwell_conv2d_f32(context(ctx), &f), what);
    const inkwell_ref::Exact exact = inkwell_ref::conv2d_exact(f);
    const inkwell_ref::Format& format = inkwell_ref::format_of(type);
    for (size_t i = 0; i < abi.size(); ++i) {
        if (narrow16(type, f32[i]) != abi[i])
            fail("%s: output %zu is 0x%04x, narrow(conv2d_f32) 0x%04x", what, i, abi[i], narrow16(type, f32[i]));
        if (inkwell_ref::check16(abi[i], exact.value[i], exact.delta[i], format) == inkwell_ref::Verdict::fail)
            fail("%s: output %zu is 0x%04x (%.9g), reference %.17g rounds to 0x%04x, float32 error bound %.3g (K %lld)",
                 what, i, abi[i], inkwell_ref::value_of(abi[i], format), exact.value[i],
                 inkwell_ref::narrow_ref(exact.value[i], format), exact.delta[i], (long long)reduction);
    }
    return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const bool invalid = in.ConsumeIntegralInRange<int>(0, 7) == 7;
    const int ctx = in.ConsumeIntegralInRange<int>(0, 2);
    // Element type, early (integers come from the end of the input, so libFuzzer's first short
    // inputs reach it): f32 in half of the inputs, f16 and bf16 in a quarter each.
    const int32_t type = std::max(0, in.ConsumeIntegralInRange<int32_t>(-1, 2));
    inkwell_conv2d_params p{};
    p.groups = in.ConsumeIntegralInRange<int64_t>(1, 4);
    p.batch = in.ConsumeIntegralInRange<int64_t>(1, 3);
    // Channels per group up to 40 so that the reduction K = cin/g kh kw passes the 256-wide
    // K blocks of the GEMM now and then.
    p.in_channels = p.groups * in.ConsumeIntegralInRange<int64_t>(1, in.ConsumeBool() ? 40 : 6);
    p.out_channels = p.groups * in.ConsumeIntegralInRange<int64_t>(1, in.ConsumeBool() ? 24 : 6);
    p.kernel_h = in.ConsumeIntegralInRange<int64_t>(1, 7);
    p.kernel_w = in.ConsumeIntegralInRange<int64_t>(1, 7);
    p.stride_h = in.ConsumeIntegralInRange<int64_t>(1, 3);
    p.stride_w = in.ConsumeIntegralInRange<int64_t>(1, 3);
    p.dilation_h = in.ConsumeIntegralInRange<int64_t>(1, 3);
    p.dilation_w = in.ConsumeIntegralInRange<int64_t>(1, 3);
    p.pad_h = in.ConsumeIntegralInRange<int64_t>(0, 4);
    p.pad_w = in.ConsumeIntegralInRange<int64_t>(0, 4);
    // The padded input must hold one dilated kernel.
    const int64_t min_h = std::max<int64_t>(1, p.dilation_h * (p.kernel_h - 1) + 1 - 2 * p.pad_h);
    const int64_t min_w = std::max<int64_t>(1, p.dilation_w * (p.kernel_w - 1) + 1 - 2 * p.pad_w);
    p.in_height = min_h + in.ConsumeIntegralInRange<int64_t>(0, 24);
    p.in_width = min_w + in.ConsumeIntegralInRange<int64_t>(0, 24);
    p.out_height = out_size(p.in_height, p.pad_h, p.dilation_h, p.kernel_h, p.stride_h);
    p.out_width = out_size(p.in_width, p.pad_w, p.dilation_w, p.kernel_w, p.stride_w);
    p.activation = in.ConsumeBool() ? INKWELL_ACTIVATION_SILU : INKWELL_ACTIVATION_NONE;
    const bool with_bias = in.ConsumeBool();
    const int64_t reduction = p.in_channels / p.groups * p.kernel_h * p.kernel_w;
    const int64_t out_count = p.batch * p.out_channels * p.out_height * p.out_width;
    if (out_count * reduction > kWorkBudget) return -1;  // too slow under ASan: not added to the corpus

    Tensors<float> t;
    t.x = floats(in, p.batch * p.in_channels * p.in_height * p.in_width);
    t.w = floats(in, p.out_channels * reduction);
    if (with_bias) t.b = floats(in, p.out_channels);
    t.y.assign(size_t(out_count), std::numeric_limits<float>::quiet_NaN());
    p.input = t.x.data();
    p.weight = t.w.data();
    p.bias = with_bias ? t.b.data() : nullptr;
    p.output = t.y.data();

    if (type != INKWELL_ELEMENT_F32) return check_16bit(in, p, t, type, invalid, ctx, reduction);

    if (invalid) {
        const std::string what = break_params(in, p, t);
        const Tensors<float> before = t;
        expect_refused(inkwell_conv2d_f32(context(ctx), &p), ("conv2d " + what).c_str());
        if (!same_bits(t.y.data(), before.y.data(), t.y.size()) || !same_bits(t.x.data(), before.x.data(), t.x.size()) ||
            !same_bits(t.w.data(), before.w.data(), t.w.size()))
            fail("conv2d %s: a refused call wrote memory", what.c_str());
        return 0;
    }

    char what[320];
    std::snprintf(what, sizeof what,
                  "conv2d N=%lld Cin=%lld %lldx%lld Cout=%lld k=%lldx%lld s=%lld,%lld p=%lld,%lld d=%lld,%lld g=%lld bias=%d silu=%d",
                  (long long)p.batch, (long long)p.in_channels, (long long)p.in_height, (long long)p.in_width,
                  (long long)p.out_channels, (long long)p.kernel_h, (long long)p.kernel_w, (long long)p.stride_h,
                  (long long)p.stride_w, (long long)p.pad_h, (long long)p.pad_w, (long long)p.dilation_h,
                  (long long)p.dilation_w, (long long)p.groups, int(with_bias), p.activation);
    expect_ok(inkwell_conv2d_f32(context(ctx), &p), what);
    const std::vector<float> abi = t.y;

    // Thread-count independence: the same call on a context with another thread count.
    std::fill(t.y.begin(), t.y.end(), std::numeric_limits<float>::quiet_NaN());
    expect_ok(inkwell_conv2d_f32(context(ctx + 1), &p), what);
    if (!same_bits(abi.data(), t.y.data(), abi.size())) fail("%s: threads %d and %d differ", what, ctx + 1, (ctx + 1) % 3 + 1);

    std::vector<float> portable(abi.size(), std::numeric_limits<float>::quiet_NaN());
    inkwell_conv2d_params q = p;
    q.output = portable.data();
    inkwell::cpu::conv2d_fast(context(ctx)->pool, q, inkwell::cpu::Conv2dIsa::kPortable);

    std::vector<float> ref(abi.size()), magnitude(abi.size());
    q.output = ref.data();
    inkwell::cpu::conv2d_reference(q);
    const std::vector<float> ax = absolute(t.x), aw = absolute(t.w), ab = absolute(t.b);
    inkwell_conv2d_params m = p;
    m.input = ax.data();
    m.weight = aw.data();
    m.bias = with_bias ? ab.data() : nullptr;
    m.activation = INKWELL_ACTIVATION_NONE;
    m.output = magnitude.data();
    inkwell::cpu::conv2d_reference(m);

    for (size_t i = 0; i < ref.size(); ++i) {
        const double tol = 2.2 * (reduction + 4) * kFloatEps * magnitude[i] + 4 * kFloatEps * std::fabs(ref[i]) + 1e-30;
        const double abi_error = std::fabs(double(abi[i]) - ref[i]), portable_error = std::fabs(double(portable[i]) - ref[i]);
        if (!(abi_error <= tol) || !(portable_error <= tol))
            fail("%s: output %zu is %.9g (ABI) / %.9g (portable), reference %.9g, tolerance %.3g", what, i, abi[i],
                 portable[i], ref[i], tol);
    }
    return 0;
}
