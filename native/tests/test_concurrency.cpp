// Many threads call every ABI kernel on shared read-only inputs, some through one shared
// context and some through contexts of their own: every result has the bits of the
// single-threaded run. Built under ThreadSanitizer (the tsan preset, run in CI), this is
// also the data-race check of the contexts, the thread pool and the kernels' scratch memory.
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "element_types.hpp"
#include "inkwell/inkwell.h"
#include "test_util.hpp"

namespace {

// Small shapes: under ThreadSanitizer every memory access is instrumented (5-15x slower).
constexpr int64_t H = 40, W = 56;
constexpr int64_t N = 1, C = 8, S = 12;              // conv2d / resample / DDIM tensors [N, C, S, S]
constexpr int64_t HEADS = 2, LQ = 48, LK = 77, D = 40;  // attention

struct Inputs {
    std::vector<uint8_t> rgb, gray;
    std::vector<float> x, weight, bias, q, k, v, cond, uncond, noise;
    std::vector<uint16_t> x16, weight16, bias16, q16, k16, v16;  // f16 (conv2d) and bf16 (attention) copies

    explicit Inputs(uint32_t seed) {
        std::mt19937 rng(seed);
        rgb = inkwell_test::random_image(rng, H, W, 3, W * 3, true);
        gray = inkwell_test::random_image(rng, H, W, 1, W, true);
        std::normal_distribution<float> normal(0.0f, 1.0f);
        auto fill = [&](std::vector<float>& a, size_t n) {
            a.resize(n);
            for (auto& e : a) e = normal(rng);
        };
        fill(x, N * C * S * S);
        fill(weight, C * (C / 2) * 3 * 3);
        fill(bias, C);
        fill(q, 2 * HEADS * LQ * D);
        fill(k, 2 * HEADS * LK * D);
        fill(v, 2 * HEADS * LK * D);
        fill(cond, x.size());
        fill(uncond, x.size());
        fill(noise, x.size());
        auto narrow = [](const std::vector<float>& a, uint16_t (*to16)(float)) {
            std::vector<uint16_t> b(a.size());
            for (size_t i = 0; i < a.size(); ++i) b[i] = to16(a[i]);
            return b;
        };
        x16 = narrow(x, inkwell::float_to_f16);
        weight16 = narrow(weight, inkwell::float_to_f16);
        bias16 = narrow(bias, inkwell::float_to_f16);
        q16 = narrow(q, inkwell::float_to_bf16);
        k16 = narrow(k, inkwell::float_to_bf16);
        v16 = narrow(v, inkwell::float_to_bf16);
    }
};

// Every output of one pass over the kernels, as bytes, so results compare with ==.
using Outputs = std::vector<std::vector<uint8_t>>;

template <typename T>
std::vector<uint8_t> bytes_of(const std::vector<T>& a) {
    std::vector<uint8_t> b(a.size() * sizeof(T));
    std::memcpy(b.data(), a.data(), b.size());
    return b;
}

inkwell_image_u8 image(const std::vector<uint8_t>& data, int64_t cn) {
    return {const_cast<uint8_t*>(data.data()), H, W, cn, W * cn};
}

// Runs every kernel once with `ctx`; returns false (and reports) if any call failed.
bool run_all_kernels(inkwell_context* ctx, const Inputs& in, Outputs& out) {
    bool ok = true;
    auto call = [&](int32_t status, const char* what) {
        if (status != INKWELL_OK) {
            std::printf("  %s: %s: %s\n", what, inkwell_status_name(status), inkwell_last_error_message());
            ok = false;
        }
    };
    out.clear();

    std::vector<uint8_t> edges(H * W), edges_gray(H * W), blurred(H * W * 3);
    inkwell_canny_params cp{};
    cp.src = image(in.rgb, 3);
    cp.dst = {edges.data(), H, W, 1, W};
    cp.low_threshold = 100;
    cp.high_threshold = 200;
    cp.aperture_size = 3;
    call(inkwell_canny_u8(ctx, &cp), "canny rgb");
    cp.src = image(in.gray, 1);
    cp.dst = {edges_gray.data(), H, W, 1, W};
    cp.l2_gradient = 1;
    cp.blur_ksize = 5;
    cp.blur_sigma = 1.4;
    call(inkwell_canny_u8(ctx, &cp), "canny gray, blurred, L2");
    inkwell_gaussian_blur_params bp{image(in.rgb, 3), {blurred.data(), H, W, 3, W * 3}, 7, 0};
    call(inkwell_gaussian_blur_u8(ctx, &bp), "gaussian blur");
    double psnr = 0, ssim = 0;
    inkwell_image_metric_params mp{image(in.rgb, 3), {blurred.data(), H, W, 3, W * 3}, &psnr};
    call(inkwell_psnr_u8(ctx, &mp), "psnr");
    mp.result = &ssim;
    call(inkwell_ssim_u8(ctx, &mp), "ssim");
    out.push_back(edges);
    out.push_back(edges_gray);
    out.push_back(blurred);
    out.push_back(bytes_of(std::vector<double>{psnr, ssim}));

    std::vector<float> y(N * C * S * S);
    inkwell_conv2d_params conv{};
    conv.input = in.x.data();
    conv.weight = in.weight.data();
    conv.bias = in.bias.data();
    conv.output = y.data();
    conv.batch = N;
    conv.in_channels = C;
    conv.in_height = conv.in_width = S;
    conv.out_channels = C;
    conv.kernel_h = conv.kernel_w = 3;
    conv.stride_h = conv.stride_w = 1;
    conv.pad_h = conv.pad_w = 1;
    conv.dilation_h = conv.dilation_w = 1;
    conv.groups = 2;
    conv.out_height = conv.out_width = S;
    conv.activation = INKWELL_ACTIVATION_SILU;
    call(inkwell_conv2d_f32(ctx, &conv), "conv2d");
    out.push_back(bytes_of(y));
    // The same convolution through the f16 entry (widened copies, float32 kernel, narrowing).
    std::vector<uint16_t> y16(y.size());
    conv.input = in.x16.data();
    conv.weight = in.weight16.data();
    conv.bias = in.bias16.data();
    conv.output = y16.data();
    call(inkwell_conv2d_f16(ctx, &conv), "conv2d f16");
    out.push_back(bytes_of(y16));

    std::vector<float> self(in.q.size()), cross(in.q.size());
    int32_t kv_lens[2] = {77, 30};
    inkwell_attention_params ap{in.q.data(), in.q.data(), in.q.data(), self.data(), 2, HEADS, LQ, LQ, D,
                                0.158113883, 1, nullptr};
    call(inkwell_attention_f32(ctx, &ap), "self-attention, causal");
    ap = {in.q.data(), in.k.data(), in.v.data(), cross.data(), 2, HEADS, LQ, LK, D, 0.158113883, 0, kv_lens};
    call(inkwell_attention_f32(ctx, &ap), "cross-attention, kv_lens");
    out.push_back(bytes_of(self));
    out.push_back(bytes_of(cross));
    std::vector<uint16_t> cross16(in.q.size());
    ap = {in.q16.data(), in.k16.data(), in.v16.data(), cross16.data(), 2, HEADS, LQ, LK, D, 0.158113883, 1, kv_lens};
    call(inkwell_attention_bf16(ctx, &ap), "cross-attention bf16, causal, kv_lens");
    out.push_back(bytes_of(cross16));

    std::vector<float> prev(in.x.size()), x0(in.x.size()), noised(in.x.size()), z(3000);
    inkwell_ddim_step_params dp{in.x.data(), in.cond.data(), in.uncond.data(), in.noise.data(), prev.data(), x0.data(),
                                static_cast<int64_t>(in.x.size()), 7.5, 0.3, 0.35, 1.0, INKWELL_PREDICTION_EPSILON, 0, 1.0};
    call(inkwell_ddim_step_f32(ctx, &dp), "ddim step");
    inkwell_add_noise_params np{in.x.data(), in.noise.data(), noised.data(), static_cast<int64_t>(in.x.size()), 0.4};
    call(inkwell_add_noise_f32(ctx, &np), "add noise");
    inkwell_randn_params rp{z.data(), static_cast<int64_t>(z.size()), 1234, 77};
    call(inkwell_randn_f32(ctx, &rp), "randn");
    out.push_back(bytes_of(prev));
    out.push_back(bytes_of(x0));
    out.push_back(bytes_of(noised));
    out.push_back(bytes_of(z));

    for (int32_t mode : {INKWELL_UPSAMPLE_BILINEAR_2X, INKWELL_MAX_POOL_2X2}) {
        bool up = mode == INKWELL_UPSAMPLE_BILINEAR_2X;
        std::vector<float> r(N * C * (up ? 4 * S * S : (S / 2) * (S / 2)));
        inkwell_resample_params rs{in.x.data(), r.data(), N, C, S, S, mode};
        call(inkwell_resample_f32(ctx, &rs), "resample");
        out.push_back(bytes_of(r));
    }
    return ok;
}

inkwell_context* new_context(int32_t threads) {
    inkwell_context_options o{INKWELL_DEVICE_CPU, threads, 0};
    inkwell_context* ctx = nullptr;
    return inkwell_context_create(&o, &ctx) == INKWELL_OK ? ctx : nullptr;
}

}  // namespace

