// Attention: both fast paths (AVX2 where the CPU has it, and portable) against the float64
// reference on random shapes: every head size class, Lk = 1, Lq != Lk, batch > 1, causal,
// kv_lens, large logits, custom scales; bit-identical results for 1, 2 and 3 threads; and
// the C ABI's argument checks; the f16 and bf16 entries; the BLHD layout (the sections at
// the end).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "cpu/attention_cpu.hpp"
#include "element_types.hpp"
#include "inkwell/inkwell.h"
#include "reference16.hpp"
#include "test_util.hpp"

using namespace inkwell;
using namespace inkwell::cpu;

namespace {

constexpr double kAtol = 2e-5;
constexpr double kRtol = 1e-4;

struct Shape {
    int64_t batch, heads, q_len, kv_len, head_dim;
    bool causal;
    bool kv_lens;         // random kv_lens in 1..kv_len, with kv_lens[0] = 1 where batch > 1
    double scale;         // 0: 1 / sqrt(head_dim)
    float logit_spread;   // q and k are scaled so that logits reach about this size
};

struct Problem {
    std::vector<float> q, k, v;
    std::vector<int32_t> kv_lens;
    inkwell_attention_params params{};

    inkwell_attention_params with_out(std::vector<float>& out) const {
        inkwell_attention_params p = params;
        out.assign(q.size(), std::numeric_limits<float>::quiet_NaN());
        p.out = out.data();
        return p;
    }
};

Problem make_problem(std::mt19937& rng, const Shape& s) {
    Problem pr;
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const double scale = s.scale > 0 ? s.scale : 1.0 / std::sqrt(double(s.head_dim));
    // Logits are scale * sum_d q_d k_d with about sqrt(head_dim) spread for unit entries:
    // amplify q and k so that the largest logits reach about logit_spread.
    const float amplitude = static_cast<float>(std::sqrt(s.logit_spread / (scale * std::sqrt(double(s.head_dim)) * 3)));
    auto fill = [&](std::vector<float>& t, int64_t length, float a) {
        t.resize(s.batch * s.heads * length * s.head_dim);
        for (float& x : t) x = normal(rng) * a;
    };
    fill(pr.q, s.q_len, amplitude);
    fill(pr.k, s.kv_len, amplitude);
    fill(pr.v, s.kv_len, 1.0f);
    auto& p = pr.params;
    p.q = pr.q.data();
    p.k = pr.k.data();
    p.v = pr.v.data();
    p.batch = s.batch;
    p.heads = s.heads;
    p.q_len = s.q_len;
    p.kv_len = s.kv_len;
    p.head_dim = s.head_dim;
    p.scale = scale;
    p.causal = s.causal ? 1 : 0;
    if (s.kv_lens) {
        std::uniform_int_distribution<int32_t> len(1, static_cast<int32_t>(s.kv_len));
        for (int64_t b = 0; b < s.batch; ++b) pr.kv_lens.push_back(b == 0 && s.batch > 1 ? 1 : len(rng));
        p.kv_lens = pr.kv_lens.data();
    }
    return pr;
}

// |fast - ref| <= atol + rtol |ref|; non-finite references skipped; the first ten
// mismatches printed.
int count_mismatches(const std::vector<float>& fast, const std::vector<float>& ref, const char* what) {
    int bad = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        if (!std::isfinite(ref[i])) continue;
        const double err = std::fabs(double(fast[i]) - ref[i]);
        if (!(err <= kAtol + kRtol * std::fabs(ref[i]))) {
            if (++bad <= 10) std::printf("    %s[%zu]: %.9g, reference %.9g\n", what, i, fast[i], ref[i]);
        }
    }
    return bad;
}

std::vector<AttentionSimd> paths() {
    std::vector<AttentionSimd> list{AttentionSimd::portable};
    if (attention_avx2_available()) list.push_back(AttentionSimd::avx2);
    if (attention_avx512_available()) list.push_back(AttentionSimd::avx512);
    return list;
}

const char* path_name(AttentionSimd simd) {
    switch (simd) {
        case AttentionSimd::avx2: return "avx2";
        case AttentionSimd::avx512: return "avx512";
        default: return "portable";
    }
}

void check_against_reference(std::mt19937& rng, const Shape& s) {
    Problem pr = make_problem(rng, s);
    std::vector<float> ref, fast;
    attention_reference(pr.with_out(ref));
    ThreadPool pool(2);
    for (AttentionSimd simd : paths()) {
        attention_fast(pool, pr.with_out(fast), simd);
        const int bad = count_mismatches(fast, ref, path_name(simd));
        CHECK_MSG(bad == 0, "%s B=%lld H=%lld Lq=%lld Lk=%lld D=%lld causal=%d kv_lens=%d scale=%g logits~%g: %d differ",
                  path_name(simd), (long long)s.batch, (long long)s.heads, (long long)s.q_len, (long long)s.kv_len,
                  (long long)s.head_dim, (int)s.causal, (int)s.kv_lens, s.scale, s.logit_spread, bad);
    }
}

