// Fuzz target for the element-wise and plumbing entries; the first input byte picks one:
//   0 inkwell_activation_f32/_f16/_bf16 (every activation, in place or not)
//   1 inkwell_timestep_embedding_f32 (dims 1..400, flip, shift, scale, max_period)
//   2 inkwell_add_f32 (every broadcast period, in place or not)
//   3 inkwell_cat_f32
//   4 inkwell_transpose_f32 (all five sizes)
//   5 inkwell_max_pool2d_f32 (kernel, stride, pad up to kernel / 2)
// Inputs carry NaN, infinities, huge and subnormal values now and then. Every result must
// equal the plain reference bit for bit (NaN payloads aside; the 16-bit activations:
// narrow(apply_activation(widen(x)))) and be identical for two thread counts. About one
// input in eight breaks an argument, which must be refused with a message, nothing written.
#include <string>

#include "cpu/activations.hpp"
#include "cpu/elementwise_cpu.hpp"
#include "element_types.hpp"
#include "fuzz_input.hpp"

using namespace inkwell_fuzz;

namespace {

constexpr int64_t kHuge = int64_t(1) << 21;  // sizes whose products pass 2^40

// Calls the entry, expects a refusal, and that `out` (the output buffer) is unchanged.
template <class T, class Call>
void expect_refused_untouched(Call call, const std::vector<T>& out, const std::string& what) {
    const std::vector<T> before = out;
    expect_refused(call(), what.c_str());
    if (std::memcmp(before.data(), out.data(), out.size() * sizeof(T)) != 0) fail("%s: a refused call wrote output", what.c_str());
}

void check_same(const std::vector<float>& got, const std::vector<float>& want, const char* what) {
    for (size_t i = 0; i < want.size(); ++i)
        if (!same_value(got[i], want[i])) fail("%s: output %zu is %.9g, reference %.9g", what, i, got[i], want[i]);
}

// ---- activation --------------------------------------------------------------------------

void fuzz_activation(FuzzedDataProvider& in, bool invalid, int ctx) {
    const int32_t type = in.ConsumeIntegralInRange<int32_t>(INKWELL_ELEMENT_F32, INKWELL_ELEMENT_BF16);
    auto entry = type == INKWELL_ELEMENT_F32 ? inkwell_activation_f32
                 : type == INKWELL_ELEMENT_F16 ? inkwell_activation_f16 : inkwell_activation_bf16;
    inkwell_activation_params p{};
    p.activation = in.ConsumeIntegralInRange<int32_t>(INKWELL_ACTIVATION_SILU, INKWELL_ACTIVATION_RELU);
    p.count = in.ConsumeIntegralInRange<int64_t>(1, 3000);
    const bool in_place = in.ConsumeBool();
    const std::vector<float> x = floats(in, p.count, /*specials=*/true);
    // The input as the entry's element type, in 32-bit words (a 16-bit tensor uses the first half).
    std::vector<float> input(x.size());
    std::vector<float> output(x.size(), -7.0f);
    auto* bits = reinterpret_cast<uint16_t*>(input.data());
    for (size_t i = 0; i < x.size(); ++i) {
        if (type == INKWELL_ELEMENT_F32) input[i] = x[i];
        else bits[i] = type == INKWELL_ELEMENT_F16 ? inkwell::float_to_f16(x[i]) : inkwell::float_to_bf16(x[i]);
    }
    p.input = input.data();
    p.output = in_place ? input.data() : output.data();

    if (invalid) {
        std::string what = "activation ";
        p.output = output.data();
        switch (in.ConsumeIntegralInRange<int>(0, 4)) {
            case 0: {
                static const int32_t kBad[] = {INKWELL_ACTIVATION_NONE, 6, -1, std::numeric_limits<int32_t>::max(),
                                               std::numeric_limits<int32_t>::min()};
                p.activation = kBad[in.ConsumeIntegralInRange<int>(0, 4)];
                what += "bad activation";
                break;
            }
            case 1: p.count = bad_size(in); what += "bad count"; break;
            case 2:
                if (in.ConsumeBool()) p.input = nullptr; else p.output = nullptr;
                what += "null tensor";
                break;
            case 3: {
                if (p.count < 2) {  // one element cannot overlap partly
                    p.input = nullptr;
                    what += "null input";
                    break;
                }
                const int64_t shift = in.ConsumeIntegralInRange<int64_t>(1, p.count - 1);  // elements
                p.output = type == INKWELL_ELEMENT_F32 ? static_cast<void*>(input.data() + shift) : static_cast<void*>(bits + shift);
                expect_refused(entry(context(ctx), &p), "activation output overlaps input");
                return;
            }
            default: expect_refused(in.ConsumeBool() ? entry(nullptr, &p) : entry(context(ctx), nullptr), "activation null context or params"); return;
        }
        expect_refused_untouched<float>([&] { return entry(context(ctx), &p); }, output, what);
        return;
    }

    char what[96];
    std::snprintf(what, sizeof what, "activation %s type %d count %lld%s", inkwell::cpu::activation_name(p.activation), type,
                  (long long)p.count, in_place ? " in place" : "");
    const std::vector<float> original = input;
    expect_ok(entry(context(ctx), &p), what);
    const std::vector<float> first = in_place ? input : output;
    if (in_place) input = original;
    expect_ok(entry(context(ctx + 1), &p), what);
    if (!same_bits(first.data(), (in_place ? input : output).data(), first.size())) fail("%s: threads differ", what);
    const auto* got16 = reinterpret_cast<const uint16_t*>(first.data());
    const auto* in16 = reinterpret_cast<const uint16_t*>(original.data());
    for (int64_t i = 0; i < p.count; ++i) {
        if (type == INKWELL_ELEMENT_F32) {
            const float want = inkwell::cpu::apply_activation(p.activation, original[size_t(i)]);
            if (!same_value(first[size_t(i)], want)) fail("%s: output %lld is %.9g, reference %.9g", what, (long long)i, first[size_t(i)], want);
        } else {
            const bool f16 = type == INKWELL_ELEMENT_F16;
            const float widened = f16 ? inkwell::f16_to_float(in16[i]) : inkwell::bf16_to_float(in16[i]);
            const float y = inkwell::cpu::apply_activation(p.activation, widened);
            const uint16_t want = f16 ? inkwell::float_to_f16(y) : inkwell::float_to_bf16(y);
            if (got16[i] != want) fail("%s: output %lld is 0x%04x, narrow(act(widen(x))) 0x%04x", what, (long long)i, got16[i], want);
        }
    }
}

// ---- timestep_embedding ------------------------------------------------------------------

double pick(FuzzedDataProvider& in, std::initializer_list<double> common, double lo, double hi) {
    const size_t k = in.ConsumeIntegralInRange<size_t>(0, common.size());
    return k < common.size() ? *(common.begin() + k) : in.ConsumeFloatingPointInRange<double>(lo, hi);
}

void fuzz_timestep_embedding(FuzzedDataProvider& in, bool invalid, int ctx) {
    inkwell_timestep_embedding_params p{};
    p.count = in.ConsumeIntegralInRange<int64_t>(1, 8);
    p.dim = in.ConsumeIntegralInRange<int64_t>(1, 400);
    p.flip_sin_to_cos = in.ConsumeBool() ? 1 : 0;
    p.downscale_freq_shift = pick(in, {0.0, 1.0}, -10.0, 10.0);
    p.scale = pick(in, {1.0, 1000.0}, -100.0, 100.0);
    p.max_period = pick(in, {10000.0, 1.0}, 0.5, 1e5);
    if (p.dim / 2 > 0 && double(p.dim / 2) - p.downscale_freq_shift == 0) p.downscale_freq_shift += 0.5;
    std::vector<float> t = floats(in, p.count, /*specials=*/false);
    for (auto& v : t) v *= 125.0f;  // up to +-1000, as diffusion timesteps
    std::vector<float> out(size_t(p.count * p.dim), -7.0f);
    p.timesteps = t.data();
    p.output = out.data();

    if (invalid) {
        std::string what = "timestep_embedding ";
        switch (in.ConsumeIntegralInRange<int>(0, 8)) {
            case 0: (in.ConsumeBool() ? p.count : p.dim) = bad_size(in); what += "bad size"; break;
            case 1: p.count = kHuge; p.dim = kHuge; what += "output over 2^40"; break;
            case 2: {
                double* params[] = {&p.downscale_freq_shift, &p.scale, &p.max_period};
                *params[in.ConsumeIntegralInRange<int>(0, 2)] = in.ConsumeBool() ? std::nan("") : -std::numeric_limits<double>::infinity();
                what += "non-finite parameter";
                break;
            }
            case 3: p.max_period = in.ConsumeBool() ? 0.0 : -in.ConsumeFloatingPointInRange<double>(1e-300, 1e300); what += "max_period <= 0"; break;
            case 4: p.dim = std::max<int64_t>(2, p.dim); p.downscale_freq_shift = double(p.dim / 2); what += "half - shift == 0"; break;
            case 5: t[in.ConsumeIntegralInRange<size_t>(0, t.size() - 1)] = special_float(in.ConsumeIntegralInRange<uint8_t>(0, 2)); what += "non-finite timestep"; break;
            case 6:
                if (in.ConsumeBool()) p.timesteps = nullptr; else p.output = nullptr;
                what += "null tensor";
                break;
            case 7:
                p.count = 1;  // timesteps [1] inside output [1, dim]
                p.timesteps = out.data() + in.ConsumeIntegralInRange<int64_t>(0, p.dim - 1);
                what += "output overlaps timesteps";
                break;
            default:
                expect_refused(in.ConsumeBool() ? inkwell_timestep_embedding_f32(nullptr, &p)
                                                : inkwell_timestep_embedding_f32(context(ctx), nullptr),
                               "timestep_embedding null context or params");
                return;
        }
        if (what == "timestep_embedding output overlaps timesteps") {
            expect_refused(inkwell_timestep_embedding_f32(context(ctx), &p), what.c_str());  // out holds the timesteps
            return;
        }
        expect_refused_untouched<float>([&] { return inkwell_timestep_embedding_f32(context(ctx), &p); }, out, what);
        return;
    }

    char what[160];
    std::snprintf(what, sizeof what, "timestep_embedding count %lld dim %lld flip %d shift %.17g scale %.17g max_period %.17g",
                  (long long)p.count, (long long)p.dim, p.flip_sin_to_cos, p.downscale_freq_shift, p.scale, p.max_period);
    expect_ok(inkwell_timestep_embedding_f32(context(ctx), &p), what);
    const std::vector<float> abi = out;
    expect_ok(inkwell_timestep_embedding_f32(context(ctx + 1), &p), what);
    if (!same_bits(abi.data(), out.data(), abi.size())) fail("%s: threads differ", what);
    std::vector<float> ref(abi.size());
    p.output = ref.data();
    inkwell::cpu::timestep_embedding_reference(p);
    check_same(abi, ref, what);
    for (float v : abi)  // sin and cos of finite arguments, or NaN where exp overflowed
        if (!(std::fabs(v) <= 1.0f) && !std::isnan(v)) fail("%s: output %.9g outside [-1, 1]", what, v);
}

// ---- add ---------------------------------------------------------------------------------

void fuzz_add(FuzzedDataProvider& in, bool invalid, int ctx) {
    inkwell_add_params p{};
    p.b_count = in.ConsumeIntegralInRange<int64_t>(1, 20);
    p.inner = in.ConsumeIntegralInRange<int64_t>(1, 40);
    p.count = p.b_count * p.inner * in.ConsumeIntegralInRange<int64_t>(1, 10);
    const bool in_place = in.ConsumeBool();
    std::vector<float> a = floats(in, p.count, true), b = floats(in, p.b_count, true), out(size_t(p.count), -7.0f);
    p.a = a.data();
    p.b = b.data();
    p.out = in_place ? a.data() : out.data();

    if (invalid) {
        std::string what = "add ";
        p.out = out.data();
        switch (in.ConsumeIntegralInRange<int>(0, 6)) {
            case 0: {
                int64_t* sizes[] = {&p.count, &p.b_count, &p.inner};
                *sizes[in.ConsumeIntegralInRange<int>(0, 2)] = bad_size(in);
                what += "bad size";
                break;
            }
            case 1: {
                const int64_t period = p.b_count * p.inner;  // count is a multiple of it
                if (period == 1) {
                    p.b_count = p.count + 1;
                    what += "b_count past count";
                } else {
                    p.count -= in.ConsumeIntegralInRange<int64_t>(1, period - 1);  // still >= 1
                    what += "period does not divide count";
                }
                break;
            }
            case 2: p.inner = kHuge; p.b_count = kHuge; what += "period over count"; break;
            case 3:
                if (in.ConsumeBool()) p.a = nullptr; else if (in.ConsumeBool()) p.b = nullptr; else p.out = nullptr;
                what += "null tensor";
                break;
            case 4: {
                if (p.count < 2) { p.count = 2; p.b_count = 1; p.inner = 1; a.resize(2); p.a = a.data(); }
                p.out = a.data() + in.ConsumeIntegralInRange<int64_t>(1, p.count - 1);
                expect_refused(inkwell_add_f32(context(ctx), &p), "add out partly overlaps a");
                return;
            }
            case 5: p.b = out.data() + in.ConsumeIntegralInRange<int64_t>(0, p.count - 1) / 2; p.b_count = 1; what += "out overlaps b"; break;
            default: expect_refused(in.ConsumeBool() ? inkwell_add_f32(nullptr, &p) : inkwell_add_f32(context(ctx), nullptr), "add null context or params"); return;
        }
        expect_refused_untouched<float>([&] { return inkwell_add_f32(context(ctx), &p); }, out, what);
        return;
    }

    char what[96];
    std::snprintf(what, sizeof what, "add count %lld b_count %lld inner %lld%s", (long long)p.count, (long long)p.b_count,
                  (long long)p.inner, in_place ? " in place" : "");
    const std::vector<float> original = a;
    expect_ok(inkwell_add_f32(context(ctx), &p), what);
    const std::vector<float> first = in_place ? a : out;
    if (in_place) a = original;
    expect_ok(inkwell_add_f32(context(ctx + 1), &p), what);
    if (!same_bits(first.data(), (in_place ? a : out).data(), first.size())) fail("%s: threads differ", what);
    std::vector<float> ref(first.size());
    inkwell::cpu::add_reference(inkwell_add_params{original.data(), b.data(), ref.data(), p.count, p.b_count, p.inner});
    check_same(first, ref, what);
}

// ---- cat ---------------------------------------------------------------------------------

void fuzz_cat(FuzzedDataProvider& in, bool invalid, int ctx) {
    inkwell_cat_params p{};
    p.outer = in.ConsumeIntegralInRange<int64_t>(1, 20);
    p.a_inner = in.ConsumeIntegralInRange<int64_t>(1, 100);
    p.b_inner = in.ConsumeIntegralInRange<int64_t>(1, 100);
    std::vector<float> a = floats(in, p.outer * p.a_inner, true), b = floats(in, p.outer * p.b_inner, true);
    std::vector<float> out(size_t(p.outer * (p.a_inner + p.b_inner)), -7.0f);
    p.a = a.data();
    p.b = b.data();
    p.out = out.data();

    if (invalid) {
        std::string what = "cat ";
        switch (in.ConsumeIntegralInRange<int>(0, 4)) {
            case 0: {
                int64_t* sizes[] = {&p.outer, &p.a_inner, &p.b_inner};
                *sizes[in.ConsumeIntegralInRange<int>(0, 2)] = bad_size(in);
                what += "bad size";
                break;
            }
            case 1: p.outer = kHuge; p.a_inner = kHuge; what += "output over 2^40"; break;
            case 2:
                if (in.ConsumeBool()) p.a = nullptr; else if (in.ConsumeBool()) p.b = nullptr; else p.out = nullptr;
                what += "null tensor";
                break;
            case 3:
                p.outer = 1;  // out [1, a_inner + b_inner]; a or b inside it
                if (in.ConsumeBool()) p.a = out.data() + in.ConsumeIntegralInRange<int64_t>(0, p.a_inner + p.b_inner - 1);
                else p.b = out.data() + in.ConsumeIntegralInRange<int64_t>(0, p.a_inner + p.b_inner - 1);
                what += "out overlaps an input";
                break;
            default: expect_refused(in.ConsumeBool() ? inkwell_cat_f32(nullptr, &p) : inkwell_cat_f32(context(ctx), nullptr), "cat null context or params"); return;
        }
        expect_refused_untouched<float>([&] { return inkwell_cat_f32(context(ctx), &p); }, out, what);
        return;
    }

    char what[96];
    std::snprintf(what, sizeof what, "cat outer %lld a_inner %lld b_inner %lld", (long long)p.outer, (long long)p.a_inner, (long long)p.b_inner);
    expect_ok(inkwell_cat_f32(context(ctx), &p), what);
    const std::vector<float> abi = out;
    expect_ok(inkwell_cat_f32(context(ctx + 1), &p), what);
    if (!same_bits(abi.data(), out.data(), abi.size())) fail("%s: threads differ", what);
    std::vector<float> ref(abi.size());
    p.out = ref.data();
    inkwell::cpu::cat_reference(p);
    check_same(abi, ref, what);
}

// ---- transpose ---------------------------------------------------------------------------

void fuzz_transpose(FuzzedDataProvider& in, bool invalid, int ctx) {
    inkwell_transpose_params p{};
    p.outer = in.ConsumeIntegralInRange<int64_t>(1, 4);
    p.size0 = in.ConsumeIntegralInRange<int64_t>(1, 70);
    p.middle = in.ConsumeIntegralInRange<int64_t>(1, 4);
    p.size1 = in.ConsumeIntegralInRange<int64_t>(1, 70);
    p.inner = in.ConsumeIntegralInRange<int64_t>(1, 5);
    const int64_t count = p.outer * p.size0 * p.middle * p.size1 * p.inner;
    std::vector<float> input = floats(in, count, true), out(size_t(count), -7.0f);
    p.input = input.data();
    p.output = out.data();

    if (invalid) {
        std::string what = "transpose ";
        switch (in.ConsumeIntegralInRange<int>(0, 4)) {
            case 0: {
                int64_t* sizes[] = {&p.outer, &p.size0, &p.middle, &p.size1, &p.inner};
                *sizes[in.ConsumeIntegralInRange<int>(0, 4)] = bad_size(in);
                what += "bad size";
                break;
            }
            case 1: p.outer = p.size0 = kHuge; what += "over 2^40"; break;  // 2^42 or more
            case 2:
                if (in.ConsumeBool()) p.input = nullptr; else p.output = nullptr;
                what += "null tensor";
                break;
            case 3: p.input = out.data() + in.ConsumeIntegralInRange<int64_t>(0, count - 1); what += "output overlaps input"; break;
            default: expect_refused(in.ConsumeBool() ? inkwell_transpose_f32(nullptr, &p) : inkwell_transpose_f32(context(ctx), nullptr), "transpose null context or params"); return;
        }
        expect_refused_untouched<float>([&] { return inkwell_transpose_f32(context(ctx), &p); }, out, what);
        return;
    }

    char what[128];
    std::snprintf(what, sizeof what, "transpose [%lld, %lld, %lld, %lld, %lld]", (long long)p.outer, (long long)p.size0,
                  (long long)p.middle, (long long)p.size1, (long long)p.inner);
    expect_ok(inkwell_transpose_f32(context(ctx), &p), what);
    const std::vector<float> abi = out;
    expect_ok(inkwell_transpose_f32(context(ctx + 1), &p), what);
    if (!same_bits(abi.data(), out.data(), abi.size())) fail("%s: threads differ", what);
    std::vector<float> ref(abi.size());
    p.output = ref.data();
    inkwell::cpu::transpose_reference(p);
    check_same(abi, ref, what);
}

// ---- max_pool2d --------------------------------------------------------------------------

void fuzz_max_pool2d(FuzzedDataProvider& in, bool invalid, int ctx) {
    inkwell_max_pool2d_params p{};
    p.batch = in.ConsumeIntegralInRange<int64_t>(1, 2);
    p.channels = in.ConsumeIntegralInRange<int64_t>(1, 3);
    p.kernel_h = in.ConsumeIntegralInRange<int64_t>(1, 7);
    p.kernel_w = in.ConsumeIntegralInRange<int64_t>(1, 7);
    p.stride_h = in.ConsumeIntegralInRange<int64_t>(1, 4);
    p.stride_w = in.ConsumeIntegralInRange<int64_t>(1, 4);
    p.pad_h = in.ConsumeIntegralInRange<int64_t>(0, p.kernel_h / 2);
    p.pad_w = in.ConsumeIntegralInRange<int64_t>(0, p.kernel_w / 2);
    // The smallest input the padded kernel fits, plus up to 30.
    p.in_height = std::max<int64_t>(1, p.kernel_h - 2 * p.pad_h) + in.ConsumeIntegralInRange<int64_t>(0, 30);
    p.in_width = std::max<int64_t>(1, p.kernel_w - 2 * p.pad_w) + in.ConsumeIntegralInRange<int64_t>(0, 30);
    p.out_height = (p.in_height + 2 * p.pad_h - p.kernel_h) / p.stride_h + 1;
    p.out_width = (p.in_width + 2 * p.pad_w - p.kernel_w) / p.stride_w + 1;
    std::vector<float> input = floats(in, p.batch * p.channels * p.in_height * p.in_width, true);
    std::vector<float> out(size_t(p.batch * p.channels * p.out_height * p.out_width), -7.0f);
    p.input = input.data();
    p.output = out.data();

    if (invalid) {
        std::string what = "max_pool2d ";
        const bool h = in.ConsumeBool();
        switch (in.ConsumeIntegralInRange<int>(0, 8)) {
            case 0: {
                int64_t* sizes[] = {&p.batch, &p.channels, &p.in_height, &p.in_width};
                *sizes[in.ConsumeIntegralInRange<int>(0, 3)] = bad_size(in);
                what += "bad size";
                break;
            }
            case 1: (h ? p.kernel_h : p.kernel_w) = bad_size(in); what += "bad kernel"; break;
            case 2: (h ? p.stride_h : p.stride_w) = bad_size(in); what += "bad stride"; break;
            case 3: {
                const int64_t over = (h ? p.kernel_h : p.kernel_w) / 2 + in.ConsumeIntegralInRange<int64_t>(1, 5);
                (h ? p.pad_h : p.pad_w) = in.ConsumeBool() ? -in.ConsumeIntegralInRange<int64_t>(1, 5) : over;
                what += "bad pad";
                break;
            }
            case 4: {
                int64_t& o = h ? p.out_height : p.out_width;
                o = in.ConsumeBool() ? o + in.ConsumeIntegralInRange<int64_t>(1, 3) : o - in.ConsumeIntegralInRange<int64_t>(1, 3);
                what += "wrong out size";
                break;
            }
            case 5:
                if (h) { p.pad_h = 0; p.kernel_h = p.in_height + in.ConsumeIntegralInRange<int64_t>(1, 3); }
                else { p.pad_w = 0; p.kernel_w = p.in_width + in.ConsumeIntegralInRange<int64_t>(1, 3); }
                what += "kernel larger than the padded input";
                break;
            case 6: p.batch = p.channels = kHuge; what += "over 2^40"; break;
            case 7:
                if (in.ConsumeBool()) p.input = nullptr; else if (in.ConsumeBool()) p.output = nullptr; else p.output = input.data();
                what += "null or overlapping tensor";
                break;
            default: expect_refused(in.ConsumeBool() ? inkwell_max_pool2d_f32(nullptr, &p) : inkwell_max_pool2d_f32(context(ctx), nullptr), "max_pool2d null context or params"); return;
        }
        expect_refused_untouched<float>([&] { return inkwell_max_pool2d_f32(context(ctx), &p); }, out, what);
        return;
    }

    char what[200];
    std::snprintf(what, sizeof what, "max_pool2d [%lld,%lld,%lld,%lld] kernel %lldx%lld stride %lldx%lld pad %lldx%lld",
                  (long long)p.batch, (long long)p.channels, (long long)p.in_height, (long long)p.in_width, (long long)p.kernel_h,
                  (long long)p.kernel_w, (long long)p.stride_h, (long long)p.stride_w, (long long)p.pad_h, (long long)p.pad_w);
    expect_ok(inkwell_max_pool2d_f32(context(ctx), &p), what);
    const std::vector<float> abi = out;
    expect_ok(inkwell_max_pool2d_f32(context(ctx + 1), &p), what);
    if (!same_bits(abi.data(), out.data(), abi.size())) fail("%s: threads differ", what);
    std::vector<float> ref(abi.size());
    p.output = ref.data();
    inkwell::cpu::max_pool2d_reference(p);
    check_same(abi, ref, what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const int op = data[0] % 6;
    FuzzedDataProvider in(data + 1, size - 1);
    const bool invalid = in.ConsumeIntegralInRange<int>(0, 7) == 7;
    const int ctx = in.ConsumeIntegralInRange<int>(0, 2);
    switch (op) {
        case 0: fuzz_activation(in, invalid, ctx); break;
        case 1: fuzz_timestep_embedding(in, invalid, ctx); break;
        case 2: fuzz_add(in, invalid, ctx); break;
        case 3: fuzz_cat(in, invalid, ctx); break;
        case 4: fuzz_transpose(in, invalid, ctx); break;
        default: fuzz_max_pool2d(in, invalid, ctx); break;
    }
    return 0;
}
