// Resampling on a CUDA context against a CPU context: the same bits for every mode on
// random shapes (1x1 upsampling, 2x2 and odd-sided pools whose last row or column is
// dropped, several planes, rows of prime length), inputs with NaN, infinities and signed
// zeros (a NaN counts as equal to any NaN: its payload is not part of the contract), and
// the same argument errors as the CPU.
#include <cmath>
#include <cstring>
#include <random>

#include "cuda_test_util.hpp"

using namespace inkwell_test;

namespace {

const char* const kModeNames[] = {"nearest", "bilinear", "max_pool", "avg_pool"};

struct Run {
    int64_t batch, channels, h, w;
    int32_t mode;
};

int64_t output_count(const Run& r) {
    const bool up = r.mode == INKWELL_UPSAMPLE_NEAREST_2X || r.mode == INKWELL_UPSAMPLE_BILINEAR_2X;
    return r.batch * r.channels * (up ? 4 * r.h * r.w : (r.h / 2) * (r.w / 2));
}

std::vector<float> random_input(std::mt19937& rng, int64_t count, bool specials) {
    std::vector<float> v(count);
    std::uniform_real_distribution<float> value(-4.0f, 4.0f);
    for (auto& x : v) x = value(rng);
    if (specials) {
        const float special[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e-40f, -3.4e38f};
        for (int64_t i = 0; i < count; i += 1 + int64_t(rng() % 13))
            v[i] = special[rng() % (sizeof special / sizeof special[0])];
    }
    return v;
}

int64_t compare(std::mt19937& rng, const Run& r, bool specials) {
    const int64_t in_count = r.batch * r.channels * r.h * r.w, out_count = output_count(r);
    const auto input = random_input(rng, in_count, specials);
    std::vector<float> cpu_out(out_count, 123.0f);
    inkwell_resample_params p{input.data(), cpu_out.data(), r.batch, r.channels, r.h, r.w, r.mode};
    CHECK_MSG(inkwell_resample_f32(cpu_ctx(), &p) == INKWELL_OK, "cpu: %s", inkwell_last_error_message());
    DeviceBuffer<float> in(input), out(std::vector<float>(out_count, 123.0f));
    p.input = in.get();
    p.output = out.get();
    const int32_t st = inkwell_resample_f32(cuda_ctx(), &p);
    CHECK_MSG(st == INKWELL_OK, "cuda: %s", inkwell_last_error_message());
    const std::vector<float> gpu_out = out.download();
    int64_t bad = 0;
    for (int64_t i = 0; i < out_count; ++i) {
        uint32_t a, b;
        std::memcpy(&a, &gpu_out[i], 4);
        std::memcpy(&b, &cpu_out[i], 4);
        const bool same = a == b || (std::isnan(gpu_out[i]) && std::isnan(cpu_out[i]));
        if (!same && bad++ < 5)
            std::printf("    output %lld: cuda %.9g (0x%08x) cpu %.9g (0x%08x)\n", (long long)i, double(gpu_out[i]), a,
                        double(cpu_out[i]), b);
    }
    return bad;
}

void expect_same(std::mt19937& rng, const Run& r, bool specials) {
    const int64_t bad = compare(rng, r, specials);
    CHECK_MSG(bad == 0, "%s [%lld, %lld, %lld, %lld]%s: %lld outputs differ", kModeNames[r.mode], (long long)r.batch,
              (long long)r.channels, (long long)r.h, (long long)r.w, specials ? " with NaN/inf" : "", (long long)bad);
}

}  // namespace

TEST(cuda_resample_matches_cpu_on_random_shapes) {
    std::mt19937 rng(17);
    const int64_t shapes[][4] = {{1, 1, 1, 1},  {1, 1, 2, 2},   {1, 1, 1, 7},   {1, 1, 7, 1},   {1, 1, 2, 3},
                                 {1, 3, 5, 7},  {2, 4, 33, 31}, {1, 2, 97, 131}, {3, 1, 2, 1021}, {1, 4, 64, 64}};
    for (auto& s : shapes)
        for (int32_t mode = 0; mode < 4; ++mode) {
            const bool pool = mode >= INKWELL_MAX_POOL_2X2;
            if (pool && (s[2] < 2 || s[3] < 2)) continue;
            for (bool specials : {false, true}) expect_same(rng, Run{s[0], s[1], s[2], s[3], mode}, specials);
        }
}

TEST(cuda_resample_matches_cpu_on_unet_shapes) {
    std::mt19937 rng(19);
    for (int32_t mode = 0; mode < 4; ++mode) {
        expect_same(rng, Run{2, 320, 64, 64, mode}, false);
        expect_same(rng, Run{1, 3, 513, 769, mode}, false);
    }
}