const int64_t kHeadDims[] = {1, 3, 8, 24, 40, 64, 80, 128, 160, 256, 300, 512};

}  // namespace

TEST(attention_fast_matches_reference_for_every_head_dim) {
    std::mt19937 rng(2024);
    for (int64_t d : kHeadDims) {
        check_against_reference(rng, {1, 2, 33, 33, d, false, false, 0, 8});
        check_against_reference(rng, {2, 3, 97, 77, d, false, false, 0, 8});    // cross-attention, Lq != Lk
        check_against_reference(rng, {1, 1, 5, 130, d, false, false, 0, 8});    // Lq < Lk, several tiles
    }
}

TEST(attention_fast_matches_reference_with_masks) {
    std::mt19937 rng(99);
    for (int64_t d : kHeadDims) {
        check_against_reference(rng, {1, 2, 70, 70, d, true, false, 0, 8});     // causal, square
        check_against_reference(rng, {1, 1, 131, 67, d, true, false, 0, 8});    // causal, Lq > Lk
        check_against_reference(rng, {1, 1, 19, 150, d, true, false, 0, 8});    // causal, Lq < Lk
        check_against_reference(rng, {3, 2, 41, 77, d, false, true, 0, 8});     // kv_lens, one batch sees 1 key
        check_against_reference(rng, {3, 1, 65, 129, d, true, true, 0, 8});     // both
    }
}

TEST(attention_fast_matches_reference_on_edge_shapes) {
    std::mt19937 rng(5);
    for (int64_t d : {int64_t(1), int64_t(24), int64_t(40), int64_t(160)}) {
        check_against_reference(rng, {1, 1, 1, 1, d, false, false, 0, 8});      // one query, one key
        check_against_reference(rng, {2, 2, 17, 1, d, false, false, 0, 8});     // Lk = 1
        check_against_reference(rng, {1, 3, 1, 257, d, false, false, 0, 8});    // one query, many keys
        check_against_reference(rng, {4, 1, 16, 64, d, false, false, 0, 8});    // exact group and tile sizes
        check_against_reference(rng, {1, 1, 1025, 65, d, false, false, 0, 8});  // many chunks, tile + 1 keys
    }
}

TEST(attention_fast_matches_reference_with_large_logits_and_custom_scales) {
    std::mt19937 rng(77);
    for (int64_t d : kHeadDims) {
        check_against_reference(rng, {1, 2, 64, 64, d, false, false, 0, 100});
        check_against_reference(rng, {2, 1, 40, 90, d, true, true, 0, 100});
        check_against_reference(rng, {1, 2, 48, 40, d, false, false, 0.5, 8});
        check_against_reference(rng, {1, 1, 30, 70, d, false, false, 3e-3, 1});  // nearly uniform weights
    }
}

TEST(attention_is_bit_identical_for_any_thread_count) {
    std::mt19937 rng(31337);
    const Shape shapes[] = {{2, 3, 200, 150, 40, false, false, 0, 8},
                            {1, 4, 300, 77, 80, false, true, 0, 8},
                            {2, 2, 129, 129, 24, true, true, 0, 30}};
    for (const Shape& s : shapes) {
        Problem pr = make_problem(rng, s);
        for (AttentionSimd simd : paths()) {
            std::vector<float> first, again;
            ThreadPool one(1);
            attention_fast(one, pr.with_out(first), simd);
            for (int threads : {1, 2, 3}) {
                ThreadPool pool(threads);
                attention_fast(pool, pr.with_out(again), simd);
                CHECK_MSG(std::memcmp(first.data(), again.data(), first.size() * sizeof(float)) == 0,
                          "%s D=%lld threads=%d differs from 1 thread", path_name(simd), (long long)s.head_dim,
                          threads);
            }
        }
    }
}

TEST(attention_avx512_gives_the_avx2_bits) {
    // The AVX-512 path does the AVX2 path's arithmetic per element, 16 lanes wide: every head
    // size (padded columns, one- and two-vector blocks), masks, tails of keys and rows, large
    // logits, both layouts must give the same bits.
    if (!attention_avx512_available() || !attention_avx2_available()) {
        std::printf("  SKIP: AVX-512 not in effect here\n");
        return;
    }
    std::mt19937 rng(512);
    ThreadPool pool(2);
    int compared = 0;
    for (int64_t d : kHeadDims) {
        const Shape shapes[] = {{1, 2, 33, 33, d, false, false, 0, 8},    {2, 3, 97, 77, d, false, false, 0, 8},
                                {1, 1, 131, 67, d, true, false, 0, 8},    {3, 1, 65, 129, d, true, true, 0, 8},
                                {1, 2, 64, 64, d, false, false, 0, 100},  {1, 1, 30, 70, d, false, false, 3e-3, 1}};
        for (const Shape& s : shapes) {
            Problem pr = make_problem(rng, s);
            for (int32_t layout : {INKWELL_ATTENTION_BHLD, INKWELL_ATTENTION_BLHD}) {
                pr.params.layout = layout;  // the same data read in the other layout: a different problem, same rule
                std::vector<float> wide, narrow;
                attention_fast(pool, pr.with_out(wide), AttentionSimd::avx512);
                attention_fast(pool, pr.with_out(narrow), AttentionSimd::avx2);
                CHECK_MSG(std::memcmp(wide.data(), narrow.data(), wide.size() * sizeof(float)) == 0,
                          "D=%lld Lq=%lld Lk=%lld causal=%d kv_lens=%d layout=%d: AVX-512 and AVX2 differ",
                          (long long)d, (long long)s.q_len, (long long)s.kv_len, (int)s.causal, (int)s.kv_lens,
                          (int)layout);
                ++compared;
            }
        }
    }
    std::printf("  %d problems: AVX-512 = AVX2 bit for bit\n", compared);
}

