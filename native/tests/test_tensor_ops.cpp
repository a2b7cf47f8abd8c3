// The tensor plumbing (inkwell_add_f32, inkwell_cat_f32, inkwell_transpose_f32): fast paths
// against the plain references bit for bit on random and awkward shapes and thread counts,
// both against index formulas written out here for the U-Net's cases (time embedding per
// (N, C), per-channel bias, last-dim bias, scalar, residual; cat along each axis of a 4-d
// tensor; [N, C, HW] <-> [N, HW, C]), in-place add, transpose round trips, and the argument
// checks.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "cpu/elementwise_cpu.hpp"
#include "inkwell/inkwell.h"
#include "test_util.hpp"

using namespace inkwell;
using namespace inkwell::cpu;

namespace {

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

std::vector<float> random_floats(std::mt19937& rng, int64_t n, bool specials = false) {
    std::normal_distribution<float> normal(0.0f, 3.0f);
    const float special[] = {NAN, INFINITY, -INFINITY, -0.0f, 3e38f, -3e38f, 1e-40f};
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = specials && rng() % 11 == 0 ? special[rng() % std::size(special)] : normal(rng);
    return v;
}

// Runs a fast path on 1, 3 and 4 threads; returns true when all give `want`'s bits.
template <class Run>
bool fast_on_threads_matches(const std::vector<float>& want, Run run) {
    bool ok = true;
    for (int threads : {1, 3, 4}) {
        ThreadPool pool(threads);
        ok = ok && same_bits(run(pool), want);
    }
    return ok;
}

struct Contexts {
    inkwell_context* ctx = nullptr;
    Contexts() { inkwell_context_create(nullptr, &ctx); }
    ~Contexts() { inkwell_context_destroy(ctx); }
};

// Calls entry(ctx, &q) and expects INVALID_ARGUMENT with `fragment` in the message.
template <class Entry, class Params>
void expect_refused(inkwell_context* ctx, Entry entry, const Params& q, const char* fragment) {
    const int32_t s = entry(ctx, &q);
    const char* msg = inkwell_last_error_message();
    CHECK_MSG(s == INKWELL_INVALID_ARGUMENT && std::strstr(msg, fragment) != nullptr, "status %d, message '%s', wanted '%s'", s,
              msg, fragment);
}

}  // namespace

// ---- add ----------------------------------------------------------------------------------

TEST(add_fast_matches_reference_and_broadcast_formulas) {
    std::mt19937 rng(7);
    struct Shape {
        int64_t n, c, hw;
    };
    const Shape shapes[] = {{1, 1, 1}, {1, 3, 1}, {2, 3, 97}, {2, 64, 32 * 32}, {1, 7, 257}, {3, 5, 1021}, {2, 1280, 8 * 8}};
    for (const Shape& s : shapes) {
        const int64_t count = s.n * s.c * s.hw;
        const auto a = random_floats(rng, count, true);
        // pattern: b_count, inner, and b's index for element (n, c, x) of an [N, C, HW] tensor
        // (for "last dim" the tensor is [N*C, HW] with a bias of HW).
        struct Pattern {
            const char* name;
            int64_t b_count, inner;
        };
        const Pattern patterns[] = {{"residual", count, 1},   {"per (N, C)", s.n * s.c, s.hw}, {"per channel", s.c, s.hw},
                                    {"last dim", s.hw, 1},    {"scalar", 1, 1},                {"scalar, inner count", 1, count},
                                    {"per sample", s.n, s.c * s.hw}};
        for (const Pattern& pat : patterns) {
            const auto b = random_floats(rng, pat.b_count, true);
            std::vector<float> want(static_cast<size_t>(count));
            for (int64_t n = 0; n < s.n; ++n)
                for (int64_t c = 0; c < s.c; ++c)
                    for (int64_t x = 0; x < s.hw; ++x) {
                        const int64_t i = (n * s.c + c) * s.hw + x;
                        int64_t j = i;  // residual
                        if (std::strcmp(pat.name, "per (N, C)") == 0) j = n * s.c + c;
                        if (std::strcmp(pat.name, "per channel") == 0) j = c;
                        if (std::strcmp(pat.name, "last dim") == 0) j = x;
                        if (std::strncmp(pat.name, "scalar", 6) == 0) j = 0;
                        if (std::strcmp(pat.name, "per sample") == 0) j = n;
                        want[size_t(i)] = a[size_t(i)] + b[size_t(j)];
                    }
            std::vector<float> ref(static_cast<size_t>(count), -7.0f);
            add_reference(inkwell_add_params{a.data(), b.data(), ref.data(), count, pat.b_count, pat.inner});
            CHECK_MSG(same_bits(ref, want), "reference, %s [%lld, %lld, %lld]", pat.name, (long long)s.n, (long long)s.c,
                      (long long)s.hw);
            const bool fast_ok = fast_on_threads_matches(want, [&](ThreadPool& pool) {
                std::vector<float> out(static_cast<size_t>(count), -7.0f);
                add_fast(pool, inkwell_add_params{a.data(), b.data(), out.data(), count, pat.b_count, pat.inner});
                return out;
            });
            const bool inplace_ok = fast_on_threads_matches(want, [&](ThreadPool& pool) {
                std::vector<float> out = a;  // out == a
                add_fast(pool, inkwell_add_params{out.data(), b.data(), out.data(), count, pat.b_count, pat.inner});
                return out;
            });
            CHECK_MSG(fast_ok && inplace_ok, "fast%s, %s [%lld, %lld, %lld]", fast_ok ? " in place" : "", pat.name,
                      (long long)s.n, (long long)s.c, (long long)s.hw);
        }
    }
}

