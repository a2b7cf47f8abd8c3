// ABI entries inkwell_resample_f32 and inkwell_upsample_nearest2d_f32, _f16, _bf16: validate
// the shapes (and mode), dispatch.
#include <string>

#include "context.hpp"
#include "element_types.hpp"
#include "cpu/resample_cpu.hpp"
#include "tensor_args.hpp"

using namespace inkwell;

namespace {

constexpr const char* kResample = "resample";

// Elements of a tensor of these dimensions, each checked to be >= 1 and the product to
// stay within kMaxTensorElements (divisions, so nothing overflows on the way).
int64_t checked_elements(const int64_t (&dims)[4], const char* const (&names)[4], const char* tensor,
                         const char* kernel = kResample) {
    int64_t total = 1;
    for (int i = 0; i < 4; ++i) {
        check_count(dims[i], kernel, names[i]);
        if (dims[i] > kMaxTensorElements / total)
            invalid_argument(std::string(kernel) + ": " + tensor + " would have more than 2^40 elements");
        total *= dims[i];
    }
    return total;
}

}  // namespace

extern "C" int32_t inkwell_resample_f32(inkwell_context* context, const inkwell_resample_params* params) {
    return guarded([&] {
        inkwell_context& ctx = require_context(context);
        if (params == nullptr) invalid_argument("params is null");
        const inkwell_resample_params& p = *params;
        check_not_null(p.input, kResample, "input");
        check_not_null(p.output, kResample, "output");
        if (p.mode < INKWELL_UPSAMPLE_NEAREST_2X || p.mode > INKWELL_AVG_POOL_2X2)
            invalid_argument(std::string(kResample) + ": mode must be 0..3, got " + std::to_string(p.mode));
        const int64_t in_count = checked_elements({p.batch, p.channels, p.in_height, p.in_width},
                                                  {"batch", "channels", "in_height", "in_width"}, "input");
        const bool pool = p.mode == INKWELL_MAX_POOL_2X2 || p.mode == INKWELL_AVG_POOL_2X2;
        if (pool && (p.in_height < 2 || p.in_width < 2))
            invalid_argument(std::string(kResample) + ": a 2x2 pool needs in_height and in_width >= 2, got " +
                             std::to_string(p.in_height) + "x" + std::to_string(p.in_width));
        const cpu::ResampleShape s = cpu::resample_shape(p);
        const int64_t out_count = checked_elements({p.batch, p.channels, s.out_height, s.out_width},
                                                   {"batch", "channels", "out_height", "out_width"}, "output");
        check_no_overlap(FloatSpan{p.output, out_count, "output"}, FloatSpan{p.input, in_count, "input"}, kResample);
        if (ctx.cuda != nullptr) {
            cuda_check(ctx, ctx.cuda->resample(ctx.cuda_state, &p));
            return;
        }
        cpu::resample_fast(ctx.pool, p);
    });
}

namespace {

bool byte_ranges_overlap(const void* a, int64_t a_bytes, const void* b, int64_t b_bytes) {
    const auto a0 = reinterpret_cast<uintptr_t>(a), b0 = reinterpret_cast<uintptr_t>(b);
    return a0 < b0 + uintptr_t(b_bytes) && b0 < a0 + uintptr_t(a_bytes);
}

int32_t upsample_nearest2d(inkwell_context* context, const inkwell_upsample_nearest2d_params* params, int32_t type) {
    constexpr const char* kNearest = "upsample_nearest2d";
    return guarded([&] {
        inkwell_context& ctx = require_context(context);
        if (params == nullptr) invalid_argument("params is null");
        const inkwell_upsample_nearest2d_params& p = *params;
        check_not_null(p.input, kNearest, "input");
        check_not_null(p.output, kNearest, "output");
        const int64_t in_count = checked_elements({p.batch, p.channels, p.in_height, p.in_width},
                                                  {"batch", "channels", "in_height", "in_width"}, "input", kNearest);
        const int64_t out_count = checked_elements({p.batch, p.channels, p.out_height, p.out_width},
                                                   {"batch", "channels", "out_height", "out_width"}, "output", kNearest);
        const int64_t bytes = element_size(type);
        if (byte_ranges_overlap(p.output, out_count * bytes, p.input, in_count * bytes))
            invalid_argument(std::string(kNearest) + ": output overlaps input");
        if (ctx.cuda != nullptr) {
            cuda_check(ctx, ctx.cuda->upsample_nearest2d(ctx.cuda_state, &p, type));
            return;
        }
        cpu::upsample_nearest2d_fast(ctx.pool, p, bytes);
    });
}

}  // namespace

extern "C" int32_t inkwell_upsample_nearest2d_f32(inkwell_context* context,
                                                  const inkwell_upsample_nearest2d_params* params) {
    return upsample_nearest2d(context, params, INKWELL_ELEMENT_F32);
}

extern "C" int32_t inkwell_upsample_nearest2d_f16(inkwell_context* context,
                                                  const inkwell_upsample_nearest2d_params* params) {
    return upsample_nearest2d(context, params, INKWELL_ELEMENT_F16);
}

extern "C" int32_t inkwell_upsample_nearest2d_bf16(inkwell_context* context,
                                                   const inkwell_upsample_nearest2d_params* params) {
    return upsample_nearest2d(context, params, INKWELL_ELEMENT_BF16);
}
