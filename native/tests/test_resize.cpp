// Resize: the CPU paths against OpenCV 4.6's cv2.resize outputs (small cases embedded
// whole, larger ones as FNV-1a hashes, all computed by cv2 on the pattern below), the fast
// path against the per-sample reference at awkward sizes and thread counts, the method
// choice, the fixed-point bound, and argument refusals.
#include <climits>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "cpu/resize_cpu.hpp"
#include "inkwell/inkwell.h"
#include "test_util.hpp"

using namespace inkwell;
using namespace inkwell::cpu;

namespace {

// The source of the OpenCV vectors: smooth ramps, a checkerboard of +120 and a bit of noise.
std::vector<uint8_t> pattern(int64_t h, int64_t w, int64_t cn) {
    std::vector<uint8_t> img(size_t(h * w * cn));
    for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x)
            for (int64_t c = 0; c < cn; ++c)
                img[size_t((y * w + x) * cn + c)] =
                    uint8_t((y * 37 + x * 91 + c * 53 + ((x * y) % 17) * 11 + ((x / 3 + y / 2) % 2) * 120) & 255);
    return img;
}

uint64_t fnv1a(const std::vector<uint8_t>& bytes) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint8_t b : bytes) {
        h ^= b;
        h *= 0x100000001b3ull;
    }
    return h;
}

struct Context {
    inkwell_context* ctx = nullptr;
    explicit Context(int threads = 0) {
        inkwell_context_options o{INKWELL_DEVICE_CPU, threads, 0};
        CHECK(inkwell_context_create(&o, &ctx) == INKWELL_OK);
    }
    ~Context() { inkwell_context_destroy(ctx); }
};

int32_t abi_resize(inkwell_context* ctx, const std::vector<uint8_t>& src, int64_t h, int64_t w, int64_t cn,
                   std::vector<uint8_t>& dst, int64_t dh, int64_t dw, int32_t interpolation) {
    dst.assign(size_t(dh * dw * cn), 0);
    inkwell_resize_params p{};
    p.src = inkwell_image_u8{const_cast<uint8_t*>(src.data()), h, w, cn, w * cn};
    p.dst = inkwell_image_u8{dst.data(), dh, dw, cn, dw * cn};
    p.interpolation = interpolation;
    return inkwell_resize_u8(ctx, &p);
}

struct SmallCase {
    int64_t h, w, cn, dh, dw;
    int32_t interpolation;
    std::vector<uint8_t> expected;
};

