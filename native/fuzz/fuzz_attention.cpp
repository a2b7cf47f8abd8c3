// Fuzz target for inkwell_attention_f32, _f16 and _bf16 (the input picks the element type;
// for the 16-bit entries see check_16bit): random batch, heads, query and key lengths, head
// sizes (every tile class up to 256), scales, causal masks and kv_lens. The ABI result and
// both fast paths (portable, and AVX2 where the CPU has it) must stay within a float error
// bound of the double reference; the ABI result must be bit-identical for 1 and 3 threads.
// Keys no query may see (past kv_lens[b], or past q_len under the causal mask) are
// sometimes filled with NaN and infinities: they must not reach the output.
// Half of the inputs also run in the BLHD layout (params.layout = 1) on permuted copies: the
// ABI (f32, f16 or bf16), both fast paths and the reference must give the BHLD results
// permuted, bit for bit (the layout moves rows, never the arithmetic).
// About one input in eight breaks an argument (in either layout, or the layout itself),
// which must be refused.
//
// The bound, per query row: each logit is a float dot product of D terms, off by at most
// about delta = (D + 4) eps L where L = scale max_j sum_d |q_d k_jd|; softmax weights then
// change by a factor of at most exp(2 delta), so the output moves by at most
// (exp(2 delta) - 1) max|v|. The online softmax adds a few roundings per key on top.
#include <cmath>
#include <cstring>
#include <string>

#include "context.hpp"
#include "cpu/attention_cpu.hpp"
#include "element_types.hpp"
#include "fuzz_input.hpp"
#include "../tests/reference16.hpp"

using namespace inkwell_fuzz;
using inkwell::cpu::AttentionSimd;

