// ABI entries inkwell_activation_f32, _f16 and _bf16: validate the count, the activation and
// the overlap (in place is allowed, any other overlap is not), then dispatch: to the CUDA
// backend, to the CPU fast path (f32), or to it on a widened copy (f16, bf16: widened
// exactly, activated in float32, each output rounded once).
#include <string>
#include <vector>

#include "context.hpp"
#include "cpu/activations.hpp"
#include "cpu/elementwise_cpu.hpp"
#include "cpu/widened.hpp"
#include "element_types.hpp"
#include "tensor_args.hpp"

using namespace inkwell;

namespace {

constexpr const char* kActivation = "activation";

bool byte_ranges_overlap(const void* a, const void* b, int64_t bytes) {
    const auto a0 = reinterpret_cast<uintptr_t>(a), b0 = reinterpret_cast<uintptr_t>(b);
    return a0 < b0 + uintptr_t(bytes) && b0 < a0 + uintptr_t(bytes);
}

void validate(const inkwell_activation_params& p, int32_t type) {
    check_not_null(p.input, kActivation, "input");
    check_not_null(p.output, kActivation, "output");
    check_count(p.count, kActivation, "count");
    if (!cpu::is_activation(p.activation) || p.activation == INKWELL_ACTIVATION_NONE)
        invalid_argument(std::string(kActivation) +
                         ": activation must be 1..5 (SILU, GELU, GELU_TANH, QUICK_GELU, RELU), got " +
                         std::to_string(p.activation));
    if (p.output != p.input && byte_ranges_overlap(p.output, p.input, p.count * element_size(type)))
        invalid_argument(std::string(kActivation) + ": output overlaps input (only output == input, in place, is allowed)");
}

int32_t activation(inkwell_context* context, const inkwell_activation_params* params, int32_t type) {
    return guarded([&] {
        inkwell_context& ctx = require_context(context);
        if (params == nullptr) invalid_argument("activation: params is null");
        const inkwell_activation_params& p = *params;
        validate(p, type);
        if (ctx.cuda != nullptr) {
            cuda_check(ctx, ctx.cuda->activation(ctx.cuda_state, &p, type));
        } else if (type == INKWELL_ELEMENT_F32) {
            cpu::activation_fast(ctx.pool, p);
        } else {
            std::vector<float> values = cpu::widen(ctx.pool, type, p.input, p.count);  // a copy: in place is fine
            inkwell_activation_params f = p;
            f.input = values.data();
            f.output = values.data();
            cpu::activation_fast(ctx.pool, f);
            cpu::narrow(ctx.pool, type, values, p.output);
        }
    });
}

}  // namespace

extern "C" int32_t inkwell_activation_f32(inkwell_context* context, const inkwell_activation_params* params) {
    return activation(context, params, INKWELL_ELEMENT_F32);
}

extern "C" int32_t inkwell_activation_f16(inkwell_context* context, const inkwell_activation_params* params) {
    return activation(context, params, INKWELL_ELEMENT_F16);
}

extern "C" int32_t inkwell_activation_bf16(inkwell_context* context, const inkwell_activation_params* params) {
    return activation(context, params, INKWELL_ELEMENT_BF16);
}