// cv2.resize(pattern, (dw, dh), interpolation) with OpenCV 4.6.0.
const SmallCase kSmall[] = {
    {7, 9, 3, 11, 13, INKWELL_INTER_LANCZOS4, {
        0, 55, 84, 31, 85, 182, 116, 167, 147, 175, 254, 20, 127, 255, 183, 165, 141, 229, 242, 15, 68, 122, 80,
        150, 8, 100, 181, 30, 83, 134, 88, 181, 231, 176, 120, 175, 235, 0, 35, 0, 27, 119, 55, 121, 212, 160, 183,
        203, 219, 123, 76, 198, 82, 114, 167, 65, 186, 158, 70, 123, 133, 133, 57, 84, 154, 102, 85, 131, 193, 158,
        130, 195, 179, 100, 144, 151, 62, 117, 44, 99, 127, 83, 166, 209, 161, 171, 226, 231, 58, 103, 250, 3, 14,
        141, 35, 97, 38, 105, 158, 121, 184, 28, 157, 238, 98, 147, 181, 250, 238, 40, 115, 184, 60, 97, 61, 160,
        216, 160, 255, 65, 92, 168, 143, 75, 118, 159, 166, 185, 40, 209, 219, 0, 96, 130, 33, 0, 68, 125, 92, 157,
        162, 138, 248, 228, 133, 161, 221, 231, 4, 65, 179, 41, 89, 55, 165, 219, 252, 182, 0, 127, 140, 116, 63,
        116, 159, 168, 150, 39, 219, 170, 9, 127, 136, 73, 56, 97, 140, 124, 104, 203, 118, 130, 211, 74, 121, 172,
        166, 86, 135, 147, 80, 136, 51, 96, 151, 245, 14, 67, 146, 110, 163, 105, 142, 195, 210, 32, 85, 255, 0, 35,
        166, 79, 132, 95, 148, 201, 206, 63, 116, 151, 0, 50, 17, 88, 141, 118, 194, 247, 111, 148, 201, 0, 51, 104,
        176, 108, 241, 96, 98, 204, 70, 112, 129, 168, 152, 52, 231, 155, 2, 112, 138, 90, 46, 101, 186, 236, 35,
        102, 178, 0, 18, 0, 60, 116, 108, 203, 255, 105, 175, 221, 0, 68, 108, 171, 255, 208, 61, 149, 186, 28, 86,
        106, 157, 178, 10, 210, 220, 0, 111, 176, 47, 69, 122, 113, 187, 87, 138, 149, 61, 117, 22, 87, 140, 96,
        163, 213, 121, 119, 181, 58, 28, 100, 201, 254, 30, 99, 192, 135, 78, 99, 168, 208, 34, 63, 243, 5, 58, 210,
        112, 66, 180, 233, 47, 111, 171, 140, 93, 114, 208, 95, 155, 202, 66, 145, 190, 125, 61, 123, 210, 0, 59,
        135, 185, 87, 162, 122, 111, 178, 89, 156, 185, 91, 180, 229, 2, 152, 255, 74, 56, 188, 241, 10, 61, 166,
        116, 82, 132, 231, 135, 191, 240, 52, 122, 181, 109, 100, 93, 244, 142, 41, 55, 147, 234, 195, 42, 114, 242,
        70, 111, 138, 220, 255, 195, 117, 201, 251, 77, 32, 142, 195, 0, 49, 125, 94, 98, 130, 215, 138, 193, 245,
        54, 105, 181, 94, 161, 90, 209, 255, 47}},
    {7, 9, 3, 5, 4, INKWELL_INTER_LANCZOS4, {
        53, 114, 208, 153, 157, 202, 66, 131, 133, 172, 124, 173, 85, 162, 167, 192, 161, 0, 147, 238, 164, 201, 23,
        68, 132, 123, 176, 247, 5, 58, 206, 4, 57, 124, 161, 214, 48, 147, 174, 191, 180, 13, 174, 84, 145, 126,
        116, 180, 192, 72, 107, 242, 29, 128, 57, 112, 188, 84, 118, 100}},
    {12, 18, 1, 4, 6, INKWELL_INTER_AREA, {
        122, 127, 137, 136, 146, 138, 152, 165, 80, 108, 136, 115, 137, 174, 168, 156, 122, 96, 134, 85, 119, 143,
        120, 151}},
    {8, 10, 3, 4, 5, INKWELL_INTER_AREA, {
        67, 120, 173, 192, 117, 106, 125, 114, 103, 134, 123, 176, 131, 120, 109, 144, 133, 122, 193, 118, 43, 114,
        103, 156, 121, 110, 163, 60, 113, 166, 109, 162, 151, 194, 119, 44, 139, 128, 117, 78, 131, 184, 134, 59,
        112, 122, 111, 164, 165, 90, 143, 162, 87, 76, 147, 136, 125, 144, 197, 122}},
    {8, 10, 2, 4, 5, INKWELL_INTER_AREA, {
        67, 120, 192, 117, 125, 114, 134, 123, 131, 120, 144, 133, 193, 118, 114, 103, 121, 110, 60, 112, 109, 162,
        194, 119, 138, 128, 78, 131, 134, 58, 122, 111, 165, 90, 162, 87, 147, 136, 144, 196}},
    {13, 17, 4, 5, 7, INKWELL_INTER_AREA, {
        101, 137, 137, 150, 156, 110, 102, 114, 112, 141, 154, 106, 145, 111, 135, 142, 136, 119, 120, 101, 147,
        142, 107, 160, 154, 108, 79, 132, 137, 129, 133, 105, 148, 124, 81, 134, 119, 86, 138, 127, 82, 109, 162,
        146, 116, 110, 163, 101, 120, 165, 133, 151, 126, 171, 106, 151, 138, 123, 143, 146, 187, 102, 93, 122, 133,
        117, 150, 130, 143, 141, 107, 127, 129, 132, 138, 113, 122, 143, 142, 127, 88, 109, 148, 95, 105, 97, 127,
        155, 121, 122, 130, 160, 147, 114, 119, 110, 145, 129, 170, 134, 152, 177, 106, 106, 154, 97, 150, 109, 131,
        144, 116, 93, 170, 141, 60, 113, 106, 136, 152, 170, 134, 99, 152, 127, 117, 95, 119, 126, 162, 162, 73, 74,
        118, 95, 148, 161, 111, 123, 176, 99}},
    {9, 10, 3, 6, 12, INKWELL_INTER_AREA, {
        12, 65, 118, 88, 141, 194, 164, 165, 116, 185, 153, 103, 162, 113, 166, 169, 52, 105, 93, 147, 114, 73, 126,
        162, 125, 127, 180, 167, 100, 153, 164, 81, 99, 131, 184, 66, 142, 195, 77, 93, 145, 164, 146, 148, 98, 183,
        151, 33, 144, 129, 45, 27, 80, 133, 136, 189, 157, 119, 172, 208, 181, 80, 133, 166, 65, 118, 84, 137, 189,
        108, 160, 214, 203, 86, 138, 101, 120, 172, 152, 102, 104, 203, 86, 53, 179, 96, 80, 77, 130, 182, 227, 24,
        77, 57, 59, 112, 91, 144, 197, 91, 144, 196, 19, 72, 125, 39, 92, 145, 173, 226, 108, 82, 135, 153, 144, 95,
        97, 204, 86, 54, 194, 111, 61, 140, 193, 75, 135, 102, 155, 84, 120, 173, 82, 135, 188, 112, 97, 150, 152,
        34, 87, 176, 58, 111, 98, 151, 204, 159, 75, 128, 168, 101, 154, 173, 107, 160, 186, 85, 104, 178, 145, 28,
        106, 73, 126, 162, 130, 183, 119, 138, 140, 120, 173, 107, 162, 215, 115, 95, 148, 116, 68, 120, 174, 140,
        56, 109, 160, 94, 147, 173, 107, 160, 192, 91, 110, 195, 163, 45, 184, 151, 34, 224, 55, 74, 213, 61, 63,
        176, 126, 128, 159, 178, 214, 232, 114, 82}},
    {1, 1, 1, 3, 2, INKWELL_INTER_LANCZOS4, {
        0, 0, 0, 0, 0, 0}},
    {2, 3, 1, 5, 1, INKWELL_INTER_LANCZOS4, {
        85, 95, 115, 135, 145}},
};

