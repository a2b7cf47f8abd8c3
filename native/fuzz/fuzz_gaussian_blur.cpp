// Fuzz target for inkwell_gaussian_blur_u8: random sizes, channels, strides, ksize and sigma;
// the result must equal the plain 2-D reference bit for bit (both are exact integer
// arithmetic), leave dst's row padding alone, and not depend on the thread count.
// About one input in eight breaks an argument, which must be refused.
#include <string>

#include "cpu/gaussian_blur_cpu.hpp"
#include "fuzz_input.hpp"

using namespace inkwell_fuzz;

namespace {

// The reference costs h * w * cn * k * k: keep one run around 250k taps (under ASan).
constexpr int64_t kTapBudget = int64_t(1) << 18;

struct Kernel {
    int32_t ksize;
    double sigma;
};

Kernel choose_kernel(FuzzedDataProvider& in) {
    Kernel k{0, 0};
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
        case 0: k.ksize = 2 * in.ConsumeIntegralInRange<int>(0, 3) + 1; break;    // OpenCV's fixed tables
        case 1: k.ksize = 2 * in.ConsumeIntegralInRange<int>(0, 63) + 1; break;   // up to the 127 maximum
        case 2: k.sigma = in.ConsumeIntegralInRange<int>(1, 2000) / 100.0; break;  // ksize derived, sigma <= 20
        default:
            k.ksize = 2 * in.ConsumeIntegralInRange<int>(0, 15) + 1;
            k.sigma = in.ConsumeIntegralInRange<int>(1, 1000) / 100.0;
    }
    return k;
}

// Breaks ksize or sigma so that resolve_gaussian_kernel must refuse them.
const char* break_kernel(FuzzedDataProvider& in, Kernel& k) {
    switch (in.ConsumeIntegralInRange<int>(0, 4)) {
        case 0: k.ksize = 2 * in.ConsumeIntegralInRange<int>(1, 100); return "even ksize";
        case 1: k.ksize = in.ConsumeIntegralInRange<int32_t>(std::numeric_limits<int32_t>::min(), -1); return "negative ksize";
        case 2: k.ksize = 2 * in.ConsumeIntegralInRange<int>(64, 1 << 20) + 1; return "ksize over 127";
        case 3: k.sigma = bad_double(in); return "bad sigma";
        default:
            k.ksize = 0;
            k.sigma = in.ConsumeBool() ? 0.0 : 20.0 + in.ConsumeIntegralInRange<int>(1, 1 << 20) / 64.0;
            return "ksize 0 with sigma 0 or over 20";
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const bool invalid = in.ConsumeIntegralInRange<int>(0, 7) == 7;
    const int ctx = in.ConsumeIntegralInRange<int>(0, 2);
    Kernel k = choose_kernel(in);
    const int64_t taps = k.ksize != 0 ? k.ksize : inkwell::cpu::gaussian_ksize_for_sigma(k.sigma);
    const int64_t cn = in.ConsumeIntegralInRange<int64_t>(1, 4);
    const int64_t max_pixels = std::max<int64_t>(1, kTapBudget / (cn * taps * taps));
    const int64_t h = in.ConsumeIntegralInRange<int64_t>(1, std::min<int64_t>(96, max_pixels));
    const int64_t w = in.ConsumeIntegralInRange<int64_t>(1, std::min<int64_t>(96, std::max<int64_t>(1, max_pixels / h)));
    const int64_t src_stride = w * cn + in.ConsumeIntegralInRange<int64_t>(0, 9);
    const int64_t dst_stride = w * cn + in.ConsumeIntegralInRange<int64_t>(0, 9);

    Image src(h, w, cn, src_stride, 0x5a), dst(h, w, cn, dst_stride, 0xa5);
    fill_pixels(in, src.bytes.data(), int64_t(src.bytes.size()), w * cn);

    inkwell_gaussian_blur_params p{src.view, dst.view, k.ksize, k.sigma};
    if (invalid) {
        std::string what;
        switch (in.ConsumeIntegralInRange<int>(0, 6)) {
            case 0: what = std::string("src ") + break_image(in, p.src); break;
            case 1: what = std::string("dst ") + break_image(in, p.dst); break;
            case 2: what = break_kernel(in, k), p.ksize = k.ksize, p.sigma = k.sigma; break;
            case 3: p.dst.height = h + in.ConsumeIntegralInRange<int64_t>(1, 5); what = "dst taller than src"; break;
            case 4: p.dst.channels = cn % 4 + 1; p.dst.row_stride = std::max(p.dst.row_stride, w * 4); what = "dst channels differ"; break;
            case 5: p.dst = p.src; what = "dst is src"; break;
            default: {
                const int32_t s = in.ConsumeBool() ? inkwell_gaussian_blur_u8(ctx == 0 ? nullptr : context(ctx), nullptr)
                                                   : inkwell_gaussian_blur_u8(nullptr, &p);
                expect_refused(s, "gaussian_blur null context or params");
                return 0;
            }
        }
        const Image src_before = src;
        expect_refused(inkwell_gaussian_blur_u8(context(ctx), &p), ("gaussian_blur " + what).c_str());
        if (!dst.padding_is(0xa5) || src.bytes != src_before.bytes) fail("gaussian_blur %s: a refused call wrote memory", what.c_str());
        return 0;
    }

    expect_ok(inkwell_gaussian_blur_u8(context(ctx), &p), "gaussian_blur");
    if (!dst.padding_is(0xa5)) fail("gaussian_blur: wrote into dst row padding (%lldx%lldx%lld)", (long long)h, (long long)w, (long long)cn);

    const std::vector<int32_t> q8 = inkwell::cpu::gaussian_kernel_q8(int(taps), k.sigma);
    int32_t sum = 0;
    for (int64_t i = 0; i < taps; ++i) {
        sum += q8[i];
        if (q8[i] < 0 || q8[i] != q8[taps - 1 - i]) fail("gaussian_kernel_q8(%d, %g): tap %lld is %d", int(taps), k.sigma, (long long)i, q8[i]);
    }
    if (sum != 256) fail("gaussian_kernel_q8(%d, %g): taps sum to %d", int(taps), k.sigma, sum);

    Image ref(h, w, cn, w * cn, 0);
    inkwell::cpu::gaussian_blur_reference(
        inkwell::ImageView{src.view.data, h, w, cn, src_stride}, inkwell::ImageView{ref.view.data, h, w, cn, w * cn}, q8);
    if (!dst.same_pixels(ref))
        fail("gaussian_blur: %lldx%lldx%lld ksize %d sigma %g (taps %lld) threads %d differs from the reference",
             (long long)h, (long long)w, (long long)cn, k.ksize, k.sigma, (long long)taps, ctx + 1);
    return 0;
}