TEST(threads_sharing_and_owning_contexts_get_the_single_threaded_bits) {
    const Inputs in(5);
    Outputs want;
    inkwell_context* single = new_context(1);
    CHECK(single != nullptr && run_all_kernels(single, in, want));
    inkwell_context_destroy(single);

    constexpr int threads = 6, runs = 3;
    inkwell_context* shared = new_context(2);
    CHECK(shared != nullptr);
    std::vector<int> mismatches(threads, 0);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            bool own = t % 2 == 0;
            inkwell_context* ctx = own ? new_context(1 + t % 3) : shared;
            Outputs got;
            for (int r = 0; r < runs; ++r) {
                if (ctx == nullptr || !run_all_kernels(ctx, in, got) || got != want) ++mismatches[t];
            }
            if (own) inkwell_context_destroy(ctx);
        });
    }
    for (auto& th : pool) th.join();
    inkwell_context_destroy(shared);
    for (int t = 0; t < threads; ++t)
        CHECK_MSG(mismatches[t] == 0, "thread %d (%s context): %d of %d runs differ", t, t % 2 == 0 ? "own" : "shared",
                  mismatches[t], runs);
    std::printf("  %d threads x %d runs x 15 kernel calls, results bit-identical to one thread\n", threads, runs);
}

TEST(contexts_created_and_destroyed_from_many_threads) {
    std::vector<std::thread> pool;
    std::vector<int> failures(4, 0);
    for (int t = 0; t < 4; ++t) {
        pool.emplace_back([&, t] {
            for (int i = 0; i < 20; ++i) {
                inkwell_context* ctx = new_context(1 + (i + t) % 3);
                if (ctx == nullptr) ++failures[t];
                inkwell_context_destroy(ctx);
            }
        });
    }
    for (auto& th : pool) th.join();
    for (int t = 0; t < 4; ++t) CHECK_MSG(failures[t] == 0, "thread %d: %d context creations failed", t, failures[t]);
}
