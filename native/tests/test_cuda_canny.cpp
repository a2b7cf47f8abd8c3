// Canny on a CUDA context against a CPU context: bit-identical output on random images of
// awkward sizes (one pixel, prime sides, several 32x32 hysteresis tiles), 1 and 3 channels,
// every aperture, L1 and L2, padded strides, with and without pre-blur; and a serpentine
// weak edge reached from one strong end, which crosses tile borders back and forth and so
// needs many global hysteresis iterations.
#include <random>

#include "cuda_test_util.hpp"

using namespace inkwell_test;

namespace {

struct Run {
    int64_t h, w, cn;
    int aperture;
    bool l2;
    double low, high;
    int blur_ksize = 0;
    double blur_sigma = 0;
};

// Runs both backends on img (h rows of stride bytes); returns the number of differing pixels.
int64_t compare(const std::vector<uint8_t>& img, int64_t stride, const Run& r) {
    const int64_t dst_stride = r.w + 5;
    std::vector<uint8_t> cpu_out(r.h * dst_stride, 77);
    inkwell_canny_params p{};
    p.src = inkwell_image_u8{const_cast<uint8_t*>(img.data()), r.h, r.w, r.cn, stride};
    p.dst = inkwell_image_u8{cpu_out.data(), r.h, r.w, 1, dst_stride};
    p.low_threshold = r.low;
    p.high_threshold = r.high;
    p.aperture_size = r.aperture;
    p.l2_gradient = r.l2;
    p.blur_ksize = r.blur_ksize;
    p.blur_sigma = r.blur_sigma;
    CHECK_MSG(inkwell_canny_u8(cpu_ctx(), &p) == INKWELL_OK, "cpu: %s", inkwell_last_error_message());

    DeviceBuffer<uint8_t> src(img), dst(std::vector<uint8_t>(r.h * dst_stride, 77));
    p.src.data = src.get();
    p.dst.data = dst.get();
    const int32_t st = inkwell_canny_u8(cuda_ctx(), &p);
    CHECK_MSG(st == INKWELL_OK, "cuda: %s", inkwell_last_error_message());
    const std::vector<uint8_t> gpu_out = dst.download();
    int64_t bad = 0;
    for (int64_t y = 0; y < r.h; ++y)
        for (int64_t x = 0; x < dst_stride; ++x) {  // the padding must stay untouched too
            const uint8_t a = gpu_out[y * dst_stride + x], b = cpu_out[y * dst_stride + x];
            if (a != b && bad++ < 5)
                std::printf("    (%lld, %lld): cuda %d cpu %d\n", (long long)y, (long long)x, int(a), int(b));
        }
    return bad;
}

}  // namespace

TEST(cuda_canny_matches_cpu_on_random_images) {
    std::mt19937 rng(2024);
    const int64_t sizes[][2] = {{1, 1}, {1, 7}, {7, 1}, {5, 7}, {33, 31}, {97, 131}, {257, 67}, {130, 1021}};
    for (auto& hw : sizes)
        for (int64_t cn : {1, 3})
            for (int aperture : {3, 5, 7})
                for (bool l2 : {false, true}) {
                    Run r{hw[0], hw[1], cn, aperture, l2, std::uniform_real_distribution<double>(0, 150)(rng),
                          std::uniform_real_distribution<double>(0, 300)(rng)};
                    if (aperture > 3 && !l2) {
                        r.low *= 8;
                        r.high *= 8;
                    }
                    const int64_t stride = r.w * cn + 3;
                    auto img = random_image(rng, r.h, r.w, cn, stride, true);
                    const int64_t bad = compare(img, stride, r);
                    CHECK_MSG(bad == 0, "%lldx%lld cn=%lld aperture=%d l2=%d low=%g high=%g: %lld pixels differ",
                              (long long)r.h, (long long)r.w, (long long)cn, aperture, int(l2), r.low, r.high,
                              (long long)bad);
                }
}

// Taller than 8 * 65535 rows: the framed grid's y dimension is capped at CUDA's 65535 and
// the kernels stride over the remaining rows (this once failed to launch).
TEST(cuda_canny_handles_images_taller_than_the_grid) {
    std::mt19937 rng(77);
    for (int64_t w : {1, 3}) {
        Run r{600001, w, 1, 3, false, 40, 120};
        const int64_t stride = w + 1;
        auto img = random_image(rng, r.h, r.w, 1, stride, true);
        const int64_t bad = compare(img, stride, r);
        CHECK_MSG(bad == 0, "600001x%lld: %lld pixels differ", (long long)w, (long long)bad);
    }
}

TEST(cuda_canny_matches_cpu_with_blur) {
    std::mt19937 rng(5);
    for (int64_t cn : {1, 3})
        for (int ksize : {3, 5, 0}) {
            Run r{211, 173, cn, 3, false, 30, 90, ksize, ksize == 0 ? 1.7 : 0.0};
            const int64_t stride = r.w * cn;
            auto img = random_image(rng, r.h, r.w, cn, stride, true);
            const int64_t bad = compare(img, stride, r);
            CHECK_MSG(bad == 0, "blur ksize=%d sigma=%g cn=%lld: %lld pixels differ", r.blur_ksize, r.blur_sigma,
                      (long long)cn, (long long)bad);
        }
}

TEST(cuda_canny_hysteresis_follows_a_long_serpentine) {
    // A 3-pixel-wide line at level 60 on 0 that snakes down a 300 x 700 image in rows 6
    // pixels apart, with one 255 segment at its start: only that segment is strong, the
    // rest is reached through thousands of pixels and dozens of tile borders.
    const int64_t h = 300, w = 700;
    std::vector<uint8_t> img(h * w, 0);
    for (int64_t band = 0; band * 6 + 4 < h; ++band) {
        const int64_t y = band * 6 + 2;
        for (int64_t x = 2; x < w - 2; ++x)
            for (int64_t t = 0; t < 3; ++t) img[(y + t) * w + x] = 60;
        const int64_t x = band % 2 == 0 ? w - 4 : 2;  // the turn down to the next band
        for (int64_t t = 0; t < 6 && y + t + 3 < h; ++t)
            for (int64_t k = 0; k < 2; ++k) img[(y + t + 3) * w + x + k] = 60;
    }
    for (int64_t x = 2; x < 12; ++x)
        for (int64_t t = 0; t < 3; ++t) img[(2 + t) * w + x] = 255;
    for (bool l2 : {false, true}) {
        Run r{h, w, 1, 3, l2, 50, 600};
        const int64_t bad = compare(img, w, r);
        CHECK_MSG(bad == 0, "serpentine l2=%d: %lld pixels differ", int(l2), (long long)bad);
    }
}

TEST(cuda_canny_full_hd_rgb) {
    std::mt19937 rng(11);
    Run r{1080, 1920, 3, 3, false, 100, 200};
    auto img = random_image(rng, r.h, r.w, 3, r.w * 3, true);
    CHECK(compare(img, r.w * 3, r) == 0);
}
