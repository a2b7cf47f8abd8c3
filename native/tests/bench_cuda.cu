// Benchmark of the CUDA kernels on the shapes of issue 4 (conv2d and attention also in float16
// and bfloat16 on tensor cores, reported in TFLOP/s), timed with CUDA events around
// back-to-back launches on one stream (the launchers are called directly, with
// State::synchronous off, so the per-call synchronisation of the ABI is not measured), next
// to a device-to-device cudaMemcpy of comparable size. Inputs are filled on the device.
//
//   bench_cuda [results.json]     prints one line per case; writes JSON lines if given a path
//
// Built only with the CUDA backend; gpu-check.sh runs it. Arguments are prepared the way the
// ABI entries prepare them (DDIM coefficients, Canny thresholds, in the core's own code).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cpu/canny_common.hpp"
#include "cpu/canny_cpu.hpp"
#include "cpu/ddim_cpu.hpp"
#include "cuda/cuda_common.cuh"

using namespace inkwell;
using inkwell::cuda::State;

namespace {

FILE* json = nullptr;

__global__ void fill_kernel(float* p, int64_t n, uint32_t seed, float scale) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        uint32_t h = uint32_t(i) * 2654435761u ^ seed;
        h ^= h >> 15;
        h *= 2246822519u;
        h ^= h >> 13;
        p[i] = (float(h & 0xffffff) / float(0x1000000) * 2.0f - 1.0f) * scale;
    }
}

// Blocks of flat colour with soft noise: edges along block borders, like a photo's structure.
__global__ void image_kernel(uint8_t* p, int64_t h, int64_t w, int64_t cn) {
    const int64_t n = h * w * cn;
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t c = i % cn, x = (i / cn) % w, y = i / cn / w;
        uint32_t block = uint32_t((x / 37) * 7919 + (y / 23) * 104729 + c * 31);
        block = block * 2654435761u;
        const uint32_t noise = (uint32_t(i) * 2246822519u) >> 29;
        p[i] = uint8_t(((block >> 24) & 0xf0) + noise);
    }
}

// The same values rounded to float16 or bfloat16 (bit patterns).
__global__ void fill16_kernel(uint16_t* p, int64_t n, uint32_t seed, float scale, int32_t type) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        uint32_t h = uint32_t(i) * 2654435761u ^ seed;
        h ^= h >> 15;
        h *= 2246822519u;
        h ^= h >> 13;
        const float v = (float(h & 0xffffff) / float(0x1000000) * 2.0f - 1.0f) * scale;
        p[i] = type == INKWELL_ELEMENT_F16 ? __half_as_ushort(__float2half_rn(v))
                                           : __bfloat16_as_ushort(__float2bfloat16_rn(v));
    }
}

const char* type_tag(int32_t type) {
    return type == INKWELL_ELEMENT_F16 ? "f16" : type == INKWELL_ELEMENT_BF16 ? "bf16" : "f32";
}

// n elements of the given type (float32, or 16-bit bit patterns), filled on the device.
void* device_tensor(int32_t type, int64_t n, uint32_t seed, float scale = 1.0f) {
    if (type == INKWELL_ELEMENT_F32) {
        float* p = nullptr;
        cuda::check(cudaMalloc(&p, size_t(n) * sizeof(float)), "cudaMalloc");
        fill_kernel<<<1024, 256>>>(p, n, seed, scale);
        cuda::check(cudaDeviceSynchronize(), "fill");
        return p;
    }
    uint16_t* p = nullptr;
    cuda::check(cudaMalloc(&p, size_t(n) * sizeof(uint16_t)), "cudaMalloc");
    fill16_kernel<<<1024, 256>>>(p, n, seed, scale, type);
    cuda::check(cudaDeviceSynchronize(), "fill");
    return p;
}

float* device_floats(int64_t n, uint32_t seed, float scale = 1.0f) {
    float* p = nullptr;
    cuda::check(cudaMalloc(&p, size_t(n) * sizeof(float)), "cudaMalloc");
    fill_kernel<<<1024, 256>>>(p, n, seed, scale);
    cuda::check(cudaDeviceSynchronize(), "fill");
    return p;
}

