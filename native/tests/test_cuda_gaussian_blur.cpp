// Gaussian blur on a CUDA context against a CPU context: bit-identical output (the padding
// bytes of dst rows untouched too) on random images of awkward sizes (one pixel, one row,
// one column, images narrower and shorter than the kernel, prime sides, rows wider than
// one 256-byte block), 1 to 4 channels, padded strides, ksize 1 to 127 and sigma-only
// kernels; a full HD RGB image; and the same argument errors as the CPU.
#include <random>

#include "cuda_test_util.hpp"

using namespace inkwell_test;

namespace {

struct Run {
    int64_t h, w, cn;
    int ksize;
    double sigma;
    int64_t src_pad, dst_pad;
};

// Runs both backends; returns the number of differing bytes of the dst buffers.
int64_t compare(std::mt19937& rng, const Run& r) {
    const int64_t src_stride = r.w * r.cn + r.src_pad, dst_stride = r.w * r.cn + r.dst_pad;
    const auto img = random_image(rng, r.h, r.w, r.cn, src_stride, true);
    std::vector<uint8_t> cpu_out(r.h * dst_stride, 77);
    inkwell_gaussian_blur_params p{};
    p.src = inkwell_image_u8{const_cast<uint8_t*>(img.data()), r.h, r.w, r.cn, src_stride};
    p.dst = inkwell_image_u8{cpu_out.data(), r.h, r.w, r.cn, dst_stride};
    p.ksize = r.ksize;
    p.sigma = r.sigma;
    CHECK_MSG(inkwell_gaussian_blur_u8(cpu_ctx(), &p) == INKWELL_OK, "cpu: %s", inkwell_last_error_message());

    DeviceBuffer<uint8_t> src(img), dst(std::vector<uint8_t>(r.h * dst_stride, 77));
    p.src.data = src.get();
    p.dst.data = dst.get();
    const int32_t st = inkwell_gaussian_blur_u8(cuda_ctx(), &p);
    CHECK_MSG(st == INKWELL_OK, "cuda: %s", inkwell_last_error_message());
    const std::vector<uint8_t> gpu_out = dst.download();
    int64_t bad = 0;
    for (int64_t y = 0; y < r.h; ++y)
        for (int64_t x = 0; x < dst_stride; ++x) {
            const uint8_t a = gpu_out[y * dst_stride + x], b = cpu_out[y * dst_stride + x];
            if (a != b && bad++ < 5)
                std::printf("    (%lld, byte %lld): cuda %d cpu %d\n", (long long)y, (long long)x, int(a), int(b));
        }
    return bad;
}

void expect_same(std::mt19937& rng, const Run& r) {
    const int64_t bad = compare(rng, r);
    CHECK_MSG(bad == 0, "%lldx%lld cn=%lld ksize=%d sigma=%g pads %lld/%lld: %lld bytes differ", (long long)r.h,
              (long long)r.w, (long long)r.cn, r.ksize, r.sigma, (long long)r.src_pad, (long long)r.dst_pad,
              (long long)bad);
}

}  // namespace

TEST(cuda_gaussian_blur_matches_cpu_on_random_images) {
    std::mt19937 rng(2025);
    const int64_t sizes[][2] = {{1, 1}, {1, 9}, {9, 1}, {2, 3}, {5, 7}, {33, 31}, {97, 131}, {64, 257}, {19, 1021}};
    for (auto& hw : sizes)
        for (int64_t cn : {1, 2, 3, 4})
            for (int ksize : {1, 3, 5, 7, 15}) {
                const int64_t pad = (hw[0] + hw[1] + ksize) % 3 == 0 ? 0 : 5;
                expect_same(rng, Run{hw[0], hw[1], cn, ksize, 0.0, pad, 3 - pad % 4});
            }
}

TEST(cuda_gaussian_blur_kernel_larger_than_the_image) {
    std::mt19937 rng(7);
    const int64_t sizes[][2] = {{1, 1}, {2, 2}, {3, 200}, {200, 3}, {5, 9}, {63, 64}, {130, 70}};
    for (auto& hw : sizes)
        for (int ksize : {31, 63, 65, 127})
            for (int64_t cn : {1, 3, 4}) expect_same(rng, Run{hw[0], hw[1], cn, ksize, 0.0, 1, 2});
}

TEST(cuda_gaussian_blur_with_sigma) {
    std::mt19937 rng(9);
    // ksize 0: derived from sigma (sigma 20 gives 121); ksize and sigma both given.
    const struct {
        int ksize;
        double sigma;
    } kernels[] = {{0, 0.3}, {0, 1.0}, {0, 1.7}, {0, 5.5}, {0, 20.0}, {5, 0.8}, {9, 3.0}, {127, 11.0}, {11, 0.0}};
    for (auto& k : kernels)
        for (int64_t cn : {1, 3}) expect_same(rng, Run{131, 97, cn, k.ksize, k.sigma, 7, 0});
}

TEST(cuda_gaussian_blur_full_hd_rgb) {
    std::mt19937 rng(11);
    expect_same(rng, Run{1080, 1920, 3, 5, 0.0, 0, 0});
    expect_same(rng, Run{1080, 1920, 3, 0, 2.5, 64, 0});
}

TEST(cuda_gaussian_blur_rejects_what_the_cpu_rejects) {
    DeviceBuffer<uint8_t> src(64), dst(64);
    inkwell_gaussian_blur_params p{};
    p.src = inkwell_image_u8{src.get(), 8, 8, 1, 8};
    p.dst = inkwell_image_u8{dst.get(), 8, 8, 1, 8};
    p.ksize = 4;  // even
    CHECK(inkwell_gaussian_blur_u8(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);
    p.ksize = 129;  // above 127
    CHECK(inkwell_gaussian_blur_u8(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);
    p.ksize = 0;  // and sigma 0
    CHECK(inkwell_gaussian_blur_u8(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);
    p.ksize = 3;
    p.dst.channels = 3;  // channel mismatch
    p.dst.row_stride = 24;
    CHECK(inkwell_gaussian_blur_u8(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);
    p.dst = p.src;  // in place: overlaps
    CHECK(inkwell_gaussian_blur_u8(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);
}