TEST(attention_one_visible_key_copies_its_value_exactly) {
    // With one visible key the weight is exactly 1, so the output is v[0] bit for bit.
    std::mt19937 rng(3);
    Problem pr = make_problem(rng, {2, 2, 9, 33, 40, false, true, 0, 50});
    pr.kv_lens = {1, 1};
    pr.params.kv_lens = pr.kv_lens.data();
    ThreadPool pool(2);
    for (AttentionSimd simd : paths()) {
        std::vector<float> out;
        attention_fast(pool, pr.with_out(out), simd);
        int bad = 0;
        for (int64_t bh = 0; bh < 4; ++bh)
            for (int64_t i = 0; i < 9; ++i)
                for (int64_t d = 0; d < 40; ++d) bad += out[(bh * 9 + i) * 40 + d] != pr.v[bh * 33 * 40 + d];
        CHECK_MSG(bad == 0, "%s: %d outputs differ from v[0]", path_name(simd), bad);
    }
}

TEST(attention_abi_computes_and_rejects_bad_arguments_with_messages) {
    inkwell_context* ctx = nullptr;
    CHECK(inkwell_context_create(nullptr, &ctx) == INKWELL_OK);
    std::mt19937 rng(1);
    Problem pr = make_problem(rng, {2, 2, 5, 7, 8, false, true, 0, 8});
    std::vector<float> out, ref;
    inkwell_attention_params p = pr.with_out(out);
    CHECK(inkwell_attention_f32(ctx, &p) == INKWELL_OK);
    attention_reference(pr.with_out(ref));
    CHECK(count_mismatches(out, ref, "abi") == 0);

    auto expect = [&](inkwell_attention_params bad, const char* fragment) {
        int32_t s = inkwell_attention_f32(ctx, &bad);
        const char* msg = inkwell_last_error_message();
        CHECK_MSG(s == INKWELL_INVALID_ARGUMENT && std::strstr(msg, fragment) != nullptr,
                  "status %d, message '%s', wanted '%s'", s, msg, fragment);
    };
    auto q = p;
    q.q = nullptr;
    expect(q, "attention: q is null");
    q = p;
    q.v = nullptr;
    expect(q, "attention: v is null");
    q = p;
    q.out = nullptr;
    expect(q, "attention: out is null");
    q = p;
    q.batch = 0;
    expect(q, "batch must be >= 1, got 0");
    q = p;
    q.kv_len = -3;
    expect(q, "kv_len must be >= 1, got -3");
    q = p;
    q.head_dim = 513;
    expect(q, "head_dim must be 1..512, got 513");
    q = p;
    q.scale = std::numeric_limits<double>::infinity();
    expect(q, "scale must be finite and > 0, got inf");
    q = p;
    q.scale = 0;
    expect(q, "scale must be finite and > 0, got 0");
    q = p;
    q.causal = 2;
    expect(q, "causal must be 0 or 1, got 2");
    std::vector<int32_t> lens{3, 8};
    q = p;
    q.kv_lens = lens.data();
    expect(q, "kv_lens[1] must be 1..7 (kv_len), got 8");
    lens = {0, 3};
    expect(q, "kv_lens[0] must be 1..7 (kv_len), got 0");
    q = p;
    q.q_len = int64_t(1) << 40;
    expect(q, "more than 2^40");
    q = p;
    q.heads = int64_t(1) << 62;
    expect(q, "more than 2^40");  // the product overflows int64
    q = p;
    q.out = const_cast<float*>(static_cast<const float*>(p.q)) + 3;
    expect(q, "out overlaps q");
    q = p;
    q.out = const_cast<float*>(static_cast<const float*>(p.v)) + p.head_dim;
    expect(q, "out overlaps v");
    CHECK(inkwell_attention_f32(ctx, nullptr) == INKWELL_INVALID_ARGUMENT);
    CHECK(inkwell_attention_f32(nullptr, &p) == INKWELL_INVALID_ARGUMENT);
    CHECK(inkwell_context_destroy(ctx) == INKWELL_OK);
}

