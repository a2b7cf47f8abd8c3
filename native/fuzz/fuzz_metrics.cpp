// Fuzz target for inkwell_psnr_u8 and inkwell_ssim_u8: random sizes (SSIM from its 11x11
// minimum), 1..4 channels, strides, and a test image that is the reference plus fuzzed
// noise, a copy of it, or independent. PSNR must equal psnr_reference exactly (integer
// sums); SSIM must be within kSsimTolerance of ssim_reference (the same double arithmetic
// in another order), in [-1, 1], and exactly 1 for identical images; both must be
// identical for 1 and 3 threads. About one input in eight breaks an argument, which must be
// refused.
#include <cfloat>
#include <cmath>
#include <string>

#include "cpu/metrics_cpu.hpp"
#include "fuzz_input.hpp"

using namespace inkwell_fuzz;
using inkwell::ImageView;

namespace {

// Variances are E[x^2] - mu^2 in double: near-flat windows cancel about 255^2 down to
// almost 0, so each moment may be off by a few ulps of 255^2 (the native test's 1e-12 holds
// for its textured images only; a fuzzed flat image with faint noise missed it by 1.3e-12).
// SSIM moves by at most 2 / C2 per unit of covariance or variance (C2 = (0.03 * 255)^2),
// and three such moments enter it.
constexpr double kSsimTolerance = 3 * (2 / ((0.03 * 255) * (0.03 * 255))) * 8 * DBL_EPSILON * 255.0 * 255.0;

ImageView view_of(const inkwell_image_u8& i) { return ImageView{i.data, i.height, i.width, i.channels, i.row_stride}; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const bool invalid = in.ConsumeIntegralInRange<int>(0, 7) == 7;
    const int ctx = in.ConsumeIntegralInRange<int>(0, 2);
    const bool ssim = in.ConsumeBool();
    const int64_t min_side = ssim ? inkwell::cpu::kSsimWindow : 1;
    const int64_t cn = in.ConsumeIntegralInRange<int64_t>(1, 4);
    // SSIM's reference costs 121 taps x 5 moments per pixel: keep it near 500k under ASan.
    const int64_t max_side = ssim ? std::max<int64_t>(min_side, 40 / cn + 8) : 64;
    const int64_t h = in.ConsumeIntegralInRange<int64_t>(min_side, max_side);
    const int64_t w = in.ConsumeIntegralInRange<int64_t>(min_side, max_side);
    Image a(h, w, cn, w * cn + in.ConsumeIntegralInRange<int64_t>(0, 9), 0x11);
    Image b(h, w, cn, w * cn + in.ConsumeIntegralInRange<int64_t>(0, 9), 0x22);
    fill_pixels(in, a.bytes.data(), int64_t(a.bytes.size()), w * cn);
    const int relation = in.ConsumeIntegralInRange<int>(0, 2);  // 0: noisy copy, 1: exact copy, 2: independent
    if (relation == 2) {
        fill_pixels(in, b.bytes.data(), int64_t(b.bytes.size()), w * cn);
    } else {
        const int amplitude = relation == 0 ? in.ConsumeIntegralInRange<int>(1, 255) : 0;
        for (int64_t y = 0; y < h; ++y)
            for (int64_t x = 0; x < w * cn; ++x) {
                const int v = a.view.data[y * a.view.row_stride + x] + (amplitude ? in.ConsumeIntegralInRange<int>(-amplitude, amplitude) : 0);
                b.view.data[y * b.view.row_stride + x] = uint8_t(std::clamp(v, 0, 255));
            }
    }
    const auto entry = ssim ? inkwell_ssim_u8 : inkwell_psnr_u8;
    const char* name = ssim ? "ssim" : "psnr";
    double result = NAN;
    inkwell_image_metric_params p{a.view, b.view, &result};

    if (invalid) {
        std::string what;
        switch (in.ConsumeIntegralInRange<int>(0, 5)) {
            case 0: what = std::string("reference ") + break_image(in, p.reference); break;
            case 1: what = std::string("test ") + break_image(in, p.test); break;
            case 2: p.result = nullptr; what = "null result"; break;
            case 3: {
                int64_t* sizes[] = {&p.test.height, &p.test.width, &p.test.channels};
                const int i = in.ConsumeIntegralInRange<int>(0, 2);
                *sizes[i] = *sizes[i] % 4 + 1 == *sizes[i] ? *sizes[i] + 1 : *sizes[i] % 4 + 1;
                if (i == 2 && p.test.channels > 4) p.test.channels = 1 + (cn == 1);
                what = "test size or channels differ";
                break;
            }
            case 4:
                if (!ssim) return 0;
                p.reference.height = p.test.height = std::min<int64_t>(h, 10);
                what = "ssim below 11x11";
                break;
            default: expect_refused(in.ConsumeBool() ? entry(nullptr, &p) : entry(context(ctx), nullptr), name); return 0;
        }
        expect_refused(entry(context(ctx), &p), (std::string(name) + " " + what).c_str());
        if (!std::isnan(result)) fail("%s %s: a refused call wrote the result", name, what.c_str());
        return 0;
    }

    char what[160];
    std::snprintf(what, sizeof what, "%s %lldx%lldx%lld relation %d", name, (long long)h, (long long)w, (long long)cn, relation);
    expect_ok(entry(context(ctx), &p), what);
    const double abi = result;
    expect_ok(entry(context(ctx + 1), &p), what);
    if (std::memcmp(&abi, &result, sizeof abi) != 0) fail("%s: threads differ: %.17g and %.17g", what, abi, result);
    const bool identical = a.same_pixels(b);
    if (ssim) {
        const double ref = inkwell::cpu::ssim_reference(view_of(a.view), view_of(b.view));
        if (!(std::fabs(abi - ref) <= kSsimTolerance)) fail("%s: %.17g, reference %.17g", what, abi, ref);
        if (!(abi >= -1 && abi <= 1)) fail("%s: %.17g outside [-1, 1]", what, abi);
        if (identical && abi != 1.0) fail("%s: identical images give %.17g", what, abi);
    } else {
        const double ref = inkwell::cpu::psnr_reference(view_of(a.view), view_of(b.view));
        if (std::memcmp(&abi, &ref, sizeof abi) != 0) fail("%s: %.17g, reference %.17g", what, abi, ref);
        if (identical != (std::isinf(abi) && abi > 0)) fail("%s: %.17g for %s images", what, abi, identical ? "identical" : "different");
        if (!identical && !(abi >= 0)) fail("%s: %.17g below 0", what, abi);
    }
    return 0;
}
