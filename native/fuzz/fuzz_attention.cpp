// Fuzz target for inkwell_attention_f32: random batch, heads, query and key lengths, head
// sizes (every tile class up to 256), scales, causal masks and kv_lens. The ABI result and
// both fast paths (portable, and AVX2 where the CPU has it) must stay within a float error
// bound of the double reference; the ABI result must be bit-identical for 1 and 3 threads.
// Keys no query may see (past kv_lens[b], or past q_len under the causal mask) are
// sometimes filled with NaN and infinities: they must not reach the output.
// About one input in eight breaks an argument, which must be refused.
//
// The bound, per query row: each logit is a float dot product of D terms, off by at most
// about delta = (D + 4) eps L where L = scale max_j sum_d |q_d k_jd|; softmax weights then
// change by a factor of at most exp(2 delta), so the output moves by at most
// (exp(2 delta) - 1) max|v|. The online softmax adds a few roundings per key on top.
#include <cmath>
#include <string>

#include "context.hpp"
#include "cpu/attention_cpu.hpp"
#include "fuzz_input.hpp"

using namespace inkwell_fuzz;
using inkwell::cpu::AttentionSimd;

namespace {

constexpr int64_t kWorkBudget = 300000;  // batch * heads * q_len * kv_len * head_dim

int64_t head_dim(FuzzedDataProvider& in) {
    static const int64_t kTileEdges[] = {7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, 33, 40, 48, 63, 64, 65,
                                         80, 96, 127, 128, 129, 160, 192, 255, 256};
    switch (in.ConsumeIntegralInRange<int>(0, 2)) {
        case 0: return in.ConsumeIntegralInRange<int64_t>(1, 8);
        case 1: return kTileEdges[in.ConsumeIntegralInRange<size_t>(0, std::size(kTileEdges) - 1)];
        default: return in.ConsumeIntegralInRange<int64_t>(1, 256);
    }
}

// Keys of batch b that no query row sees.
int64_t first_hidden_key(const inkwell_attention_params& p, int64_t b) {
    int64_t seen = p.kv_lens != nullptr ? p.kv_lens[b] : p.kv_len;
    if (p.causal) seen = std::min(seen, p.q_len);
    return seen;
}

struct Tensors {
    std::vector<float> q, k, v, out;
    std::vector<int32_t> kv_lens;
};

std::string break_params(FuzzedDataProvider& in, inkwell_attention_params& p, Tensors& t) {
    switch (in.ConsumeIntegralInRange<int>(0, 7)) {
        case 0: {
            int64_t* sizes[] = {&p.batch, &p.heads, &p.q_len, &p.kv_len};
            const size_t i = in.ConsumeIntegralInRange<size_t>(0, 3);
            *sizes[i] = bad_size(in);
            if (i == 0) p.kv_lens = nullptr;  // kv_lens holds the real batch's entries only
            // kv_len larger than every kv_lens entry stays valid if the count fits.
            if (i == 3 && *sizes[i] > 0) *sizes[i] = std::numeric_limits<int64_t>::max();
            return "size " + std::to_string(i) + " = " + std::to_string(*sizes[i]);
        }
        case 1: p.head_dim = in.ConsumeBool() ? -in.ConsumeIntegralInRange<int64_t>(0, 1 << 20) : in.ConsumeIntegralInRange<int64_t>(257, std::numeric_limits<int64_t>::max()); return "bad head_dim";
        case 2: p.scale = in.ConsumeBool() ? bad_double(in) : 0.0; return "bad scale";
        case 3: p.causal = in.ConsumeBool() ? -1 : in.ConsumeIntegralInRange<int32_t>(2, std::numeric_limits<int32_t>::max()); return "bad causal";
        case 4: {
            t.kv_lens.assign(size_t(p.batch), int32_t(p.kv_len));
            const size_t b = in.ConsumeIntegralInRange<size_t>(0, t.kv_lens.size() - 1);
            t.kv_lens[b] = in.ConsumeBool() ? in.ConsumeIntegralInRange<int32_t>(std::numeric_limits<int32_t>::min(), 0)
                                            : int32_t(p.kv_len) + in.ConsumeIntegralInRange<int32_t>(1, 1000);
            p.kv_lens = t.kv_lens.data();
            return "kv_lens out of range";
        }
        case 5: {
            const int which = in.ConsumeIntegralInRange<int>(0, 3);
            if (which == 0) p.q = nullptr;
            if (which == 1) p.k = nullptr;
            if (which == 2) p.v = nullptr;
            if (which == 3) p.out = nullptr;
            return "null tensor";
        }
        case 6: {
            const int which = in.ConsumeIntegralInRange<int>(0, 2);
            std::vector<float>& victim = which == 0 ? t.q : which == 1 ? t.k : t.v;
            p.out = victim.data() + in.ConsumeIntegralInRange<size_t>(0, victim.size() - 1);
            return "out overlaps an input";
        }
        default:
            // Every size fine on its own, the element count beyond 2^40.
            p.batch = int64_t(1) << 20;
            p.heads = int64_t(1) << 20;
            p.kv_lens = nullptr;
            return "element count over 2^40";
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const bool invalid = in.ConsumeIntegralInRange<int>(0, 7) == 7;
    const int ctx = in.ConsumeIntegralInRange<int>(0, 2);
    inkwell_attention_params p{};
    p.batch = in.ConsumeIntegralInRange<int64_t>(1, 3);
    p.heads = in.ConsumeIntegralInRange<int64_t>(1, 3);
    p.q_len = in.ConsumeIntegralInRange<int64_t>(1, in.ConsumeBool() ? 8 : 80);
    p.kv_len = in.ConsumeIntegralInRange<int64_t>(1, in.ConsumeBool() ? 8 : 150);
    p.head_dim = head_dim(in);
    if (p.batch * p.heads * p.q_len * p.kv_len * p.head_dim > kWorkBudget) return -1;
    const double scales[] = {1.0, 0.125, 2.0, 10.0};
    p.scale = scales[in.ConsumeIntegralInRange<int>(0, 3)] / std::sqrt(double(p.head_dim));
    if (in.ConsumeIntegralInRange<int>(0, 7) == 7) p.scale = in.ConsumeFloatingPointInRange<double>(1e-6, 100);
    p.causal = in.ConsumeBool() ? 1 : 0;
    Tensors t;
    if (in.ConsumeBool()) {
        for (int64_t b = 0; b < p.batch; ++b) t.kv_lens.push_back(in.ConsumeIntegralInRange<int32_t>(1, int32_t(p.kv_len)));
        p.kv_lens = t.kv_lens.data();
    }
    const bool garbage_in_hidden_keys = in.ConsumeBool();
    // q and k shrink by a power of two so that large head sizes still give sane logits.
    const float amplitude = std::ldexp(1.0f, -in.ConsumeIntegralInRange<int>(0, 4));
    const int64_t q_count = p.batch * p.heads * p.q_len * p.head_dim;
    const int64_t kv_count = p.batch * p.heads * p.kv_len * p.head_dim;
    t.q = floats(in, q_count);
    t.k = floats(in, kv_count);
    t.v = floats(in, kv_count);
    for (float& x : t.q) x *= amplitude;
    for (float& x : t.k) x *= amplitude;
    const int64_t D = p.head_dim;
    if (garbage_in_hidden_keys)
        for (int64_t b = 0; b < p.batch; ++b)
            for (int64_t h = 0; h < p.heads; ++h)
                for (int64_t j = first_hidden_key(p, b); j < p.kv_len; ++j)
                    for (int64_t d = 0; d < D; ++d) {
                        const size_t at = size_t(((b * p.heads + h) * p.kv_len + j) * D + d);
                        t.k[at] = special_float(uint8_t(at));
                        t.v[at] = special_float(uint8_t(at + 3));
                    }
    t.out.assign(size_t(q_count), std::numeric_limits<float>::quiet_NaN());
    p.q = t.q.data();
    p.k = t.k.data();
    p.v = t.v.data();
    p.out = t.out.data();

    if (invalid) {
        const std::string what = break_params(in, p, t);
        const std::vector<float> out_before = t.out;
        expect_refused(inkwell_attention_f32(context(ctx), &p), ("attention " + what).c_str());
        if (!same_bits(out_before.data(), t.out.data(), t.out.size())) fail("attention %s: a refused call wrote out", what.c_str());
        return 0;
    }

    char what[256];
    std::snprintf(what, sizeof what, "attention B=%lld H=%lld Lq=%lld Lk=%lld D=%lld scale=%.17g causal=%d kv_lens=%d garbage=%d",
                  (long long)p.batch, (long long)p.heads, (long long)p.q_len, (long long)p.kv_len, (long long)D, p.scale,
                  p.causal, int(p.kv_lens != nullptr), int(garbage_in_hidden_keys));
    expect_ok(inkwell_attention_f32(context(ctx), &p), what);
    const std::vector<float> abi = t.out;
    std::fill(t.out.begin(), t.out.end(), std::numeric_limits<float>::quiet_NaN());
    expect_ok(inkwell_attention_f32(context(ctx + 1), &p), what);
    if (!same_bits(abi.data(), t.out.data(), abi.size())) fail("%s: threads %d and %d differ", what, ctx + 1, (ctx + 1) % 3 + 1);

    std::vector<std::pair<const char*, std::vector<float>>> results{{"abi", abi}};
    std::vector<std::pair<const char*, AttentionSimd>> paths{{"portable", AttentionSimd::portable}};
    if (inkwell::cpu::attention_avx2_available()) paths.push_back({"avx2", AttentionSimd::avx2});
    for (const auto& [name, simd] : paths) {
        std::fill(t.out.begin(), t.out.end(), std::numeric_limits<float>::quiet_NaN());
        inkwell::cpu::attention_fast(context(ctx)->pool, p, simd);
        results.push_back({name, t.out});
    }
    std::vector<float> ref(static_cast<size_t>(q_count));
    inkwell_attention_params r = p;
    r.out = ref.data();
    inkwell::cpu::attention_reference(r);

    for (int64_t b = 0; b < p.batch; ++b)
        for (int64_t h = 0; h < p.heads; ++h)
            for (int64_t i = 0; i < p.q_len; ++i) {
                const int64_t bh = b * p.heads + h, visible = inkwell::cpu::attention_visible_keys(p, b, i);
                const float* q = static_cast<const float*>(p.q) + (bh * p.q_len + i) * D;
                const float* k = static_cast<const float*>(p.k);
                const float* v = static_cast<const float*>(p.v);
                double logit_size = 0, v_max = 0;
                for (int64_t j = 0; j < visible; ++j) {
                    double s = 0;
                    for (int64_t d = 0; d < D; ++d) {
                        s += std::fabs(double(q[d]) * k[(bh * p.kv_len + j) * D + d]);
                        v_max = std::max(v_max, double(std::fabs(v[(bh * p.kv_len + j) * D + d])));
                    }
                    logit_size = std::max(logit_size, s * p.scale);
                }
                const double delta = (D + 4) * kFloatEps * logit_size;
                const double tol = v_max * (std::expm1(2 * delta) + (visible + 32) * 4 * kFloatEps) + 1e-30;
                for (int64_t d = 0; d < D; ++d) {
                    const size_t at = size_t((bh * p.q_len + i) * D + d);
                    for (const auto& [name, out] : results)
                        if (!(std::fabs(double(out[at]) - ref[at]) <= tol))
                            fail("%s: %s out[b=%lld h=%lld i=%lld d=%lld] = %.9g, reference %.9g, tolerance %.3g", what, name,
                                 (long long)b, (long long)h, (long long)i, (long long)d, out[at], ref[at], tol);
                }
            }
    return 0;
}