template <class Body>
double time_ms(State& s, int iterations, Body&& body) {
    for (int i = 0; i < 2; ++i) body();  // warm-up (and first-use attribute setting)
    cuda::check(cudaStreamSynchronize(s.stream), "warm-up");
    cudaEvent_t start, stop;
    cuda::check(cudaEventCreate(&start), "event");
    cuda::check(cudaEventCreate(&stop), "event");
    cuda::check(cudaEventRecord(start, s.stream), "event");
    for (int i = 0; i < iterations; ++i) body();
    cuda::check(cudaEventRecord(stop, s.stream), "event");
    cuda::check(cudaEventSynchronize(stop), "event");
    float ms = 0;
    cuda::check(cudaEventElapsedTime(&ms, start, stop), "event");
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return double(ms) / iterations;
}

void report(const std::string& name, double ms, const std::string& metric, double value) {
    std::printf("%-52s %10.1f us  %10.1f %s\n", name.c_str(), ms * 1e3, value, metric.c_str());
    if (json)
        std::fprintf(json, "{\"source\": \"inkwell_cuda\", \"case\": \"%s\", \"us\": %.3f, \"%s\": %.3f}\n", name.c_str(),
                     ms * 1e3, metric.c_str(), value);
    std::fflush(stdout);
}

// Runs one case, reporting a failure without stopping the others.
template <class Body>
void run_case(const char* what, Body&& body) {
    try {
        body();
    } catch (const std::exception& e) {
        std::printf("%-52s FAILED: %s\n", what, e.what());
        if (json) std::fprintf(json, "{\"source\": \"inkwell_cuda\", \"case\": \"%s\", \"error\": \"failed\"}\n", what);
        cudaGetLastError();
    }
}

void bench_memcpy(State& s, int64_t bytes) {
    void *a = nullptr, *b = nullptr;
    cuda::check(cudaMalloc(&a, size_t(bytes)), "cudaMalloc");
    cuda::check(cudaMalloc(&b, size_t(bytes)), "cudaMalloc");
    const double ms = time_ms(s, 20, [&] {
        cuda::check(cudaMemcpyAsync(b, a, size_t(bytes), cudaMemcpyDeviceToDevice, s.stream), "memcpy");
    });
    report("memcpy D2D " + std::to_string(bytes >> 20) + " MiB", ms, "GB/s (read+write)", 2.0 * bytes / ms / 1e6);
    cudaFree(a);
    cudaFree(b);
}

void bench_ddim(State& s, int64_t n, bool guided, double eta, bool with_x0) {
    float* x = device_floats(n, 1);
    float* c = device_floats(n, 2);
    float* u = device_floats(n, 3);
    float* z = device_floats(n, 4);
    float* prev = device_floats(n, 5);
    float* x0 = device_floats(n, 6);
    inkwell_ddim_step_params p{};
    p.sample = x;
    p.model_output = c;
    p.model_output_uncond = guided ? u : nullptr;
    p.noise = eta > 0 ? z : nullptr;
    p.prev_sample = prev;
    p.pred_original_sample = with_x0 ? x0 : nullptr;
    p.count = n;
    p.guidance_scale = 7.5;
    p.alpha_prod_t = 0.3;
    p.alpha_prod_t_prev = 0.45;
    p.eta = eta;
    const cpu::DdimCoefficients k = cpu::ddim_coefficients(p);
    const cuda_backend::DdimCoefficients kk{k.guidance, k.x0_x,    k.x0_m,     k.eps_x,      k.eps_m,         k.clip_lo,
                                            k.clip_hi,  k.prev_x0, k.prev_eps, k.prev_noise, int32_t(k.clip)};
    const double ms = time_ms(s, 20, [&] { cuda::ddim_step(s, p, kk); });
    const int streams = 2 + guided + (eta > 0) + 1 + with_x0;
    report("ddim_step n=" + std::to_string(n) + (guided ? " guided" : "") + (eta > 0 ? " eta" : "") +
               (with_x0 ? " x0" : ""),
           ms, "GB/s", double(streams) * n * 4 / ms / 1e6);
    for (float* f : {x, c, u, z, prev, x0}) cudaFree(f);
}

