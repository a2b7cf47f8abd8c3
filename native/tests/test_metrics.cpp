// PSNR and SSIM: the row-parallel paths against the plain references (SSIM's with the
// 11x11 window applied directly, not separably), values computed by scikit-image 0.19.3,
// exact cases (identical images, a constant offset), thread-count invariance, padded
// strides, and the C ABI's argument checks.
#include <cmath>
#include <cstring>

#include "cpu/metrics_cpu.hpp"
#include "inkwell/inkwell.h"
#include "test_util.hpp"

using namespace inkwell;
using namespace inkwell::cpu;

namespace {

// The two 16x20 patterns of the scikit-image cross-check: a = (7x + 13y) % 256,
// b = (x^2 + 3y) % 256; for colour, channels (a, b, a/2 + b/3) against (b, a + 40, a),
// with uint8 wrap-around as numpy computes it.
struct Patterns {
    static constexpr int64_t h = 16, w = 20;
    std::vector<uint8_t> a, b, rgb_a, rgb_b;
    Patterns() : a(h * w), b(h * w), rgb_a(h * w * 3), rgb_b(h * w * 3) {
        for (int64_t y = 0; y < h; ++y)
            for (int64_t x = 0; x < w; ++x) {
                const int64_t i = y * w + x;
                a[i] = uint8_t((x * 7 + y * 13) % 256);
                b[i] = uint8_t((x * x + 3 * y) % 256);
                const uint8_t ca[3] = {a[i], b[i], uint8_t(a[i] / 2 + b[i] / 3)};
                const uint8_t cb[3] = {b[i], uint8_t(a[i] + 40), a[i]};
                std::memcpy(&rgb_a[i * 3], ca, 3);
                std::memcpy(&rgb_b[i * 3], cb, 3);
            }
    }
};

ImageView view(std::vector<uint8_t>& v, int64_t h, int64_t w, int64_t cn) { return ImageView{v.data(), h, w, cn, w * cn}; }

}  // namespace

TEST(metrics_match_scikit_image) {
    Patterns p;
    ThreadPool pool(3);
    const ImageView ga = view(p.a, p.h, p.w, 1), gb = view(p.b, p.h, p.w, 1);
    const ImageView ca = view(p.rgb_a, p.h, p.w, 3), cb = view(p.rgb_b, p.h, p.w, 3);
    // skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5,
    // use_sample_covariance=False, data_range=255[, channel_axis=-1]) and
    // peak_signal_noise_ratio(..., data_range=255), scikit-image 0.19.3.
    CHECK_MSG(std::fabs(ssim_fast(pool, ga, gb) - 0.42363196852896645) < 1e-12, "%.17g", ssim_fast(pool, ga, gb));
    CHECK_MSG(std::fabs(ssim_fast(pool, ca, cb) - 0.48345963433283484) < 1e-12, "%.17g", ssim_fast(pool, ca, cb));
    CHECK_MSG(std::fabs(psnr_fast(pool, ga, gb) - 8.650000903353906) < 1e-12, "%.17g", psnr_fast(pool, ga, gb));
    CHECK_MSG(std::fabs(psnr_fast(pool, ca, cb) - 9.157229548788537) < 1e-12, "%.17g", psnr_fast(pool, ca, cb));
}

TEST(metrics_fast_match_references_on_random_images) {
    std::mt19937 rng(11);
    const int64_t sizes[][2] = {{11, 11}, {11, 30}, {12, 13}, {37, 97}, {101, 64}};
    for (auto& s : sizes)
        for (int64_t cn : {1, 3, 4}) {
            const int64_t h = s[0], w = s[1], stride = w * cn + 5;
            auto a = inkwell_test::random_image(rng, h, w, cn, stride, true);
            auto b = a;
            std::uniform_int_distribution<int> noise(-30, 30);
            for (auto& v : b) v = uint8_t(std::clamp(int(v) + noise(rng), 0, 255));
            const ImageView va{a.data(), h, w, cn, stride}, vb{b.data(), h, w, cn, stride};
            const double ssim_ref = ssim_reference(va, vb), psnr_ref = psnr_reference(va, vb);
            for (int threads : {1, 2, 5}) {
                ThreadPool pool(threads);
                const double ssim = ssim_fast(pool, va, vb);
                CHECK_MSG(std::fabs(ssim - ssim_ref) < 1e-12, "%lldx%lld cn=%lld: ssim %.17g vs %.17g", (long long)h,
                          (long long)w, (long long)cn, ssim, ssim_ref);
                CHECK(psnr_fast(pool, va, vb) == psnr_ref);
            }
        }
}

