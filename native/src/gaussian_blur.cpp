// ABI entry inkwell_gaussian_blur_u8: validates, resolves ksize/sigma, dispatches.
#include <cmath>
#include <string>

#include "context.hpp"
#include "cpu/gaussian_blur_cpu.hpp"
#include "gaussian_blur.hpp"
#include "image.hpp"

namespace inkwell {

std::vector<int32_t> resolve_gaussian_kernel(int32_t ksize, double sigma, const char* what) {
    std::string w(what);
    if (!std::isfinite(sigma) || sigma < 0)
        invalid_argument(w + "sigma must be finite and >= 0, got " + std::to_string(sigma));
    if (ksize == 0 && sigma == 0) invalid_argument(w + "ksize and sigma are both 0: give at least one");
    if (ksize == 0) {
        if (sigma > 20) invalid_argument(w + "sigma " + std::to_string(sigma) + " is too large (at most 20 with ksize 0)");
        ksize = cpu::gaussian_ksize_for_sigma(sigma);
    }
    if (ksize < 0 || ksize % 2 == 0 || ksize > cpu::kMaxGaussianKsize)
        invalid_argument(w + "ksize must be odd and 1.." + std::to_string(cpu::kMaxGaussianKsize) + " (or 0), got " +
                         std::to_string(ksize));
    return cpu::gaussian_kernel_q8(ksize, sigma);
}

}  // namespace inkwell

using namespace inkwell;

extern "C" int32_t inkwell_gaussian_blur_u8(inkwell_context* context, const inkwell_gaussian_blur_params* params) {
    return guarded([&] {
        inkwell_context& ctx = require_context(context);
        if (params == nullptr) invalid_argument("params is null");
        ImageView src = check_image(params->src, "src");
        ImageView dst = check_image(params->dst, "dst");
        if (dst.channels != src.channels)
            invalid_argument("gaussian_blur: dst has " + std::to_string(dst.channels) + " channels but src has " +
                             std::to_string(src.channels));
        require_same_size(src, dst, "gaussian_blur");
        auto kernel = resolve_gaussian_kernel(params->ksize, params->sigma, "gaussian_blur: ");
        if (ctx.cuda != nullptr) {
            cuda_backend::BlurArgs a{};
            a.src = src.data;
            a.src_stride = src.stride;
            a.dst = dst.data;
            a.dst_stride = dst.stride;
            a.height = src.height;
            a.width = src.width;
            a.channels = src.channels;
            a.taps = kernel.data();
            a.ksize = int32_t(kernel.size());
            cuda_check(ctx, ctx.cuda->gaussian_blur(ctx.cuda_state, &a));
            return;
        }
        cpu::gaussian_blur_fast(ctx.pool, src, dst, kernel);
    });
}