void bench_add_noise(State& s, int64_t n) {
    float* x = device_floats(n, 1);
    float* z = device_floats(n, 2);
    float* out = device_floats(n, 3);
    inkwell_add_noise_params p{x, z, out, n, 0.5};
    const double ms = time_ms(s, 20, [&] { cuda::add_noise(s, p, std::sqrt(0.5f), std::sqrt(0.5f)); });
    report("add_noise n=" + std::to_string(n), ms, "GB/s", 3.0 * n * 4 / ms / 1e6);
    for (float* f : {x, z, out}) cudaFree(f);
}

void bench_canny(State& s, int64_t h, int64_t w, int64_t cn, int aperture, bool l2) {
    uint8_t *src = nullptr, *dst = nullptr;
    cuda::check(cudaMalloc(&src, size_t(h * w * cn)), "cudaMalloc");
    cuda::check(cudaMalloc(&dst, size_t(h * w)), "cudaMalloc");
    image_kernel<<<1024, 256>>>(src, h, w, cn);
    cuda::check(cudaDeviceSynchronize(), "image");
    const auto t = cpu::canny_thresholds(100, 200, aperture, l2);
    cuda_backend::CannyArgs a{};
    a.src = src;
    a.src_stride = w * cn;
    a.dst = dst;
    a.dst_stride = w;
    a.height = h;
    a.width = w;
    a.channels = cn;
    a.aperture = aperture;
    a.l2 = l2;
    a.low = t.low;
    a.high = t.high;
    a.tan22_q15 = cpu::canny_detail::tan22_q15();
    const double ms = time_ms(s, 10, [&] { cuda::canny(s, a); });
    report("canny " + std::to_string(w) + "x" + std::to_string(h) + " cn=" + std::to_string(cn) +
               " aperture=" + std::to_string(aperture) + (l2 ? " L2" : " L1"),
           ms, "Mpixel/s", double(h * w) / ms / 1e3);
    cudaFree(src);
    cudaFree(dst);
}

// type: INKWELL_ELEMENT_F32 (reported in GFLOP/s, as before) or F16 / BF16 (tensor cores,
// reported in TFLOP/s next to torch's cuDNN rows of the same dtype in gpu_anchors.py).
void bench_conv(State& s, int64_t n, int64_t cin, int64_t hw, int64_t cout, int64_t k, int64_t stride, int64_t groups,
                bool silu, int32_t type = INKWELL_ELEMENT_F32) {
    const int64_t pad = k / 2, out = (hw + 2 * pad - k) / stride + 1;
    void* x = device_tensor(type, n * cin * hw * hw, 1);
    void* wt = device_tensor(type, cout * cin / groups * k * k, 2, 0.05f);
    void* b = device_tensor(type, cout, 3);
    void* y = device_tensor(type, n * cout * out * out, 4);
    inkwell_conv2d_params p{};
    p.input = x;
    p.weight = wt;
    p.bias = b;
    p.output = y;
    p.batch = n;
    p.in_channels = cin;
    p.in_height = p.in_width = hw;
    p.out_channels = cout;
    p.kernel_h = p.kernel_w = k;
    p.stride_h = p.stride_w = stride;
    p.pad_h = p.pad_w = pad;
    p.dilation_h = p.dilation_w = 1;
    p.groups = groups;
    p.out_height = p.out_width = out;
    p.activation = silu ? INKWELL_ACTIVATION_SILU : INKWELL_ACTIVATION_NONE;
    const double ms = time_ms(s, 10, [&] { cuda::conv2d(s, p, type); });
    const double flops = 2.0 * n * cout * out * out * (cin / groups) * k * k;
    const bool half = type != INKWELL_ELEMENT_F32;
    report(std::string("conv2d ") + (half ? std::string(type_tag(type)) + " " : "") + "[" + std::to_string(n) + "," +
               std::to_string(cin) + "," + std::to_string(hw) + "," + std::to_string(hw) + "] -> " +
               std::to_string(cout) + " k" + std::to_string(k) + " s" + std::to_string(stride) +
               (groups > 1 ? " g" + std::to_string(groups) : "") + (silu ? " silu" : ""),
           ms, half ? "TFLOP/s" : "GFLOP/s", flops / ms / (half ? 1e9 : 1e6));
    for (void* f : {x, wt, b, y}) cudaFree(f);
}

