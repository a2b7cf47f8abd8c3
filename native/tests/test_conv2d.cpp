// Conv2d: the fast path (both micro-kernels) against the double-precision reference on
// random shapes (batches, groups, depthwise, strides past the kernel, dilation, anisotropic
// stride and padding, 1x1, 7x7 stride 2, odd sizes, 1x1 images, SiLU, no bias), bit-identity
// for any thread count, exactness on small integers, and the C ABI's argument checks; the f16
// and bf16 entries (see the section at the end).
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "cpu/conv2d_cpu.hpp"
#include "element_types.hpp"
#include "inkwell/inkwell.h"
#include "reference16.hpp"
#include "test_util.hpp"

using namespace inkwell;
using namespace inkwell::cpu;

namespace {

struct Case {
    int64_t n, c, h, w, cout, kh, kw, sh, sw, ph, pw, dh, dw, groups;
    bool silu, bias;
};

int64_t out_size(int64_t in, int64_t pad, int64_t dilation, int64_t kernel, int64_t stride) {
    return (in + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;
}

std::string case_name(const Case& k) {
    char s[200];
    std::snprintf(s, sizeof s, "[%lld,%lld,%lld,%lld]->%lld k%lldx%lld s%lld,%lld p%lld,%lld d%lld,%lld g%lld%s%s",
                  (long long)k.n, (long long)k.c, (long long)k.h, (long long)k.w, (long long)k.cout,
                  (long long)k.kh, (long long)k.kw, (long long)k.sh, (long long)k.sw, (long long)k.ph,
                  (long long)k.pw, (long long)k.dh, (long long)k.dw, (long long)k.groups, k.silu ? " silu" : "",
                  k.bias ? "" : " no-bias");
    return s;
}

// Owns the tensors of one case; params() points into them.
struct Problem {
    Case k;
    std::vector<float> x, w, b, y;
    int64_t oh, ow;

    Problem(const Case& c, std::mt19937& rng, bool small_integers) : k(c) {
        oh = out_size(c.h, c.ph, c.dh, c.kh, c.sh);
        ow = out_size(c.w, c.pw, c.dw, c.kw, c.sw);
        x.resize(c.n * c.c * c.h * c.w);
        w.resize(c.cout * (c.c / c.groups) * c.kh * c.kw);
        b.resize(c.cout);
        y.resize(c.n * c.cout * oh * ow);
        std::uniform_real_distribution<float> real(-1, 1);
        std::uniform_int_distribution<int> integer(-2, 2);
        auto fill = [&](std::vector<float>& v) {
            for (float& e : v) e = small_integers ? float(integer(rng)) : real(rng);
        };
        fill(x);
        fill(w);
        fill(b);
    }

    int64_t reduction() const { return (k.c / k.groups) * k.kh * k.kw; }

    inkwell_conv2d_params params(float* out) const {
        return inkwell_conv2d_params{x.data(), w.data(), k.bias ? b.data() : nullptr, out, k.n, k.c, k.h, k.w,
                                     k.cout,   k.kh,     k.kw,  k.sh, k.sw, k.ph, k.pw, k.dh, k.dw, k.groups,
                                     oh,       ow,       k.silu ? INKWELL_ACTIVATION_SILU : INKWELL_ACTIVATION_NONE};
    }

    std::string name() const { return case_name(k); }
};

// |got - ref| <= atol + rtol |ref| everywhere; prints the first ten mismatches.
int count_mismatches(const std::vector<float>& got, const std::vector<float>& ref, double atol, double rtol,
                     const std::string& what) {
    int bad = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        if (!std::isfinite(ref[i])) continue;
        const double err = std::fabs(double(got[i]) - ref[i]);
        if (!(err <= atol + rtol * std::fabs(ref[i]))) {
            if (++bad <= 10) std::printf("  %s: at %zu got %.9g want %.9g\n", what.c_str(), i, got[i], ref[i]);
        }
    }
    return bad;
}

bool bit_identical(const std::vector<float>& a, const std::vector<float>& b) {
    return std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

const Case kCases[] = {
    // n  c   h   w  cout kh kw sh sw ph pw dh dw groups silu  bias
    {2, 5, 9, 11, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, true},           // batch > 1, SiLU
    {1, 8, 13, 10, 12, 3, 3, 1, 1, 1, 1, 1, 1, 4, false, true},        // groups 4, 3 rows per group
    {2, 6, 12, 12, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6, false, true},         // depthwise
    {1, 6, 10, 9, 12, 3, 3, 2, 2, 1, 1, 1, 1, 6, true, false},         // depthwise, multiplier 2
    {1, 8, 6, 6, 200, 3, 3, 1, 1, 1, 1, 1, 1, 2, false, true},         // groups with several row blocks
    {1, 3, 17, 19, 5, 2, 2, 3, 3, 0, 0, 1, 1, 1, false, true},         // stride > kernel
    {1, 6, 17, 23, 10, 3, 3, 1, 1, 2, 2, 2, 2, 1, false, true},        // dilation 2
    {1, 5, 15, 9, 7, 3, 5, 2, 1, 1, 2, 1, 3, 1, false, true},          // anisotropic everything
    {2, 19, 7, 9, 23, 1, 1, 1, 1, 0, 0, 1, 1, 1, false, true},         // 1x1 (a GEMM)
    {2, 38, 23, 17, 30, 1, 1, 1, 1, 0, 0, 1, 1, 2, false, true},       // 1x1 packed in place: 2 pixel blocks, groups
    {1, 3, 64, 64, 16, 7, 7, 2, 2, 3, 3, 1, 1, 1, false, true},        // 7x7 stride 2 stem
    {1, 4, 97, 31, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, false, false},        // odd sizes, no bias
    {1, 13, 20, 20, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, false},       // channels off the SIMD width
    {1, 8, 1, 1, 10, 1, 1, 1, 1, 0, 0, 1, 1, 1, false, true},          // 1x1 image
    {3, 8, 1, 1, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, true},           // 1x1 image, 3x3 padded
    {1, 2, 3, 3, 4, 5, 5, 1, 1, 2, 2, 1, 1, 1, false, true},           // kernel larger than the image
    {1, 64, 10, 10, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, false, true},       // several K blocks
    {1, 40, 20, 18, 30, 3, 3, 1, 1, 1, 1, 1, 1, 1, false, true},       // several pixel blocks
    {1, 320, 8, 8, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, false, true},        // SD-sized reduction
    {2, 16, 33, 31, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, false, true},       // stride-2 downsample, odd
    {1, 7, 11, 13, 97, 3, 1, 1, 2, 0, 3, 2, 1, 1, true, true},         // 1-wide kernel, pad > kernel
    {2, 64, 20, 20, 200, 3, 3, 1, 1, 1, 1, 1, 1, 2, false, true},      // prepacked weights: groups, 2 passes of tiles
    {1, 64, 12, 12, 200, 3, 3, 1, 1, 1, 1, 1, 1, 2, true, true},       // weights packed per task, 2 passes, row splits
};

// The kernels this machine runs at the SIMD level in effect (INKWELL_SIMD caps it: ctest
// runs this file again at every lower level), each with its name.
std::vector<std::pair<Conv2dIsa, const char*>> available_isas() {
    std::vector<std::pair<Conv2dIsa, const char*>> isas{{Conv2dIsa::kAuto, "auto"}, {Conv2dIsa::kPortable, "portable"}};
    if (conv2d_isa_available(Conv2dIsa::kAvx2)) isas.emplace_back(Conv2dIsa::kAvx2, "avx2");
    if (conv2d_isa_available(Conv2dIsa::kAvx512)) isas.emplace_back(Conv2dIsa::kAvx512, "avx512");
    return isas;
}

}  // namespace

TEST(conv2d_fast_matches_reference_on_random_shapes) {
    std::mt19937 rng(2024);
    const int thread_counts[] = {1, 2, 3, 7};
    for (const Case& c : kCases) {
        Problem pr(c, rng, false);
        std::vector<float> ref(pr.y.size());
        conv2d_reference(pr.params(ref.data()));
        // Float sums of K terms err by about eps sqrt(K) relative to their size.
        const double tol = 2e-5 * std::sqrt(double(pr.reduction()));
        for (const auto& [isa, isa_name] : available_isas()) {
            const std::string what = pr.name() + " " + isa_name;
            std::vector<float> first;
            for (int threads : thread_counts) {
                ThreadPool pool(threads);
                std::fill(pr.y.begin(), pr.y.end(), std::numeric_limits<float>::quiet_NaN());
                conv2d_fast(pool, pr.params(pr.y.data()), isa);
                if (first.empty()) {
                    first = pr.y;
                    CHECK_MSG(count_mismatches(pr.y, ref, tol, tol, what) == 0, "%s: differs from reference",
                              what.c_str());
                } else {
                    CHECK_MSG(bit_identical(first, pr.y), "%s: threads=%d differs from threads=1", what.c_str(), threads);
                }
            }
        }
    }
}

TEST(conv2d_is_exact_on_small_integers) {
    // Integer inputs and weights of at most 2 keep every partial sum exact in float, so any
    // summation order must give the reference bit for bit.
    std::mt19937 rng(99);
    for (const Case& c : kCases) {
        if (c.silu) continue;
        Problem pr(c, rng, true);
        std::vector<float> ref(pr.y.size());
        conv2d_reference(pr.params(ref.data()));
        ThreadPool pool(3);
        for (const auto& [isa, isa_name] : available_isas()) {
            conv2d_fast(pool, pr.params(pr.y.data()), isa);
            CHECK_MSG(bit_identical(pr.y, ref), "%s %s", pr.name().c_str(), isa_name);
        }
    }
}

TEST(conv2d_avx2_and_avx512_kernels_give_the_same_bits) {
    // Both compute each K block's sum as one chain of fused multiply-adds in k order and add
    // it to the earlier blocks' total, with K blocks that depend on K alone: the tile shapes
    // (6 x 16, 12 x 32) must not change a bit, on every case (edge tiles, groups, passes).
    if (!conv2d_isa_available(Conv2dIsa::kAvx512)) {
        std::printf("  SKIP: AVX-512 not in effect here\n");
        return;
    }
    std::mt19937 rng(77);
    ThreadPool pool(2);
    for (const Case& c : kCases) {
        Problem pr(c, rng, false);
        std::vector<float> wide(pr.y.size());
        conv2d_fast(pool, pr.params(wide.data()), Conv2dIsa::kAvx512);
        conv2d_fast(pool, pr.params(pr.y.data()), Conv2dIsa::kAvx2);
        CHECK_MSG(bit_identical(wide, pr.y), "%s", pr.name().c_str());
    }
}

// The bound derived in conv2d_cpu.cpp's Winograd section: |y - exact| <= gamma(cin + 12) Yabs
// (+ one rounding of the bias add), Yabs being Winograd's formula on absolute values, here
// in double for every output. Stride 1: F(2x2, 3x3), 4x4 patches at 2 t - pad; stride 2: the
// 5x5 form (B', G', A'), patches at 4 t - pad.
std::vector<double> winograd_abs_bound(const Problem& pr) {
    const Case& k = pr.k;
    const bool s2 = k.sh == 2;
    const int alpha = s2 ? 5 : 4, step = s2 ? 4 : 2;
    // |B^T|, |G|, |A^T| of each form, padded to 5 columns / rows.
    const double bt1[5][5] = {{1, 0, 1, 0}, {0, 1, 1, 0}, {0, 1, 1, 0}, {0, 1, 0, 1}};
    const double gm1[5][3] = {{1, 0, 0}, {.5, .5, .5}, {.5, .5, .5}, {0, 0, 1}};
    const double at1[2][5] = {{1, 1, 1, 0}, {0, 1, 1, 1}};
    const double bt2[5][5] = {{1, 0, 1, 0, 0}, {0, 0, 1, 0, 0}, {0, 0, 1, 0, 1}, {0, 1, 0, 0, 0}, {0, 0, 0, 1, 0}};
    const double gm2[5][3] = {{1, 0, 0}, {1, 0, 1}, {0, 0, 1}, {0, 1, 0}, {0, 1, 0}};
    const double at2[2][5] = {{1, 1, 0, 1, 0}, {0, 1, 1, 0, 1}};
    const auto& bt = s2 ? bt2 : bt1;
    const auto& gm = s2 ? gm2 : gm1;
    const auto& at = s2 ? at2 : at1;
    const int64_t th = (pr.oh + 1) / 2, tw = (pr.ow + 1) / 2;
    std::vector<double> yabs(pr.y.size());
    for (int64_t n = 0; n < k.n; ++n)
        for (int64_t co = 0; co < k.cout; ++co)
            for (int64_t ty = 0; ty < th; ++ty)
                for (int64_t tx = 0; tx < tw; ++tx) {
                    double m[5][5] = {};
                    for (int64_t ci = 0; ci < k.c; ++ci) {
                        double d[5][5], g[3][3], v[5][5] = {}, u[5][5] = {};
                        for (int a = 0; a < alpha; ++a)
                            for (int b = 0; b < alpha; ++b) {
                                const int64_t iy = step * ty - k.ph + a, ix = step * tx - k.pw + b;
                                d[a][b] = (iy < 0 || iy >= k.h || ix < 0 || ix >= k.w)
                                              ? 0
                                              : std::fabs(pr.x[((n * k.c + ci) * k.h + iy) * k.w + ix]);
                            }
                        for (int a = 0; a < 3; ++a)
                            for (int b = 0; b < 3; ++b) g[a][b] = std::fabs(pr.w[((co * k.c + ci) * 3 + a) * 3 + b]);
                        for (int i = 0; i < alpha; ++i)
                            for (int j = 0; j < alpha; ++j)
                                for (int a = 0; a < alpha; ++a)
                                    for (int b = 0; b < alpha; ++b) v[i][j] += bt[i][a] * d[a][b] * bt[j][b];
                        for (int i = 0; i < alpha; ++i)
                            for (int j = 0; j < alpha; ++j)
                                for (int a = 0; a < 3; ++a)
                                    for (int b = 0; b < 3; ++b) u[i][j] += gm[i][a] * g[a][b] * gm[j][b];
                        for (int i = 0; i < alpha; ++i)
                            for (int j = 0; j < alpha; ++j) m[i][j] += u[i][j] * v[i][j];
                    }
                    for (int i = 0; i < 2; ++i)
                        for (int j = 0; j < 2; ++j) {
                            const int64_t oy = 2 * ty + i, ox = 2 * tx + j;
                            if (oy >= pr.oh || ox >= pr.ow) continue;
                            double sum = 0;
                            for (int a = 0; a < alpha; ++a)
                                for (int b = 0; b < alpha; ++b) sum += at[i][a] * m[a][b] * at[j][b];
                            yabs[((n * k.cout + co) * pr.oh + oy) * pr.ow + ox] = sum;
                        }
                }
    return yabs;
}

TEST(conv2d_winograd_is_within_its_derived_bound_and_deterministic) {
    const Case cases[] = {
        // n  c   h   w  cout kh kw sh sw ph pw dh dw groups silu  bias
        {1, 13, 20, 20, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, false, true},    // odd channels, edge rows
        {2, 5, 9, 11, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, false, false},      // odd sizes: partial tiles
        {1, 8, 20, 20, 12, 3, 3, 1, 1, 0, 0, 1, 1, 1, false, true},     // no padding
        {1, 6, 7, 30, 5, 3, 3, 1, 1, 2, 1, 1, 1, 1, false, true},       // padding 2 x 1, rows cross blocks
        {1, 320, 16, 16, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, false, true},   // SD-sized reduction, K blocks
        {1, 40, 34, 33, 30, 3, 3, 1, 1, 1, 1, 1, 1, 1, false, true},    // several tile blocks, short last
        {1, 24, 18, 18, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, true},     // SiLU (checked at the usual tolerance)
        // stride 2 (the 5x5 form)
        {1, 13, 21, 21, 17, 3, 3, 2, 2, 1, 1, 1, 1, 1, false, true},    // odd sizes: partial tiles
        {2, 5, 9, 11, 7, 3, 3, 2, 2, 1, 1, 1, 1, 1, false, false},      // batch 2, tiny
        {1, 8, 20, 20, 12, 3, 3, 2, 2, 0, 0, 1, 1, 1, false, true},     // no padding
        {1, 6, 13, 58, 5, 3, 3, 2, 2, 2, 1, 1, 1, 1, false, true},      // padding 2 x 1, rows cross blocks
        {1, 320, 32, 32, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, false, true},   // SD-sized reduction, K blocks
        {1, 40, 70, 66, 30, 3, 3, 2, 2, 1, 1, 1, 1, 1, false, true},    // several tile blocks, short last
        {1, 24, 18, 18, 20, 3, 3, 2, 2, 1, 1, 1, 1, 1, true, true},     // SiLU
    };
    constexpr double u = 1.0 / (1 << 24);
    std::mt19937 rng(31);
    for (const Case& c : cases) {
        Problem pr(c, rng, false);
        CHECK_MSG(conv2d_uses_winograd(pr.params(pr.y.data()), Conv2dAlgo::kWinograd), "%s", pr.name().c_str());
        std::vector<float> ref(pr.y.size());
        conv2d_reference(pr.params(ref.data()));
        const std::vector<double> yabs = winograd_abs_bound(pr);
        const double n = double(c.c) + 13, gamma = n * u / (1 - n * u);
        std::vector<float> simd_bits;
        for (const auto& [isa, isa_name] : available_isas()) {
            const std::string what = pr.name() + " winograd " + isa_name;
            std::vector<float> first;
            for (int threads : {1, 2, 3}) {
                ThreadPool pool(threads);
                std::fill(pr.y.begin(), pr.y.end(), std::numeric_limits<float>::quiet_NaN());
                conv2d_fast(pool, pr.params(pr.y.data()), isa, Conv2dAlgo::kWinograd);
                if (!first.empty()) {
                    CHECK_MSG(bit_identical(first, pr.y), "%s: threads=%d differs from threads=1", what.c_str(), threads);
                    continue;
                }
                first = pr.y;
                int bad = 0;
                double worst = 0;  // the largest error as a fraction of its bound
                for (size_t i = 0; i < ref.size(); ++i) {
                    const double b = c.bias ? std::fabs(pr.b[(i / (pr.oh * pr.ow)) % c.cout]) : 0.0;
                    const double err = std::fabs(double(pr.y[i]) - ref[i]);
                    const double bound = c.silu ? 2e-5 * std::sqrt(9.0 * c.c) * (1 + std::fabs(ref[i]))
                                                : gamma * (yabs[i] + b) + u * std::fabs(ref[i]);
                    worst = std::max(worst, err / bound);
                    if (!(err <= bound) && ++bad <= 5)
                        std::printf("  %s: at %zu got %.9g want %.9g (bound %.3g)\n", what.c_str(), i, pr.y[i], ref[i],
                                    bound);
                }
                CHECK_MSG(bad == 0, "%s: %d outputs outside the bound", what.c_str(), bad);
                std::printf("  %s: worst error %.3g of the bound\n", what.c_str(), worst);
            }
            if (isa == Conv2dIsa::kAvx2 || isa == Conv2dIsa::kAvx512) {
                if (simd_bits.empty()) {
                    simd_bits = first;
                } else {
                    CHECK_MSG(bit_identical(simd_bits, first), "%s: AVX2 and AVX-512 differ", what.c_str());
                }
            }
        }
    }
}

TEST(conv2d_auto_picks_winograd_only_where_it_applies) {
    std::mt19937 rng(8);
    auto uses = [&](const Case& c, Conv2dAlgo algo) {
        Problem pr(c, rng, false);
        return conv2d_uses_winograd(pr.params(pr.y.data()), algo);
    };
    const Case big{1, 32, 64, 64, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, false, true};
    CHECK(uses(big, Conv2dAlgo::kAuto));
    CHECK(!uses(big, Conv2dAlgo::kGemm));
    Case strided = big;  // stride 2 on one axis only: not a form Winograd has
    strided.sh = 2;
    CHECK(!uses(strided, Conv2dAlgo::kWinograd));
    Case down = big;  // stride 2 on both: its 5x5 form, at 32x32 outputs with 320 channels (SD's downsampler)
    down.sh = down.sw = 2;
    CHECK(uses(down, Conv2dAlgo::kWinograd) && !uses(down, Conv2dAlgo::kAuto));
    down.c = down.cout = 320;
    CHECK(uses(down, Conv2dAlgo::kAuto));
    Case down3 = down;  // stride 3: no
    down3.sh = down3.sw = 3;
    CHECK(!uses(down3, Conv2dAlgo::kWinograd));
    Case dilated = big;
    dilated.dh = dilated.dw = 2;
    dilated.ph = dilated.pw = 2;
    CHECK(!uses(dilated, Conv2dAlgo::kWinograd));
    Case grouped = big;
    grouped.groups = 2;
    CHECK(!uses(grouped, Conv2dAlgo::kWinograd));
    Case small = big;
    small.h = small.w = 32;
    CHECK(!uses(small, Conv2dAlgo::kAuto) && uses(small, Conv2dAlgo::kWinograd));
    Case wide = small;  // 32x32 with many channels: Winograd (SD's 640-channel level)
    wide.c = wide.cout = 640;
    CHECK(uses(wide, Conv2dAlgo::kAuto));
    Case wide16 = wide;  // 16x16: one tile block per image, GEMM
    wide16.h = wide16.w = 16;
    CHECK(!uses(wide16, Conv2dAlgo::kAuto));
}

TEST(conv2d_large_sd_shape_is_identical_for_any_thread_count) {
    std::mt19937 rng(5);
    Problem pr(Case{1, 96, 24, 40, 100, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, true}, rng, false);
    std::vector<float> first;
    for (int threads : {1, 2, 4, 16}) {
        ThreadPool pool(threads);
        conv2d_fast(pool, pr.params(pr.y.data()));
        if (first.empty()) first = pr.y;
        CHECK_MSG(bit_identical(first, pr.y), "threads=%d", threads);
    }
}

TEST(conv2d_abi_runs_and_rejects_bad_arguments_with_messages) {
    inkwell_context* ctx = nullptr;
    CHECK(inkwell_context_create(nullptr, &ctx) == INKWELL_OK);
    std::mt19937 rng(3);
    Problem pr(Case{1, 4, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2, true, true}, rng, false);
    std::vector<float> ref(pr.y.size());
    conv2d_reference(pr.params(ref.data()));
    const inkwell_conv2d_params good = pr.params(pr.y.data());
    CHECK(inkwell_conv2d_f32(ctx, &good) == INKWELL_OK);
    CHECK(count_mismatches(pr.y, ref, 1e-4, 1e-4, "abi") == 0);

    auto expect = [&](const inkwell_conv2d_params& q, const char* fragment) {
        int32_t s = inkwell_conv2d_f32(ctx, &q);
        const char* msg = inkwell_last_error_message();
        CHECK_MSG(s == INKWELL_INVALID_ARGUMENT && std::strstr(msg, fragment) != nullptr,
                  "status %d, message '%s', wanted '%s'", s, msg, fragment);
    };
    auto with = [&](auto change) {
        inkwell_conv2d_params q = good;
        change(q);
        return q;
    };
    using P = inkwell_conv2d_params;
    expect(with([](P& q) { q.input = nullptr; }), "input is null");
    expect(with([](P& q) { q.weight = nullptr; }), "weight is null");
    expect(with([](P& q) { q.output = nullptr; }), "output is null");
    expect(with([](P& q) { q.batch = 0; }), "batch must be >= 1, got 0");
    expect(with([](P& q) { q.in_channels = -4; }), "in_channels must be >= 1, got -4");
    expect(with([](P& q) { q.in_height = 0; }), "in_height must be >= 1, got 0");
    expect(with([](P& q) { q.in_width = -1; }), "in_width must be >= 1, got -1");
    expect(with([](P& q) { q.out_channels = 0; }), "out_channels must be >= 1, got 0");
    expect(with([](P& q) { q.kernel_h = 0; }), "kernel_h must be >= 1, got 0");
    expect(with([](P& q) { q.kernel_w = -3; }), "kernel_w must be >= 1, got -3");
    expect(with([](P& q) { q.stride_h = 0; }), "stride_h must be >= 1, got 0");
    expect(with([](P& q) { q.stride_w = -2; }), "stride_w must be >= 1, got -2");
    expect(with([](P& q) { q.pad_h = -1; }), "pad_h must be >= 0, got -1");
    expect(with([](P& q) { q.pad_w = -7; }), "pad_w must be >= 0, got -7");
    expect(with([](P& q) { q.dilation_h = 0; }), "dilation_h must be >= 1, got 0");
    expect(with([](P& q) { q.dilation_w = -1; }), "dilation_w must be >= 1, got -1");
    expect(with([](P& q) { q.groups = 0; }), "groups must be >= 1, got 0");
    expect(with([](P& q) { q.out_height = 0; }), "out_height must be >= 1, got 0");
    expect(with([](P& q) { q.out_width = -8; }), "out_width must be >= 1, got -8");
    expect(with([](P& q) { q.groups = 3; }), "groups 3 does not divide in_channels 4");
    expect(with([](P& q) { q.groups = 4; }), "groups 4 does not divide out_channels 6");
    expect(with([](P& q) { q.out_height = 7; }),
           "out_height 7 does not match (in_height 8 + 2*pad_h 1 - dilation_h 1*(kernel_h 3 - 1) - 1)/stride_h 1 + 1 = 8");
    expect(with([](P& q) { q.stride_w = 3; }), "out_width 8 does not match");
    expect(with([](P& q) { q.kernel_h = 11; }), "kernel does not fit the padded input");
    expect(with([](P& q) { q.activation = 2; }), "activation must be 0 (NONE) or 1 (SILU), got 2");
    expect(with([](P& q) { q.activation = -1; }), "got -1");
    expect(with([](P& q) {
               q.batch = int64_t(1) << 30;
               q.in_channels = int64_t(1) << 12;
           }),
           "input has more than 2^40 elements");
    expect(with([](P& q) {
               q.in_channels = int64_t(1) << 62;
               q.out_channels = int64_t(1) << 62;
               q.groups = 2;
           }),
           "has more than 2^40 elements");
    expect(with([](P& q) {
               q.pad_h = std::numeric_limits<int64_t>::max() / 2;
           }),
           "overflow int64");
    expect(with([](P& q) {
               q.dilation_w = std::numeric_limits<int64_t>::max() / 2 + 1;
           }),
           "overflow int64");
    expect(with([&](P& q) { q.output = const_cast<float*>(static_cast<const float*>(q.input)) + 3; }), "output overlaps input");
    expect(with([&](P& q) { q.output = const_cast<void*>(q.weight); }), "output overlaps weight");
    // Output and bias both inside one fresh buffer, so nothing else can overlap by accident.
    std::vector<float> shared(pr.y.size() + 16);
    expect(with([&](P& q) {
               q.bias = shared.data() + 8;
               q.output = shared.data();
           }),
           "output overlaps bias");
    CHECK(inkwell_conv2d_f32(ctx, nullptr) == INKWELL_INVALID_ARGUMENT);
    CHECK(std::strstr(inkwell_last_error_message(), "params is null") != nullptr);
    CHECK(inkwell_conv2d_f32(nullptr, &good) == INKWELL_INVALID_ARGUMENT);
    CHECK(std::strstr(inkwell_last_error_message(), "context is null") != nullptr);

    // bias may be NULL; the output may sit right after an input.
    std::vector<float> joint(pr.x.size() + pr.y.size());
    std::copy(pr.x.begin(), pr.x.end(), joint.begin());
    inkwell_conv2d_params adjacent = with([&](P& q) {
        q.input = joint.data();
        q.output = joint.data() + pr.x.size();
        q.bias = nullptr;
    });
    CHECK(inkwell_conv2d_f32(ctx, &adjacent) == INKWELL_OK);
    CHECK(inkwell_context_destroy(ctx) == INKWELL_OK);
}

// ---- the 16-bit entries (inkwell_conv2d_f16, _bf16) ---------------------------------------
//
// Each case: random float tensors rounded to the entry's type; the entry on them; the plain
// reference (conv2d_reference's loops kept in double, reference16.hpp) on the widened
// tensors, rounded once to the type. The acceptance rule and why it is "1 ulp, or within the
// float32 error bound where the output cancels" are in reference16.hpp; on well-conditioned
// data (all terms of one sign: no cancellation, delta <= gamma(K + 1) |r|, below 2^-11 |r|
// for every K here, so below the f16 spacing at r) every output must be within 1 ulp.
// Also: the result is narrow(inkwell_conv2d_f32 on the widened tensors) bit for bit (the
// documented CPU semantics), and 1 and 4 threads give the same bits.

namespace {

using inkwell_ref::Verdict;

uint16_t narrow16(int32_t type, float f) { return type == INKWELL_ELEMENT_F16 ? float_to_f16(f) : float_to_bf16(f); }
float widen16(int32_t type, uint16_t h) { return type == INKWELL_ELEMENT_F16 ? f16_to_float(h) : bf16_to_float(h); }

int32_t conv2d16(int32_t type, inkwell_context* ctx, const inkwell_conv2d_params* p) {
    return type == INKWELL_ELEMENT_F16 ? inkwell_conv2d_f16(ctx, p) : inkwell_conv2d_bf16(ctx, p);
}

inkwell_context* cpu_context(int32_t threads) {
    inkwell_context_options o{INKWELL_DEVICE_CPU, threads, 0};
    inkwell_context* ctx = nullptr;
    return inkwell_context_create(&o, &ctx) == INKWELL_OK ? ctx : nullptr;
}

// A case's tensors in the 16-bit type, and their exact widenings as float.
struct Problem16 {
    Case k;
    int32_t type;
    int64_t oh, ow;
    std::vector<uint16_t> x, w, b, y;
    std::vector<float> xf, wf, bf;

