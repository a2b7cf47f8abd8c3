// ABI entries inkwell_psnr_u8 and inkwell_ssim_u8: validate the two images, dispatch. The
// result pointer is host memory on every backend: with a CUDA context the backend hands the
// value back and it is written here.
#include <string>

#include "context.hpp"
#include "cpu/metrics_cpu.hpp"
#include "image.hpp"

using namespace inkwell;

namespace {

struct ImagePair {
    ImageView reference, test;
};

ImagePair check_pair(const inkwell_image_metric_params* params, const char* metric) {
    if (params == nullptr) invalid_argument("params is null");
    if (params->result == nullptr) invalid_argument(std::string(metric) + ": result is null");
    ImagePair pair{check_image(params->reference, "reference"), check_image(params->test, "test")};
    const ImageView& r = pair.reference;
    const ImageView& t = pair.test;
    if (r.height != t.height || r.width != t.width || r.channels != t.channels)
        invalid_argument(std::string(metric) + ": test is " + std::to_string(t.height) + "x" + std::to_string(t.width) +
                         "x" + std::to_string(t.channels) + " but reference is " + std::to_string(r.height) + "x" +
                         std::to_string(r.width) + "x" + std::to_string(r.channels));
    return pair;
}

}  // namespace

extern "C" int32_t inkwell_psnr_u8(inkwell_context* context, const inkwell_image_metric_params* params) {
    return guarded([&] {
        inkwell_context& ctx = require_context(context);
        const ImagePair pair = check_pair(params, "psnr");
        if (ctx.cuda != nullptr) {
            double value = 0;
            cuda_check(ctx, ctx.cuda->psnr(ctx.cuda_state, params, &value));
            *params->result = value;  // host memory on every backend
            return;
        }
        *params->result = cpu::psnr_fast(ctx.pool, pair.reference, pair.test);
    });
}

extern "C" int32_t inkwell_ssim_u8(inkwell_context* context, const inkwell_image_metric_params* params) {
    return guarded([&] {
        inkwell_context& ctx = require_context(context);
        const ImagePair pair = check_pair(params, "ssim");
        const ImageView& r = pair.reference;
        if (r.height < cpu::kSsimWindow || r.width < cpu::kSsimWindow)
            invalid_argument("ssim: images must be at least 11x11 (the Gaussian window), got " +
                             std::to_string(r.height) + "x" + std::to_string(r.width));
        if (ctx.cuda != nullptr) {
            double value = 0;
            cuda_check(ctx, ctx.cuda->ssim(ctx.cuda_state, params, &value));
            *params->result = value;  // host memory on every backend
            return;
        }
        *params->result = cpu::ssim_fast(ctx.pool, pair.reference, pair.test);
    });
}
