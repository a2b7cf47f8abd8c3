// inkwell_max_pool2d_f32: the row-parallel path against the per-element reference (bit for
// bit, 1, 3 and 4 threads) on the pools networks use (AlexNet's 3x3 stride 2, 2x2 stride 2,
// 3x3 stride 1 pad 1, 1x1) and awkward ones, hand-computed torch results, NaN windows and
// signed zeros in torch's order, and the argument checks torch makes plus ours.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/elementwise_cpu.hpp"
#include "inkwell/inkwell.h"
#include "test_util.hpp"

using namespace inkwell;
using namespace inkwell::cpu;

namespace {

struct Pool {
    int64_t kh, kw, sh, sw, ph, pw;
};

inkwell_max_pool2d_params make(const std::vector<float>& in, std::vector<float>& out, int64_t b, int64_t c, int64_t h,
                               int64_t w, const Pool& k) {
    const int64_t oh = (h + 2 * k.ph - k.kh) / k.sh + 1, ow = (w + 2 * k.pw - k.kw) / k.sw + 1;
    out.assign(size_t(b * c * oh * ow), -7.0f);
    return inkwell_max_pool2d_params{in.data(), out.data(), b, c, h, w, k.kh, k.kw, k.sh, k.sw, k.ph, k.pw, oh, ow};
}

std::vector<float> fast(const std::vector<float>& in, int64_t b, int64_t c, int64_t h, int64_t w, const Pool& k, int threads = 1) {
    std::vector<float> out;
    ThreadPool pool(threads);
    max_pool2d_fast(pool, make(in, out, b, c, h, w, k));
    return out;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST(max_pool2d_fast_matches_reference_bit_for_bit) {
    std::mt19937 rng(23);
    std::normal_distribution<float> normal;
    const float special[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f};
    const Pool pools[] = {{3, 3, 2, 2, 0, 0}, {2, 2, 2, 2, 0, 0}, {3, 3, 1, 1, 1, 1}, {1, 1, 1, 1, 0, 0},
                          {3, 3, 2, 2, 1, 1}, {2, 3, 1, 2, 1, 1}, {5, 4, 3, 1, 2, 2}, {7, 7, 7, 7, 3, 0},
                          {1, 2, 3, 1, 0, 1}, {4, 4, 1, 1, 2, 2}};
    const int64_t shapes[][4] = {{1, 1, 7, 7}, {1, 3, 55, 55}, {2, 5, 13, 17}, {1, 2, 97, 31}, {1, 1, 9, 257}, {3, 4, 8, 8}, {1, 1, 1021, 7}};
    for (auto& s : shapes)
        for (const Pool& k : pools) {
            if (s[2] + 2 * k.ph < k.kh || s[3] + 2 * k.pw < k.kw) continue;
            std::vector<float> in(size_t(s[0] * s[1] * s[2] * s[3]));
            for (auto& v : in) v = rng() % 29 == 0 ? special[rng() % 5] : normal(rng);
            std::vector<float> ref;
            max_pool2d_reference(make(in, ref, s[0], s[1], s[2], s[3], k));
            for (int threads : {1, 3, 4})
                CHECK_MSG(same_bits(fast(in, s[0], s[1], s[2], s[3], k, threads), ref),
                          "[%lld,%lld,%lld,%lld] kernel %lldx%lld stride %lldx%lld pad %lldx%lld threads %d", (long long)s[0],
                          (long long)s[1], (long long)s[2], (long long)s[3], (long long)k.kh, (long long)k.kw, (long long)k.sh,
                          (long long)k.sw, (long long)k.ph, (long long)k.pw, threads);
        }
}

TEST(max_pool2d_matches_torch_by_hand) {
    // 4x4 ramp 1..16: each output is its clamped window's bottom-right input.
    std::vector<float> ramp(16);
    for (int i = 0; i < 16; ++i) ramp[i] = float(i + 1);
    CHECK(fast(ramp, 1, 1, 4, 4, {3, 3, 1, 1, 1, 1}) ==
          (std::vector<float>{6, 7, 8, 8, 10, 11, 12, 12, 14, 15, 16, 16, 14, 15, 16, 16}));
    CHECK(fast(ramp, 1, 1, 4, 4, {2, 2, 2, 2, 0, 0}) == (std::vector<float>{6, 8, 14, 16}));
    CHECK(fast(ramp, 1, 1, 4, 4, {3, 3, 2, 2, 0, 0}) == (std::vector<float>{11}));   // floor((4 - 3) / 2) + 1 = 1
    CHECK(fast(ramp, 1, 1, 4, 4, {3, 3, 2, 2, 1, 1}) == (std::vector<float>{6, 8, 14, 16}));
    CHECK(fast(ramp, 1, 1, 4, 4, {1, 1, 1, 1, 0, 0}) == ramp);
    CHECK(fast(ramp, 1, 1, 4, 4, {1, 1, 3, 2, 0, 0}) == (std::vector<float>{1, 3, 13, 15}));
    // Negative inputs: the -inf padding never wins where a window holds an input.
    std::vector<float> negative = ramp;
    for (auto& v : negative) v = -v;
    CHECK(fast(negative, 1, 1, 4, 4, {3, 3, 2, 2, 1, 1}) == (std::vector<float>{-1, -2, -5, -6}));
    // AlexNet's pool: 55 -> 27.
    std::vector<float> big(55 * 55, 0.0f);
    CHECK(fast(big, 1, 1, 55, 55, {3, 3, 2, 2, 0, 0}).size() == 27 * 27);
}

TEST(max_pool2d_nan_and_signed_zeros_like_torch) {
    // A NaN anywhere in a window wins, first or last.
    std::vector<float> in = {NAN, 1, 2, 3, 4, 5, 6, 7, NAN};  // 3x3
    auto out = fast(in, 1, 1, 3, 3, {2, 2, 1, 1, 0, 0});
    CHECK(std::isnan(out[0]) && out[1] == 5.0f && out[2] == 7.0f && std::isnan(out[3]));
    in = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    CHECK(fast(in, 1, 1, 2, 2, {2, 2, 2, 2, 0, 0})[0] == -INFINITY);
    // torch scans rows then columns and replaces only on `v > max`: the first of equal zeros stays.
    in = {-0.0f, 0.0f, 0.0f, 0.0f};
    CHECK(std::signbit(fast(in, 1, 1, 2, 2, {2, 2, 2, 2, 0, 0})[0]));
    in = {0.0f, -0.0f, -0.0f, -0.0f};
    CHECK(!std::signbit(fast(in, 1, 1, 2, 2, {2, 2, 2, 2, 0, 0})[0]));
}

TEST(max_pool2d_abi_threads_and_refusals) {
    inkwell_context* one = nullptr;
    inkwell_context* four = nullptr;
    inkwell_context_options o1{INKWELL_DEVICE_CPU, 1, 0}, o4{INKWELL_DEVICE_CPU, 4, 0};
    CHECK(inkwell_context_create(&o1, &one) == INKWELL_OK && inkwell_context_create(&o4, &four) == INKWELL_OK);
    std::mt19937 rng(29);
    std::normal_distribution<float> normal;
    std::vector<float> in(2 * 64 * 111 * 111);
    for (auto& v : in) v = normal(rng);
    std::vector<float> a, b;
    auto p = make(in, a, 2, 64, 111, 111, {3, 3, 2, 2, 1, 1});
    CHECK(inkwell_max_pool2d_f32(one, &p) == INKWELL_OK);
    auto q = make(in, b, 2, 64, 111, 111, {3, 3, 2, 2, 1, 1});
    CHECK(inkwell_max_pool2d_f32(four, &q) == INKWELL_OK);
    CHECK(same_bits(a, b));

    std::vector<float> small(2 * 3 * 6 * 5, 1.0f), out;
    const auto good = make(small, out, 2, 3, 6, 5, {3, 3, 2, 2, 1, 1});  // out 3x3
    CHECK(inkwell_max_pool2d_f32(one, &good) == INKWELL_OK);
    std::fill(out.begin(), out.end(), -7.0f);
    auto expect = [&](const inkwell_max_pool2d_params& r, const char* fragment) {
        const int32_t s = inkwell_max_pool2d_f32(one, &r);
        const char* msg = inkwell_last_error_message();
        CHECK_MSG(s == INKWELL_INVALID_ARGUMENT && std::strstr(msg, fragment) != nullptr,
                  "status %d, message '%s', wanted '%s'", s, msg, fragment);
        CHECK(std::all_of(out.begin(), out.end(), [](float v) { return v == -7.0f; }));
    };
    auto r = good;
    r.pad_h = 2;
    expect(r, "max_pool2d: pad_h 2 must be at most kernel_h 3 / 2 = 1 (as PyTorch requires)");
    r = good;
    r.kernel_w = 1;
    r.pad_w = 1;
    expect(r, "pad_w 1 must be at most kernel_w 1 / 2 = 0");
    r = good;
    r.pad_w = -1;
    expect(r, "max_pool2d: pad_w must be >= 0, got -1");
    r = good;
    r.kernel_h = 0;
    expect(r, "max_pool2d: kernel_h must be 1..2^40, got 0");
    r = good;
    r.stride_w = 0;
    expect(r, "max_pool2d: stride_w must be 1..2^40, got 0");
    r = good;
    r.stride_h = -2;
    expect(r, "stride_h must be 1..2^40, got -2");
    r = good;
    r.out_height = 4;
    expect(r, "max_pool2d: out_height 4 does not match (in_height 6 + 2*pad_h 1 - kernel_h 3)/stride_h 2 + 1 = 3");
    r = good;
    r.out_width = 0;
    expect(r, "out_width 0 does not match (in_width 5 + 2*pad_w 1 - kernel_w 3)/stride_w 2 + 1 = 3");
    r = good;
    r.kernel_h = 9;
    r.pad_h = 1;
    expect(r, "max_pool2d: kernel_h does not fit the padded input: (in_height 6 + 2*pad_h 1 - kernel_h 9)/stride_h 2 + 1 is below 1");
    r = good;
    r.channels = 0;
    expect(r, "max_pool2d: channels must be 1..2^40, got 0");
    r = good;
    r.batch = r.channels = int64_t(1) << 20;
    r.in_height = r.in_width = 1 << 2;
    expect(r, "max_pool2d: input would have more than 2^40 elements");
    r = good;
    r.input = nullptr;
    expect(r, "max_pool2d: input is null");
    r = good;
    r.output = nullptr;
    expect(r, "max_pool2d: output is null");
    r = good;
    r.output = small.data() + 5;
    expect(r, "max_pool2d: output overlaps input");
    CHECK(inkwell_max_pool2d_f32(one, nullptr) == INKWELL_INVALID_ARGUMENT);
    CHECK(inkwell_max_pool2d_f32(nullptr, &good) == INKWELL_INVALID_ARGUMENT);
    inkwell_context_destroy(one);
    inkwell_context_destroy(four);
}
