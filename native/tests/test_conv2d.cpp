// Conv2d: the fast path (both micro-kernels) against the double-precision reference on
// random shapes (batches, groups, depthwise, strides past the kernel, dilation, anisotropic
// stride and padding, 1x1, 7x7 stride 2, odd sizes, 1x1 images, SiLU, no bias), bit-identity
// for any thread count, exactness on small integers, and the C ABI's argument checks.
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "cpu/conv2d_cpu.hpp"
#include "inkwell/inkwell.h"
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

    std::string name() const {
        char s[200];
        std::snprintf(s, sizeof s, "[%lld,%lld,%lld,%lld]->%lld k%lldx%lld s%lld,%lld p%lld,%lld d%lld,%lld g%lld%s%s",
                      (long long)k.n, (long long)k.c, (long long)k.h, (long long)k.w, (long long)k.cout,
                      (long long)k.kh, (long long)k.kw, (long long)k.sh, (long long)k.sw, (long long)k.ph,
                      (long long)k.pw, (long long)k.dh, (long long)k.dw, (long long)k.groups, k.silu ? " silu" : "",
                      k.bias ? "" : " no-bias");
        return s;
    }
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
        for (Conv2dIsa isa : {Conv2dIsa::kAuto, Conv2dIsa::kPortable}) {
            const std::string what = pr.name() + (isa == Conv2dIsa::kAuto ? " auto" : " portable");
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
        for (Conv2dIsa isa : {Conv2dIsa::kAuto, Conv2dIsa::kPortable}) {
            conv2d_fast(pool, pr.params(pr.y.data()), isa);
            CHECK_MSG(bit_identical(pr.y, ref), "%s", pr.name().c_str());
        }
    }
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