struct HashCase {
    int64_t h, w, cn, dh, dw;
    int32_t interpolation;
    uint64_t fnv;
};

// FNV-1a of cv2.resize(pattern, (dw, dh), interpolation), OpenCV 4.6.0: the golden
// annotator's sizes (1080p down, 37x53 and 333x250 up, 512 halved) and mixed ones.
const HashCase kHashed[] = {
    {37, 53, 3, 512, 704, INKWELL_INTER_LANCZOS4, 0xcfec6da4d12a6bbfull},
    {333, 250, 3, 704, 512, INKWELL_INTER_LANCZOS4, 0x184ef7dd37b235d5ull},
    {97, 131, 3, 64, 64, INKWELL_INTER_AREA, 0x19b8a831b28a8d4full},
    {1080, 1920, 3, 512, 896, INKWELL_INTER_AREA, 0xd813c506bf14ee1full},
    {512, 512, 3, 256, 256, INKWELL_INTER_AREA, 0x7055a52c41a0e95eull},
    {400, 600, 3, 512, 768, INKWELL_INTER_LANCZOS4, 0xb2f12514ca5c20b7ull},
    {300, 310, 1, 320, 320, INKWELL_INTER_AREA, 0x709dec2068b82daeull},
    {257, 193, 4, 128, 64, INKWELL_INTER_AREA, 0xbc31f88337b4e5ccull},
    {100, 100, 3, 96, 160, INKWELL_INTER_LANCZOS4, 0xfd94f122ac8facd5ull},
};

}  // namespace

