// Fuzz target for inkwell_upsample_nearest2d_f32: random batch, channels, input and output
// sizes (up, down, equal, exactly 2x, 1-wide), inputs with NaN, infinities, huge and
// subnormal values now and then. The ABI result must equal upsample_nearest2d_reference bit
// for bit (NaN payloads aside) and be identical for 1 and 3 threads. About one input in
// eight breaks an argument, which must be refused without writing the output.
#include <string>

#include "cpu/resample_cpu.hpp"
#include "fuzz_input.hpp"

using namespace inkwell_fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const bool invalid = in.ConsumeIntegralInRange<int>(0, 7) == 7;
    const int ctx = in.ConsumeIntegralInRange<int>(0, 2);
    inkwell_upsample_nearest2d_params p{};
    p.batch = in.ConsumeIntegralInRange<int64_t>(1, 3);
    p.channels = in.ConsumeIntegralInRange<int64_t>(1, 4);
    p.in_height = in.ConsumeIntegralInRange<int64_t>(1, 40);
    p.in_width = in.ConsumeIntegralInRange<int64_t>(1, 70);
    p.out_height = in.ConsumeIntegralInRange<int64_t>(1, 90);
    p.out_width = in.ConsumeIntegralInRange<int64_t>(1, 150);
    const int64_t in_count = p.batch * p.channels * p.in_height * p.in_width;
    const int64_t out_count = p.batch * p.channels * p.out_height * p.out_width;
    std::vector<float> input = floats(in, in_count, /*specials=*/true);
    std::vector<float> out(size_t(out_count), -7.0f);
    p.input = input.data();
    p.output = out.data();

    if (invalid) {
        std::string what;
        switch (in.ConsumeIntegralInRange<int>(0, 4)) {
            case 0: {
                int64_t* sizes[] = {&p.batch, &p.channels, &p.in_height, &p.in_width, &p.out_height, &p.out_width};
                *sizes[in.ConsumeIntegralInRange<int>(0, 5)] = bad_size(in);
                what = "bad size";
                break;
            }
            case 1:
                if (in.ConsumeBool()) p.input = nullptr; else p.output = nullptr;
                what = "null tensor";
                break;
            case 2: p.output = input.data() + in.ConsumeIntegralInRange<int64_t>(0, in_count - 1); what = "output overlaps input"; break;
            case 3: p.batch = p.channels = p.out_height = p.out_width = int64_t(1) << 11; what = "element count over 2^40"; break;
            default: expect_refused(in.ConsumeBool() ? inkwell_upsample_nearest2d_f32(nullptr, &p) : inkwell_upsample_nearest2d_f32(context(ctx), nullptr), "upsample_nearest2d null context or params"); return 0;
        }
        const std::vector<float> before = out;
        expect_refused(inkwell_upsample_nearest2d_f32(context(ctx), &p), ("upsample_nearest2d " + what).c_str());
        if (!same_bits(before.data(), out.data(), out.size())) fail("upsample_nearest2d %s: a refused call wrote output", what.c_str());
        return 0;
    }

    char what[160];
    std::snprintf(what, sizeof what, "upsample_nearest2d %lldx%lldx%lldx%lld -> %lldx%lld", (long long)p.batch,
                  (long long)p.channels, (long long)p.in_height, (long long)p.in_width, (long long)p.out_height,
                  (long long)p.out_width);
    expect_ok(inkwell_upsample_nearest2d_f32(context(ctx), &p), what);
    const std::vector<float> abi = out;
    expect_ok(inkwell_upsample_nearest2d_f32(context(ctx + 1), &p), what);
    if (!same_bits(abi.data(), out.data(), abi.size())) fail("%s: threads differ", what);
    std::vector<float> ref(abi.size());
    p.output = ref.data();
    inkwell::cpu::upsample_nearest2d_reference(p);
    for (size_t i = 0; i < ref.size(); ++i)
        if (!same_value(abi[i], ref[i])) fail("%s: output %zu is %.9g, reference %.9g", what, i, abi[i], ref[i]);
    return 0;
}