// type as for bench_conv: float32 in GFLOP/s, f16 / bf16 in TFLOP/s.
void bench_attention(State& s, int64_t batch, int64_t heads, int64_t lq, int64_t lk, int64_t d, bool causal,
                     int32_t type = INKWELL_ELEMENT_F32) {
    void* q = device_tensor(type, batch * heads * lq * d, 1);
    void* k = device_tensor(type, batch * heads * lk * d, 2);
    void* v = device_tensor(type, batch * heads * lk * d, 3);
    void* o = device_tensor(type, batch * heads * lq * d, 4);
    inkwell_attention_params p{};
    p.q = q;
    p.k = k;
    p.v = v;
    p.out = o;
    p.batch = batch;
    p.heads = heads;
    p.q_len = lq;
    p.kv_len = lk;
    p.head_dim = d;
    p.scale = 1.0 / std::sqrt(double(d));
    p.causal = causal;
    const double ms = time_ms(s, 5, [&] { cuda::attention(s, p, type); });
    const double flops = 4.0 * batch * heads * lq * lk * d * (causal ? 0.5 : 1.0);
    const bool half = type != INKWELL_ELEMENT_F32;
    report(std::string("attention ") + (half ? std::string(type_tag(type)) + " " : "") + "B=" + std::to_string(batch) +
               " H=" + std::to_string(heads) + " Lq=" + std::to_string(lq) + " Lk=" + std::to_string(lk) +
               " D=" + std::to_string(d) + (causal ? " causal" : ""),
           ms, half ? "TFLOP/s" : "GFLOP/s", flops / ms / (half ? 1e9 : 1e6));
    for (void* f : {q, k, v, o}) cudaFree(f);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1) json = std::fopen(argv[1], "w");
    State s;
    try {
        cuda::check(cudaSetDevice(0), "cudaSetDevice");
        cudaDeviceProp prop{};
        cuda::check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
        std::printf("device: %s, %d SMs, sm_%d%d\n", prop.name, prop.multiProcessorCount, prop.major, prop.minor);
        s.sm_count = prop.multiProcessorCount;
        cuda::check(cudaDeviceGetAttribute(&s.max_shared_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0), "attr");
        int coop = 0;
        cuda::check(cudaDeviceGetAttribute(&coop, cudaDevAttrCooperativeLaunch, 0), "attr");
        s.cooperative = coop != 0;
        cuda::check(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking), "stream");
        s.synchronous = false;
    } catch (const std::exception& e) {
        std::printf("no usable CUDA device: %s\n", e.what());
        return 1;
    }
    const int64_t big = int64_t(64) << 20;  // 64M floats, 256 MiB per tensor
    run_case("memcpy", [&] { bench_memcpy(s, big * 4); });
    run_case("ddim", [&] { bench_ddim(s, big, true, 0.0, true); });
    run_case("ddim", [&] { bench_ddim(s, big, true, 1.0, false); });
    run_case("ddim", [&] { bench_ddim(s, big, false, 0.0, false); });
    run_case("ddim", [&] { bench_ddim(s, 2 * 4 * 128 * 128, true, 0.0, true); });  // SD 1.5 latents at 1024x1024
    run_case("add_noise", [&] { bench_add_noise(s, big); });
    for (int64_t d : {40, 80, 160}) {
        run_case("attention", [&] { bench_attention(s, 2, 8, 4096, 4096, d, false); });
        run_case("attention", [&] { bench_attention(s, 2, 8, 4096, 77, d, false); });
    }
    run_case("attention", [&] { bench_attention(s, 2, 8, 4096, 4096, 80, true); });
    run_case("conv2d", [&] { bench_conv(s, 1, 320, 64, 320, 3, 1, 1, false); });
    run_case("conv2d", [&] { bench_conv(s, 2, 320, 64, 320, 3, 1, 1, true); });
    run_case("conv2d", [&] { bench_conv(s, 1, 640, 32, 640, 3, 1, 1, false); });
    run_case("conv2d", [&] { bench_conv(s, 1, 1280, 16, 1280, 3, 1, 1, false); });
    run_case("conv2d", [&] { bench_conv(s, 1, 320, 64, 320, 1, 1, 1, false); });
    run_case("conv2d", [&] { bench_conv(s, 1, 4, 64, 320, 3, 1, 1, false); });
    run_case("conv2d", [&] { bench_conv(s, 1, 320, 64, 320, 3, 2, 1, false); });
    run_case("conv2d", [&] { bench_conv(s, 1, 320, 64, 320, 3, 1, 32, false); });
    // 16-bit rows on tensor cores: f16 for every attention and conv2d shape above, bf16 for
    // the main ones (the kernel is the same template; bf16 only changes the MMA's input type).
    constexpr int32_t kF16 = INKWELL_ELEMENT_F16, kBF16 = INKWELL_ELEMENT_BF16;
    for (int64_t d : {40, 80, 160}) {
        run_case("attention f16", [&] { bench_attention(s, 2, 8, 4096, 4096, d, false, kF16); });
        run_case("attention f16", [&] { bench_attention(s, 2, 8, 4096, 77, d, false, kF16); });
        run_case("attention bf16", [&] { bench_attention(s, 2, 8, 4096, 4096, d, false, kBF16); });
    }
    run_case("attention f16", [&] { bench_attention(s, 2, 8, 4096, 4096, 80, true, kF16); });
    run_case("conv2d f16", [&] { bench_conv(s, 1, 320, 64, 320, 3, 1, 1, false, kF16); });
    run_case("conv2d f16", [&] { bench_conv(s, 2, 320, 64, 320, 3, 1, 1, true, kF16); });
    run_case("conv2d f16", [&] { bench_conv(s, 1, 640, 32, 640, 3, 1, 1, false, kF16); });
    run_case("conv2d f16", [&] { bench_conv(s, 1, 1280, 16, 1280, 3, 1, 1, false, kF16); });
    run_case("conv2d f16", [&] { bench_conv(s, 1, 320, 64, 320, 1, 1, 1, false, kF16); });
    run_case("conv2d f16", [&] { bench_conv(s, 1, 4, 64, 320, 3, 1, 1, false, kF16); });
    run_case("conv2d f16", [&] { bench_conv(s, 1, 320, 64, 320, 3, 2, 1, false, kF16); });
    run_case("conv2d f16", [&] { bench_conv(s, 1, 320, 64, 320, 3, 1, 32, false, kF16); });
    run_case("conv2d bf16", [&] { bench_conv(s, 1, 320, 64, 320, 3, 1, 1, false, kBF16); });
    run_case("conv2d bf16", [&] { bench_conv(s, 1, 640, 32, 640, 3, 1, 1, false, kBF16); });
    run_case("canny", [&] { bench_canny(s, 1080, 1920, 3, 3, false); });
    run_case("canny", [&] { bench_canny(s, 2160, 3840, 3, 3, false); });
    run_case("canny", [&] { bench_canny(s, 1080, 1920, 1, 3, false); });
    run_case("canny", [&] { bench_canny(s, 2160, 3840, 3, 5, true); });
    if (s.scratch) cudaFree(s.scratch);
    cudaStreamDestroy(s.stream);
    if (json) std::fclose(json);
    return 0;
}
