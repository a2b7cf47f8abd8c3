// Conv2d on a CUDA context against a CPU context, within atol + rtol |ref|: shapes with
// awkward channel counts and sizes (not multiples of the 64 x 64 tile or the K step of 16),
// groups (including depthwise), stride, padding, dilation, rectangular kernels, with and
// without bias and SiLU, batch > 1. The same shapes, and Stable Diffusion's 320 and 640
// channel 3x3 convolutions, in float16 and bfloat16 (the tensor-core kernel,
// conv2d_half_cuda.cu) against the CPU context's _f16 / _bf16 entry, with a derived
// tolerance (see cuda_conv2d_half_matches_cpu), and run twice for identical bits.
#include <cmath>
#include <iterator>
#include <random>

#include "cuda_test_util.hpp"
#include "half_test_util.hpp"

using namespace inkwell_test;

namespace {

struct Shape {
    int64_t batch, cin, h, w, cout, kh, kw, sh, sw, ph, pw, dh, dw, groups;
    bool bias;
    int activation;
};

int64_t out_size(int64_t in, int64_t pad, int64_t dil, int64_t k, int64_t stride) {
    return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1;
}

const Shape kShapes[] = {
    {1, 3, 17, 19, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, INKWELL_ACTIVATION_NONE},
    {2, 16, 31, 29, 97, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, INKWELL_ACTIVATION_SILU},
    {1, 64, 33, 33, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, false, INKWELL_ACTIVATION_NONE},
    {1, 32, 20, 23, 48, 3, 5, 1, 2, 2, 1, 2, 1, 4, true, INKWELL_ACTIVATION_SILU},
    {1, 40, 15, 15, 40, 3, 3, 1, 1, 1, 1, 1, 1, 40, true, INKWELL_ACTIVATION_NONE},
    {2, 320, 16, 16, 320, 1, 1, 1, 1, 0, 0, 1, 1, 1, true, INKWELL_ACTIVATION_NONE},
    {1, 4, 64, 64, 320, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, INKWELL_ACTIVATION_SILU},
    {1, 7, 9, 11, 13, 7, 7, 1, 1, 3, 3, 1, 1, 1, false, INKWELL_ACTIVATION_SILU},
    {3, 6, 5, 4, 6, 2, 3, 3, 1, 0, 2, 1, 3, 3, true, INKWELL_ACTIVATION_NONE},
    {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, false, INKWELL_ACTIVATION_NONE},
};

}  // namespace

TEST(cuda_conv2d_matches_cpu) {
    std::mt19937 rng(31);
    for (const Shape& s : kShapes) {
        const int64_t oh = out_size(s.h, s.ph, s.dh, s.kh, s.sh), ow = out_size(s.w, s.pw, s.dw, s.kw, s.sw);
        const int64_t k_len = s.cin / s.groups * s.kh * s.kw;
        std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
        std::vector<float> x(s.batch * s.cin * s.h * s.w), wt(s.cout * k_len), b(s.cout);
        for (float& v : x) v = unit(rng);
        for (float& v : wt) v = unit(rng) / std::sqrt(float(k_len));
        for (float& v : b) v = unit(rng);
        std::vector<float> ref(s.batch * s.cout * oh * ow, NAN);
        inkwell_conv2d_params p{};
        p.batch = s.batch;
        p.in_channels = s.cin;
        p.in_height = s.h;
        p.in_width = s.w;
        p.out_channels = s.cout;
        p.kernel_h = s.kh;
        p.kernel_w = s.kw;
        p.stride_h = s.sh;
        p.stride_w = s.sw;
        p.pad_h = s.ph;
        p.pad_w = s.pw;
        p.dilation_h = s.dh;
        p.dilation_w = s.dw;
        p.groups = s.groups;
        p.out_height = oh;
        p.out_width = ow;
        p.activation = s.activation;
        p.input = x.data();
        p.weight = wt.data();
        p.bias = s.bias ? b.data() : nullptr;
        p.output = ref.data();
        CHECK_MSG(inkwell_conv2d_f32(cpu_ctx(), &p) == INKWELL_OK, "cpu: %s", inkwell_last_error_message());

        DeviceBuffer<float> dx(x), dw(wt), db(b), dout(ref.size());
        p.input = dx.get();
        p.weight = dw.get();
        p.bias = s.bias ? db.get() : nullptr;
        p.output = dout.get();
        CHECK_MSG(inkwell_conv2d_f32(cuda_ctx(), &p) == INKWELL_OK, "cuda: %s", inkwell_last_error_message());
        const std::vector<float> got = dout.download();
        int64_t bad = 0;
        for (size_t i = 0; i < ref.size(); ++i) {
            if (std::fabs(got[i] - ref[i]) <= 1e-4 + 1e-4 * std::fabs(ref[i])) continue;
            if (bad++ < 10) std::printf("    [%zu] got %.9g want %.9g\n", i, got[i], ref[i]);
        }
        CHECK_MSG(bad == 0, "batch %lld cin %lld %lldx%lld cout %lld k %lldx%lld groups %lld: %lld of %zu differ",
                  (long long)s.batch, (long long)s.cin, (long long)s.h, (long long)s.w, (long long)s.cout,
                  (long long)s.kh, (long long)s.kw, (long long)s.groups, (long long)bad, ref.size());
    }
}

