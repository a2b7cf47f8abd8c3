// ABI entries inkwell_group_norm_f32, _f16 and _bf16: validate pointers, sizes, element
// counts (overflow-checked), groups, eps, the activation and overlap (the output may not
// overlap the input, weight or bias at all, in place included), then dispatch: to the CUDA
// backend, to the CPU fast path (f32), or to it on widened copies (f16, bf16: inputs widened
// exactly, computed in float32, each output rounded once).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "context.hpp"
#include "cpu/activations.hpp"
#include "cpu/norm_cpu.hpp"
#include "cpu/widened.hpp"
#include "element_types.hpp"
#include "tensor_args.hpp"

using namespace inkwell;

namespace {

constexpr const char* kGroupNorm = "group_norm";

std::string fail_prefix() { return std::string(kGroupNorm) + ": "; }

bool overlaps(const void* a, int64_t a_bytes, const void* b, int64_t b_bytes) {
    if (a == nullptr || b == nullptr) return false;
    const auto a0 = reinterpret_cast<uintptr_t>(a), b0 = reinterpret_cast<uintptr_t>(b);
    return a0 < b0 + uintptr_t(b_bytes) && b0 < a0 + uintptr_t(a_bytes);
}

// batch * channels * spatial; each already checked to be 1..2^40.
int64_t element_count(const inkwell_group_norm_params& p) {
    int64_t count = 0;
    if (__builtin_mul_overflow(p.batch, p.channels, &count) || __builtin_mul_overflow(count, p.spatial, &count) ||
        count > kMaxTensorElements)
        invalid_argument(fail_prefix() + "input of batch " + std::to_string(p.batch) + " x channels " +
                         std::to_string(p.channels) + " x spatial " + std::to_string(p.spatial) +
                         " would have more than 2^40 elements");
    return count;
}

void check_eps(double eps) {
    if (!(std::isfinite(eps) && eps >= 0)) {  // NaN fails both
        char value[40];
        std::snprintf(value, sizeof value, "%g", eps);
        invalid_argument(fail_prefix() + "eps must be finite and >= 0, got " + value);
    }
}

void validate(const inkwell_group_norm_params& p, int32_t type) {
    check_not_null(p.input, kGroupNorm, "input");
    check_not_null(p.output, kGroupNorm, "output");
    check_count(p.batch, kGroupNorm, "batch");
    check_count(p.channels, kGroupNorm, "channels");
    check_count(p.spatial, kGroupNorm, "spatial");
    check_count(p.groups, kGroupNorm, "groups");
    if (p.channels % p.groups != 0)
        invalid_argument(fail_prefix() + "groups " + std::to_string(p.groups) + " does not divide channels " +
                         std::to_string(p.channels));
    check_eps(p.eps);
    if (!cpu::is_activation(p.activation))
        invalid_argument(fail_prefix() + "activation must be 0..5 (NONE, SILU, GELU, GELU_TANH, QUICK_GELU, RELU), got " +
                         std::to_string(p.activation));
    const int64_t e = element_size(type);
    const int64_t tensor_bytes = element_count(p) * e, channel_bytes = p.channels * e;
    if (overlaps(p.output, tensor_bytes, p.input, tensor_bytes)) invalid_argument(fail_prefix() + "output overlaps input");
    if (overlaps(p.output, tensor_bytes, p.weight, channel_bytes)) invalid_argument(fail_prefix() + "output overlaps weight");
    if (overlaps(p.output, tensor_bytes, p.bias, channel_bytes)) invalid_argument(fail_prefix() + "output overlaps bias");
}

// f16/bf16 on the CPU: the float32 kernel on widened copies, the output narrowed once.
void group_norm_widened(ThreadPool& pool, const inkwell_group_norm_params& p, int32_t type) {
    const int64_t count = p.batch * p.channels * p.spatial;
    const std::vector<float> input = cpu::widen(pool, type, p.input, count);
    std::vector<float> weight, bias;
    if (p.weight != nullptr) weight = cpu::widen(pool, type, p.weight, p.channels);
    if (p.bias != nullptr) bias = cpu::widen(pool, type, p.bias, p.channels);
    std::vector<float> output(static_cast<size_t>(count));
    inkwell_group_norm_params f = p;
    f.input = input.data();
    f.weight = p.weight != nullptr ? weight.data() : nullptr;
    f.bias = p.bias != nullptr ? bias.data() : nullptr;
    f.output = output.data();
    cpu::group_norm_fast(pool, f);
    cpu::narrow(pool, type, output, p.output);
}

int32_t group_norm(inkwell_context* context, const inkwell_group_norm_params* params, int32_t type) {
    return guarded([&] {
        inkwell_context& ctx = require_context(context);
        if (params == nullptr) invalid_argument(fail_prefix() + "params is null");
        validate(*params, type);
        if (ctx.cuda != nullptr) {
            cuda_check(ctx, ctx.cuda->group_norm(ctx.cuda_state, params, type));
        } else if (type == INKWELL_ELEMENT_F32) {
            cpu::group_norm_fast(ctx.pool, *params);
        } else {
            group_norm_widened(ctx.pool, *params, type);
        }
    });
}

}  // namespace

extern "C" int32_t inkwell_group_norm_f32(inkwell_context* context, const inkwell_group_norm_params* params) {
    return group_norm(context, params, INKWELL_ELEMENT_F32);
}

extern "C" int32_t inkwell_group_norm_f16(inkwell_context* context, const inkwell_group_norm_params* params) {
    return group_norm(context, params, INKWELL_ELEMENT_F16);
}

extern "C" int32_t inkwell_group_norm_bf16(inkwell_context* context, const inkwell_group_norm_params* params) {
    return group_norm(context, params, INKWELL_ELEMENT_BF16);
}
