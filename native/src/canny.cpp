// ABI entry inkwell_canny_u8: validates, optionally pre-blurs, dispatches.
#include <cmath>
#include <string>
#include <vector>

#include "context.hpp"
#include "cpu/canny_common.hpp"
#include "cpu/canny_cpu.hpp"
#include "cpu/gaussian_blur_cpu.hpp"
#include "gaussian_blur.hpp"
#include "image.hpp"

using namespace inkwell;

namespace {

void check_threshold(double value, const char* name) {
    if (!std::isfinite(value) || value < 0)
        invalid_argument(std::string("canny: ") + name + " must be finite and >= 0, got " + std::to_string(value));
}

}  // namespace

extern "C" int32_t inkwell_canny_u8(inkwell_context* context, const inkwell_canny_params* params) {
    return guarded([&] {
        inkwell_context& ctx = require_context(context);
        if (params == nullptr) invalid_argument("params is null");
        ImageView src = check_image(params->src, "src");
        ImageView dst = check_image(params->dst, "dst");
        if (src.channels != 1 && src.channels != 3)
            unsupported("canny: src must have 1 or 3 channels, got " + std::to_string(src.channels));
        if (dst.channels != 1)
            invalid_argument("canny: dst must have 1 channel, got " + std::to_string(dst.channels));
        require_same_size(src, dst, "canny");
        check_threshold(params->low_threshold, "low_threshold");
        check_threshold(params->high_threshold, "high_threshold");
        const int aperture = params->aperture_size;
        if (aperture != 3 && aperture != 5 && aperture != 7)
            invalid_argument("canny: aperture_size must be 3, 5 or 7, got " + std::to_string(aperture));
        if (params->l2_gradient != 0 && params->l2_gradient != 1)
            invalid_argument("canny: l2_gradient must be 0 or 1, got " + std::to_string(params->l2_gradient));
        const bool l2 = params->l2_gradient == 1;
        const auto thresholds = cpu::canny_thresholds(params->low_threshold, params->high_threshold, aperture, l2);

        if (ctx.cuda != nullptr) {
            std::vector<int32_t> taps;
            if (params->blur_ksize != 0 || params->blur_sigma != 0)
                taps = resolve_gaussian_kernel(params->blur_ksize, params->blur_sigma, "canny: blur ");
            cuda_backend::CannyArgs a{};
            a.src = src.data;
            a.src_stride = src.stride;
            a.dst = dst.data;
            a.dst_stride = dst.stride;
            a.height = src.height;
            a.width = src.width;
            a.channels = src.channels;
            a.aperture = aperture;
            a.l2 = l2 ? 1 : 0;
            a.low = thresholds.low;
            a.high = thresholds.high;
            a.tan22_q15 = cpu::canny_detail::tan22_q15();
            a.blur_taps = taps.empty() ? nullptr : taps.data();
            a.blur_ksize = int32_t(taps.size());
            cuda_check(ctx, ctx.cuda->canny(ctx.cuda_state, &a));
            return;
        }

        std::vector<uint8_t> blurred;
        ImageView input = src;
        if (params->blur_ksize != 0 || params->blur_sigma != 0) {
            auto kernel = resolve_gaussian_kernel(params->blur_ksize, params->blur_sigma, "canny: blur ");
            blurred.resize(src.height * src.row_bytes());
            input = ImageView{blurred.data(), src.height, src.width, src.channels, src.row_bytes()};
            cpu::gaussian_blur_fast(ctx.pool, src, input, kernel);
        }
        cpu::canny_fast(ctx.pool, input, dst, aperture, l2, thresholds);
    });
}