// ---- the 16-bit entries (inkwell_attention_f16, _bf16) -----------------------------------
//
// As in test_conv2d.cpp: q, k, v rounded to the entry's type; the entry against the plain
// reference (attention_reference's loops kept in double, reference16.hpp) on the widened
// tensors, rounded once. The rule: within 1 ulp of the rounded reference, or, where the
// output is small next to the values it averages (cancellation: the float32 error scales
// with the spread of v and the size of the logits, not with |out|), within the float32 error
// bound derived in reference16.hpp. With v in [1/2, 1] every output is a mean of values of
// one sign, |out| >= 1/2 >= the spread of v, and the bound (about 2 (D + 4) u times the logit
// size, times the spread, plus (n + T) u) stays below the 16-bit spacing at out for the
// logit sizes used here: there every output must be within 1 ulp.
// Also: bit-equal to narrow(inkwell_attention_f32 on the widened tensors), and 1 and 4
// threads give the same bits.

namespace {

using inkwell_ref::Verdict;

uint16_t narrow16(int32_t type, float f) { return type == INKWELL_ELEMENT_F16 ? float_to_f16(f) : float_to_bf16(f); }
float widen16(int32_t type, uint16_t h) { return type == INKWELL_ELEMENT_F16 ? f16_to_float(h) : bf16_to_float(h); }

int32_t attention16(int32_t type, inkwell_context* ctx, const inkwell_attention_params* p) {
    return type == INKWELL_ELEMENT_F16 ? inkwell_attention_f16(ctx, p) : inkwell_attention_bf16(ctx, p);
}

inkwell_context* cpu_context(int32_t threads) {
    inkwell_context_options o{INKWELL_DEVICE_CPU, threads, 0};
    inkwell_context* ctx = nullptr;
    return inkwell_context_create(&o, &ctx) == INKWELL_OK ? ctx : nullptr;
}

struct Problem16 {
    int32_t type;
    Problem f;  // the widened tensors (params point at them)
    std::vector<uint16_t> q, k, v, out;

    // make_problem's tensors rounded to the type; positive: v uniform in [1/2, 1].
    Problem16(std::mt19937& rng, const Shape& s, int32_t element_type, bool positive)
        : type(element_type), f(make_problem(rng, s)) {
        std::uniform_real_distribution<float> half_to_one(0.5f, 1.0f);
        if (positive)
            for (float& x : f.v) x = half_to_one(rng);
        auto round = [&](std::vector<float>& widened, std::vector<uint16_t>& bits) {
            bits.resize(widened.size());
            for (size_t i = 0; i < widened.size(); ++i) {
                bits[i] = narrow16(type, widened[i]);
                widened[i] = widen16(type, bits[i]);
            }
        };
        round(f.q, q);
        round(f.k, k);
        round(f.v, v);
        out.assign(q.size(), 0xffff);
    }