    // positive: entries in [1/4, 1] (no cancellation); else uniform in [-1, 1].
    Problem16(const Case& c, int32_t element_type, std::mt19937& rng, bool positive) : k(c), type(element_type) {
        oh = out_size(c.h, c.ph, c.dh, c.kh, c.sh);
        ow = out_size(c.w, c.pw, c.dw, c.kw, c.sw);
        std::uniform_real_distribution<float> real(positive ? 0.25f : -1.0f, 1.0f);
        auto fill = [&](std::vector<uint16_t>& v, std::vector<float>& f, int64_t n) {
            v.resize(size_t(n));
            f.resize(size_t(n));
            for (int64_t i = 0; i < n; ++i) {
                v[size_t(i)] = narrow16(type, real(rng));
                f[size_t(i)] = widen16(type, v[size_t(i)]);
            }
        };
        fill(x, xf, c.n * c.c * c.h * c.w);
        fill(w, wf, c.cout * (c.c / c.groups) * c.kh * c.kw);
        fill(b, bf, c.cout);
        y.assign(size_t(c.n * c.cout * oh * ow), 0xffff);  // NaN in both types
    }

    inkwell_conv2d_params params(void* out) const {
        return inkwell_conv2d_params{x.data(), w.data(), k.bias ? b.data() : nullptr, out, k.n, k.c, k.h, k.w,
                                     k.cout,   k.kh,     k.kw,  k.sh, k.sw, k.ph, k.pw, k.dh, k.dw, k.groups,
                                     oh,       ow,       k.silu ? INKWELL_ACTIVATION_SILU : INKWELL_ACTIVATION_NONE};
    }

