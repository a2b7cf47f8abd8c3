// PSNR and SSIM on a CUDA context against a CPU context, the result written to host
// memory on both. PSNR must be identical (an exact integer sum, the same formula); +inf for
// identical images. SSIM must agree within 1e-12 relative: the CUDA kernels repeat the CPU
// fast path's double operations in the same order (the same row and channel summation
// order too), so on a CPU build that does not contract multiply-adds (x86-64, as built
// here) it is expected bit for bit, and the test prints any difference it sees; the
// tolerance leaves room for a CPU build that fuses multiply-adds (a few ulps per pixel,
// averaged). Shapes: 1x1 (PSNR), the 11x11 minimum, odd widths, rows that cross the 256
// column segments of the SSIM kernel, 1 to 4 channels, padded strides, full HD RGB.
#include <cmath>
#include <cstring>
#include <random>

#include "cuda_test_util.hpp"

using namespace inkwell_test;

namespace {

constexpr double kSsimRtol = 1e-12;

struct Images {
    std::vector<uint8_t> a, b;
    int64_t h, w, cn, a_stride, b_stride;
};

// b is a with noise of up to +-amplitude (clamped), so SSIM spans a useful range.
Images random_pair(std::mt19937& rng, int64_t h, int64_t w, int64_t cn, int amplitude) {
    Images im{{}, {}, h, w, cn, w * cn + int64_t(rng() % 3) * 5, w * cn + int64_t(rng() % 2) * 3};
    im.a = random_image(rng, h, w, cn, im.a_stride, true);
    im.b.assign(h * im.b_stride, 0xEE);
    std::uniform_int_distribution<int> noise(-amplitude, amplitude);
    for (int64_t y = 0; y < h; ++y)
        for (int64_t i = 0; i < w * cn; ++i) {
            const int v = int(im.a[y * im.a_stride + i]) + noise(rng);
            im.b[y * im.b_stride + i] = uint8_t(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    return im;
}

struct Results {
    double cpu, cuda;
    bool ok;
};

Results both(const Images& im, int32_t (*metric)(inkwell_context*, const inkwell_image_metric_params*)) {
    Results r{-1, -2, true};
    inkwell_image_metric_params p{};
    p.reference = inkwell_image_u8{const_cast<uint8_t*>(im.a.data()), im.h, im.w, im.cn, im.a_stride};
    p.test = inkwell_image_u8{const_cast<uint8_t*>(im.b.data()), im.h, im.w, im.cn, im.b_stride};
    p.result = &r.cpu;
    if (metric(cpu_ctx(), &p) != INKWELL_OK) {
        std::printf("  cpu: %s\n", inkwell_last_error_message());
        r.ok = false;
    }
    DeviceBuffer<uint8_t> a(im.a), b(im.b);
    p.reference.data = a.get();
    p.test.data = b.get();
    p.result = &r.cuda;  // host memory, also with a CUDA context
    if (metric(cuda_ctx(), &p) != INKWELL_OK) {
        std::printf("  cuda: %s\n", inkwell_last_error_message());
        r.ok = false;
    }
    return r;
}

void expect_psnr(const Images& im) {
    const Results r = both(im, inkwell_psnr_u8);
    CHECK_MSG(r.ok && (r.cpu == r.cuda || (std::isinf(r.cpu) && std::isinf(r.cuda) && r.cpu > 0 && r.cuda > 0)),
              "psnr %lldx%lld cn=%lld: cuda %.17g cpu %.17g", (long long)im.h, (long long)im.w, (long long)im.cn,
              r.cuda, r.cpu);
}

void expect_ssim(const Images& im) {
    const Results r = both(im, inkwell_ssim_u8);
    const double diff = std::fabs(r.cuda - r.cpu);
    if (diff != 0)
        std::printf("  note: ssim %lldx%lld cn=%lld differs from the CPU by %.3g (%.17g vs %.17g)\n", (long long)im.h,
                    (long long)im.w, (long long)im.cn, diff, r.cuda, r.cpu);
    CHECK_MSG(r.ok && diff <= kSsimRtol * std::fabs(r.cpu), "ssim %lldx%lld cn=%lld: cuda %.17g cpu %.17g",
              (long long)im.h, (long long)im.w, (long long)im.cn, r.cuda, r.cpu);
}

}  // namespace

TEST(cuda_psnr_matches_cpu) {
    std::mt19937 rng(23);
    const int64_t sizes[][2] = {{1, 1}, {1, 9}, {9, 1}, {11, 11}, {33, 31}, {97, 131}, {300, 1021}, {5, 257}};
    for (auto& hw : sizes)
        for (int64_t cn : {1, 2, 3, 4})
            for (int amplitude : {0, 1, 40, 255}) expect_psnr(random_pair(rng, hw[0], hw[1], cn, amplitude));
}

TEST(cuda_psnr_of_identical_images_is_infinite) {
    std::mt19937 rng(29);
    Images im = random_pair(rng, 40, 41, 3, 0);
    const Results r = both(im, inkwell_psnr_u8);
    CHECK(r.ok && std::isinf(r.cuda) && r.cuda > 0 && std::isinf(r.cpu));
}

TEST(cuda_ssim_matches_cpu) {
    std::mt19937 rng(31);
    const int64_t sizes[][2] = {{11, 11}, {11, 12}, {12, 11}, {13, 17}, {33, 31}, {97, 131},
                                {20, 265}, {20, 266}, {20, 267}, {21, 522}, {40, 1021}};
    for (auto& hw : sizes)
        for (int64_t cn : {1, 2, 3, 4})
            for (int amplitude : {0, 3, 60}) expect_ssim(random_pair(rng, hw[0], hw[1], cn, amplitude));
}

TEST(cuda_metrics_full_hd_rgb) {
    std::mt19937 rng(37);
    const Images im = random_pair(rng, 1080, 1920, 3, 20);
    expect_psnr(im);
    expect_ssim(im);
}

TEST(cuda_metrics_reject_what_the_cpu_rejects) {
    DeviceBuffer<uint8_t> a(100), b(100);
    double result = 0;
    inkwell_image_metric_params p{};
    p.reference = inkwell_image_u8{a.get(), 10, 10, 1, 10};
    p.test = inkwell_image_u8{b.get(), 10, 10, 1, 10};
    p.result = &result;
    CHECK(inkwell_ssim_u8(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);  // below 11x11
    CHECK(inkwell_psnr_u8(cuda_ctx(), &p) == INKWELL_OK);
    p.test.width = 9;  // size mismatch
    CHECK(inkwell_psnr_u8(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);
    p.test.width = 10;
    p.result = nullptr;
    CHECK(inkwell_psnr_u8(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);
}
