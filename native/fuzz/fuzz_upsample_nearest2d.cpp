// Fuzz target for inkwell_upsample_nearest2d_f32, _f16 and _bf16: random element type, batch,
// channels, input and output sizes (up, down, equal, exactly 2x, 1-wide), float32 inputs with
// NaN, infinities, huge and subnormal values now and then (16-bit inputs: any bits). The ABI
// result must equal upsample_nearest2d_reference bit for bit and be identical for 1 and 3
// threads. About one input in
// eight breaks an argument, which must be refused without writing the output.
#include <cstring>
#include <string>

#include "cpu/resample_cpu.hpp"
#include "fuzz_input.hpp"

using namespace inkwell_fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const bool invalid = in.ConsumeIntegralInRange<int>(0, 7) == 7;
    const int ctx = in.ConsumeIntegralInRange<int>(0, 2);
    const int type = in.ConsumeIntegralInRange<int>(INKWELL_ELEMENT_F32, INKWELL_ELEMENT_BF16);
    const int64_t bytes = type == INKWELL_ELEMENT_F32 ? 4 : 2;
    auto entry = type == INKWELL_ELEMENT_F32 ? inkwell_upsample_nearest2d_f32
                 : type == INKWELL_ELEMENT_F16 ? inkwell_upsample_nearest2d_f16
                                               : inkwell_upsample_nearest2d_bf16;
    inkwell_upsample_nearest2d_params p{};
    p.batch = in.ConsumeIntegralInRange<int64_t>(1, 3);
    p.channels = in.ConsumeIntegralInRange<int64_t>(1, 4);
    p.in_height = in.ConsumeIntegralInRange<int64_t>(1, 40);
    p.in_width = in.ConsumeIntegralInRange<int64_t>(1, 70);
    p.out_height = in.ConsumeIntegralInRange<int64_t>(1, 90);
    p.out_width = in.ConsumeIntegralInRange<int64_t>(1, 150);
    const int64_t in_count = p.batch * p.channels * p.in_height * p.in_width;
    const int64_t out_count = p.batch * p.channels * p.out_height * p.out_width;
    // 16-bit elements live in the float buffers' first halves (the bytes are what is copied)
    std::vector<float> input = floats(in, in_count, /*specials=*/true);
    std::vector<float> out(size_t(out_count), -7.0f);
    p.input = input.data();
    p.output = out.data();
    const size_t out_bytes = size_t(out_count * bytes);

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
            case 2: p.output = reinterpret_cast<char*>(input.data()) + bytes * in.ConsumeIntegralInRange<int64_t>(0, in_count - 1); what = "output overlaps input"; break;
            case 3: p.batch = p.channels = p.out_height = p.out_width = int64_t(1) << 11; what = "element count over 2^40"; break;
            default: expect_refused(in.ConsumeBool() ? entry(nullptr, &p) : entry(context(ctx), nullptr), "upsample_nearest2d null context or params"); return 0;
        }
        const std::vector<float> before = out;
        expect_refused(entry(context(ctx), &p), ("upsample_nearest2d " + what).c_str());
        if (!same_bits(before.data(), out.data(), out.size())) fail("upsample_nearest2d %s: a refused call wrote output", what.c_str());
        return 0;
    }

    char what[160];
    std::snprintf(what, sizeof what, "upsample_nearest2d type %d %lldx%lldx%lldx%lld -> %lldx%lld", type, (long long)p.batch,
                  (long long)p.channels, (long long)p.in_height, (long long)p.in_width, (long long)p.out_height,
                  (long long)p.out_width);
    expect_ok(entry(context(ctx), &p), what);
    const std::vector<float> abi = out;
    expect_ok(entry(context(ctx + 1), &p), what);
    if (std::memcmp(abi.data(), out.data(), out_bytes) != 0) fail("%s: threads differ", what);
    std::vector<float> ref(abi.size(), -7.0f);
    p.output = ref.data();
    inkwell::cpu::upsample_nearest2d_reference(p, bytes);
    // a nearest resize copies elements: the bytes must be equal, NaN payloads included
    if (std::memcmp(abi.data(), ref.data(), abi.size() * sizeof(float)) != 0) fail("%s: differs from the reference", what);
    return 0;
}