TEST(cuda_resample_rejects_what_the_cpu_rejects) {
    DeviceBuffer<float> in(64), out(256);
    inkwell_resample_params p{in.get(), out.get(), 1, 1, 1, 8, INKWELL_MAX_POOL_2X2};  // a pool needs 2x2
    CHECK(inkwell_resample_f32(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);
    p.mode = 4;
    CHECK(inkwell_resample_f32(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);
    p.mode = INKWELL_UPSAMPLE_NEAREST_2X;
    p.output = in.get();  // overlaps the input
    CHECK(inkwell_resample_f32(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);
    p.output = out.get();
    p.batch = 0;
    CHECK(inkwell_resample_f32(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);
}

// upsample_nearest2d to explicit sizes: up, down, equal, exactly 2x, 1xN and the U-Net's
// odd skip sizes, the same bits as the CPU (every output is a copy of some input, so any
// index difference shows).
TEST(cuda_upsample_nearest2d_matches_cpu) {
    std::mt19937 rng(23);
    const int64_t shapes[][6] = {{1, 1, 1, 1, 1, 1},   {1, 1, 1, 1, 3, 5},     {1, 2, 4, 5, 7, 9},
                                 {2, 3, 7, 9, 3, 4},   {1, 1, 1, 9, 1, 17},    {1, 1, 5, 1, 11, 1},
                                 {1, 2, 6, 10, 12, 20}, {2, 4, 33, 31, 65, 61}, {1, 3, 97, 131, 50, 300},
                                 {2, 320, 4, 5, 7, 9}};
    for (auto& s : shapes) {
        const int64_t in_count = s[0] * s[1] * s[2] * s[3], out_count = s[0] * s[1] * s[4] * s[5];
        const auto input = random_input(rng, in_count, true);
        std::vector<float> cpu_out(out_count, 123.0f);
        inkwell_upsample_nearest2d_params p{input.data(), cpu_out.data(), s[0], s[1], s[2], s[3], s[4], s[5]};
        CHECK_MSG(inkwell_upsample_nearest2d_f32(cpu_ctx(), &p) == INKWELL_OK, "cpu: %s", inkwell_last_error_message());
        DeviceBuffer<float> in(input), out(std::vector<float>(out_count, 123.0f));
        p.input = in.get();
        p.output = out.get();
        CHECK_MSG(inkwell_upsample_nearest2d_f32(cuda_ctx(), &p) == INKWELL_OK, "cuda: %s",
                  inkwell_last_error_message());
        CHECK_MSG(std::memcmp(out.download().data(), cpu_out.data(), size_t(out_count) * sizeof(float)) == 0,
                  "upsample_nearest2d [%lld, %lld, %lld, %lld] -> %lldx%lld differs", (long long)s[0],
                  (long long)s[1], (long long)s[2], (long long)s[3], (long long)s[4], (long long)s[5]);
    }
    // the 16-bit entries (bit copies): the same as the CPU's
    for (auto& s : shapes) {
        const int64_t in_count = s[0] * s[1] * s[2] * s[3], out_count = s[0] * s[1] * s[4] * s[5];
        std::vector<uint16_t> input(static_cast<size_t>(in_count));
        for (auto& v : input) v = uint16_t(rng());
        for (bool bf16 : {false, true}) {
            auto entry = bf16 ? inkwell_upsample_nearest2d_bf16 : inkwell_upsample_nearest2d_f16;
            std::vector<uint16_t> cpu_out(size_t(out_count), 123);
            inkwell_upsample_nearest2d_params p{input.data(), cpu_out.data(), s[0], s[1], s[2], s[3], s[4], s[5]};
            CHECK_MSG(entry(cpu_ctx(), &p) == INKWELL_OK, "cpu: %s", inkwell_last_error_message());
            DeviceBuffer<uint16_t> in(input), out(std::vector<uint16_t>(size_t(out_count), 123));
            p.input = in.get();
            p.output = out.get();
            CHECK_MSG(entry(cuda_ctx(), &p) == INKWELL_OK, "cuda: %s", inkwell_last_error_message());
            CHECK_MSG(out.download() == cpu_out, "upsample_nearest2d %s [%lld, %lld, %lld, %lld] -> %lldx%lld differs",
                      bf16 ? "bf16" : "f16", (long long)s[0], (long long)s[1], (long long)s[2], (long long)s[3],
                      (long long)s[4], (long long)s[5]);
        }
    }
    DeviceBuffer<float> in(64), out(256);
    inkwell_upsample_nearest2d_params bad{in.get(), in.get(), 1, 1, 8, 8, 8, 8};  // output overlaps input
    CHECK(inkwell_upsample_nearest2d_f32(cuda_ctx(), &bad) == INKWELL_INVALID_ARGUMENT);
    bad.output = out.get();
    bad.out_height = 0;
    CHECK(inkwell_upsample_nearest2d_f32(cuda_ctx(), &bad) == INKWELL_INVALID_ARGUMENT);
}
