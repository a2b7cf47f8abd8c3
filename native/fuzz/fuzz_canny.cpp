// Fuzz target for inkwell_canny_u8: random sizes (tall enough for several row stripes),
// 1 or 3 channels, strides, apertures, L1/L2, thresholds (fractional, swapped, huge) and an
// optional pre-blur. The edge map must equal the plain reference bit for bit, through the
// ABI (best row kernels) and through canny_fast with the scalar row kernels, and leave dst's
// row padding alone. About one input in eight breaks an argument, which must be refused.
#include <string>

#include "context.hpp"
#include "cpu/canny_cpu.hpp"
#include "cpu/gaussian_blur_cpu.hpp"
#include "fuzz_input.hpp"

using namespace inkwell_fuzz;
using inkwell::ImageView;

namespace {

// Stripes are at least 32 rows (canny_fast), so up to 160 rows gives up to five of them.
constexpr int64_t kMaxHeight = 160;
constexpr int64_t kMaxPixels = 6000;

// A threshold: mostly an integer or half-integer in the magnitudes' range (L1 of aperture 3
// reaches 2040, larger apertures more), sometimes any finite double up to 1e300.
double threshold(FuzzedDataProvider& in, int aperture) {
    const int range = aperture == 3 ? 2200 : aperture == 5 ? 16000 : 140000;
    switch (in.ConsumeIntegralInRange<int>(0, 7)) {
        case 0: return in.ConsumeFloatingPointInRange<double>(0, 1e300);
        case 1: return in.ConsumeIntegralInRange<int>(0, range) + 0.5;
        default: return in.ConsumeIntegralInRange<int>(0, range);
    }
}

ImageView view_of(const inkwell_image_u8& i) { return ImageView{i.data, i.height, i.width, i.channels, i.row_stride}; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const bool invalid = in.ConsumeIntegralInRange<int>(0, 7) == 7;
    const int ctx = in.ConsumeIntegralInRange<int>(0, 2);
    const int aperture = 3 + 2 * in.ConsumeIntegralInRange<int>(0, 2);
    const bool l2 = in.ConsumeBool();
    const double low = threshold(in, aperture), high = threshold(in, aperture);
    int32_t blur_ksize = 0;
    double blur_sigma = 0;
    if (in.ConsumeIntegralInRange<int>(0, 3) == 3) {
        blur_ksize = 2 * in.ConsumeIntegralInRange<int>(0, 3) + 1;
        blur_sigma = in.ConsumeIntegralInRange<int>(0, 300) / 100.0;
    }
    const int64_t cn = in.ConsumeBool() ? 3 : 1;
    const int64_t h = in.ConsumeIntegralInRange<int64_t>(1, kMaxHeight);
    const int64_t w = in.ConsumeIntegralInRange<int64_t>(1, std::max<int64_t>(1, std::min<int64_t>(96, kMaxPixels / h)));
    const int64_t src_stride = w * cn + in.ConsumeIntegralInRange<int64_t>(0, 9);
    const int64_t dst_stride = w + in.ConsumeIntegralInRange<int64_t>(0, 9);

    Image src(h, w, cn, src_stride, 0x5a), dst(h, w, 1, dst_stride, 0xa5);
    fill_pixels(in, src.bytes.data(), int64_t(src.bytes.size()), w * cn);
    inkwell_canny_params p{src.view, dst.view, low, high, aperture, l2 ? 1 : 0, blur_ksize, blur_sigma};

    if (invalid) {
        std::string what;
        switch (in.ConsumeIntegralInRange<int>(0, 9)) {
            case 0: what = std::string("src ") + break_image(in, p.src); break;
            case 1: what = std::string("dst ") + break_image(in, p.dst); break;
            case 2: (in.ConsumeBool() ? p.low_threshold : p.high_threshold) = bad_double(in); what = "bad threshold"; break;
            case 3: {
                static const int32_t kBadApertures[] = {-3, -1, 0, 1, 2, 4, 6, 8, 9, 31, std::numeric_limits<int32_t>::min(),
                                                        std::numeric_limits<int32_t>::max()};
                p.aperture_size = kBadApertures[in.ConsumeIntegralInRange<size_t>(0, std::size(kBadApertures) - 1)];
                what = "bad aperture";
                break;
            }
            case 4: p.l2_gradient = in.ConsumeBool() ? -1 : in.ConsumeIntegralInRange<int32_t>(2, std::numeric_limits<int32_t>::max()); what = "bad l2_gradient"; break;
            case 5: p.blur_ksize = 2 * in.ConsumeIntegralInRange<int32_t>(1, 40); what = "even blur_ksize"; break;
            case 6: p.blur_sigma = bad_double(in); p.blur_ksize = 3; what = "bad blur_sigma"; break;
            case 7: p.dst.width = w + 1; p.dst.row_stride = std::max(dst_stride, w + 1); what = "dst wider than src"; break;
            case 8: p.src.channels = in.ConsumeBool() ? 2 : 4; p.src.width = 1; p.src.height = 1; what = "src with 2 or 4 channels"; break;
            default: p.dst = p.src; p.dst.channels = 1; what = "dst overlaps src"; break;
        }
        const std::vector<uint8_t> src_before = src.bytes;
        expect_refused(inkwell_canny_u8(context(ctx), &p), ("canny " + what).c_str());
        if (!dst.padding_is(0xa5) || src.bytes != src_before) fail("canny %s: a refused call wrote memory", what.c_str());
        return 0;
    }

    expect_ok(inkwell_canny_u8(context(ctx), &p), "canny");
    char what[256];
    std::snprintf(what, sizeof what, "canny %lldx%lldx%lld strides %lld/%lld aperture %d l2 %d low %.17g high %.17g blur %d/%g threads %d",
                  (long long)h, (long long)w, (long long)cn, (long long)src_stride, (long long)dst_stride, aperture, int(l2),
                  low, high, blur_ksize, blur_sigma, ctx + 1);
    if (!dst.padding_is(0xa5)) fail("%s: wrote into dst row padding", what);
    for (uint8_t v : dst.bytes)
        if (v != 0 && v != 255 && v != 0xa5) fail("%s: edge map holds %d", what, v);

    // The reference pipeline: blur (2-D reference) into a packed copy, then canny_reference.
    ImageView input = view_of(src.view);
    Image blurred(h, w, cn, w * cn, 0);
    if (blur_ksize != 0 || blur_sigma != 0) {
        const int k = blur_ksize != 0 ? blur_ksize : inkwell::cpu::gaussian_ksize_for_sigma(blur_sigma);
        inkwell::cpu::gaussian_blur_reference(input, view_of(blurred.view), inkwell::cpu::gaussian_kernel_q8(k, blur_sigma));
        input = view_of(blurred.view);
    }
    const auto t = inkwell::cpu::canny_thresholds(low, high, aperture, l2);
    Image ref(h, w, 1, w, 0);
    inkwell::cpu::canny_reference(input, view_of(ref.view), aperture, l2, t);
    if (!dst.same_pixels(ref)) fail("%s: ABI result differs from the reference", what);

    Image scalar(h, w, 1, w, 0);
    inkwell::cpu::canny_fast(context(ctx)->pool, input, view_of(scalar.view), aperture, l2, t,
                             inkwell::cpu::CannyKernels::Scalar);
    if (!scalar.same_pixels(ref)) fail("%s: scalar row kernels differ from the reference", what);
    return 0;
}