TEST(resize_equals_opencv_on_small_cases) {
    Context c;
    for (const SmallCase& t : kSmall) {
        const auto src = pattern(t.h, t.w, t.cn);
        std::vector<uint8_t> out, ref(t.expected.size());
        CHECK(abi_resize(c.ctx, src, t.h, t.w, t.cn, out, t.dh, t.dw, t.interpolation) == INKWELL_OK);
        resize_reference(ImageView{const_cast<uint8_t*>(src.data()), t.h, t.w, t.cn, t.w * t.cn},
                         ImageView{ref.data(), t.dh, t.dw, t.cn, t.dw * t.cn}, t.interpolation);
        CHECK_MSG(out == t.expected, "%lldx%lldx%lld -> %lldx%lld interpolation %d", (long long)t.h, (long long)t.w,
                  (long long)t.cn, (long long)t.dh, (long long)t.dw, t.interpolation);
        CHECK(ref == t.expected);
    }
}

TEST(resize_equals_opencv_hashes) {
    Context c;
    for (const HashCase& t : kHashed) {
        const auto src = pattern(t.h, t.w, t.cn);
        std::vector<uint8_t> out;
        CHECK(abi_resize(c.ctx, src, t.h, t.w, t.cn, out, t.dh, t.dw, t.interpolation) == INKWELL_OK);
        CHECK_MSG(fnv1a(out) == t.fnv, "%lldx%lldx%lld -> %lldx%lld interpolation %d: fnv %016llx", (long long)t.h,
                  (long long)t.w, (long long)t.cn, (long long)t.dh, (long long)t.dw, t.interpolation,
                  (unsigned long long)fnv1a(out));
    }
}

TEST(resize_method_follows_opencv) {
    int32_t fx = 0, fy = 0;
    CHECK(resize_method(5, 7, 5, 7, INKWELL_INTER_LANCZOS4, &fx, &fy) == ResizeMethod::kCopy);
    CHECK(resize_method(5, 7, 5, 7, INKWELL_INTER_AREA, &fx, &fy) == ResizeMethod::kCopy);
    CHECK(resize_method(8, 9, 4, 3, INKWELL_INTER_AREA, &fx, &fy) == ResizeMethod::kAreaFast && fx == 3 && fy == 2);
    CHECK(resize_method(8, 9, 8, 3, INKWELL_INTER_AREA, &fx, &fy) == ResizeMethod::kAreaFast && fx == 3 && fy == 1);
    // OpenCV's integer test is on 1 / (dst / src) in double: exact for every divisible pair.
    CHECK(resize_method(6, 6, 2, 2, INKWELL_INTER_AREA, &fx, &fy) == ResizeMethod::kAreaFast && fx == 3 && fy == 3);
    CHECK(resize_method(7, 6, 2, 2, INKWELL_INTER_AREA, &fx, &fy) == ResizeMethod::kArea);
    CHECK(resize_method(1080, 1920, 512, 896, INKWELL_INTER_AREA, &fx, &fy) == ResizeMethod::kArea);
    // ControlNet's sides rounded to multiples of 64 can grow one side and shrink the other
    // (530 x 500 to 512 x 512): OpenCV's bilinear emulation.
    CHECK(resize_method(530, 500, 512, 512, INKWELL_INTER_AREA, &fx, &fy) == ResizeMethod::kAreaLinear);
    CHECK(resize_method(4, 4, 5, 3, INKWELL_INTER_AREA, &fx, &fy) == ResizeMethod::kAreaLinear);
    CHECK(resize_method(4, 4, 2, 2, INKWELL_INTER_LANCZOS4, &fx, &fy) == ResizeMethod::kLanczos4);
}

TEST(area_fast_rounds_2x2_half_up_and_others_half_to_even) {
    Context c;
    // A 2x2 block summing to 2 (mean 0.5) and one summing to 6 (mean 1.5).
    const std::vector<uint8_t> src = {1, 1, 3, 3, 0, 0, 0, 0};  // 2x4, 1 channel
    std::vector<uint8_t> out;
    CHECK(abi_resize(c.ctx, src, 2, 4, 1, out, 1, 2, INKWELL_INTER_AREA) == INKWELL_OK);
    CHECK(out.size() == 2 && out[0] == 1 && out[1] == 2);  // (2 + 2) >> 2, (6 + 2) >> 2
    // Two channels take OpenCV's generic path: cvRound(0.5) = 0, cvRound(1.5) = 2.
    const std::vector<uint8_t> src2 = {1, 3, 1, 3, 0, 0, 0, 0};  // 2x2, 2 channels
    CHECK(abi_resize(c.ctx, src2, 2, 2, 2, out, 1, 1, INKWELL_INTER_AREA) == INKWELL_OK);
    CHECK(out.size() == 2 && out[0] == 0 && out[1] == 2);
    // A 3x1 block summing to 4: 4 * (1/3.f) = 1.33 -> 1.
    const std::vector<uint8_t> src3 = {2, 1, 1};
    CHECK(abi_resize(c.ctx, src3, 1, 3, 1, out, 1, 1, INKWELL_INTER_AREA) == INKWELL_OK);
    CHECK(out.size() == 1 && out[0] == 1);
}

