// ABI entry inkwell_resize_u8: validates, plans (the per-axis taps OpenCV computes, on the
// host for every backend), dispatches.
#include <string>

#include "context.hpp"
#include "cpu/resize_cpu.hpp"
#include "image.hpp"

using namespace inkwell;

extern "C" int32_t inkwell_resize_u8(inkwell_context* context, const inkwell_resize_params* params) {
    return guarded([&] {
        inkwell_context& ctx = require_context(context);
        if (params == nullptr) invalid_argument("params is null");
        const inkwell_resize_params& p = *params;
        ImageView src = check_image(p.src, "src");
        ImageView dst = check_image(p.dst, "dst");
        if (dst.channels != src.channels)
            invalid_argument("resize: dst has " + std::to_string(dst.channels) + " channels but src has " +
                             std::to_string(src.channels));
        if (p.interpolation != INKWELL_INTER_AREA && p.interpolation != INKWELL_INTER_LANCZOS4)
            invalid_argument("resize: interpolation must be 3 (INKWELL_INTER_AREA) or 4 (INKWELL_INTER_LANCZOS4), got " +
                             std::to_string(p.interpolation));
        if (overlaps(src, dst)) invalid_argument("resize: dst overlaps src");
        const cpu::ResizePlan plan =
            cpu::resize_plan(src.height, src.width, dst.height, dst.width, src.channels, p.interpolation);
        if (ctx.cuda != nullptr) {
            cuda_backend::ResizeArgs a{};
            a.src = src.data;
            a.src_stride = src.stride;
            a.dst = dst.data;
            a.dst_stride = dst.stride;
            a.src_height = src.height;
            a.src_width = src.width;
            a.dst_height = dst.height;
            a.dst_width = dst.width;
            a.channels = src.channels;
            a.method = int32_t(plan.method);
            a.factor_x = plan.factor_x;
            a.factor_y = plan.factor_y;
            a.round_shift = plan.round_shift ? 1 : 0;
            a.ksize = plan.x_taps.ksize;
            a.x_first = plan.x_taps.first.data();
            a.x_coef = plan.x_taps.coef.data();
            a.y_first = plan.y_taps.first.data();
            a.y_coef = plan.y_taps.coef.data();
            a.x_start = plan.x_cells.start.data();
            a.x_index = plan.x_cells.index.data();
            a.x_weight = plan.x_cells.weight.data();
            a.y_start = plan.y_cells.start.data();
            a.y_index = plan.y_cells.index.data();
            a.y_weight = plan.y_cells.weight.data();
            a.x_cells = int64_t(plan.x_cells.index.size());
            a.y_cells = int64_t(plan.y_cells.index.size());
            cuda_check(ctx, ctx.cuda->resize(ctx.cuda_state, &a));
            return;
        }
        cpu::resize_fast(ctx.pool, src, dst, plan);
    });
}