    inkwell_attention_params params(void* o) const {
        inkwell_attention_params p = f.params;
        p.q = q.data();
        p.k = k.data();
        p.v = v.data();
        p.out = o;
        return p;
    }
};

struct Tally {
    int64_t outputs = 0, exact = 0, one_ulp = 0, cancellation = 0;
    std::string example;
};

void check_shape16(std::mt19937& rng, const Shape& s, int32_t type, bool positive, inkwell_context* one,
                   inkwell_context* four, Tally& tally) {
    Problem16 pr(rng, s, type, positive);
    char what[200];
    std::snprintf(what, sizeof what, "%s B=%lld H=%lld Lq=%lld Lk=%lld D=%lld causal=%d kv_lens=%d logits~%g%s",
                  inkwell_ref::format_of(type).name, (long long)s.batch, (long long)s.heads, (long long)s.q_len,
                  (long long)s.kv_len, (long long)s.head_dim, (int)s.causal, (int)s.kv_lens, s.logit_spread,
                  positive ? " positive v" : "");
    inkwell_attention_params p = pr.params(pr.out.data());
    CHECK_MSG(attention16(type, four, &p) == INKWELL_OK, "%s: %s", what, inkwell_last_error_message());
    std::vector<uint16_t> single(pr.out.size(), 0xffff);
    p.out = single.data();
    CHECK_MSG(attention16(type, one, &p) == INKWELL_OK, "%s: %s", what, inkwell_last_error_message());
    CHECK_MSG(single == pr.out, "%s: 1 and 4 threads differ", what);

    std::vector<float> f32;
    const inkwell_attention_params wp = pr.f.with_out(f32);
    CHECK(inkwell_attention_f32(four, &wp) == INKWELL_OK);
    int differ = 0;
    for (size_t i = 0; i < f32.size(); ++i) differ += narrow16(type, f32[i]) != pr.out[i];
    CHECK_MSG(differ == 0, "%s: %d outputs differ from narrow(attention_f32)", what, differ);

    const inkwell_ref::Exact exact = inkwell_ref::attention_exact(wp);
    std::vector<float> plain;
    attention_reference(pr.f.with_out(plain));
    int not_plain = 0;
    for (size_t i = 0; i < plain.size(); ++i) not_plain += float(exact.value[i]) != plain[i];
    CHECK_MSG(not_plain == 0, "%s: the double reference is not attention_reference (%d)", what, not_plain);

    const inkwell_ref::Format& f = inkwell_ref::format_of(type);
    int bad = 0;
    for (size_t i = 0; i < pr.out.size(); ++i) {
        Verdict v = inkwell_ref::check16(pr.out[i], exact.value[i], exact.delta[i], f);
        if (positive && v == Verdict::cancellation) v = Verdict::fail;
        ++tally.outputs;
        tally.exact += v == Verdict::exact;
        tally.one_ulp += v == Verdict::one_ulp;
        tally.cancellation += v == Verdict::cancellation;
        if (v == Verdict::cancellation && tally.example.empty()) {
            char e[300];
            std::snprintf(e, sizeof e, "%s: got %.9g, reference %.9g rounds to %.9g; float32 error bound %.3g", what,
                          inkwell_ref::value_of(pr.out[i], f), exact.value[i], inkwell_ref::round_to(exact.value[i], f),
                          exact.delta[i]);
            tally.example = e;
        }
        if (v == Verdict::fail && ++bad <= 5)
            std::printf("  %s: at %zu got 0x%04x (%.9g), reference %.17g -> 0x%04x, delta %.3g\n", what, i, pr.out[i],
                        inkwell_ref::value_of(pr.out[i], f), exact.value[i], inkwell_ref::narrow_ref(exact.value[i], f),
                        exact.delta[i]);
    }
    CHECK_MSG(bad == 0, "%s: %d outputs outside the bound", what, bad);
}

void run_shapes16(uint32_t seed, bool positive) {
    inkwell_context* one = cpu_context(1);
    inkwell_context* four = cpu_context(4);
    CHECK(one != nullptr && four != nullptr);
    std::mt19937 rng(seed);
    for (int32_t type : {INKWELL_ELEMENT_F16, INKWELL_ELEMENT_BF16}) {
        Tally tally;
        for (int64_t d : {int64_t(1), int64_t(40), int64_t(80), int64_t(160)}) {
            check_shape16(rng, {1, 2, 33, 33, d, false, false, 0, 8}, type, positive, one, four, tally);
            check_shape16(rng, {2, 3, 97, 77, d, false, false, 0, 8}, type, positive, one, four, tally);   // cross
            check_shape16(rng, {1, 2, 70, 70, d, true, false, 0, 8}, type, positive, one, four, tally);    // causal
            check_shape16(rng, {1, 1, 131, 67, d, true, false, 0, 8}, type, positive, one, four, tally);   // causal, Lq > Lk
            check_shape16(rng, {3, 2, 41, 77, d, false, true, 0, 8}, type, positive, one, four, tally);    // kv_lens
            check_shape16(rng, {3, 1, 65, 129, d, true, true, 0, 8}, type, positive, one, four, tally);    // both
            check_shape16(rng, {2, 2, 17, 1, d, false, false, 0, 8}, type, positive, one, four, tally);    // Lk = 1
            check_shape16(rng, {1, 2, 40, 150, d, false, true, 0, 30}, type, positive, one, four, tally);  // larger logits
            // Random lengths and masks (with signed data only: sanitizer time).
            std::uniform_int_distribution<int> len(1, 90), coin(0, 1);
            for (int i = 0; i < (positive ? 0 : 3); ++i)
                check_shape16(rng, {1 + coin(rng), 1 + coin(rng), len(rng), len(rng), d, coin(rng) == 1, coin(rng) == 1, 0, 8},
                              type, positive, one, four, tally);
        }
        std::printf("  %s: %lld outputs: %lld exact, %lld 1 ulp, %lld further but within the float32 bound "
                    "(cancellation)\n",
                    inkwell_ref::format_of(type).name, (long long)tally.outputs, (long long)tally.exact,
                    (long long)tally.one_ulp, (long long)tally.cancellation);
        if (!tally.example.empty()) std::printf("    e.g. %s\n", tally.example.c_str());
    }
    inkwell_context_destroy(one);
    inkwell_context_destroy(four);
}

}  // namespace

TEST(attention_16bit_entries_match_reference_within_1_ulp_or_the_float32_bound) { run_shapes16(1616, false); }

TEST(attention_16bit_entries_are_within_1_ulp_without_cancellation) { run_shapes16(61, true); }