TEST(area_fast_sum_wraps_as_opencv_int) {
    // 4096 x 4096 white samples sum to 255 * 2^24, past INT_MAX: OpenCV's int wraps to
    // -2^24 and the mean saturates to 0 (cv2.resize gives 0 too); 4096 x 2048 does not wrap.
    Context c;
    std::vector<uint8_t> white(size_t(4096) * 4096, 255), out;
    CHECK(abi_resize(c.ctx, white, 4096, 4096, 1, out, 1, 1, INKWELL_INTER_AREA) == INKWELL_OK);
    CHECK(out.size() == 1 && out[0] == 0);
    white.resize(size_t(4096) * 2048);
    CHECK(abi_resize(c.ctx, white, 4096, 2048, 1, out, 1, 1, INKWELL_INTER_AREA) == INKWELL_OK);
    CHECK(out.size() == 1 && out[0] == 255);
}

TEST(lanczos_fixed_point_sums_fit_int32) {
    // The header's bound: Q11 taps of any phase have a positive sum of at most 2780, so a
    // row sum is within 255 * 2780 and a column sum within 255 * 2780^2 + 2^21 < 2^31. The
    // taps of a phase sum to 2048 +- 2, so a flat area moves by at most 255 * (2050^2 / 2^22
    // - 1) < 0.5 and stays flat (constant_images_stay_constant).
    int max_positive = 0;
    for (int i = 0; i <= 4096; ++i) {
        const double scale = 0.25 + i / 4096.0 * 3.0;  // phases of many scales
        for (int64_t d = 0; d < 16; ++d) {
            int32_t first = 0;
            int16_t coef[kLanczosTaps];
            lanczos4_taps(d, AxisScale{1.0 / scale, scale}, &first, coef);
            int positive = 0, total = 0;
            for (int16_t k : coef) {
                positive += k > 0 ? k : 0;
                total += k;
            }
            max_positive = std::max(max_positive, positive);
            CHECK_MSG(total >= 2046 && total <= 2050, "taps sum to %d", total);
        }
    }
    CHECK_MSG(max_positive <= 2780, "max positive tap sum %d", max_positive);
    CHECK(255.0 * 2780 * 2780 + (1 << 21) < 2147483648.0);
}

TEST(constant_images_stay_constant) {
    Context c;
    const int64_t sizes[][4] = {{5, 7, 11, 13}, {12, 18, 4, 6}, {13, 17, 5, 7}, {9, 10, 6, 12}, {1, 1, 3, 5}, {40, 3, 7, 1}};
    for (int value : {0, 1, 127, 254, 255})
        for (auto& s : sizes)
            for (int32_t interpolation : {INKWELL_INTER_AREA, INKWELL_INTER_LANCZOS4})
                for (int64_t cn : {1, 3}) {
                    std::vector<uint8_t> src(size_t(s[0] * s[1] * cn), uint8_t(value)), out;
                    CHECK(abi_resize(c.ctx, src, s[0], s[1], cn, out, s[2], s[3], interpolation) == INKWELL_OK);
                    bool flat = true;
                    for (uint8_t v : out) flat = flat && v == value;
                    CHECK_MSG(flat, "value %d %lldx%lld -> %lldx%lld interpolation %d", value, (long long)s[0],
                              (long long)s[1], (long long)s[2], (long long)s[3], interpolation);
                }
}

