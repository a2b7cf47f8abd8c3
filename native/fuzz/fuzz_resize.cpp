// Fuzz target for inkwell_resize_u8: random source and destination sizes (shrinking,
// growing, one side each way, equal, integer factors), channels, strides and the two
// interpolations; the result must equal the per-sample reference bit for bit, leave dst's
// row padding alone, and not depend on the thread count (contexts of 1 to 3 threads).
// About one input in eight breaks an argument, which must be refused without a write.
#include <string>

#include "cpu/resize_cpu.hpp"
#include "fuzz_input.hpp"

using namespace inkwell_fuzz;

namespace {

constexpr int64_t kSampleBudget = 4096;

// A side of the source or destination; integer factors and equal sides come up often, as
// they take OpenCV's other paths.
int64_t side(FuzzedDataProvider& in, int64_t other) {
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
        case 0: return other;                                                      // equal
        case 1: return std::max<int64_t>(1, other / in.ConsumeIntegralInRange<int64_t>(1, 5));  // a factor, maybe
        default: return in.ConsumeIntegralInRange<int64_t>(1, 96);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const bool invalid = in.ConsumeIntegralInRange<int>(0, 7) == 7;
    const int ctx = in.ConsumeIntegralInRange<int>(0, 2);
    const int32_t interpolation = in.ConsumeBool() ? INKWELL_INTER_LANCZOS4 : INKWELL_INTER_AREA;
    const int64_t cn = in.ConsumeIntegralInRange<int64_t>(1, 4);
    const int64_t h = in.ConsumeIntegralInRange<int64_t>(1, 96), w = in.ConsumeIntegralInRange<int64_t>(1, 96);
    // The reference recomputes every sample's taps (sines for Lanczos): keep a run around
    // kSampleBudget output samples so that a minute covers thousands of cases under ASan.
    const int64_t dh = side(in, h), dw = std::min(side(in, w), std::max<int64_t>(1, kSampleBudget / (dh * cn)));
    const int64_t src_stride = w * cn + in.ConsumeIntegralInRange<int64_t>(0, 9);
    const int64_t dst_stride = dw * cn + in.ConsumeIntegralInRange<int64_t>(0, 9);

    Image src(h, w, cn, src_stride, 0x5a), dst(dh, dw, cn, dst_stride, 0xa5);
    fill_pixels(in, src.bytes.data(), int64_t(src.bytes.size()), w * cn);

    inkwell_resize_params p{src.view, dst.view, interpolation};
    if (invalid) {
        std::string what;
        switch (in.ConsumeIntegralInRange<int>(0, 4)) {
            case 0: what = std::string("src ") + break_image(in, p.src); break;
            case 1: what = std::string("dst ") + break_image(in, p.dst); break;
            case 2: {
                static const int32_t kBad[] = {-1, 0, 1, 2, 5, 7, std::numeric_limits<int32_t>::max()};
                p.interpolation = kBad[in.ConsumeIntegralInRange<size_t>(0, std::size(kBad) - 1)];
                what = "bad interpolation";
                break;
            }
            case 3:
                p.dst.channels = cn % 4 + 1;
                p.dst.width = 1;
                p.dst.row_stride = std::max<int64_t>(p.dst.row_stride, 4);
                what = "dst channels differ";
                break;
            default: {
                const int32_t s = in.ConsumeBool() ? inkwell_resize_u8(ctx == 0 ? nullptr : context(ctx), nullptr)
                                                   : inkwell_resize_u8(nullptr, &p);
                expect_refused(s, "resize null context or params");
                return 0;
            }
        }
        const Image src_before = src, dst_before = dst;
        expect_refused(inkwell_resize_u8(context(ctx), &p), ("resize " + what).c_str());
        if (dst.bytes != dst_before.bytes || src.bytes != src_before.bytes)
            fail("resize %s: a refused call wrote memory", what.c_str());
        return 0;
    }

    expect_ok(inkwell_resize_u8(context(ctx), &p), "resize");
    if (!dst.padding_is(0xa5))
        fail("resize: wrote into dst row padding (%lldx%lldx%lld -> %lldx%lld)", (long long)h, (long long)w, (long long)cn,
             (long long)dh, (long long)dw);

    Image ref(dh, dw, cn, dw * cn, 0);
    inkwell::cpu::resize_reference(inkwell::ImageView{src.view.data, h, w, cn, src_stride},
                                   inkwell::ImageView{ref.view.data, dh, dw, cn, dw * cn}, interpolation);
    if (!dst.same_pixels(ref))
        fail("resize: %lldx%lldx%lld -> %lldx%lld interpolation %d threads %d differs from the reference", (long long)h,
             (long long)w, (long long)cn, (long long)dh, (long long)dw, interpolation, ctx + 1);
    return 0;
}