TEST(attention_16bit_abi_rejects_bad_arguments_and_checks_overlap_in_2_byte_elements) {
    inkwell_context* ctx = cpu_context(2);
    CHECK(ctx != nullptr);
    std::mt19937 rng(11);
    for (int32_t type : {INKWELL_ELEMENT_F16, INKWELL_ELEMENT_BF16}) {
        Problem16 pr(rng, {2, 2, 5, 7, 8, false, true, 0, 8}, type, false);
        const inkwell_attention_params good = pr.params(pr.out.data());
        CHECK(attention16(type, ctx, &good) == INKWELL_OK);
        const std::vector<uint16_t> want = pr.out;

        auto expect = [&](const inkwell_attention_params& bad, const char* fragment) {
            std::vector<uint16_t> before(pr.out);
            const int32_t s = attention16(type, ctx, &bad);
            const char* msg = inkwell_last_error_message();
            CHECK_MSG(s == INKWELL_INVALID_ARGUMENT && std::strstr(msg, fragment) != nullptr,
                      "%s: status %d, message '%s', wanted '%s'", inkwell_ref::format_of(type).name, s, msg, fragment);
            CHECK(before == pr.out);  // nothing written
        };
        auto with = [&](auto change) {
            inkwell_attention_params q = good;
            change(q);
            return q;
        };
        using P = inkwell_attention_params;
        expect(with([](P& q) { q.q = nullptr; }), "attention: q is null");
        expect(with([](P& q) { q.k = nullptr; }), "attention: k is null");
        expect(with([](P& q) { q.v = nullptr; }), "attention: v is null");
        expect(with([](P& q) { q.out = nullptr; }), "attention: out is null");
        expect(with([](P& q) { q.heads = -2; }), "heads must be >= 1, got -2");
        expect(with([](P& q) { q.head_dim = 0; }), "head_dim must be 1..512, got 0");
        expect(with([](P& q) { q.scale = -1; }), "scale must be finite and > 0, got -1");
        expect(with([](P& q) { q.causal = 3; }), "causal must be 0 or 1, got 3");
        std::vector<int32_t> lens{7, 0};
        expect(with([&](P& q) { q.kv_lens = lens.data(); }), "kv_lens[1] must be 1..7 (kv_len), got 0");
        expect(with([](P& q) { q.kv_len = int64_t(1) << 40; }), "more than 2^40");
        CHECK(attention16(type, ctx, nullptr) == INKWELL_INVALID_ARGUMENT);
        CHECK(std::strstr(inkwell_last_error_message(), "params is null") != nullptr);
        CHECK(attention16(type, nullptr, &good) == INKWELL_INVALID_ARGUMENT);
        CHECK(std::strstr(inkwell_last_error_message(), "context is null") != nullptr);

        // Overlap in 2-byte elements: out (q_count elements) slid along [before | t | after]
        // for t = q, k and v: touching t's first or last element is refused, ending right
        // before it or starting right after it is accepted (and computes the same outputs).
        const size_t q_count = pr.q.size();
        struct Victim {
            const std::vector<uint16_t>& data;
            const void* P::*field;
            const char* message;
        };
        const Victim victims[] = {{pr.q, &P::q, "attention: out overlaps q"},
                                  {pr.k, &P::k, "attention: out overlaps k"},
                                  {pr.v, &P::v, "attention: out overlaps v"}};
        for (const Victim& victim : victims) {
            const size_t n = victim.data.size();
            std::vector<uint16_t> buffer(q_count + n + q_count);
            uint16_t* t = buffer.data() + q_count;
            std::copy(victim.data.begin(), victim.data.end(), t);
            P base = good;
            base.*victim.field = t;
            P bad = base;
            bad.out = t + n - 1;
            expect(bad, victim.message);
            bad.out = t - q_count + 1;
            expect(bad, victim.message);
            P after = base, before = base;
            after.out = t + n;
            before.out = t - q_count;
            CHECK_MSG(attention16(type, ctx, &after) == INKWELL_OK, "%s", inkwell_last_error_message());
            CHECK_MSG(attention16(type, ctx, &before) == INKWELL_OK, "%s", inkwell_last_error_message());
            CHECK(std::equal(victim.data.begin(), victim.data.end(), t));
            CHECK(std::equal(t + n, t + n + q_count, want.begin()));
            CHECK(std::equal(buffer.begin(), buffer.begin() + long(q_count), want.begin()));
        }
    }
    inkwell_context_destroy(ctx);
}

// ---- the BLHD layout ([batch, length, heads, head_dim], params.layout = 1) ---------------
//
// The layout changes only where rows are read and written: a BLHD call must give, bit for
// bit, the BHLD call's result on permuted copies, on every path (reference, portable, AVX2,
// the ABI's f32, f16 and bf16 entries, any thread count); and the fast paths must match the
// reference run on the BLHD data itself. heads > 1 everywhere, so a wrong stride reads
// another head's rows (heads 1 would make the two layouts the same memory).

