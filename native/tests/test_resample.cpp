// Resampling: the row-parallel path against the per-element reference (bit for bit) on
// awkward shapes, hand-computed torch results, NaN propagation in max pooling, and the C
// ABI's argument checks.
#include <cmath>
#include <cstring>

#include "cpu/resample_cpu.hpp"
#include "inkwell/inkwell.h"
#include "test_util.hpp"

using namespace inkwell;
using namespace inkwell::cpu;

namespace {

const int kModes[] = {INKWELL_UPSAMPLE_NEAREST_2X, INKWELL_UPSAMPLE_BILINEAR_2X, INKWELL_MAX_POOL_2X2,
                      INKWELL_AVG_POOL_2X2};

std::vector<float> run_fast(const std::vector<float>& in, int64_t b, int64_t c, int64_t h, int64_t w, int mode,
                            int threads = 1) {
    inkwell_resample_params p{in.data(), nullptr, b, c, h, w, mode};
    const ResampleShape s = resample_shape(p);
    std::vector<float> out(s.planes * s.out_height * s.out_width, -7.0f);
    p.output = out.data();
    ThreadPool pool(threads);
    resample_fast(pool, p);
    return out;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST(resample_fast_matches_reference_bit_for_bit) {
    std::mt19937 rng(3);
    std::normal_distribution<float> normal;
    const int64_t shapes[][4] = {{1, 1, 1, 1}, {1, 1, 2, 2}, {1, 2, 1, 7}, {2, 3, 9, 14}, {1, 1, 97, 31},
                                 {3, 2, 17, 257}, {1, 4, 64, 64}, {1, 1, 2, 1025}};
    for (auto& s : shapes)
        for (int mode : kModes) {
            const bool pool_mode = mode == INKWELL_MAX_POOL_2X2 || mode == INKWELL_AVG_POOL_2X2;
            if (pool_mode && (s[2] < 2 || s[3] < 2)) continue;
            std::vector<float> in(s[0] * s[1] * s[2] * s[3]);
            for (float& v : in) v = normal(rng);
            inkwell_resample_params p{in.data(), nullptr, s[0], s[1], s[2], s[3], mode};
            const ResampleShape shape = resample_shape(p);
            std::vector<float> ref(shape.planes * shape.out_height * shape.out_width);
            p.output = ref.data();
            resample_reference(p);
            for (int threads : {1, 3, 8})
                CHECK_MSG(same_bits(run_fast(in, s[0], s[1], s[2], s[3], mode, threads), ref),
                          "shape %lldx%lldx%lldx%lld mode %d threads %d", (long long)s[0], (long long)s[1],
                          (long long)s[2], (long long)s[3], mode, threads);
        }
}

TEST(resample_matches_torch_by_hand) {
    const std::vector<float> in = {1, 2, 3, 4};  // [[1, 2], [3, 4]]
    // F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    const std::vector<float> bilinear = {1.0f, 1.25f, 1.75f, 2.0f, 1.5f, 1.75f, 2.25f, 2.5f,
                                         2.5f, 2.75f, 3.25f, 3.5f, 3.0f, 3.25f, 3.75f, 4.0f};
    CHECK(run_fast(in, 1, 1, 2, 2, INKWELL_UPSAMPLE_BILINEAR_2X) == bilinear);
    const std::vector<float> nearest = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
    CHECK(run_fast(in, 1, 1, 2, 2, INKWELL_UPSAMPLE_NEAREST_2X) == nearest);
    // 3x5 pools to 1x2: the last row and column are dropped.
    const std::vector<float> odd = {1, 5, 2, 8, 100, 3, 0, -4, 6, 100, 100, 100, 100, 100, 100};
    CHECK(run_fast(odd, 1, 1, 3, 5, INKWELL_MAX_POOL_2X2) == (std::vector<float>{5, 8}));
    CHECK(run_fast(odd, 1, 1, 3, 5, INKWELL_AVG_POOL_2X2) == (std::vector<float>{2.25f, 3.0f}));
}

TEST(max_pool_propagates_nan_like_torch) {
    std::vector<float> in = {1, NAN, 2, 3, 4, 5, INFINITY, -INFINITY};  // 2x4: windows {1,nan,4,5}, {2,3,inf,-inf}
    auto out = run_fast(in, 1, 1, 2, 4, INKWELL_MAX_POOL_2X2);
    CHECK(std::isnan(out[0]) && out[1] == INFINITY);
    in = {-INFINITY, -INFINITY, -INFINITY, NAN};  // NaN last in its window still wins
    CHECK(std::isnan(run_fast(in, 1, 1, 2, 2, INKWELL_MAX_POOL_2X2)[0]));
    in = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    CHECK(run_fast(in, 1, 1, 2, 2, INKWELL_MAX_POOL_2X2)[0] == -INFINITY);
}

TEST(resample_abi_rejects_bad_arguments_with_messages) {
    inkwell_context* ctx = nullptr;
    CHECK(inkwell_context_create(nullptr, &ctx) == INKWELL_OK);
    std::vector<float> in(2 * 3 * 4 * 5), out(2 * 3 * 8 * 10);
    const inkwell_resample_params good{in.data(), out.data(), 2, 3, 4, 5, INKWELL_UPSAMPLE_BILINEAR_2X};
    CHECK(inkwell_resample_f32(ctx, &good) == INKWELL_OK);
    auto expect = [&](const inkwell_resample_params& q, const char* fragment) {
        const int32_t s = inkwell_resample_f32(ctx, &q);
        const char* msg = inkwell_last_error_message();
        CHECK_MSG(s == INKWELL_INVALID_ARGUMENT && std::strstr(msg, fragment) != nullptr,
                  "status %d, message '%s', wanted '%s'", s, msg, fragment);
    };
    auto q = good;
    q.mode = 4;
    expect(q, "resample: mode must be 0..3, got 4");
    q.mode = -1;
    expect(q, "got -1");
    q = good;
    q.input = nullptr;
    expect(q, "resample: input is null");
    q = good;
    q.output = nullptr;
    expect(q, "resample: output is null");
    q = good;
    q.batch = 0;
    expect(q, "resample: batch must be 1..2^40, got 0");
    q = good;
    q.in_width = -3;
    expect(q, "in_width must be 1..2^40, got -3");
    q = good;
    q.batch = q.channels = q.in_height = q.in_width = int64_t(1) << 20;
    expect(q, "input would have more than 2^40 elements");
    q = good;
    q.batch = int64_t(1) << 35;
    q.channels = 1;
    expect(q, "output would have more than 2^40 elements");  // 2^35 * 20 inputs fit, 2^35 * 80 outputs do not
    q = good;
    q.mode = INKWELL_MAX_POOL_2X2;
    q.in_height = 1;
    expect(q, "a 2x2 pool needs in_height and in_width >= 2, got 1x5");
    q = good;
    q.output = in.data() + 7;
    expect(q, "resample: output overlaps input");
    CHECK(inkwell_resample_f32(ctx, nullptr) == INKWELL_INVALID_ARGUMENT);
    CHECK(inkwell_resample_f32(nullptr, &good) == INKWELL_INVALID_ARGUMENT);
    inkwell_context_destroy(ctx);
}

// ---- upsample_nearest2d ---------------------------------------------------------------

namespace {

std::vector<float> run_nearest(const std::vector<float>& in, int64_t b, int64_t c, int64_t h, int64_t w, int64_t oh,
                               int64_t ow, int threads = 1) {
    std::vector<float> out(size_t(b * c * oh * ow), -7.0f);
    inkwell_upsample_nearest2d_params p{in.data(), out.data(), b, c, h, w, oh, ow};
    ThreadPool pool(threads);
    upsample_nearest2d_fast(pool, p);
    return out;
}

}  // namespace

TEST(upsample_nearest2d_fast_matches_reference_bit_for_bit) {
    std::mt19937 rng(5);
    std::normal_distribution<float> normal;
    const int64_t shapes[][6] = {{1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 4, 3},   {1, 2, 1, 7, 1, 13},  {2, 3, 7, 9, 3, 4},
                                 {1, 1, 9, 1, 17, 1}, {2, 2, 4, 5, 7, 9},   {1, 3, 5, 7, 10, 14}, {1, 1, 97, 31, 200, 61},
                                 {3, 2, 17, 257, 9, 1000}};
    for (auto& s : shapes) {
        std::vector<float> in(size_t(s[0] * s[1] * s[2] * s[3]));
        for (float& v : in) v = normal(rng);
        std::vector<float> ref(size_t(s[0] * s[1] * s[4] * s[5]));
        upsample_nearest2d_reference({in.data(), ref.data(), s[0], s[1], s[2], s[3], s[4], s[5]});
        for (int threads : {1, 3, 8})
            CHECK_MSG(same_bits(run_nearest(in, s[0], s[1], s[2], s[3], s[4], s[5], threads), ref),
                      "%lldx%lld -> %lldx%lld threads %d", (long long)s[2], (long long)s[3], (long long)s[4],
                      (long long)s[5], threads);
    }
}

// Source indices as torch 1.13 computes them (F.interpolate(torch.arange(n).view(1,1,1,n),
// size=(1,m), mode="nearest")), written out by hand from the formula's float steps.
TEST(upsample_nearest2d_indices_match_torch_by_hand) {
    auto indices = [](int64_t in, int64_t out) {
        std::vector<int64_t> v;
        for (int64_t x = 0; x < out; ++x) v.push_back(nearest_source_index(x, in, out));
        return v;
    };
    CHECK(indices(4, 7) == (std::vector<int64_t>{0, 0, 1, 1, 2, 2, 3}));         // scale 4/7
    CHECK(indices(5, 9) == (std::vector<int64_t>{0, 0, 1, 1, 2, 2, 3, 3, 4}));   // scale 5/9
    CHECK(indices(7, 3) == (std::vector<int64_t>{0, 2, 4}));                     // down: scale 7/3
    CHECK(indices(3, 7) == (std::vector<int64_t>{0, 0, 0, 1, 1, 2, 2}));         // scale 3/7
    CHECK(indices(1, 5) == (std::vector<int64_t>{0, 0, 0, 0, 0}));
    CHECK(indices(6, 6) == (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
    CHECK(indices(3, 6) == (std::vector<int64_t>{0, 0, 1, 1, 2, 2}));
    // float rounding decides where the exact floor(dst * in / out) would differ:
    // 23 * float(14 / 46) = 6.9999995f -> 6 (exactly 7), 11 * float(26 / 22) -> 12 (exactly 13)
    CHECK(nearest_source_index(23, 14, 46) == 6);
    CHECK(nearest_source_index(11, 26, 22) == 12);
    // beyond 2^24 only the special cases stay exact, as in aten
    const int64_t big = (int64_t(1) << 24) + 1;
    CHECK(nearest_source_index(big, big + 1, big + 1) == big);
    CHECK(nearest_source_index(big, big, 2 * big) == big >> 1);
}

TEST(upsample_nearest2d_abi_rejects_bad_arguments_with_messages) {
    inkwell_context* ctx = nullptr;
    CHECK(inkwell_context_create(nullptr, &ctx) == INKWELL_OK);
    std::vector<float> in(2 * 3 * 4 * 5), out(2 * 3 * 7 * 9);
    const inkwell_upsample_nearest2d_params good{in.data(), out.data(), 2, 3, 4, 5, 7, 9};
    CHECK(inkwell_upsample_nearest2d_f32(ctx, &good) == INKWELL_OK);
    CHECK(out[0] == in[0] && out.back() == in.back());
    auto expect = [&](const inkwell_upsample_nearest2d_params& q, const char* fragment) {
        const int32_t s = inkwell_upsample_nearest2d_f32(ctx, &q);
        const char* msg = inkwell_last_error_message();
        CHECK_MSG(s == INKWELL_INVALID_ARGUMENT && std::strstr(msg, fragment) != nullptr,
                  "status %d, message '%s', wanted '%s'", s, msg, fragment);
    };
    auto q = good;
    q.input = nullptr;
    expect(q, "upsample_nearest2d: input is null");
    q = good;
    q.output = nullptr;
    expect(q, "upsample_nearest2d: output is null");
    q = good;
    q.out_height = 0;
    expect(q, "upsample_nearest2d: out_height must be 1..2^40, got 0");
    q = good;
    q.in_width = -3;
    expect(q, "in_width must be 1..2^40, got -3");
    q = good;
    q.batch = q.channels = q.out_height = q.out_width = int64_t(1) << 11;
    expect(q, "upsample_nearest2d: output would have more than 2^40 elements");
    q = good;
    q.output = in.data() + 7;
    expect(q, "upsample_nearest2d: output overlaps input");
    CHECK(inkwell_upsample_nearest2d_f32(ctx, nullptr) == INKWELL_INVALID_ARGUMENT);
    CHECK(inkwell_upsample_nearest2d_f32(nullptr, &good) == INKWELL_INVALID_ARGUMENT);
    inkwell_context_destroy(ctx);
}

// The 16-bit entries copy the same elements as the float32 one: bfloat16 values widened to
// float32 (bits << 16) through _f32 give the _bf16 output widened; _f16 equals the plain
// reference on 2-byte elements; both at 1 and 3 threads.
TEST(upsample_nearest2d_half_entries_copy_the_same_elements) {
    std::mt19937 rng(8);
    const int64_t shapes[][6] = {{1, 1, 1, 1, 3, 5}, {2, 3, 7, 9, 3, 4}, {1, 2, 4, 5, 7, 9}, {1, 1, 14, 26, 46, 22}};
    for (int threads : {1, 3}) {
        inkwell_context_options options{INKWELL_DEVICE_CPU, threads, 0};
        inkwell_context* ctx = nullptr;
        CHECK(inkwell_context_create(&options, &ctx) == INKWELL_OK);
        for (auto& s : shapes) {
            const int64_t in_count = s[0] * s[1] * s[2] * s[3], out_count = s[0] * s[1] * s[4] * s[5];
            std::vector<uint16_t> in(size_t(in_count), 0);
            for (auto& v : in) v = uint16_t(rng());
            std::vector<float> wide(in.size());
            for (size_t i = 0; i < in.size(); ++i) {
                const uint32_t bits = uint32_t(in[i]) << 16;
                std::memcpy(&wide[i], &bits, 4);
            }
            std::vector<uint16_t> half(size_t(out_count), 7), ref(size_t(out_count), 9), bf(size_t(out_count), 5);
            std::vector<float> wide_out(static_cast<size_t>(out_count));
            inkwell_upsample_nearest2d_params p{in.data(), half.data(), s[0], s[1], s[2], s[3], s[4], s[5]};
            CHECK(inkwell_upsample_nearest2d_f16(ctx, &p) == INKWELL_OK);
            p.output = bf.data();
            CHECK(inkwell_upsample_nearest2d_bf16(ctx, &p) == INKWELL_OK);
            p.output = ref.data();
            upsample_nearest2d_reference(p, 2);
            CHECK_MSG(half == ref && bf == ref, "16-bit %lldx%lld -> %lldx%lld", (long long)s[2], (long long)s[3],
                      (long long)s[4], (long long)s[5]);
            p.input = wide.data();
            p.output = wide_out.data();
            CHECK(inkwell_upsample_nearest2d_f32(ctx, &p) == INKWELL_OK);
            bool same = true;
            for (size_t i = 0; i < bf.size(); ++i) {
                uint32_t bits;
                std::memcpy(&bits, &wide_out[i], 4);
                same = same && (bits >> 16) == bf[i] && (bits & 0xffff) == 0;
            }
            CHECK_MSG(same, "bf16 vs f32 %lldx%lld -> %lldx%lld", (long long)s[2], (long long)s[3], (long long)s[4],
                      (long long)s[5]);
        }
        // the overlap check counts 2-byte elements: 2 floats' bytes after the input start overlap
        std::vector<uint16_t> buf(64);
        inkwell_upsample_nearest2d_params q{buf.data(), buf.data() + 8, 1, 1, 3, 3, 2, 2};
        CHECK(inkwell_upsample_nearest2d_f16(ctx, &q) == INKWELL_INVALID_ARGUMENT);
        q.output = buf.data() + 9;  // just past the 9 inputs
        CHECK(inkwell_upsample_nearest2d_bf16(ctx, &q) == INKWELL_OK);
        inkwell_context_destroy(ctx);
    }
}
