// Conv2d on a CUDA context against a CPU context, within atol + rtol |ref|: shapes with
// awkward channel counts and sizes (not multiples of the 64 x 64 tile or the K step of 16),
// groups (including depthwise), stride, padding, dilation, rectangular kernels, with and
// without bias and SiLU, batch > 1.
#include <cmath>
#include <random>

#include "cuda_test_util.hpp"

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

}  // namespace

TEST(cuda_conv2d_matches_cpu) {
    const Shape shapes[] = {
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
    std::mt19937 rng(31);
    for (const Shape& s : shapes) {
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