    // The same call on the widened float tensors.
    inkwell_conv2d_params widened(float* out) const {
        inkwell_conv2d_params p = params(out);
        p.input = xf.data();
        p.weight = wf.data();
        p.bias = k.bias ? bf.data() : nullptr;
        return p;
    }

    std::string name() const {
        return case_name(k) + (type == INKWELL_ELEMENT_F16 ? " f16" : " bf16");
    }
};

struct Tally {
    int64_t outputs = 0, exact = 0, one_ulp = 0, cancellation = 0, failed = 0;
    std::string example;  // the first cancellation output
    void add(Verdict v) {
        ++outputs;
        if (v == Verdict::exact) ++exact;
        if (v == Verdict::one_ulp) ++one_ulp;
        if (v == Verdict::cancellation) ++cancellation;
        if (v == Verdict::fail) ++failed;
    }
};

// Runs one case through the entry with 1 and 4 threads and checks everything above; adds the
// verdicts to tally. strict: cancellation outputs count as failures.
void check_case16(const Case& c, int32_t type, std::mt19937& rng, bool positive, bool strict, inkwell_context* one,
                  inkwell_context* four, Tally& tally) {
    Problem16 pr(c, type, rng, positive);
    const std::string what = pr.name() + (positive ? " positive" : "");
    inkwell_conv2d_params p = pr.params(pr.y.data());
    CHECK_MSG(conv2d16(type, four, &p) == INKWELL_OK, "%s: %s", what.c_str(), inkwell_last_error_message());
    std::vector<uint16_t> single(pr.y.size(), 0xffff);
    p.output = single.data();
    CHECK_MSG(conv2d16(type, one, &p) == INKWELL_OK, "%s: %s", what.c_str(), inkwell_last_error_message());
    CHECK_MSG(single == pr.y, "%s: 1 and 4 threads differ", what.c_str());

    // narrow(the f32 entry on the widened tensors), bit for bit.
    std::vector<float> f32(pr.y.size());
    const inkwell_conv2d_params wp = pr.widened(f32.data());
    CHECK(inkwell_conv2d_f32(four, &wp) == INKWELL_OK);
    int differ = 0;
    for (size_t i = 0; i < f32.size(); ++i) differ += narrow16(type, f32[i]) != pr.y[i];
    CHECK_MSG(differ == 0, "%s: %d outputs differ from narrow(conv2d_f32)", what.c_str(), differ);

    // The reference: conv2d_reference's loops in double; rounded to float they are
    // conv2d_reference's own output.
    const inkwell_ref::Exact exact = inkwell_ref::conv2d_exact(wp);
    std::vector<float> plain(pr.y.size());
    inkwell_conv2d_params rp = wp;
    rp.output = plain.data();
    conv2d_reference(rp);
    int not_plain = 0;
    for (size_t i = 0; i < plain.size(); ++i) not_plain += float(exact.value[i]) != plain[i];
    CHECK_MSG(not_plain == 0, "%s: the double reference is not conv2d_reference (%d)", what.c_str(), not_plain);

    const inkwell_ref::Format& f = inkwell_ref::format_of(type);
    int bad = 0;
    for (size_t i = 0; i < pr.y.size(); ++i) {
        Verdict v = inkwell_ref::check16(pr.y[i], exact.value[i], exact.delta[i], f);
        if (strict && v == Verdict::cancellation) v = Verdict::fail;
        tally.add(v);
        if (v == Verdict::cancellation && tally.example.empty()) {
            char s[300];
            std::snprintf(s, sizeof s, "%s: got %.9g, reference %.9g rounds to %.9g; float32 error bound %.3g, sum|x w| %.3g",
                          what.c_str(), inkwell_ref::value_of(pr.y[i], f), exact.value[i],
                          inkwell_ref::round_to(exact.value[i], f), exact.delta[i],
                          exact.delta[i] / inkwell_ref::gamma(double(c.c / c.groups * c.kh * c.kw + 1)));
            tally.example = s;
        }
        if (v == Verdict::fail && ++bad <= 5)
            std::printf("  %s: at %zu got 0x%04x (%.9g), reference %.17g -> 0x%04x, delta %.3g\n", what.c_str(), i,
                        pr.y[i], inkwell_ref::value_of(pr.y[i], f), exact.value[i],
                        inkwell_ref::narrow_ref(exact.value[i], f), exact.delta[i]);
    }
    CHECK_MSG(bad == 0, "%s: %d outputs outside the bound", what.c_str(), bad);
}

// Random geometry: groups, strides, padding, dilation, bias, SiLU; the padded input holds one
// dilated kernel.
Case random_case(std::mt19937& rng) {
    auto pick = [&](int lo, int hi) { return int64_t(std::uniform_int_distribution<int>(lo, hi)(rng)); };
    Case c{};
    c.groups = pick(1, 4);
    c.n = pick(1, 2);
    c.c = c.groups * pick(1, 8);
    c.cout = c.groups * pick(1, 8);
    c.kh = pick(1, 5);
    c.kw = pick(1, 5);
    c.sh = pick(1, 3);
    c.sw = pick(1, 3);
    c.ph = pick(0, 3);
    c.pw = pick(0, 3);
    c.dh = pick(1, 3);
    c.dw = pick(1, 3);
    c.h = std::max<int64_t>(1, c.dh * (c.kh - 1) + 1 - 2 * c.ph) + pick(0, 12);
    c.w = std::max<int64_t>(1, c.dw * (c.kw - 1) + 1 - 2 * c.pw) + pick(0, 12);
    c.silu = pick(0, 1) == 1;
    c.bias = pick(0, 2) != 0;
    return c;
}

// The 16-bit tests run each case four times over (two types, two kinds of data) with three
// ABI calls and two references: they leave out the one case above 10 M multiply-adds (the
// 46 M two-pass prepacked case, which the float32 tests cover); the SD-sized reduction
// (K = 2880) stays.
bool affordable(const Case& c) {
    const int64_t out_pixels = out_size(c.h, c.ph, c.dh, c.kh, c.sh) * out_size(c.w, c.pw, c.dw, c.kw, c.sw);
    return c.n * c.cout * out_pixels * (c.c / c.groups) * c.kh * c.kw <= 10'000'000;
}

void print_tally(const char* what, const Tally& t) {
    std::printf("  %s: %lld outputs: %lld exact, %lld 1 ulp, %lld further but within the float32 bound (cancellation)\n",
                what, (long long)t.outputs, (long long)t.exact, (long long)t.one_ulp, (long long)t.cancellation);
    if (!t.example.empty()) std::printf("    e.g. %s\n", t.example.c_str());
}

}  // namespace

TEST(conv2d_16bit_entries_match_reference_within_1_ulp_or_the_float32_bound) {
    inkwell_context* one = cpu_context(1);
    inkwell_context* four = cpu_context(4);
    CHECK(one != nullptr && four != nullptr);
    std::mt19937 rng(1616);
    for (int32_t type : {INKWELL_ELEMENT_F16, INKWELL_ELEMENT_BF16}) {
        Tally tally;
        for (const Case& c : kCases)
            if (affordable(c)) check_case16(c, type, rng, false, false, one, four, tally);
        for (int i = 0; i < 24; ++i) check_case16(random_case(rng), type, rng, false, false, one, four, tally);
        print_tally(inkwell_ref::format_of(type).name, tally);
    }
    inkwell_context_destroy(one);
    inkwell_context_destroy(four);
}

TEST(conv2d_16bit_entries_are_within_1_ulp_without_cancellation) {
    inkwell_context* one = cpu_context(1);
    inkwell_context* four = cpu_context(4);
    CHECK(one != nullptr && four != nullptr);
    std::mt19937 rng(61);
    for (int32_t type : {INKWELL_ELEMENT_F16, INKWELL_ELEMENT_BF16}) {
        Tally tally;
        for (const Case& c : kCases)
            if (affordable(c)) check_case16(c, type, rng, true, true, one, four, tally);
        for (int i = 0; i < 24; ++i) check_case16(random_case(rng), type, rng, true, true, one, four, tally);
        print_tally(inkwell_ref::format_of(type).name, tally);
    }
    inkwell_context_destroy(one);
    inkwell_context_destroy(four);
}

TEST(conv2d_16bit_abi_rejects_bad_arguments_and_checks_overlap_in_2_byte_elements) {
    inkwell_context* ctx = cpu_context(2);
    CHECK(ctx != nullptr);
    std::mt19937 rng(7);
    const Case c{1, 4, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2, true, true};
    for (int32_t type : {INKWELL_ELEMENT_F16, INKWELL_ELEMENT_BF16}) {
        Problem16 pr(c, type, rng, false);
        const inkwell_conv2d_params good = pr.params(pr.y.data());
        CHECK(conv2d16(type, ctx, &good) == INKWELL_OK);

        auto expect = [&](const inkwell_conv2d_params& q, const char* fragment) {
            // A refused call writes nothing: the output keeps its sentinel.
            std::vector<uint16_t> before(pr.y);
            const int32_t s = conv2d16(type, ctx, &q);
            const char* msg = inkwell_last_error_message();
            CHECK_MSG(s == INKWELL_INVALID_ARGUMENT && std::strstr(msg, fragment) != nullptr,
                      "%s: status %d, message '%s', wanted '%s'", inkwell_ref::format_of(type).name, s, msg, fragment);
            CHECK(before == pr.y);
        };
        auto with = [&](auto change) {
            inkwell_conv2d_params q = good;
            change(q);
            return q;
        };
        using P = inkwell_conv2d_params;
        expect(with([](P& q) { q.input = nullptr; }), "conv2d: input is null");
        expect(with([](P& q) { q.weight = nullptr; }), "conv2d: weight is null");
        expect(with([](P& q) { q.output = nullptr; }), "conv2d: output is null");
        expect(with([](P& q) { q.in_channels = -4; }), "in_channels must be >= 1, got -4");
        expect(with([](P& q) { q.dilation_w = 0; }), "dilation_w must be >= 1, got 0");
        expect(with([](P& q) { q.groups = 3; }), "groups 3 does not divide in_channels 4");
        expect(with([](P& q) { q.activation = 7; }), "activation must be 0 (NONE) or 1 (SILU), got 7");
        expect(with([](P& q) { q.out_width = 9; }), "out_width 9 does not match");
        expect(with([](P& q) { q.batch = int64_t(1) << 40; }), "input has more than 2^40 elements");
        CHECK(conv2d16(type, ctx, nullptr) == INKWELL_INVALID_ARGUMENT);
        CHECK(std::strstr(inkwell_last_error_message(), "conv2d: params is null") != nullptr);
        CHECK(conv2d16(type, nullptr, &good) == INKWELL_INVALID_ARGUMENT);
        CHECK(std::strstr(inkwell_last_error_message(), "context is null") != nullptr);

        // Overlap is judged in 2-byte elements. One buffer [before | input | after], the
        // output (out_count 16-bit elements) slid along it: overlapping the input's last or
        // first element is refused, starting right after it or ending right before it is
        // accepted (a 4-byte element size would refuse those).
        const size_t in_count = pr.x.size(), out_count = pr.y.size();
        std::vector<uint16_t> buffer(out_count + in_count + out_count);
        std::copy(pr.x.begin(), pr.x.end(), buffer.begin() + out_count);
        uint16_t* input = buffer.data() + out_count;
        const P base = with([&](P& q) { q.input = input; });
        expect(with([&](P& q) {
                   q = base;
                   q.output = input + in_count - 1;
               }),
               "conv2d: output overlaps input");
        expect(with([&](P& q) {
                   q = base;
                   q.output = input - out_count + 1;
               }),
               "conv2d: output overlaps input");
        P after = base, before = base;
        after.output = input + in_count;
        before.output = input - out_count;
        CHECK_MSG(conv2d16(type, ctx, &after) == INKWELL_OK, "%s", inkwell_last_error_message());
        CHECK_MSG(conv2d16(type, ctx, &before) == INKWELL_OK, "%s", inkwell_last_error_message());
        CHECK(std::equal(pr.x.begin(), pr.x.end(), input));  // the input was not written
        // Both placements computed the same outputs as the good call.
        CHECK(std::equal(buffer.begin(), buffer.begin() + long(out_count), pr.y.begin()));
        CHECK(std::equal(input + in_count, input + in_count + out_count, pr.y.begin()));
        // Weight and bias, likewise at the 2-byte edge.
        std::vector<uint16_t> wb(pr.w.size() + out_count);
        std::copy(pr.w.begin(), pr.w.end(), wb.begin());
        expect(with([&](P& q) {
                   q.weight = wb.data();
                   q.output = wb.data() + pr.w.size() - 1;
               }),
               "conv2d: output overlaps weight");
        std::vector<uint16_t> bb(pr.b.size() + out_count);
        std::copy(pr.b.begin(), pr.b.end(), bb.begin());
        expect(with([&](P& q) {
                   q.bias = bb.data();
                   q.output = bb.data() + pr.b.size() - 1;
               }),
               "conv2d: output overlaps bias");
        P bias_edge = with([&](P& q) {
            q.bias = bb.data();
            q.output = bb.data() + pr.b.size();
        });
        CHECK_MSG(conv2d16(type, ctx, &bias_edge) == INKWELL_OK, "%s", inkwell_last_error_message());
    }
    inkwell_context_destroy(ctx);
}
