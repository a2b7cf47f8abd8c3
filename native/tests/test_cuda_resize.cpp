// Resize on a CUDA context against a CPU context: bit-identical output (the padding bytes
// of dst rows untouched too) for every method cv::resize picks (copy, area with integer
// factors, 2x2 area, general area, the bilinear emulation when a side grows, Lanczos-4),
// awkward sizes (one pixel, one row, prime sides, 1021 wide), 1 to 4 channels, padded
// strides; the golden annotator's sizes (1080p to 512x896, 37x53 to 512x704); and the
// same argument errors as the CPU.
#include <random>

#include "cuda_test_util.hpp"

using namespace inkwell_test;

namespace {

struct Run {
    int64_t h, w, cn, dh, dw;
    int32_t interpolation;
    int64_t src_pad, dst_pad;
};

// Runs both backends; returns the number of differing bytes of the dst buffers.
int64_t compare(std::mt19937& rng, const Run& r) {
    const int64_t src_stride = r.w * r.cn + r.src_pad, dst_stride = r.dw * r.cn + r.dst_pad;
    const auto img = random_image(rng, r.h, r.w, r.cn, src_stride, true);
    std::vector<uint8_t> cpu_out(size_t(r.dh * dst_stride), 77);
    inkwell_resize_params p{};
    p.src = inkwell_image_u8{const_cast<uint8_t*>(img.data()), r.h, r.w, r.cn, src_stride};
    p.dst = inkwell_image_u8{cpu_out.data(), r.dh, r.dw, r.cn, dst_stride};
    p.interpolation = r.interpolation;
    CHECK_MSG(inkwell_resize_u8(cpu_ctx(), &p) == INKWELL_OK, "cpu: %s", inkwell_last_error_message());

    DeviceBuffer<uint8_t> src(img), dst(std::vector<uint8_t>(size_t(r.dh * dst_stride), 77));
    p.src.data = src.get();
    p.dst.data = dst.get();
    const int32_t st = inkwell_resize_u8(cuda_ctx(), &p);
    CHECK_MSG(st == INKWELL_OK, "cuda: %s", inkwell_last_error_message());
    const std::vector<uint8_t> gpu_out = dst.download();
    int64_t bad = 0;
    for (int64_t y = 0; y < r.dh; ++y)
        for (int64_t x = 0; x < dst_stride; ++x) {
            const uint8_t a = gpu_out[size_t(y * dst_stride + x)], b = cpu_out[size_t(y * dst_stride + x)];
            if (a != b && bad++ < 5)
                std::printf("    (%lld, byte %lld): cuda %d cpu %d\n", (long long)y, (long long)x, int(a), int(b));
        }
    return bad;
}

void expect_same(std::mt19937& rng, const Run& r) {
    const int64_t bad = compare(rng, r);
    CHECK_MSG(bad == 0, "%lldx%lldx%lld -> %lldx%lld interpolation %d pads %lld/%lld: %lld bytes differ",
              (long long)r.h, (long long)r.w, (long long)r.cn, (long long)r.dh, (long long)r.dw, r.interpolation,
              (long long)r.src_pad, (long long)r.dst_pad, (long long)bad);
}

}  // namespace

TEST(cuda_resize_matches_cpu_on_random_sizes) {
    std::mt19937 rng(2026);
    const int64_t sides[] = {1, 2, 3, 7, 8, 16, 31, 64, 97, 257};
    std::uniform_int_distribution<int> pick(0, int(std::size(sides)) - 1);
    for (int trial = 0; trial < 300; ++trial) {
        const int64_t cn = 1 + trial % 4;
        const int32_t interpolation = trial % 2 ? INKWELL_INTER_AREA : INKWELL_INTER_LANCZOS4;
        expect_same(rng, Run{sides[pick(rng)], sides[pick(rng)], cn, sides[pick(rng)], sides[pick(rng)], interpolation,
                             trial % 3, (trial / 3) % 4});
    }
}

TEST(cuda_resize_every_method) {
    std::mt19937 rng(5);
    for (int64_t cn : {1, 2, 3, 4}) {
        expect_same(rng, Run{33, 31, cn, 33, 31, INKWELL_INTER_AREA, 3, 1});         // copy
        expect_same(rng, Run{64, 90, cn, 32, 45, INKWELL_INTER_AREA, 0, 2});         // 2x2 area
        expect_same(rng, Run{63, 90, cn, 21, 18, INKWELL_INTER_AREA, 1, 0});         // 3x5 area
        expect_same(rng, Run{97, 131, cn, 40, 61, INKWELL_INTER_AREA, 2, 3});        // general area
        expect_same(rng, Run{530, 500, cn, 512, 512, INKWELL_INTER_AREA, 0, 0});     // bilinear emulation
        expect_same(rng, Run{19, 1021, cn, 64, 3000, INKWELL_INTER_LANCZOS4, 5, 1});  // Lanczos up
        expect_same(rng, Run{257, 97, cn, 100, 31, INKWELL_INTER_LANCZOS4, 0, 4});    // Lanczos down
    }
}

TEST(cuda_resize_golden_annotator_sizes) {
    std::mt19937 rng(13);
    expect_same(rng, Run{1080, 1920, 3, 512, 896, INKWELL_INTER_AREA, 0, 0});
    expect_same(rng, Run{512, 512, 3, 256, 256, INKWELL_INTER_AREA, 0, 0});
    expect_same(rng, Run{37, 53, 3, 512, 704, INKWELL_INTER_LANCZOS4, 0, 0});
    expect_same(rng, Run{333, 250, 3, 704, 512, INKWELL_INTER_LANCZOS4, 0, 0});
    expect_same(rng, Run{400, 600, 3, 512, 768, INKWELL_INTER_LANCZOS4, 0, 0});
}

TEST(cuda_resize_area_sum_wraps_as_on_the_cpu) {
    // 4096 x 4096 white samples overflow OpenCV's int box sum: both backends give 0.
    std::vector<uint8_t> white(size_t(4096) * 4096, 255);
    DeviceBuffer<uint8_t> src(white), dst(1);
    inkwell_resize_params p{};
    p.src = inkwell_image_u8{src.get(), 4096, 4096, 1, 4096};
    p.dst = inkwell_image_u8{dst.get(), 1, 1, 1, 1};
    p.interpolation = INKWELL_INTER_AREA;
    CHECK(inkwell_resize_u8(cuda_ctx(), &p) == INKWELL_OK);
    CHECK(dst.download()[0] == 0);
}

TEST(cuda_resize_rejects_what_the_cpu_rejects) {
    DeviceBuffer<uint8_t> src(64), dst(64);
    inkwell_resize_params p{};
    p.src = inkwell_image_u8{src.get(), 8, 8, 1, 8};
    p.dst = inkwell_image_u8{dst.get(), 4, 4, 1, 4};
    p.interpolation = 2;  // INTER_CUBIC: not offered
    CHECK(inkwell_resize_u8(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);
    p.interpolation = INKWELL_INTER_AREA;
    p.dst.channels = 3;  // channel mismatch
    p.dst.row_stride = 12;
    CHECK(inkwell_resize_u8(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);
    p.dst = p.src;  // in place: overlaps
    CHECK(inkwell_resize_u8(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);
    std::vector<uint8_t> host(64);
    p.dst = inkwell_image_u8{host.data(), 4, 4, 1, 4};  // host memory with a CUDA context
    CHECK(inkwell_resize_u8(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);
}