// ---- float16 / bfloat16 ------------------------------------------------------------------
//
// Tolerance, derived (not fitted). Both backends compute y = act(sum_k w_k x_k + b) in
// float32 from the same exactly widened inputs (every product is exact in float32) and
// round y once to the output type; they differ only in how the float32 sum is formed and
// in the float32 SiLU. Per output, with S = sum_k |w_k x_k| + |b| (computed by the CPU
// context's float32 conv2d on |x|, |w|, |b|; its own relative error, below 2^-10 here, is
// covered by the factor 1.001):
//   - sums: |s_gpu - s_cpu| <= (gamma_gpu(K) + gamma_cpu(K)) S, K = in_channels / groups *
//     kernel_h * kernel_w (half_test_util.hpp: any CPU order, and the tensor cores'
//     truncating 17-term additions, 17 * 2^-23 per m16n8k16 instruction);
//   - SiLU: |silu'| <= 1.1, so the sum difference grows by at most 1.1; expf and the
//     division differ between the backends by a few float32 ulps: 2^-20 relative;
//   - rounding: each backend rounds once to nearest, at most half a spacing, so u |y| per
//     side with u = 2^-11 (f16) or 2^-8 (bf16) relative, taken at the larger of the two
//     results (u (|gpu| + |cpu|) covers both roundings and a tie broken on either side),
//     plus 2^-25 per side in f16's subnormal range (absolute spacing 2^-24).
// So |gpu - cpu| <= (u + 2^-20)(|gpu| + |cpu|) + L (gamma_gpu + gamma_cpu) 1.001 S + 2 floor,
// L = 1.1 with SiLU, else 1. For K = 2880 (320 channels, 3x3) the sum term is ~3 f16 ulps
// of a unit output; the rounding term dominates for bf16. Every run is also repeated and must
// give the same bits (no atomics, fixed summation order).