namespace {

// x [B, H, L, D] -> [B, L, H, D].
template <class T>
std::vector<T> to_blhd(const std::vector<T>& x, int64_t batch, int64_t heads, int64_t length, int64_t d_len) {
    std::vector<T> y(x.size());
    for (int64_t b = 0; b < batch; ++b)
        for (int64_t h = 0; h < heads; ++h)
            for (int64_t i = 0; i < length; ++i)
                std::copy_n(x.begin() + ((b * heads + h) * length + i) * d_len, d_len,
                            y.begin() + ((b * length + i) * heads + h) * d_len);
    return y;
}

// The problem's tensors permuted to BLHD; params point at them, layout 1.
struct BlhdProblem {
    std::vector<float> q, k, v;
    inkwell_attention_params params{};

    explicit BlhdProblem(const Problem& pr) {
        const inkwell_attention_params& p = pr.params;
        q = to_blhd(pr.q, p.batch, p.heads, p.q_len, p.head_dim);
        k = to_blhd(pr.k, p.batch, p.heads, p.kv_len, p.head_dim);
        v = to_blhd(pr.v, p.batch, p.heads, p.kv_len, p.head_dim);
        params = p;
        params.q = q.data();
        params.k = k.data();
        params.v = v.data();
        params.layout = INKWELL_ATTENTION_BLHD;
    }

    inkwell_attention_params with_out(std::vector<float>& out) const {
        inkwell_attention_params p = params;
        out.assign(q.size(), std::numeric_limits<float>::quiet_NaN());
        p.out = out.data();
        return p;
    }
};

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

std::string describe(const Shape& s) {
    char what[160];
    std::snprintf(what, sizeof what, "BLHD B=%lld H=%lld Lq=%lld Lk=%lld D=%lld causal=%d kv_lens=%d",
                  (long long)s.batch, (long long)s.heads, (long long)s.q_len, (long long)s.kv_len, (long long)s.head_dim,
                  (int)s.causal, (int)s.kv_lens);
    return what;
}

void check_blhd(std::mt19937& rng, const Shape& s, inkwell_context* one, inkwell_context* four) {
    const Problem pr = make_problem(rng, s);
    const BlhdProblem bl(pr);
    const std::string what = describe(s);
    const int64_t B = s.batch, H = s.heads, Lq = s.q_len, D = s.head_dim;

    std::vector<float> ref_bhld, ref;
    attention_reference(pr.with_out(ref_bhld));
    attention_reference(bl.with_out(ref));
    CHECK_MSG(same_bits(ref, to_blhd(ref_bhld, B, H, Lq, D)), "%s: reference differs from BHLD's", what.c_str());

    ThreadPool pool(2);
    for (AttentionSimd simd : paths()) {
        std::vector<float> bhld, out;
        attention_fast(pool, pr.with_out(bhld), simd);
        attention_fast(pool, bl.with_out(out), simd);
        CHECK_MSG(same_bits(out, to_blhd(bhld, B, H, Lq, D)), "%s %s: differs from BHLD on permuted copies",
                  path_name(simd), what.c_str());
        const int bad = count_mismatches(out, ref, path_name(simd));
        CHECK_MSG(bad == 0, "%s %s: %d differ from the reference", path_name(simd), what.c_str(), bad);
    }

    // The ABI's f32 entry, 1 and 4 threads.
    std::vector<float> abi_one, abi_four, bhld;
    const inkwell_attention_params p1 = bl.with_out(abi_one), p4 = bl.with_out(abi_four), pb = pr.with_out(bhld);
    CHECK_MSG(inkwell_attention_f32(one, &p1) == INKWELL_OK, "%s: %s", what.c_str(), inkwell_last_error_message());
    CHECK_MSG(inkwell_attention_f32(four, &p4) == INKWELL_OK, "%s: %s", what.c_str(), inkwell_last_error_message());
    CHECK(inkwell_attention_f32(four, &pb) == INKWELL_OK);
    CHECK_MSG(same_bits(abi_one, abi_four), "%s: 1 and 4 threads differ", what.c_str());
    CHECK_MSG(same_bits(abi_four, to_blhd(bhld, B, H, Lq, D)), "%s: ABI differs from BHLD", what.c_str());
}

// The 16-bit entries (the float32 kernel on widened copies, which keep the layout): the BLHD
// result is the BHLD result permuted, bit for bit, on 1 and 4 threads. The BHLD results
// themselves are checked against the reference above (run_shapes16).
void check_blhd16(std::mt19937& rng, const Shape& s, int32_t type, inkwell_context* one, inkwell_context* four) {
    const Problem16 pr(rng, s, type, false);
    const int64_t B = s.batch, H = s.heads, Lq = s.q_len, Lk = s.kv_len, D = s.head_dim;
    const std::vector<uint16_t> q = to_blhd(pr.q, B, H, Lq, D), k = to_blhd(pr.k, B, H, Lk, D),
                                v = to_blhd(pr.v, B, H, Lk, D);
    std::vector<uint16_t> bhld(pr.q.size(), 0xffff), out_one(bhld), out_four(bhld);
    const inkwell_attention_params pb = pr.params(bhld.data());
    inkwell_attention_params p = pb;
    p.q = q.data();
    p.k = k.data();
    p.v = v.data();
    p.layout = INKWELL_ATTENTION_BLHD;
    const std::string what = std::string(inkwell_ref::format_of(type).name) + " " + describe(s);
    CHECK_MSG(attention16(type, four, &pb) == INKWELL_OK, "%s: %s", what.c_str(), inkwell_last_error_message());
    p.out = out_one.data();
    CHECK_MSG(attention16(type, one, &p) == INKWELL_OK, "%s: %s", what.c_str(), inkwell_last_error_message());
    p.out = out_four.data();
    CHECK_MSG(attention16(type, four, &p) == INKWELL_OK, "%s: %s", what.c_str(), inkwell_last_error_message());
    CHECK_MSG(out_one == out_four, "%s: 1 and 4 threads differ", what.c_str());
    CHECK_MSG(out_four == to_blhd(bhld, B, H, Lq, D), "%s: differs from BHLD on permuted copies", what.c_str());
}

}  // namespace

