// Fuzz target for inkwell_randn_f32: random counts, seeds and offsets (including ranges
// that end exactly at the 2^64-element end of the stream). The ABI result must equal
// randn_reference bit for bit, be identical for 1 and 3 threads, match the same elements
// taken from an overlapping range, and hold only finite values within the Box-Muller
// bound sqrt(-2 log 2^-24) < 5.8. About one input in eight breaks an argument, which must
// be refused.
#include <cmath>
#include <string>

#include "cpu/randn_cpu.hpp"
#include "fuzz_input.hpp"

using namespace inkwell_fuzz;

namespace {

uint64_t offset(FuzzedDataProvider& in, int64_t count) {
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
        case 0: return in.ConsumeIntegralInRange<uint64_t>(0, 64);
        case 1: return UINT64_MAX - uint64_t(count) + 1 - in.ConsumeIntegralInRange<uint64_t>(0, 8);  // at the end
        default: return in.ConsumeIntegral<uint64_t>() & ~(in.ConsumeBool() ? uint64_t(0) : uint64_t(3)) & (UINT64_MAX >> 1);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const bool invalid = in.ConsumeIntegralInRange<int>(0, 7) == 7;
    const int ctx = in.ConsumeIntegralInRange<int>(0, 2);
    inkwell_randn_params p{};
    p.count = in.ConsumeIntegralInRange<int64_t>(1, in.ConsumeBool() ? 16 : 5000);
    p.seed = in.ConsumeIntegral<uint64_t>();
    p.offset = offset(in, p.count);
    std::vector<float> out(size_t(p.count), NAN);
    p.out = out.data();

    if (invalid) {
        std::string what;
        switch (in.ConsumeIntegralInRange<int>(0, 3)) {
            case 0: p.count = bad_size(in); what = "bad count"; break;
            case 1: p.out = nullptr; what = "null out"; break;
            case 2:
                // offset + count = 2^64 + k for k in 1..count - 1 (k = count would wrap offset to 0).
                if (p.count == 1) p.count = 2;
                p.offset = UINT64_MAX - uint64_t(p.count) + 1 + in.ConsumeIntegralInRange<uint64_t>(1, uint64_t(p.count) - 1);
                what = "range past the end of the stream";
                break;
            default: expect_refused(in.ConsumeBool() ? inkwell_randn_f32(nullptr, &p) : inkwell_randn_f32(context(ctx), nullptr), "randn null context or params"); return 0;
        }
        expect_refused(inkwell_randn_f32(context(ctx), &p), ("randn " + what).c_str());
        for (float v : out)
            if (!std::isnan(v)) fail("randn %s: a refused call wrote out", what.c_str());
        return 0;
    }

    char what[160];
    std::snprintf(what, sizeof what, "randn count=%lld seed=%llu offset=%llu", (long long)p.count,
                  (unsigned long long)p.seed, (unsigned long long)p.offset);
    expect_ok(inkwell_randn_f32(context(ctx), &p), what);
    const std::vector<float> abi = out;
    expect_ok(inkwell_randn_f32(context(ctx + 1), &p), what);
    if (!same_bits(abi.data(), out.data(), abi.size())) fail("%s: threads differ", what);

    std::vector<float> ref(abi.size());
    inkwell::cpu::randn_reference(ref.data(), p.count, p.seed, p.offset);
    for (size_t i = 0; i < ref.size(); ++i) {
        if (!same_bits(&abi[i], &ref[i], 1)) fail("%s: element %zu is %.9g, reference %.9g", what, i, abi[i], ref[i]);
        if (!(std::fabs(abi[i]) < 5.8f)) fail("%s: element %zu is %.9g", what, i, abi[i]);
    }

    // A shifted window of the same stream agrees where the two overlap.
    const int64_t shift = in.ConsumeIntegralInRange<int64_t>(1, 7);
    if (p.count > shift) {
        std::vector<float> tail(static_cast<size_t>(p.count - shift));
        inkwell_randn_params q = p;
        q.out = tail.data();
        q.count = p.count - shift;
        q.offset = p.offset + uint64_t(shift);
        expect_ok(inkwell_randn_f32(context(ctx), &q), what);
        if (!same_bits(tail.data(), abi.data() + shift, tail.size())) fail("%s: offset + %lld disagrees", what, (long long)shift);
    }
    return 0;
}