namespace {

const Shape kSdShapes[] = {
    {1, 320, 16, 16, 320, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, INKWELL_ACTIVATION_SILU},   // SD 320, 3x3
    {2, 640, 8, 8, 640, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, INKWELL_ACTIVATION_NONE},     // SD 640, 3x3
    {1, 320, 15, 17, 640, 3, 3, 2, 2, 1, 1, 1, 1, 1, true, INKWELL_ACTIVATION_NONE},   // downsample, odd sizes
    {1, 320, 16, 16, 320, 3, 3, 1, 1, 1, 1, 1, 1, 32, false, INKWELL_ACTIVATION_SILU}, // 32 groups
};

inkwell_conv2d_params params_for(const Shape& s) {
    inkwell_conv2d_params p{};
    p.batch = s.batch;
    p.in_channels = s.cin;
    p.in_height = s.h;
    p.in_width = s.w;
    p.out_channels = s.cout;
    p.kernel_h = s.kh;
    p.kernel_w = s.kw;
    p.stride_h = s.sh;
    p.stride_w = s.sw;
    p.pad_h = s.ph;
    p.pad_w = s.pw;
    p.dilation_h = s.dh;
    p.dilation_w = s.dw;
    p.groups = s.groups;
    p.out_height = out_size(s.h, s.ph, s.dh, s.kh, s.sh);
    p.out_width = out_size(s.w, s.pw, s.dw, s.kw, s.sw);
    p.activation = s.activation;
    return p;
}

int32_t conv2d_16(int32_t type, inkwell_context* ctx, const inkwell_conv2d_params* p) {
    return type == INKWELL_ELEMENT_F16 ? inkwell_conv2d_f16(ctx, p) : inkwell_conv2d_bf16(ctx, p);
}

std::vector<float> absolute(const std::vector<float>& v) {
    std::vector<float> a(v.size());
    for (size_t i = 0; i < v.size(); ++i) a[i] = std::fabs(v[i]);
    return a;
}

void check_half_shape(int32_t type, const Shape& s, std::mt19937& rng) {
    inkwell_conv2d_params p = params_for(s);
    const int64_t k_len = s.cin / s.groups * s.kh * s.kw;
    const size_t out_count = size_t(s.batch * s.cout * p.out_height * p.out_width);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    std::vector<float> x(s.batch * s.cin * s.h * s.w), wt(s.cout * k_len), b(s.cout);
    for (float& v : x) v = unit(rng);
    for (float& v : wt) v = unit(rng) / std::sqrt(float(k_len));
    for (float& v : b) v = unit(rng);
    // 16-bit inputs; x, wt, b become their exact widened values.
    const std::vector<uint16_t> xb = to_bits(type, x), wb = to_bits(type, wt), bb = to_bits(type, b);

    std::vector<uint16_t> ref(out_count, 0xffff);
    p.input = xb.data();
    p.weight = wb.data();
    p.bias = s.bias ? bb.data() : nullptr;
    p.output = ref.data();
    CHECK_MSG(conv2d_16(type, cpu_ctx(), &p) == INKWELL_OK, "cpu %s: %s", type_name(type), inkwell_last_error_message());

    // S = sum |w x| + |b| per output, by the CPU's float32 conv2d on absolute values.
    const std::vector<float> ax = absolute(x), aw = absolute(wt), ab = absolute(b);
    std::vector<float> scale(out_count, NAN);
    inkwell_conv2d_params f = p;
    f.input = ax.data();
    f.weight = aw.data();
    f.bias = s.bias ? ab.data() : nullptr;
    f.output = scale.data();
    f.activation = INKWELL_ACTIVATION_NONE;
    CHECK_MSG(inkwell_conv2d_f32(cpu_ctx(), &f) == INKWELL_OK, "cpu scale: %s", inkwell_last_error_message());

    DeviceBuffer<uint16_t> dx(xb), dw(wb), db(bb);
    DeviceBuffer<uint16_t> out1(std::vector<uint16_t>(out_count, 0x7e00)), out2(std::vector<uint16_t>(out_count, 0xffff));
    p.input = dx.get();
    p.weight = dw.get();
    p.bias = s.bias ? db.get() : nullptr;
    p.output = out1.get();
    CHECK_MSG(conv2d_16(type, cuda_ctx(), &p) == INKWELL_OK, "cuda %s: %s", type_name(type), inkwell_last_error_message());
    p.output = out2.get();
    CHECK_MSG(conv2d_16(type, cuda_ctx(), &p) == INKWELL_OK, "cuda %s (again): %s", type_name(type),
              inkwell_last_error_message());
    const std::vector<uint16_t> got = out1.download(), again = out2.download();
    CHECK_MSG(got == again, "%s: two runs on the same input differ", type_name(type));

    const double u = unit_roundoff(type) + std::ldexp(1.0, -20);
    const double lipschitz = s.activation == INKWELL_ACTIVATION_SILU ? 1.1 : 1.0;
    const double sum_bound = lipschitz * (gamma_gpu(k_len) + gamma_cpu(k_len)) * 1.001;
    const double floor = 2 * subnormal_floor(type);
    int64_t bad = 0;
    double worst = 0;  // largest |gpu - cpu| / tolerance
    for (size_t i = 0; i < out_count; ++i) {
        const double g = widen16(type, got[i]), r = widen16(type, ref[i]);
        const double tol = u * (std::fabs(g) + std::fabs(r)) + sum_bound * double(scale[i]) + floor;
        const double diff = std::fabs(g - r);
        if (diff <= tol) {
            worst = std::max(worst, diff / tol);
            continue;
        }
        if (bad++ < 10)
            std::printf("    %s [%zu] got %.9g want %.9g (tolerance %.3g, S %.4g)\n", type_name(type), i, g, r, tol,
                        double(scale[i]));
    }
    std::printf("  %s batch %lld cin %lld %lldx%lld cout %lld k %lldx%lld groups %lld: worst |diff| / tolerance %.3f\n",
                type_name(type), (long long)s.batch, (long long)s.cin, (long long)s.h, (long long)s.w,
                (long long)s.cout, (long long)s.kh, (long long)s.kw, (long long)s.groups, worst);
    CHECK_MSG(bad == 0, "%s batch %lld cin %lld %lldx%lld cout %lld k %lldx%lld groups %lld: %lld of %zu differ",
              type_name(type), (long long)s.batch, (long long)s.cin, (long long)s.h, (long long)s.w, (long long)s.cout,
              (long long)s.kh, (long long)s.kw, (long long)s.groups, (long long)bad, out_count);
}

}  // namespace

TEST(cuda_conv2d_half_matches_cpu) {
    std::mt19937 rng(37);
    // Under a sanitizer: vector and scalar (K = 12) weight loads, groups, stride, and a shape
    // with five 128-row blocks and odd sizes.
    const bool quick = sanitizer_run();
    for (int32_t type : {INKWELL_ELEMENT_F16, INKWELL_ELEMENT_BF16}) {
        for (size_t i = 0; i < std::size(kShapes); ++i)
            if (!quick || i == 1 || i == 3 || i == 8) check_half_shape(type, kShapes[i], rng);
        for (size_t i = 0; i < std::size(kSdShapes); ++i)
            if (!quick || i == 2) check_half_shape(type, kSdShapes[i], rng);
    }
}
