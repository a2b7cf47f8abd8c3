// ABI entries inkwell_conv2d_f32, _f16 and _bf16: validate every size, the output size
// formula, element counts (with overflow checks) and overlap, then dispatch: to the CUDA
// backend, to the CPU fast path (f32), or to it on widened copies (f16, bf16).
#include <cstdint>
#include <initializer_list>
#include <string>

#include "context.hpp"
#include "cpu/conv2d_cpu.hpp"
#include "cpu/widened.hpp"
#include "element_types.hpp"

using namespace inkwell;

namespace {

// Largest element count of any one tensor: keeps every index, and every index times
// sizeof(float), far inside int64.
constexpr int64_t kMaxElements = int64_t(1) << 40;

std::string str(int64_t v) { return std::to_string(v); }

void require_at_least(int64_t value, int64_t minimum, const char* name) {
    if (value < minimum) invalid_argument(std::string("conv2d: ") + name + " must be >= " + str(minimum) + ", got " + str(value));
}

// Product of sizes for the tensor `what`, failing on int64 overflow or beyond kMaxElements.
int64_t element_count(std::initializer_list<int64_t> sizes, const char* what) {
    int64_t count = 1;
    for (int64_t s : sizes) {
        if (__builtin_mul_overflow(count, s, &count) || count > kMaxElements)
            invalid_argument(std::string("conv2d: ") + what + " has more than 2^40 elements");
    }
    return count;
}

// (in + 2 pad - dilation (k - 1) - 1) / stride + 1 for one axis, with overflow checks; the
// message spells the formula out with the axis' values.
void check_output_size(int64_t in, int64_t pad, int64_t dilation, int64_t kernel, int64_t stride, int64_t out,
                       const char* axis, const char* in_name, const char* out_name) {
    const std::string a(axis);
    int64_t padded = 0, span = 0, room = 0;
    const bool overflow = __builtin_mul_overflow(pad, int64_t(2), &padded) ||
                          __builtin_add_overflow(in, padded, &padded) ||
                          __builtin_mul_overflow(dilation, kernel - 1, &span) ||
                          __builtin_sub_overflow(padded, span, &room) || __builtin_sub_overflow(room, int64_t(1), &room);
    if (overflow)
        invalid_argument("conv2d: " + std::string(in_name) + ", pad_" + a + ", dilation_" + a + " and kernel_" + a +
                         " overflow int64");
    const std::string formula = "(" + std::string(in_name) + " " + str(in) + " + 2*pad_" + a + " " + str(pad) +
                                " - dilation_" + a + " " + str(dilation) + "*(kernel_" + a + " " + str(kernel) +
                                " - 1) - 1)/stride_" + a + " " + str(stride) + " + 1";
    if (room < 0)
        invalid_argument("conv2d: kernel does not fit the padded input: " + formula + " is below 1");
    const int64_t expected = room / stride + 1;
    if (out != expected)
        invalid_argument("conv2d: " + std::string(out_name) + " " + str(out) + " does not match " + formula + " = " + str(expected));
}

struct Counts {
    int64_t input, weight, output;
};

// Element counts as validate() derived them.
Counts counts(const inkwell_conv2d_params& p) {
    return {p.batch * p.in_channels * p.in_height * p.in_width,
            p.out_channels * (p.in_channels / p.groups) * p.kernel_h * p.kernel_w,
            p.batch * p.out_channels * p.out_height * p.out_width};
}

bool overlaps(const void* a, int64_t a_count, const void* b, int64_t b_count, int64_t element_bytes) {
    const auto a0 = reinterpret_cast<uintptr_t>(a), b0 = reinterpret_cast<uintptr_t>(b);
    const auto a1 = a0 + uintptr_t(a_count * element_bytes), b1 = b0 + uintptr_t(b_count * element_bytes);
    return a0 < b1 && b0 < a1;
}

void validate(const inkwell_conv2d_params& p, int64_t element_bytes) {
    if (p.input == nullptr) invalid_argument("conv2d: input is null");
    if (p.weight == nullptr) invalid_argument("conv2d: weight is null");
    if (p.output == nullptr) invalid_argument("conv2d: output is null");

    const struct {
        int64_t value;
        int64_t minimum;
        const char* name;
    } sizes[] = {{p.batch, 1, "batch"},           {p.in_channels, 1, "in_channels"}, {p.in_height, 1, "in_height"},
                 {p.in_width, 1, "in_width"},     {p.out_channels, 1, "out_channels"}, {p.kernel_h, 1, "kernel_h"},
                 {p.kernel_w, 1, "kernel_w"},     {p.stride_h, 1, "stride_h"},       {p.stride_w, 1, "stride_w"},
                 {p.pad_h, 0, "pad_h"},           {p.pad_w, 0, "pad_w"},             {p.dilation_h, 1, "dilation_h"},
                 {p.dilation_w, 1, "dilation_w"}, {p.groups, 1, "groups"},           {p.out_height, 1, "out_height"},
                 {p.out_width, 1, "out_width"}};
    for (const auto& s : sizes) require_at_least(s.value, s.minimum, s.name);

    if (p.in_channels % p.groups != 0)
        invalid_argument("conv2d: groups " + str(p.groups) + " does not divide in_channels " + str(p.in_channels));
    if (p.out_channels % p.groups != 0)
        invalid_argument("conv2d: groups " + str(p.groups) + " does not divide out_channels " + str(p.out_channels));
    if (p.activation != INKWELL_ACTIVATION_NONE && p.activation != INKWELL_ACTIVATION_SILU)
        invalid_argument("conv2d: activation must be 0 (NONE) or 1 (SILU), got " + std::to_string(p.activation));

    const int64_t in_count = element_count({p.batch, p.in_channels, p.in_height, p.in_width}, "input");
    const int64_t w_count = element_count({p.out_channels, p.in_channels / p.groups, p.kernel_h, p.kernel_w}, "weight");
    const int64_t out_count = element_count({p.batch, p.out_channels, p.out_height, p.out_width}, "output");
    check_output_size(p.in_height, p.pad_h, p.dilation_h, p.kernel_h, p.stride_h, p.out_height, "h", "in_height", "out_height");
    check_output_size(p.in_width, p.pad_w, p.dilation_w, p.kernel_w, p.stride_w, p.out_width, "w", "in_width", "out_width");

    const int64_t e = element_bytes;
    if (overlaps(p.output, out_count, p.input, in_count, e)) invalid_argument("conv2d: output overlaps input");
    if (overlaps(p.output, out_count, p.weight, w_count, e)) invalid_argument("conv2d: output overlaps weight");
    if (p.bias != nullptr && overlaps(p.output, out_count, p.bias, p.out_channels, e))
        invalid_argument("conv2d: output overlaps bias");
}

// f16/bf16 on the CPU: the float32 kernel on widened copies, the output narrowed once.
void conv2d_widened(ThreadPool& pool, const inkwell_conv2d_params& p, int32_t type) {
    const Counts n = counts(p);
    const std::vector<float> input = cpu::widen(pool, type, p.input, n.input);
    const std::vector<float> weight = cpu::widen(pool, type, p.weight, n.weight);
    std::vector<float> bias;
    if (p.bias != nullptr) bias = cpu::widen(pool, type, p.bias, p.out_channels);
    std::vector<float> output(static_cast<size_t>(n.output));
    inkwell_conv2d_params f = p;
    f.input = input.data();
    f.weight = weight.data();
    f.bias = p.bias != nullptr ? bias.data() : nullptr;
    f.output = output.data();
    cpu::conv2d_fast(pool, f);
    cpu::narrow(pool, type, output, p.output);
}

int32_t conv2d(inkwell_context* context, const inkwell_conv2d_params* params, int32_t type) {
    return guarded([&] {
        inkwell_context& ctx = require_context(context);
        if (params == nullptr) invalid_argument("conv2d: params is null");
        validate(*params, element_size(type));
        if (ctx.cuda != nullptr) {
            cuda_check(ctx, ctx.cuda->conv2d(ctx.cuda_state, params, type));
        } else if (type == INKWELL_ELEMENT_F32) {
            cpu::conv2d_fast(ctx.pool, *params);
        } else {
            conv2d_widened(ctx.pool, *params, type);
        }
    });
}

}  // namespace

extern "C" int32_t inkwell_conv2d_f32(inkwell_context* context, const inkwell_conv2d_params* params) {
    return conv2d(context, params, INKWELL_ELEMENT_F32);
}

extern "C" int32_t inkwell_conv2d_f16(inkwell_context* context, const inkwell_conv2d_params* params) {
    return conv2d(context, params, INKWELL_ELEMENT_F16);
}

extern "C" int32_t inkwell_conv2d_bf16(inkwell_context* context, const inkwell_conv2d_params* params) {
    return conv2d(context, params, INKWELL_ELEMENT_BF16);
}
