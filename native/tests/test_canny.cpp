// Canny: the fast striped path against the plain reference, on random images of awkward
// sizes, both channel counts, every aperture, L1 and L2, and several thread counts.
#include <cstring>

#include "cpu/canny_common.hpp"
#include "cpu/canny_cpu.hpp"
#include "inkwell/inkwell.h"
#include "test_util.hpp"

using namespace inkwell;
using namespace inkwell::cpu;

namespace {

struct Case {
    int64_t h, w, cn;
    int aperture;
    bool l2;
    double low, high;
};

int count_mismatches(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, int64_t h, int64_t w) {
    int bad = 0;
    for (int64_t i = 0; i < h * w; ++i) bad += a[i] != b[i];
    return bad;
}

}  // namespace

TEST(canny_fast_matches_reference_on_random_images) {
    std::mt19937 rng(12345);
    const int64_t sizes[][2] = {{1, 1}, {1, 7}, {7, 1}, {2, 3}, {5, 7}, {16, 16}, {17, 97}, {97, 31}, {64, 257}, {131, 67}};
    const int thread_counts[] = {1, 2, 3, 7};
    for (auto& hw : sizes)
        for (int64_t cn : {1, 3})
            for (int aperture : {3, 5, 7})
                for (bool l2 : {false, true}) {
                    double low = std::uniform_real_distribution<double>(0, 150)(rng);
                    double high = std::uniform_real_distribution<double>(0, 300)(rng);
                    if (aperture > 3 && !l2) {
                        low *= 8;
                        high *= 8;
                    }
                    const int64_t h = hw[0], w = hw[1], stride = w * cn + 3;
                    auto img = inkwell_test::random_image(rng, h, w, cn, stride, true);
                    ImageView src{img.data(), h, w, cn, stride};
                    std::vector<uint8_t> ref(h * w), fast(h * w);
                    ImageView ref_view{ref.data(), h, w, 1, w}, fast_view{fast.data(), h, w, 1, w};
                    auto t = canny_thresholds(low, high, aperture, l2);
                    canny_reference(src, ref_view, aperture, l2, t);
                    for (int threads : thread_counts)
                        for (CannyKernels kernels : {CannyKernels::Best, CannyKernels::Scalar}) {
                            ThreadPool pool(threads);
                            std::fill(fast.begin(), fast.end(), 7);
                            canny_fast(pool, src, fast_view, aperture, l2, t, kernels);
                            int bad = count_mismatches(ref, fast, h, w);
                            CHECK_MSG(bad == 0,
                                      "%lldx%lld cn=%lld aperture=%d l2=%d low=%g high=%g threads=%d scalar=%d: %d "
                                      "pixels differ",
                                      (long long)h, (long long)w, (long long)cn, aperture, (int)l2, low, high, threads,
                                      (int)(kernels == CannyKernels::Scalar), bad);
                        }
                    for (uint8_t v : ref) CHECK(v == 0 || v == 255);
                }
}

TEST(canny_large_image_is_identical_for_any_thread_count) {
    std::mt19937 rng(7);
    const int64_t h = 301, w = 403, cn = 3;
    auto img = inkwell_test::random_image(rng, h, w, cn, w * cn, true);
    ImageView src{img.data(), h, w, cn, w * cn};
    std::vector<uint8_t> ref(h * w), fast(h * w);
    auto t = canny_thresholds(100, 200, 3, false);
    canny_reference(src, ImageView{ref.data(), h, w, 1, w}, 3, false, t);
    for (int threads : {1, 2, 4, 16}) {
        ThreadPool pool(threads);
        canny_fast(pool, src, ImageView{fast.data(), h, w, 1, w}, 3, false, t);
        CHECK_MSG(count_mismatches(ref, fast, h, w) == 0, "threads=%d", threads);
    }
}

TEST(canny_strongest_gradients_agree) {
    // A 0/255 checkerboard gives the largest Sobel responses of every aperture (aperture 7
    // sums reach 163200 before OpenCV's 1/16 scaling) and many exact ties between
    // neighbours, where the asymmetric > / >= of NMS decides.
    const int64_t h = 24, w = 40;
    std::vector<uint8_t> img(h * w);
    for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) img[y * w + x] = ((x / 3 + y / 3) % 2) ? 255 : 0;
    ImageView src{img.data(), h, w, 1, w};
    std::vector<uint8_t> ref(h * w), fast(h * w);
    for (int aperture : {3, 5, 7})
        for (bool l2 : {false, true}) {
            auto t = canny_thresholds(160, 320, aperture, l2);
            canny_reference(src, ImageView{ref.data(), h, w, 1, w}, aperture, l2, t);
            ThreadPool pool(2);
            for (CannyKernels kernels : {CannyKernels::Best, CannyKernels::Scalar}) {
                canny_fast(pool, src, ImageView{fast.data(), h, w, 1, w}, aperture, l2, t, kernels);
                CHECK(count_mismatches(ref, fast, h, w) == 0);
            }
        }
}

