// DDIM step and add_noise on a CUDA context against a CPU context: bit-identical (both
// evaluate the same rounded coefficients with separately rounded multiplies and adds), on
// every combination of prediction type, guidance, clipping, eta and the x0 output, at
// sizes that leave a scalar tail, and with buffers that are not 16-byte aligned.
#include <cmath>
#include <random>

#include "cuda_test_util.hpp"

using namespace inkwell_test;

namespace {

std::vector<float> random_floats(std::mt19937& rng, int64_t n) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> v(n);
    for (float& x : v) x = normal(rng);
    return v;
}

int64_t bit_mismatches(const std::vector<float>& got, const std::vector<float>& want) {
    int64_t bad = 0;
    for (size_t i = 0; i < want.size(); ++i)
        if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0 && !(std::isnan(got[i]) && std::isnan(want[i]))) {
            if (bad < 10) std::printf("    [%zu] got %.9g want %.9g\n", i, got[i], want[i]);
            ++bad;
        }
    return bad;
}

}  // namespace

TEST(cuda_ddim_step_matches_cpu_bit_for_bit) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> alpha(0.02, 0.98);
    for (int64_t n : {int64_t(1), int64_t(3), int64_t(97), int64_t(1025), int64_t(4 * 65536 + 3)})
        for (int64_t offset : {0, 1})  // offset 1: float-aligned only, the scalar kernel
            for (int type : {INKWELL_PREDICTION_EPSILON, INKWELL_PREDICTION_V, INKWELL_PREDICTION_SAMPLE})
                for (bool guided : {false, true})
                    for (bool clip : {false, true})
                        for (double eta : {0.0, 0.7})
                            for (bool with_x0 : {false, true}) {
                                const int64_t total = n + offset;
                                auto x = random_floats(rng, total), c = random_floats(rng, total),
                                     u = random_floats(rng, total), z = random_floats(rng, total);
                                DeviceBuffer<float> dx(x), dc(c), du(u), dz(z), dprev(total), dx0(total);
                                inkwell_ddim_step_params p{};
                                p.count = n;
                                p.guidance_scale = 7.5;
                                p.alpha_prod_t = alpha(rng);
                                p.alpha_prod_t_prev = eta > 0 ? std::min(0.999, p.alpha_prod_t + 0.1) : alpha(rng);
                                p.eta = eta;
                                p.prediction_type = type;
                                p.clip_sample = clip;
                                p.clip_sample_range = 1.0;
                                std::vector<float> prev(total, NAN), x0(total, NAN);
                                inkwell_ddim_step_params host = p;
                                host.sample = x.data() + offset;
                                host.model_output = c.data() + offset;
                                host.model_output_uncond = guided ? u.data() + offset : nullptr;
                                host.noise = z.data() + offset;
                                host.prev_sample = prev.data() + offset;
                                host.pred_original_sample = with_x0 ? x0.data() + offset : nullptr;
                                CHECK(inkwell_ddim_step_f32(cpu_ctx(), &host) == INKWELL_OK);
                                inkwell_ddim_step_params dev = p;
                                dev.sample = dx.get() + offset;
                                dev.model_output = dc.get() + offset;
                                dev.model_output_uncond = guided ? du.get() + offset : nullptr;
                                dev.noise = dz.get() + offset;
                                dev.prev_sample = dprev.get() + offset;
                                dev.pred_original_sample = with_x0 ? dx0.get() + offset : nullptr;
                                const int32_t st = inkwell_ddim_step_f32(cuda_ctx(), &dev);
                                CHECK_MSG(st == INKWELL_OK, "%s", inkwell_last_error_message());
                                std::vector<float> gp = dprev.download(), gx = dx0.download();
                                gp.erase(gp.begin(), gp.begin() + offset);
                                prev.erase(prev.begin(), prev.begin() + offset);
                                CHECK_MSG(bit_mismatches(gp, prev) == 0, "prev: n=%lld offset=%lld type=%d guided=%d clip=%d eta=%g",
                                          (long long)n, (long long)offset, type, guided, clip, eta);
                                if (with_x0) {
                                    gx.erase(gx.begin(), gx.begin() + offset);
                                    x0.erase(x0.begin(), x0.begin() + offset);
                                    CHECK_MSG(bit_mismatches(gx, x0) == 0, "x0: n=%lld offset=%lld type=%d", (long long)n,
                                              (long long)offset, type);
                                }
                            }
}

TEST(cuda_add_noise_matches_cpu_bit_for_bit) {
    std::mt19937 rng(8);
    for (int64_t n : {int64_t(1), int64_t(1021), int64_t(1 << 20)})
        for (int64_t offset : {0, 3})
            for (double a : {0.0, 0.37, 1.0}) {
                const int64_t total = n + offset;
                auto x = random_floats(rng, total), z = random_floats(rng, total);
                DeviceBuffer<float> dx(x), dz(z), dout(total);
                std::vector<float> out(total, NAN);
                inkwell_add_noise_params host{x.data() + offset, z.data() + offset, out.data() + offset, n, a};
                CHECK(inkwell_add_noise_f32(cpu_ctx(), &host) == INKWELL_OK);
                inkwell_add_noise_params dev{dx.get() + offset, dz.get() + offset, dout.get() + offset, n, a};
                CHECK_MSG(inkwell_add_noise_f32(cuda_ctx(), &dev) == INKWELL_OK, "%s", inkwell_last_error_message());
                auto got = dout.download();
                got.erase(got.begin(), got.begin() + offset);
                out.erase(out.begin(), out.begin() + offset);
                CHECK_MSG(bit_mismatches(got, out) == 0, "n=%lld offset=%lld a=%g", (long long)n, (long long)offset, a);
            }
}

TEST(cuda_ddim_checks_arguments_on_the_host) {
    inkwell_ddim_step_params p{};
    p.count = 4;
    p.alpha_prod_t = 2.0;  // out of range: refused before any device pointer is touched
    float* bogus = reinterpret_cast<float*>(uintptr_t(0x1000));
    p.sample = p.model_output = bogus;
    p.prev_sample = bogus + 64;
    CHECK(inkwell_ddim_step_f32(cuda_ctx(), &p) == INKWELL_INVALID_ARGUMENT);
}