TEST(add_fast_handles_every_small_inner_and_period) {
    // inner 1..9 and b_count 1..5 around the chunk size: runs that cross chunk boundaries,
    // the short-run loop (inner < 8) and the vector loops' tails.
    std::mt19937 rng(9);
    for (int64_t inner = 1; inner <= 9; ++inner)
        for (int64_t b_count = 1; b_count <= 5; ++b_count) {
            const int64_t period = inner * b_count, count = period * ((70001 + period - 1) / period);
            const auto a = random_floats(rng, count), b = random_floats(rng, b_count);
            std::vector<float> ref(static_cast<size_t>(count));
            add_reference(inkwell_add_params{a.data(), b.data(), ref.data(), count, b_count, inner});
            CHECK_MSG(fast_on_threads_matches(ref,
                                              [&](ThreadPool& pool) {
                                                  std::vector<float> out(static_cast<size_t>(count));
                                                  add_fast(pool, inkwell_add_params{a.data(), b.data(), out.data(), count,
                                                                                    b_count, inner});
                                                  return out;
                                              }),
                      "inner %lld b_count %lld", (long long)inner, (long long)b_count);
        }
}

TEST(add_abi_rejects_bad_arguments_with_messages) {
    Contexts c;
    std::vector<float> a(24, 1.0f), b(6, 2.0f), out(24, -7.0f);
    const inkwell_add_params good{a.data(), b.data(), out.data(), 24, 6, 2};
    CHECK(inkwell_add_f32(c.ctx, &good) == INKWELL_OK);
    CHECK(out[0] == 3.0f && out[23] == 3.0f);
    std::fill(out.begin(), out.end(), -7.0f);
    auto q = good;
    q.b_count = 5;
    expect_refused(c.ctx, inkwell_add_f32, q, "add: b_count 5 * inner 2 = 10 does not divide count 24");
    q.b_count = 13;
    expect_refused(c.ctx, inkwell_add_f32, q, "add: b_count 13 * inner 2 exceeds count 24");
    q = good;
    q.inner = int64_t(1) << 40;
    expect_refused(c.ctx, inkwell_add_f32, q, "b_count 6 * inner 1099511627776 exceeds count 24");
    q = good;
    q.inner = 0;
    expect_refused(c.ctx, inkwell_add_f32, q, "add: inner must be 1..2^40, got 0");
    q = good;
    q.b_count = -2;
    expect_refused(c.ctx, inkwell_add_f32, q, "add: b_count must be 1..2^40, got -2");
    q = good;
    q.count = 0;
    expect_refused(c.ctx, inkwell_add_f32, q, "add: count must be 1..2^40, got 0");
    q = good;
    q.a = nullptr;
    expect_refused(c.ctx, inkwell_add_f32, q, "add: a is null");
    q = good;
    q.b = nullptr;
    expect_refused(c.ctx, inkwell_add_f32, q, "add: b is null");
    q = good;
    q.out = nullptr;
    expect_refused(c.ctx, inkwell_add_f32, q, "add: out is null");
    q = good;
    q.out = a.data() + 1;
    expect_refused(c.ctx, inkwell_add_f32, q, "add: out overlaps a (only out == a, in place, is allowed)");
    q = good;
    q.b = out.data() + 20;
    expect_refused(c.ctx, inkwell_add_f32, q, "add: out overlaps b");
    q = good;
    q.a = q.out = a.data();
    q.b = a.data();  // in place on a, but b is inside it
    expect_refused(c.ctx, inkwell_add_f32, q, "add: out overlaps b");
    CHECK(std::all_of(out.begin(), out.end(), [](float v) { return v == -7.0f; }));  // no refused call wrote
    q = good;
    q.a = q.out = a.data();  // in place through the ABI
    CHECK(inkwell_add_f32(c.ctx, &q) == INKWELL_OK && a[0] == 3.0f && a[23] == 3.0f);
    CHECK(inkwell_add_f32(c.ctx, nullptr) == INKWELL_INVALID_ARGUMENT);
    CHECK(inkwell_add_f32(nullptr, &good) == INKWELL_INVALID_ARGUMENT);
}