namespace {

constexpr int64_t kWorkBudget = 300000;  // batch * heads * q_len * kv_len * head_dim

int64_t head_dim(FuzzedDataProvider& in) {
    static const int64_t kTileEdges[] = {7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, 33, 40, 48, 63, 64, 65,
                                         80, 96, 127, 128, 129, 160, 192, 255, 256, 257, 512};
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

// Elements of the entry's type: float, or uint16_t for f16 and bf16.
template <class T>
struct Tensors {
    std::vector<T> q, k, v, out;
    std::vector<int32_t> kv_lens;
};

// x [B, H, length, D] -> [B, length, H, D].
template <class T>
std::vector<T> to_blhd(const std::vector<T>& x, const inkwell_attention_params& p, int64_t length) {
    std::vector<T> y(x.size());
    const int64_t D = p.head_dim;
    for (int64_t b = 0; b < p.batch; ++b)
        for (int64_t h = 0; h < p.heads; ++h)
            for (int64_t i = 0; i < length; ++i)
                std::copy_n(x.begin() + ((b * p.heads + h) * length + i) * D, D,
                            y.begin() + ((b * length + i) * p.heads + h) * D);
    return y;
}

// Tensors t permuted to BLHD into u; the params of p pointing at them, layout 1.
template <class T>
inkwell_attention_params blhd_params(const inkwell_attention_params& p, const Tensors<T>& t, Tensors<T>& u) {
    u.q = to_blhd(t.q, p, p.q_len);
    u.k = to_blhd(t.k, p, p.kv_len);
    u.v = to_blhd(t.v, p, p.kv_len);
    u.out = t.out;
    inkwell_attention_params b = p;
    b.q = u.q.data();
    b.k = u.k.data();
    b.v = u.v.data();
    b.out = u.out.data();
    b.layout = INKWELL_ATTENTION_BLHD;
    return b;
}

template <class T>
std::string break_params(FuzzedDataProvider& in, inkwell_attention_params& p, Tensors<T>& t) {
    switch (in.ConsumeIntegralInRange<int>(0, 8)) {
        case 0: {
            int64_t* sizes[] = {&p.batch, &p.heads, &p.q_len, &p.kv_len};
            const size_t i = in.ConsumeIntegralInRange<size_t>(0, 3);
            *sizes[i] = bad_size(in);
            if (i == 0) p.kv_lens = nullptr;  // kv_lens holds the real batch's entries only
            // kv_len larger than every kv_lens entry stays valid if the count fits.
            if (i == 3 && *sizes[i] > 0) *sizes[i] = std::numeric_limits<int64_t>::max();
            return "size " + std::to_string(i) + " = " + std::to_string(*sizes[i]);
        }
        case 1: p.head_dim = in.ConsumeBool() ? -in.ConsumeIntegralInRange<int64_t>(0, 1 << 20) : in.ConsumeIntegralInRange<int64_t>(513, std::numeric_limits<int64_t>::max()); return "bad head_dim";
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
            std::vector<T>& victim = which == 0 ? t.q : which == 1 ? t.k : t.v;
            p.out = victim.data() + in.ConsumeIntegralInRange<size_t>(0, victim.size() - 1);
            return "out overlaps an input";
        }
        case 7:
            p.layout = in.ConsumeBool() ? in.ConsumeIntegralInRange<int32_t>(std::numeric_limits<int32_t>::min(), -1)
                                        : in.ConsumeIntegralInRange<int32_t>(2, std::numeric_limits<int32_t>::max());
            return "bad layout " + std::to_string(p.layout);
        default:
            // Every size fine on its own, the element count beyond 2^40.
            p.batch = int64_t(1) << 20;
            p.heads = int64_t(1) << 20;
            p.kv_lens = nullptr;
            return "element count over 2^40";
    }
}

uint16_t narrow16(int32_t type, float f) { return type == INKWELL_ELEMENT_F16 ? inkwell::float_to_f16(f) : inkwell::float_to_bf16(f); }
float widen16(int32_t type, uint16_t h) { return type == INKWELL_ELEMENT_F16 ? inkwell::f16_to_float(h) : inkwell::bf16_to_float(h); }

int32_t attention16(int32_t type, inkwell_context* ctx, const inkwell_attention_params* p) {
    return type == INKWELL_ELEMENT_F16 ? inkwell_attention_f16(ctx, p) : inkwell_attention_bf16(ctx, p);
}

// The f16 / bf16 entries on the same case (the grid floats, times a power of two, are exact
// in both types; the specials in hidden keys round to infinities, NaN or zero and must still
// not reach the output). Invalid: refused with a message, nothing written. Valid: 1 and 3
// threads give the same bits, the result is narrow(attention_f32 on the widened tensors) bit
// for bit, and every output is within 1 ulp of the double reference rounded once, or within
// the float32 error bound where it cancels (native/tests/reference16.hpp).
int check_16bit(FuzzedDataProvider& in, inkwell_attention_params p, const Tensors<float>& t, int32_t type, bool invalid,
                int ctx, bool garbage, bool blhd) {
    Tensors<uint16_t> h;
    Tensors<float> widened;
    auto narrow_all = [&](const std::vector<float>& from, std::vector<uint16_t>& to, std::vector<float>& back) {
        to.resize(from.size());
        back.resize(from.size());
        for (size_t i = 0; i < from.size(); ++i) {
            to[i] = narrow16(type, from[i]);
            back[i] = widen16(type, to[i]);
        }
    };
    narrow_all(t.q, h.q, widened.q);
    narrow_all(t.k, h.k, widened.k);
    narrow_all(t.v, h.v, widened.v);
    h.out.assign(t.out.size(), 0xffff);  // NaN in both types
    h.kv_lens = t.kv_lens;
    p.q = h.q.data();
    p.k = h.k.data();
    p.v = h.v.data();
    p.out = h.out.data();
    if (p.kv_lens != nullptr) p.kv_lens = h.kv_lens.data();
    const char* name = type == INKWELL_ELEMENT_F16 ? "f16" : "bf16";

    if (invalid) {
        if (blhd) p.layout = INKWELL_ATTENTION_BLHD;
        const std::string what = std::string("attention ") + name + " " + break_params(in, p, h);
        const std::vector<uint16_t> out_before = h.out;
        expect_refused(attention16(type, context(ctx), &p), what.c_str());
        if (out_before != h.out) fail("%s: a refused call wrote out", what.c_str());
        return 0;
    }

    char what[256];
    std::snprintf(what, sizeof what, "attention %s B=%lld H=%lld Lq=%lld Lk=%lld D=%lld scale=%.17g causal=%d kv_lens=%d garbage=%d",
                  name, (long long)p.batch, (long long)p.heads, (long long)p.q_len, (long long)p.kv_len,
                  (long long)p.head_dim, p.scale, p.causal, int(p.kv_lens != nullptr), int(garbage));
    expect_ok(attention16(type, context(ctx), &p), what);
    const std::vector<uint16_t> abi = h.out;
    std::fill(h.out.begin(), h.out.end(), 0xffff);
    expect_ok(attention16(type, context(ctx + 1), &p), what);
    if (abi != h.out) fail("%s: threads %d and %d differ", what, ctx % 3 + 1, (ctx + 1) % 3 + 1);

    inkwell_attention_params f = p;
    std::vector<float> f32(abi.size(), std::numeric_limits<float>::quiet_NaN());
    f.q = widened.q.data();
    f.k = widened.k.data();
    f.v = widened.v.data();
    f.out = f32.data();
    expect_ok(inkwell_attention_f32(context(ctx), &f), what);
    const inkwell_ref::Exact exact = inkwell_ref::attention_exact(f);
    const inkwell_ref::Format& format = inkwell_ref::format_of(type);
    for (size_t i = 0; i < abi.size(); ++i) {
        if (narrow16(type, f32[i]) != abi[i])
            fail("%s: out[%zu] is 0x%04x, narrow(attention_f32) 0x%04x", what, i, abi[i], narrow16(type, f32[i]));
        if (inkwell_ref::check16(abi[i], exact.value[i], exact.delta[i], format) == inkwell_ref::Verdict::fail)
            fail("%s: out[%zu] is 0x%04x (%.9g), reference %.17g rounds to 0x%04x, float32 error bound %.3g", what, i,
                 abi[i], inkwell_ref::value_of(abi[i], format), exact.value[i],
                 inkwell_ref::narrow_ref(exact.value[i], format), exact.delta[i]);
    }
    if (blhd) {
        Tensors<uint16_t> u;
        const inkwell_attention_params b = blhd_params(p, h, u);
        std::fill(u.out.begin(), u.out.end(), 0xffff);
        expect_ok(attention16(type, context(ctx + 1), &b), what);
        if (u.out != to_blhd(abi, p, p.q_len)) fail("%s: BLHD differs from BHLD on permuted copies", what);
    }
    return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const bool invalid = in.ConsumeIntegralInRange<int>(0, 7) == 7;
    const int ctx = in.ConsumeIntegralInRange<int>(0, 2);
    // Element type, early (integers come from the end of the input, so libFuzzer's first short
    // inputs reach it): f32 in half of the inputs, f16 and bf16 in a quarter each.
    const int32_t type = std::max(0, in.ConsumeIntegralInRange<int32_t>(-1, 2));
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
    Tensors<float> t;
    if (in.ConsumeBool()) {
        for (int64_t b = 0; b < p.batch; ++b) t.kv_lens.push_back(in.ConsumeIntegralInRange<int32_t>(1, int32_t(p.kv_len)));
        p.kv_lens = t.kv_lens.data();
    }
    const bool garbage_in_hidden_keys = in.ConsumeBool();
    const bool blhd = in.ConsumeBool();
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

    if (type != INKWELL_ELEMENT_F32) return check_16bit(in, p, t, type, invalid, ctx, garbage_in_hidden_keys, blhd);

    if (invalid) {
        if (blhd) p.layout = INKWELL_ATTENTION_BLHD;
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
    if (inkwell::cpu::attention_avx512_available()) paths.push_back({"avx512", AttentionSimd::avx512});
    for (const auto& [name, simd] : paths) {
        std::fill(t.out.begin(), t.out.end(), std::numeric_limits<float>::quiet_NaN());
        inkwell::cpu::attention_fast(context(ctx)->pool, p, simd);
        results.push_back({name, t.out});
    }
    // The AVX-512 path does the AVX2 path's arithmetic per element: the same bits.
    for (const auto& [wide, wide_out] : results)
        for (const auto& [narrow, narrow_out] : results)
            if (std::strcmp(wide, "avx512") == 0 && std::strcmp(narrow, "avx2") == 0 &&
                !same_bits(wide_out.data(), narrow_out.data(), wide_out.size()))
                fail("%s: the AVX-512 and AVX2 paths differ", what);
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
    if (blhd) {
        // The same calls in BLHD: each result must be its BHLD result permuted.
        Tensors<float> u;
        const inkwell_attention_params bp = blhd_params(p, t, u);
        auto same_as = [&](const char* name, const std::vector<float>& bhld) {
            if (!same_bits(u.out.data(), to_blhd(bhld, p, p.q_len).data(), u.out.size()))
                fail("%s: BLHD %s differs from BHLD on permuted copies", what, name);
            std::fill(u.out.begin(), u.out.end(), std::numeric_limits<float>::quiet_NaN());
        };
        expect_ok(inkwell_attention_f32(context(ctx + 1), &bp), what);
        same_as("abi", abi);
        for (size_t n = 0; n < paths.size(); ++n) {
            inkwell::cpu::attention_fast(context(ctx)->pool, bp, paths[n].second);
            same_as(paths[n].first, results[n + 1].second);
        }
        inkwell::cpu::attention_reference(bp);
        same_as("reference", ref);
    }
    return 0;
}
