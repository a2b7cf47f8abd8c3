// Fuzz target for inkwell_resample_f32: random batch, channels, sizes (odd, 1-wide) and all
// four modes, inputs with NaN, infinities, huge and subnormal values now and then. The ABI
// result must equal resample_reference bit for bit (NaN payloads aside) and be identical
// for 1 and 3 threads. About one input in eight breaks an argument, which must be refused.
#include <string>

#include "cpu/resample_cpu.hpp"
#include "fuzz_input.hpp"

using namespace inkwell_fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const bool invalid = in.ConsumeIntegralInRange<int>(0, 7) == 7;
    const int ctx = in.ConsumeIntegralInRange<int>(0, 2);
    inkwell_resample_params p{};
    p.mode = in.ConsumeIntegralInRange<int32_t>(INKWELL_UPSAMPLE_NEAREST_2X, INKWELL_AVG_POOL_2X2);
    const bool pool = p.mode == INKWELL_MAX_POOL_2X2 || p.mode == INKWELL_AVG_POOL_2X2;
    p.batch = in.ConsumeIntegralInRange<int64_t>(1, 3);
    p.channels = in.ConsumeIntegralInRange<int64_t>(1, 4);
    p.in_height = in.ConsumeIntegralInRange<int64_t>(pool ? 2 : 1, 40);
    p.in_width = in.ConsumeIntegralInRange<int64_t>(pool ? 2 : 1, 70);
    const int64_t in_count = p.batch * p.channels * p.in_height * p.in_width;
    const inkwell::cpu::ResampleShape shape = inkwell::cpu::resample_shape(p);
    const int64_t out_count = shape.planes * shape.out_height * shape.out_width;
    std::vector<float> input = floats(in, in_count, /*specials=*/true);
    std::vector<float> out(size_t(out_count), -7.0f);
    p.input = input.data();
    p.output = out.data();

    if (invalid) {
        std::string what;
        switch (in.ConsumeIntegralInRange<int>(0, 6)) {
            case 0: {
                int64_t* sizes[] = {&p.batch, &p.channels, &p.in_height, &p.in_width};
                *sizes[in.ConsumeIntegralInRange<int>(0, 3)] = bad_size(in);
                what = "bad size";
                break;
            }
            case 1: p.mode = in.ConsumeBool() ? in.ConsumeIntegralInRange<int32_t>(std::numeric_limits<int32_t>::min(), -1) : in.ConsumeIntegralInRange<int32_t>(4, std::numeric_limits<int32_t>::max()); what = "bad mode"; break;
            case 2: p.mode = in.ConsumeBool() ? INKWELL_MAX_POOL_2X2 : INKWELL_AVG_POOL_2X2; (in.ConsumeBool() ? p.in_height : p.in_width) = 1; what = "pool of a 1-wide input"; break;
            case 3:
                if (in.ConsumeBool()) p.input = nullptr; else p.output = nullptr;
                what = "null tensor";
                break;
            case 4: p.output = input.data() + in.ConsumeIntegralInRange<int64_t>(0, in_count - 1); what = "output overlaps input"; break;
            case 5: p.batch = p.channels = p.in_height = p.in_width = int64_t(1) << 11; what = "element count over 2^40"; break;
            default: expect_refused(in.ConsumeBool() ? inkwell_resample_f32(nullptr, &p) : inkwell_resample_f32(context(ctx), nullptr), "resample null context or params"); return 0;
        }
        const std::vector<float> before = out;
        expect_refused(inkwell_resample_f32(context(ctx), &p), ("resample " + what).c_str());
        if (!same_bits(before.data(), out.data(), out.size())) fail("resample %s: a refused call wrote output", what.c_str());
        return 0;
    }

    char what[160];
    std::snprintf(what, sizeof what, "resample mode=%d %lldx%lldx%lldx%lld", p.mode, (long long)p.batch, (long long)p.channels,
                  (long long)p.in_height, (long long)p.in_width);
    expect_ok(inkwell_resample_f32(context(ctx), &p), what);
    const std::vector<float> abi = out;
    expect_ok(inkwell_resample_f32(context(ctx + 1), &p), what);
    if (!same_bits(abi.data(), out.data(), abi.size())) fail("%s: threads differ", what);
    std::vector<float> ref(abi.size());
    p.output = ref.data();
    inkwell::cpu::resample_reference(p);
    for (size_t i = 0; i < ref.size(); ++i)
        if (!same_value(abi[i], ref[i])) fail("%s: output %zu is %.9g, reference %.9g", what, i, abi[i], ref[i]);
    return 0;
}