TEST(resize_fast_matches_reference) {
    std::mt19937 rng(2024);
    const int64_t sides[] = {1, 2, 3, 5, 7, 8, 13, 31, 64, 97, 257};
    std::uniform_int_distribution<int> pick(0, int(std::size(sides)) - 1);
    ThreadPool one(1), three(3);
    for (int trial = 0; trial < 400; ++trial) {
        const int64_t h = sides[pick(rng)], w = sides[pick(rng)], dh = sides[pick(rng)], dw = sides[pick(rng)];
        const int64_t cn = 1 + trial % 4, stride = w * cn + trial % 3, dstride = dw * cn + 2;
        const int32_t interpolation = trial % 2 ? INKWELL_INTER_AREA : INKWELL_INTER_LANCZOS4;
        auto img = inkwell_test::random_image(rng, h, w, cn, stride, trial % 3 == 0);
        ImageView src{img.data(), h, w, cn, stride};
        std::vector<uint8_t> ref(size_t(dh * dstride), 0xAB), fast1(ref), fast3(ref);
        resize_reference(src, ImageView{ref.data(), dh, dw, cn, dstride}, interpolation);
        const ResizePlan plan = resize_plan(h, w, dh, dw, cn, interpolation);
        resize_fast(one, src, ImageView{fast1.data(), dh, dw, cn, dstride}, plan);
        resize_fast(three, src, ImageView{fast3.data(), dh, dw, cn, dstride}, plan);
        CHECK_MSG(ref == fast1 && ref == fast3, "%lldx%lldx%lld -> %lldx%lld interpolation %d", (long long)h,
                  (long long)w, (long long)cn, (long long)dh, (long long)dw, interpolation);
        bool padding_kept = true;  // the bytes after each row's pixels are never written
        for (int64_t y = 0; y < dh; ++y)
            for (int64_t i = dw * cn; i < dstride; ++i) padding_kept = padding_kept && fast3[size_t(y * dstride + i)] == 0xAB;
        CHECK(padding_kept);
    }
}

TEST(resize_refuses_bad_arguments) {
    Context c;
    std::vector<uint8_t> src(4 * 5 * 3, 7), dst(6 * 2 * 3, 9);
    auto params = [&] {
        inkwell_resize_params p{};
        p.src = inkwell_image_u8{src.data(), 4, 5, 3, 15};
        p.dst = inkwell_image_u8{dst.data(), 6, 2, 3, 6};
        p.interpolation = INKWELL_INTER_AREA;
        return p;
    };
    auto refused = [&](inkwell_context* ctx, const inkwell_resize_params* p, const char* message) {
        const std::vector<uint8_t> before = dst;
        const int32_t status = inkwell_resize_u8(ctx, p);
        CHECK_MSG(status == INKWELL_INVALID_ARGUMENT, "status %d for '%s'", status, message);
        CHECK_MSG(std::strstr(inkwell_last_error_message(), message) != nullptr, "message '%s' lacks '%s'",
                  inkwell_last_error_message(), message);
        CHECK(dst == before);
    };
    inkwell_resize_params p = params();
    CHECK(inkwell_resize_u8(c.ctx, &p) == INKWELL_OK);
    dst.assign(dst.size(), 9);
    refused(nullptr, &p, "context is null");
    refused(c.ctx, nullptr, "params is null");
    p = params();
    p.src.data = nullptr;
    refused(c.ctx, &p, "src.data is null");
    p = params();
    p.dst.channels = 1;
    p.dst.row_stride = 2;
    refused(c.ctx, &p, "resize: dst has 1 channels but src has 3");
    p = params();
    p.src.channels = 5;
    p.src.row_stride = 25;
    refused(c.ctx, &p, "src.channels must be 1..4, got 5");
    p = params();
    p.dst.height = 0;
    refused(c.ctx, &p, "dst.height must be 1..");
    p = params();
    p.dst.row_stride = 5;
    refused(c.ctx, &p, "dst.row_stride 5 is less than width * channels = 6");
    for (int32_t bad : {-1, 0, 1, 2, 5, INT_MAX}) {
        p = params();
        p.interpolation = bad;
        refused(c.ctx, &p, ("interpolation must be 3 (INKWELL_INTER_AREA) or 4 (INKWELL_INTER_LANCZOS4), got " +
                            std::to_string(bad)).c_str());
    }
    p = params();
    p.dst = inkwell_image_u8{src.data() + 3, 2, 2, 3, 6};  // inside src
    refused(c.ctx, &p, "resize: dst overlaps src");
}
