// Gaussian blur: kernel quantisation properties and the fast separable path against the
// plain 2-D reference (both are exact integer arithmetic, so they must agree to the bit).
#include <cstring>
#include <numeric>

#include "cpu/gaussian_blur_cpu.hpp"
#include "inkwell/inkwell.h"
#include "test_util.hpp"

using namespace inkwell;
using namespace inkwell::cpu;

TEST(gaussian_kernel_sums_to_256_and_is_symmetric) {
    for (int k = 1; k <= 31; k += 2)
        for (double sigma : {0.0, 0.3, 0.8, 1.4, 2.0, 5.0}) {
            auto q = gaussian_kernel_q8(k, sigma);
            CHECK(std::accumulate(q.begin(), q.end(), 0) == 256);
            for (int i = 0; i < k; ++i) CHECK(q[i] == q[k - 1 - i] && q[i] >= 0);
        }
    // sigma 0 with ksize <= 7 uses OpenCV's exact binomial-like table.
    auto q7 = gaussian_kernel_q8(7, 0);
    CHECK(q7[0] == 8 && q7[1] == 28 && q7[2] == 56 && q7[3] == 72);
    CHECK(gaussian_ksize_for_sigma(0.8) == 7 && gaussian_ksize_for_sigma(2.0) == 13);
}

TEST(reflect101_matches_opencv_border_rule) {
    CHECK(reflect101(-1, 5) == 1 && reflect101(-2, 5) == 2 && reflect101(5, 5) == 3 && reflect101(6, 5) == 2);
    CHECK(reflect101(-3, 2) == 1 && reflect101(3, 2) == 1 && reflect101(-5, 1) == 0);
    for (int64_t len = 1; len < 6; ++len)
        for (int64_t p = -20; p < 20; ++p) {
            int64_t v = reflect101(p, len);
            CHECK(v >= 0 && v < len);
        }
}

TEST(gaussian_blur_fast_matches_reference) {
    std::mt19937 rng(99);
    const int64_t sizes[][2] = {{1, 1}, {2, 3}, {5, 7}, {9, 13}, {31, 97}, {70, 41}};
    for (auto& hw : sizes)
        for (int64_t cn : {1, 3, 4})
            for (int k : {1, 3, 5, 7, 9, 11, 13, 31})
                for (double sigma : {0.0, 0.8, 2.0}) {
                    const int64_t h = hw[0], w = hw[1], stride = w * cn + 5;
                    auto img = inkwell_test::random_image(rng, h, w, cn, stride, false);
                    ImageView src{img.data(), h, w, cn, stride};
                    std::vector<uint8_t> ref(h * w * cn), fast(h * w * cn);
                    auto kernel = gaussian_kernel_q8(k, sigma);
                    gaussian_blur_reference(src, ImageView{ref.data(), h, w, cn, w * cn}, kernel);
                    for (int threads : {1, 3}) {
                        ThreadPool pool(threads);
                        gaussian_blur_fast(pool, src, ImageView{fast.data(), h, w, cn, w * cn}, kernel);
                        CHECK_MSG(ref == fast, "%lldx%lld cn=%lld k=%d sigma=%g threads=%d", (long long)h, (long long)w,
                                  (long long)cn, k, sigma, threads);
                    }
                }
}

TEST(gaussian_blur_of_constant_image_is_constant) {
    const int64_t h = 9, w = 11;
    std::vector<uint8_t> img(h * w, 173), out(h * w);
    inkwell_context* ctx = nullptr;
    CHECK(inkwell_context_create(nullptr, &ctx) == INKWELL_OK);
    inkwell_gaussian_blur_params p{};
    p.src = inkwell_image_u8{img.data(), h, w, 1, w};
    p.dst = inkwell_image_u8{out.data(), h, w, 1, w};
    p.ksize = 7;
    p.sigma = 1.3;
    CHECK(inkwell_gaussian_blur_u8(ctx, &p) == INKWELL_OK);
    for (uint8_t v : out) CHECK(v == 173);
    p.ksize = 0;
    p.sigma = 0;
    CHECK(inkwell_gaussian_blur_u8(ctx, &p) == INKWELL_INVALID_ARGUMENT);
    CHECK(std::strstr(inkwell_last_error_message(), "both 0") != nullptr);
    inkwell_context_destroy(ctx);
}