// ---- cat ----------------------------------------------------------------------------------

TEST(cat_along_each_axis_matches_index_formula) {
    std::mt19937 rng(13);
    const int64_t shape[4] = {2, 3, 5, 7};  // a's shape; b has 4 in place of dim d's size
    for (int d = 0; d < 4; ++d) {
        int64_t as[4], bs[4], os[4];
        for (int k = 0; k < 4; ++k) as[k] = bs[k] = os[k] = shape[k];
        bs[d] = 4;
        os[d] = as[d] + bs[d];
        int64_t outer = 1, a_inner = 1, b_inner = 1;
        for (int k = 0; k < d; ++k) outer *= shape[k];
        for (int k = d; k < 4; ++k) a_inner *= as[k], b_inner *= bs[k];
        const auto a = random_floats(rng, outer * a_inner, true), b = random_floats(rng, outer * b_inner, true);
        std::vector<float> want(static_cast<size_t>(outer * (a_inner + b_inner)));
        for (int64_t i0 = 0; i0 < os[0]; ++i0)
            for (int64_t i1 = 0; i1 < os[1]; ++i1)
                for (int64_t i2 = 0; i2 < os[2]; ++i2)
                    for (int64_t i3 = 0; i3 < os[3]; ++i3) {
                        int64_t idx[4] = {i0, i1, i2, i3};
                        const bool from_a = idx[d] < as[d];
                        if (!from_a) idx[d] -= as[d];
                        const int64_t* s = from_a ? as : bs;
                        const int64_t src = ((idx[0] * s[1] + idx[1]) * s[2] + idx[2]) * s[3] + idx[3];
                        want[size_t(((i0 * os[1] + i1) * os[2] + i2) * os[3] + i3)] = from_a ? a[size_t(src)] : b[size_t(src)];
                    }
        std::vector<float> ref(want.size(), -7.0f);
        cat_reference(inkwell_cat_params{a.data(), b.data(), ref.data(), outer, a_inner, b_inner});
        CHECK_MSG(same_bits(ref, want), "reference, dim %d", d);
        CHECK_MSG(fast_on_threads_matches(want,
                                          [&](ThreadPool& pool) {
                                              std::vector<float> out(want.size(), -7.0f);
                                              cat_fast(pool, inkwell_cat_params{a.data(), b.data(), out.data(), outer, a_inner, b_inner});
                                              return out;
                                          }),
                  "fast, dim %d", d);
    }
}

TEST(cat_fast_matches_reference_on_awkward_sizes) {
    std::mt19937 rng(15);
    const int64_t sizes[][3] = {{1, 1, 1}, {97, 1, 3}, {1, 320 * 256, 640 * 256}, {2, 1280 * 64, 1280 * 64},
                                {100003, 1, 1}, {257, 1021, 17}};
    for (auto& s : sizes) {
        const auto a = random_floats(rng, s[0] * s[1]), b = random_floats(rng, s[0] * s[2]);
        std::vector<float> ref(static_cast<size_t>(s[0] * (s[1] + s[2])));
        cat_reference(inkwell_cat_params{a.data(), b.data(), ref.data(), s[0], s[1], s[2]});
        CHECK_MSG(fast_on_threads_matches(ref,
                                          [&](ThreadPool& pool) {
                                              std::vector<float> out(ref.size(), -7.0f);
                                              cat_fast(pool, inkwell_cat_params{a.data(), b.data(), out.data(), s[0], s[1], s[2]});
                                              return out;
                                          }),
                  "outer %lld a_inner %lld b_inner %lld", (long long)s[0], (long long)s[1], (long long)s[2]);
    }
}