TEST(ssim_is_identical_for_any_thread_count) {
    std::mt19937 rng(12);
    const int64_t h = 203, w = 157, cn = 3;
    auto a = inkwell_test::random_image(rng, h, w, cn, w * cn, true);
    auto b = inkwell_test::random_image(rng, h, w, cn, w * cn, true);
    const ImageView va = view(a, h, w, cn), vb = view(b, h, w, cn);
    ThreadPool one(1);
    const double expected = ssim_fast(one, va, vb);
    for (int threads : {2, 3, 16}) {
        ThreadPool pool(threads);
        CHECK(ssim_fast(pool, va, vb) == expected);
    }
}

TEST(metrics_exact_cases) {
    std::mt19937 rng(13);
    const int64_t h = 24, w = 31;
    auto a = inkwell_test::random_image(rng, h, w, 3, w * 3, true);
    ThreadPool pool(2);
    const ImageView va = view(a, h, w, 3);
    CHECK(ssim_fast(pool, va, va) == 1.0);
    CHECK(std::isinf(psnr_fast(pool, va, va)) && psnr_fast(pool, va, va) > 0);
    // A constant offset of 5: MSE 25 exactly.
    std::vector<uint8_t> lo(h * w, 100), hi(h * w, 105);
    CHECK(std::fabs(psnr_fast(pool, view(lo, h, w, 1), view(hi, h, w, 1)) - 10 * std::log10(255.0 * 255.0 / 25)) <
          1e-12);
    // Gaussian taps: normalised and symmetric.
    const auto taps = ssim_gaussian_taps();
    double sum = 0;
    for (double t : taps) sum += t;
    CHECK(std::fabs(sum - 1) < 1e-15 && taps[0] == taps[10] && taps[4] == taps[6] && taps[5] > taps[4]);
}

TEST(metrics_abi_rejects_bad_arguments_with_messages) {
    inkwell_context* ctx = nullptr;
    CHECK(inkwell_context_create(nullptr, &ctx) == INKWELL_OK);
    std::vector<uint8_t> a(16 * 16 * 3, 1), b(16 * 16 * 3, 2);
    double result = 0;
    const inkwell_image_metric_params good{{a.data(), 16, 16, 3, 48}, {b.data(), 16, 16, 3, 48}, &result};
    CHECK(inkwell_psnr_u8(ctx, &good) == INKWELL_OK && std::fabs(result - 10 * std::log10(65025.0)) < 1e-12);
    CHECK(inkwell_ssim_u8(ctx, &good) == INKWELL_OK && result > 0 && result < 1);
    auto expect = [&](int32_t (*fn)(inkwell_context*, const inkwell_image_metric_params*),
                      const inkwell_image_metric_params& q, const char* fragment) {
        const int32_t s = fn(ctx, &q);
        const char* msg = inkwell_last_error_message();
        CHECK_MSG(s == INKWELL_INVALID_ARGUMENT && std::strstr(msg, fragment) != nullptr,
                  "status %d, message '%s', wanted '%s'", s, msg, fragment);
    };
    auto q = good;
    q.result = nullptr;
    expect(inkwell_psnr_u8, q, "psnr: result is null");
    expect(inkwell_ssim_u8, q, "ssim: result is null");
    q = good;
    q.test.width = 15;
    expect(inkwell_psnr_u8, q, "psnr: test is 16x15x3 but reference is 16x16x3");
    q = good;
    q.test.channels = 1;
    q.test.row_stride = 16;
    expect(inkwell_ssim_u8, q, "ssim: test is 16x16x1 but reference is 16x16x3");
    q = good;
    q.reference.data = nullptr;
    expect(inkwell_ssim_u8, q, "reference.data is null");
    q = good;
    q.reference.height = q.test.height = 10;
    expect(inkwell_ssim_u8, q, "ssim: images must be at least 11x11 (the Gaussian window), got 10x16");
    CHECK(inkwell_psnr_u8(ctx, &q) == INKWELL_OK);  // PSNR has no minimum size
    CHECK(inkwell_ssim_u8(ctx, nullptr) == INKWELL_INVALID_ARGUMENT);
    CHECK(inkwell_psnr_u8(nullptr, &good) == INKWELL_INVALID_ARGUMENT);
    inkwell_context_destroy(ctx);
}