TEST(attention_blhd_layout_is_bhld_on_permuted_copies_and_matches_reference) {
    inkwell_context* one = cpu_context(1);
    inkwell_context* four = cpu_context(4);
    CHECK(one != nullptr && four != nullptr);
    std::mt19937 rng(4242);
    // Odd D (3: padded value tiles), the Stable Diffusion sizes (40, 80, 160: values read in
    // place with the BLHD row stride). Small lengths: TSan time.
    for (int64_t d : {int64_t(3), int64_t(40), int64_t(80), int64_t(160)}) {
        check_blhd(rng, {2, 3, 23, 19, d, false, false, 0, 8}, one, four);  // cross-attention, Lq != Lk
        check_blhd(rng, {1, 2, 70, 70, d, true, false, 0, 8}, one, four);   // causal, 2 row chunks, 2 key tiles
        check_blhd(rng, {3, 2, 21, 67, d, true, true, 0, 8}, one, four);    // causal + kv_lens, kv_lens[0] = 1
    }
    check_blhd(rng, {2, 3, 9, 5, 1, false, true, 0, 8}, one, four);         // D = 1
    check_blhd(rng, {1, 2, 17, 33, 256, true, false, 0, 8}, one, four);     // D = 256
    check_blhd(rng, {1, 5, 1, 1, 40, false, false, 0, 8}, one, four);       // one query, one key
    check_blhd(rng, {2, 8, 17, 77, 40, false, true, 0, 30}, one, four);     // 8 heads, larger logits
    for (int32_t type : {INKWELL_ELEMENT_F16, INKWELL_ELEMENT_BF16}) {
        for (int64_t d : {int64_t(3), int64_t(40), int64_t(160)}) {
            check_blhd16(rng, {2, 3, 23, 19, d, false, false, 0, 8}, type, one, four);
            check_blhd16(rng, {3, 2, 21, 67, d, true, true, 0, 8}, type, one, four);
        }
    }
    inkwell_context_destroy(one);
    inkwell_context_destroy(four);
}

TEST(attention_abi_rejects_a_bad_layout_and_writes_nothing) {
    inkwell_context* ctx = cpu_context(2);
    CHECK(ctx != nullptr);
    std::mt19937 rng(8);
    Problem pr = make_problem(rng, {2, 2, 5, 7, 8, false, true, 0, 8});
    std::vector<float> out;
    inkwell_attention_params p = pr.with_out(out);
    for (int32_t layout : {2, -1, std::numeric_limits<int32_t>::max()}) {
        p.layout = layout;
        const std::string want = "attention: layout must be 0 (BHLD) or 1 (BLHD), got " + std::to_string(layout);
        CHECK_MSG(inkwell_attention_f32(ctx, &p) == INKWELL_INVALID_ARGUMENT &&
                      want == inkwell_last_error_message(),
                  "f32 layout %d: '%s'", layout, inkwell_last_error_message());
        for (int32_t type : {INKWELL_ELEMENT_F16, INKWELL_ELEMENT_BF16}) {
            std::vector<uint16_t> q(pr.q.size()), k(pr.k.size()), v(pr.v.size()), o(pr.q.size(), 0x1234);
            inkwell_attention_params h = p;
            h.q = q.data();
            h.k = k.data();
            h.v = v.data();
            h.out = o.data();
            CHECK_MSG(attention16(type, ctx, &h) == INKWELL_INVALID_ARGUMENT && want == inkwell_last_error_message(),
                      "%s layout %d: '%s'", inkwell_ref::format_of(type).name, layout, inkwell_last_error_message());
            CHECK(std::all_of(o.begin(), o.end(), [](uint16_t x) { return x == 0x1234; }));
        }
    }
    int nan_count = 0;
    for (float x : out) nan_count += std::isnan(x);
    CHECK_MSG(nan_count == int(out.size()), "a refused call wrote out");
    inkwell_context_destroy(ctx);
}