TEST(cat_abi_rejects_bad_arguments_with_messages) {
    Contexts c;
    std::vector<float> a(6, 1.0f), b(4, 2.0f), out(10, -7.0f);
    const inkwell_cat_params good{a.data(), b.data(), out.data(), 2, 3, 2};
    CHECK(inkwell_cat_f32(c.ctx, &good) == INKWELL_OK);
    CHECK(out == (std::vector<float>{1, 1, 1, 2, 2, 1, 1, 1, 2, 2}));
    auto q = good;
    q.outer = 0;
    expect_refused(c.ctx, inkwell_cat_f32, q, "cat: outer must be 1..2^40, got 0");
    q = good;
    q.a_inner = -1;
    expect_refused(c.ctx, inkwell_cat_f32, q, "cat: a_inner must be 1..2^40, got -1");
    q = good;
    q.b_inner = 0;
    expect_refused(c.ctx, inkwell_cat_f32, q, "cat: b_inner must be 1..2^40, got 0");
    q = good;
    q.outer = int64_t(1) << 30;
    q.a_inner = q.b_inner = int64_t(1) << 10;
    expect_refused(c.ctx, inkwell_cat_f32, q, "cat: out would have more than 2^40 elements");
    q = good;
    q.a = nullptr;
    expect_refused(c.ctx, inkwell_cat_f32, q, "cat: a is null");
    q = good;
    q.out = nullptr;
    expect_refused(c.ctx, inkwell_cat_f32, q, "cat: out is null");
    q = good;
    q.out = a.data();
    expect_refused(c.ctx, inkwell_cat_f32, q, "cat: out overlaps a");
    q = good;
    q.b = out.data() + 6;
    expect_refused(c.ctx, inkwell_cat_f32, q, "cat: out overlaps b");
    CHECK(inkwell_cat_f32(c.ctx, nullptr) == INKWELL_INVALID_ARGUMENT);
    CHECK(inkwell_cat_f32(nullptr, &good) == INKWELL_INVALID_ARGUMENT);
}

// ---- transpose ----------------------------------------------------------------------------

namespace {

inkwell_transpose_params transpose_params(const std::vector<float>& in, std::vector<float>& out, const int64_t (&s)[5]) {
    out.assign(in.size(), -7.0f);
    return inkwell_transpose_params{in.data(), out.data(), s[0], s[1], s[2], s[3], s[4]};
}

}  // namespace

TEST(transpose_fast_matches_reference_and_round_trips) {
    std::mt19937 rng(17);
    const int64_t shapes[][5] = {{1, 1, 1, 1, 1},      {1, 2, 1, 3, 1},     {2, 320, 1, 1024, 1}, {2, 1024, 1, 320, 1},
                                 {1, 97, 1, 257, 1},   {3, 33, 1, 31, 1},   {2, 7, 5, 11, 3},     {1, 40, 1, 77, 64},
                                 {5, 1, 7, 9, 1},      {1, 1021, 1, 1, 1},  {1, 1, 3, 1021, 2},   {4, 8, 2, 64, 40},
                                 {100, 3, 1, 2, 1},    {1, 31, 1, 33, 7}};
    for (auto& s : shapes) {
        const auto in = random_floats(rng, s[0] * s[1] * s[2] * s[3] * s[4], true);
        std::vector<float> ref;
        transpose_reference(transpose_params(in, ref, s));
        // out[o][j][m][i][k] = in[o][i][m][j][k], spelled out.
        bool formula_ok = true;
        for (int64_t o = 0; o < s[0] && formula_ok; ++o)
            for (int64_t i = 0; i < s[1]; ++i)
                for (int64_t m = 0; m < s[2]; ++m)
                    for (int64_t j = 0; j < s[3]; ++j)
                        for (int64_t k = 0; k < s[4]; ++k) {
                            const float x = in[size_t((((o * s[1] + i) * s[2] + m) * s[3] + j) * s[4] + k)];
                            const float y = ref[size_t((((o * s[3] + j) * s[2] + m) * s[1] + i) * s[4] + k)];
                            formula_ok = formula_ok && std::memcmp(&x, &y, sizeof x) == 0;
                        }
        CHECK_MSG(formula_ok, "reference formula [%lld, %lld, %lld, %lld, %lld]", (long long)s[0], (long long)s[1],
                  (long long)s[2], (long long)s[3], (long long)s[4]);
        CHECK_MSG(fast_on_threads_matches(ref,
                                          [&](ThreadPool& pool) {
                                              std::vector<float> out;
                                              transpose_fast(pool, transpose_params(in, out, s));
                                              return out;
                                          }),
                  "fast [%lld, %lld, %lld, %lld, %lld]", (long long)s[0], (long long)s[1], (long long)s[2], (long long)s[3],
                  (long long)s[4]);
        // The transpose of the transpose (sizes swapped) is the input.
        ThreadPool pool(2);
        std::vector<float> back;
        const int64_t swapped[5] = {s[0], s[3], s[2], s[1], s[4]};
        transpose_fast(pool, transpose_params(ref, back, swapped));
        CHECK(same_bits(back, in));
    }
}