TEST(aperture7_rounding_is_half_to_even) {
    CHECK(canny_detail::round_half_even_div16(8) == 0 && canny_detail::round_half_even_div16(24) == 2);
    CHECK(canny_detail::round_half_even_div16(9) == 1 && canny_detail::round_half_even_div16(-8) == 0);
    CHECK(canny_detail::round_half_even_div16(-24) == -2 && canny_detail::round_half_even_div16(-9) == -1);
    CHECK(canny_detail::round_half_even_div16(163200) == 10200);
}

TEST(canny_thresholds_follow_opencv_normalisation) {
    auto t = canny_thresholds(200, 100, 3, false);
    CHECK(t.low == 100 && t.high == 200);
    t = canny_thresholds(100.5, 200.7, 3, true);
    CHECK(t.low == 10100 && t.high == 40280);  // floor(100.5^2), floor(200.7^2)
    t = canny_thresholds(1e9, 1e12, 5, true);
    CHECK(t.low == 32767 * 32767 && t.high == 32767 * 32767);
    t = canny_thresholds(0, 1e300, 3, false);
    CHECK(t.low == 0 && t.high == INT32_MAX);
    t = canny_thresholds(100, 300, 7, false);  // aperture 7 divides by 16 first
    CHECK(t.low == 6 && t.high == 18);
    t = canny_thresholds(100, 300, 7, true);
    CHECK(t.low == 39 && t.high == 351);  // floor(6.25^2), floor(18.75^2)
}

TEST(canny_abi_rejects_bad_arguments_with_messages) {
    inkwell_context* ctx = nullptr;
    CHECK(inkwell_context_create(nullptr, &ctx) == INKWELL_OK);
    std::vector<uint8_t> src(8 * 8, 10), dst(8 * 8);
    inkwell_canny_params p{};
    p.src = inkwell_image_u8{src.data(), 8, 8, 1, 8};
    p.dst = inkwell_image_u8{dst.data(), 8, 8, 1, 8};
    p.low_threshold = 100;
    p.high_threshold = 200;
    p.aperture_size = 3;
    CHECK(inkwell_canny_u8(ctx, &p) == INKWELL_OK);

    auto expect = [&](inkwell_canny_params q, int32_t status, const char* fragment) {
        int32_t s = inkwell_canny_u8(ctx, &q);
        const char* msg = inkwell_last_error_message();
        CHECK_MSG(s == status && std::strstr(msg, fragment) != nullptr, "status %d, message '%s', wanted '%s'", s, msg,
                  fragment);
    };
    auto q = p;
    q.aperture_size = 4;
    expect(q, INKWELL_INVALID_ARGUMENT, "aperture_size must be 3, 5 or 7, got 4");
    q = p;
    q.low_threshold = std::numeric_limits<double>::quiet_NaN();
    expect(q, INKWELL_INVALID_ARGUMENT, "low_threshold must be finite");
    q = p;
    q.high_threshold = -1;
    expect(q, INKWELL_INVALID_ARGUMENT, "high_threshold must be finite and >= 0, got -1");
    q = p;
    q.src.row_stride = 7;
    expect(q, INKWELL_INVALID_ARGUMENT, "src.row_stride 7 is less than width * channels = 8");
    q = p;
    q.src.channels = 2;
    q.src.row_stride = 16;
    expect(q, INKWELL_UNSUPPORTED, "1 or 3 channels, got 2");
    q = p;
    q.dst.height = 4;
    expect(q, INKWELL_INVALID_ARGUMENT, "dst is 4x8 but src is 8x8");
    q = p;
    q.dst.data = src.data();
    expect(q, INKWELL_INVALID_ARGUMENT, "dst overlaps src");
    q = p;
    q.src.data = nullptr;
    expect(q, INKWELL_INVALID_ARGUMENT, "src.data is null");
    q = p;
    q.blur_ksize = 4;
    expect(q, INKWELL_INVALID_ARGUMENT, "ksize must be odd");
    CHECK(inkwell_canny_u8(ctx, nullptr) == INKWELL_INVALID_ARGUMENT);
    CHECK(inkwell_canny_u8(nullptr, &p) == INKWELL_INVALID_ARGUMENT);
    CHECK(inkwell_context_destroy(ctx) == INKWELL_OK);
}