TEST(transpose_nchw_to_nhwc_by_hand) {
    // [1, 2, 3] (N, C, HW) -> [1, 3, 2]: outer 1, size0 C, middle 1, size1 HW, inner 1.
    const std::vector<float> in = {1, 2, 3, 4, 5, 6};
    std::vector<float> out;
    ThreadPool pool(1);
    transpose_fast(pool, transpose_params(in, out, {1, 2, 1, 3, 1}));
    CHECK(out == (std::vector<float>{1, 4, 2, 5, 3, 6}));
    // [2, 2, 2] with the middle axis kept: x.transpose(0, 2) of [[[1,2],[3,4]],[[5,6],[7,8]]].
    const std::vector<float> cube = {1, 2, 3, 4, 5, 6, 7, 8};
    transpose_fast(pool, transpose_params(cube, out, {1, 2, 2, 2, 1}));
    CHECK(out == (std::vector<float>{1, 5, 3, 7, 2, 6, 4, 8}));
}

TEST(transpose_abi_threads_and_refusals) {
    inkwell_context* one = nullptr;
    inkwell_context* four = nullptr;
    inkwell_context_options o1{INKWELL_DEVICE_CPU, 1, 0}, o4{INKWELL_DEVICE_CPU, 4, 0};
    CHECK(inkwell_context_create(&o1, &one) == INKWELL_OK && inkwell_context_create(&o4, &four) == INKWELL_OK);
    std::mt19937 rng(19);
    const auto in = random_floats(rng, 2 * 320 * 256);
    std::vector<float> x(in.size()), y(in.size());
    inkwell_transpose_params p{in.data(), x.data(), 2, 320, 1, 256, 1};
    CHECK(inkwell_transpose_f32(one, &p) == INKWELL_OK);
    p.output = y.data();
    CHECK(inkwell_transpose_f32(four, &p) == INKWELL_OK);
    CHECK(same_bits(x, y));
    // The same through add and cat on 4 threads against 1.
    std::vector<float> b(640), s1(in.size()), s4(in.size());
    inkwell_add_params ap{in.data(), b.data(), s1.data(), int64_t(in.size()), 640, 128};
    CHECK(inkwell_add_f32(one, &ap) == INKWELL_OK);
    ap.out = s4.data();
    CHECK(inkwell_add_f32(four, &ap) == INKWELL_OK);
    CHECK(same_bits(s1, s4));

    std::vector<float> small(30), out(30, -7.0f);
    const inkwell_transpose_params good{small.data(), out.data(), 1, 2, 3, 5, 1};
    CHECK(inkwell_transpose_f32(one, &good) == INKWELL_OK);
    const char* names[] = {"outer", "size0", "middle", "size1", "inner"};
    for (int f = 0; f < 5; ++f) {
        auto q = good;
        int64_t* fields[] = {&q.outer, &q.size0, &q.middle, &q.size1, &q.inner};
        *fields[f] = f % 2 == 0 ? 0 : -3;
        const std::string want = std::string("transpose: ") + names[f] + " must be 1..2^40, got " + (f % 2 == 0 ? "0" : "-3");
        expect_refused(one, inkwell_transpose_f32, q, want.c_str());
    }
    auto q = good;
    q.outer = q.size0 = q.size1 = int64_t(1) << 14;
    q.middle = 1 << 1;
    q.inner = 1;
    expect_refused(one, inkwell_transpose_f32, q, "transpose: input would have more than 2^40 elements");
    q = good;
    q.input = nullptr;
    expect_refused(one, inkwell_transpose_f32, q, "transpose: input is null");
    q = good;
    q.output = nullptr;
    expect_refused(one, inkwell_transpose_f32, q, "transpose: output is null");
    q = good;
    q.output = small.data() + 29;
    expect_refused(one, inkwell_transpose_f32, q, "transpose: output overlaps input");
    CHECK(inkwell_transpose_f32(one, nullptr) == INKWELL_INVALID_ARGUMENT);
    CHECK(inkwell_transpose_f32(nullptr, &good) == INKWELL_INVALID_ARGUMENT);
    inkwell_context_destroy(one);
    inkwell_context_destroy(four);
}
