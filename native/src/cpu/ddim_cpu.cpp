// DDIM step and add_noise, CPU: the coefficients, the plain references, the fused fast
// pass. See the header for the linear form the fast pass evaluates.
#include "ddim_cpu.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "parallel_chunks.hpp"
#include "simd_dispatch.hpp"

namespace inkwell::cpu {

// ---------------------------------------------------------------------------------------
// Coefficients, in double, once per call.
// ---------------------------------------------------------------------------------------

double ddim_variance(double alpha_prod_t, double alpha_prod_t_prev) {
    const double beta_prod_t = 1.0 - alpha_prod_t;
    if (beta_prod_t == 0) return 0.0;
    return (1.0 - alpha_prod_t_prev) / beta_prod_t * (1.0 - alpha_prod_t / alpha_prod_t_prev);
}

namespace {

// Standard deviation of the noise term: eta sigma_t.
double ddim_noise_std(const inkwell_ddim_step_params& p) {
    return p.eta * std::sqrt(ddim_variance(p.alpha_prod_t, p.alpha_prod_t_prev));
}

}  // namespace

DdimCoefficients ddim_coefficients(const inkwell_ddim_step_params& p) {
    const double sqrt_a = std::sqrt(p.alpha_prod_t);
    const double sqrt_b = std::sqrt(1.0 - p.alpha_prod_t);
    double x0_x = 0, x0_m = 0, eps_x = 0, eps_m = 0;
    switch (p.prediction_type) {
        case INKWELL_PREDICTION_EPSILON:  // x0 = (x - sqrt(b) m) / sqrt(a), eps = m
            x0_x = 1.0 / sqrt_a;
            x0_m = -sqrt_b / sqrt_a;
            eps_m = 1.0;
            break;
        case INKWELL_PREDICTION_SAMPLE:  // x0 = m, eps = (x - sqrt(a) x0) / sqrt(b)
            x0_m = 1.0;
            eps_x = 1.0 / sqrt_b;
            eps_m = -sqrt_a / sqrt_b;
            break;
        case INKWELL_PREDICTION_V:  // x0 = sqrt(a) x - sqrt(b) v, eps = sqrt(a) v + sqrt(b) x
            x0_x = sqrt_a;
            x0_m = -sqrt_b;
            eps_x = sqrt_b;
            eps_m = sqrt_a;
            break;
    }
    const double noise_std = ddim_noise_std(p);
    const double ap = p.alpha_prod_t_prev;
    DdimCoefficients k{};
    k.guidance = float(p.guidance_scale);
    k.x0_x = float(x0_x);
    k.x0_m = float(x0_m);
    k.eps_x = float(eps_x);
    k.eps_m = float(eps_m);
    k.clip = p.clip_sample != 0;
    k.clip_lo = float(-p.clip_sample_range);
    k.clip_hi = float(p.clip_sample_range);
    k.prev_x0 = float(std::sqrt(ap));
    // Rounding can push 1 - a_prev - std^2 a hair below 0 when eta is large; diffusers
    // would return NaN there, a direction of 0 is the limit it approaches.
    k.prev_eps = float(std::sqrt(std::max(0.0, 1.0 - ap - noise_std * noise_std)));
    k.prev_noise = p.eta > 0 ? float(noise_std) : 0.0f;
    return k;
}

// ---------------------------------------------------------------------------------------
// References: the diffusers formulas, element by element, in double.
// ---------------------------------------------------------------------------------------

void ddim_step_reference(const inkwell_ddim_step_params& p) {
    const double a = p.alpha_prod_t, ap = p.alpha_prod_t_prev, b = 1.0 - a;
    const double noise_std = ddim_noise_std(p);
    const double r = p.clip_sample_range;
    for (int64_t i = 0; i < p.count; ++i) {
        const double x = p.sample[i];
        double m = p.model_output[i];
        if (p.model_output_uncond != nullptr) {
            const double u = p.model_output_uncond[i];
            m = u + p.guidance_scale * (m - u);
        }
        double x0 = 0, eps = 0;
        if (p.prediction_type == INKWELL_PREDICTION_EPSILON) {
            x0 = (x - std::sqrt(b) * m) / std::sqrt(a);
            eps = m;
        } else if (p.prediction_type == INKWELL_PREDICTION_SAMPLE) {
            x0 = m;
            eps = (x - std::sqrt(a) * x0) / std::sqrt(b);
        } else {
            x0 = std::sqrt(a) * x - std::sqrt(b) * m;
            eps = std::sqrt(a) * m + std::sqrt(b) * x;
        }
        if (p.clip_sample) x0 = std::clamp(x0, -r, r);
        double prev = std::sqrt(ap) * x0 + std::sqrt(std::max(0.0, 1.0 - ap - noise_std * noise_std)) * eps;
        if (p.eta > 0) prev += noise_std * p.noise[i];
        p.prev_sample[i] = float(prev);
        if (p.pred_original_sample != nullptr) p.pred_original_sample[i] = float(x0);
    }
}

void add_noise_reference(const inkwell_add_noise_params& p) {
    for (int64_t i = 0; i < p.count; ++i)
        p.out[i] = float(std::sqrt(p.alpha_prod) * p.original[i] + std::sqrt(1.0 - p.alpha_prod) * p.noise[i]);
}

// ---------------------------------------------------------------------------------------
// Fast path: one pass, a SIMD body of kLanes floats and a scalar head and tail through the
// same template, so every element gets the same arithmetic wherever a chunk or alignment
// boundary falls (results are identical for any thread count and any split).
// ---------------------------------------------------------------------------------------

namespace {

// Four floats: one SSE register on the x86-64 baseline this library is built for (or a
// NEON one). Large steps are memory-bound and run on these.
typedef float Lanes __attribute__((vector_size(16)));
constexpr int64_t kLanes = sizeof(Lanes) / sizeof(float);

// Eight floats, for CPUs with AVX2: a Stable Diffusion latent ([2, 4, 64, 64], 128 KiB a
// tensor) sits in L2, where the step is bound by instructions, not memory, and twice the
// lanes is nearly twice the speed. Every element gets the same operations in the same order
// on both widths, and the file is built with -ffp-contract=off (CMakeLists.txt), so no
// multiply-add is fused on either: the two give identical bits.
typedef float WideLanes __attribute__((vector_size(32)));
// Sixteen floats, for CPUs with AVX-512: the same operations again (the same bits), half the
// instructions of the eight-lane body.
typedef float Wide512Lanes __attribute__((vector_size(64)));

// Elements per task: 32 KiB per stream keeps a task's six streams in L2 and makes the
// per-task cost of the pool (a lock and a wake-up) negligible.
constexpr int64_t kChunk = 8192;

// Below this many elements a step runs on the calling thread alone: waking a worker costs
// more (about 10 us here) than the half of the work it would take (a 2x4x64x64 latent is
// about 5 us of work on one core).
constexpr int64_t kParallelMinCount = int64_t(1) << 17;

// From this many elements (4 MiB per stream) outputs bypass the cache. A normal store first
// reads its line (write-allocate), so each output stream would cost twice its bytes; with
// streaming stores the step moves only the bytes it must. 16M elements, guidance, eta 0,
// x0 written, 2 threads of a shared EPYC VM: 0.66-0.68 of a 2-thread memcpy's bandwidth
// with cached stores, 0.9-1.4 streamed (eta 1, one more input: 0.5-1.1, noisy). Smaller
// outputs stay cached: the next step, or the model, reads them again at once.
constexpr int64_t kStreamingMinCount = int64_t(1) << 20;

enum class Stores { cached, streaming };

// memcpy: the buffers are only float-aligned, and this compiles to one unaligned move.
template <class V>
inline __attribute__((always_inline)) V load(const float* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

template <class V, Stores S>
inline __attribute__((always_inline)) void put(float* p, V v) {
#if defined(__SSE2__)
    if constexpr (S == Stores::streaming && sizeof(V) == 16) {
        _mm_stream_ps(p, v);  // p is 16-byte aligned: vector_loop's head sees to it
        return;
    }
#endif
    std::memcpy(p, &v, sizeof v);
}

bool aligned16(const float* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// Streaming stores fill a write-combining buffer per cache line; the buffer is flushed
// whole only if its 64 bytes arrive close together, so the streaming body writes a full
// line of each output per iteration.
constexpr int64_t kLineLanes = 64 / sizeof(Lanes);

// kernel.run<V, S>(i) over [begin, end): SIMD body and scalar tail; when streaming, a
// scalar head first brings `aligned` (the outputs all share its alignment) to 16 bytes.
// The kernel is taken by value: a local copy cannot alias the float outputs, so its
// pointers and coefficients stay in registers instead of being reloaded after each store.
// Always inlined: the wide callers below must compile the body for their own target.
template <class Kernel, class Body = Lanes>
inline __attribute__((always_inline)) void vector_loop(const Kernel kernel, int64_t begin, int64_t end, const float* aligned, bool streaming) {
    int64_t i = begin;
    constexpr int64_t body_lanes = sizeof(Body) / sizeof(float);
    if (streaming) {
        for (; i < end && !aligned16(aligned + i); ++i) kernel.template run<float, Stores::cached>(i);
        for (; i + kLineLanes * kLanes <= end; i += kLineLanes * kLanes)
            for (int64_t line = 0; line < kLineLanes; ++line)
                kernel.template run<Lanes, Stores::streaming>(i + line * kLanes);
#if defined(__SSE2__)
        _mm_sfence();  // streaming stores are weakly ordered: publish them before returning
#endif
    } else {
        for (; i + body_lanes <= end; i += body_lanes) kernel.template run<Body, Stores::cached>(i);
    }
    for (; i < end; ++i) kernel.template run<float, Stores::cached>(i);
}

#if defined(__x86_64__)
// The cached loop on eight lanes; the kernel's run<WideLanes> is inlined here and so
// compiled for AVX2 too.
template <class Kernel>
__attribute__((target("avx2"))) void vector_loop_avx2(const Kernel kernel, int64_t begin, int64_t end) {
    vector_loop<Kernel, WideLanes>(kernel, begin, end, nullptr, false);
}

// The same on sixteen lanes.
template <class Kernel>
__attribute__((target("avx512f"))) void vector_loop_avx512(const Kernel kernel, int64_t begin, int64_t end) {
    vector_loop<Kernel, Wide512Lanes>(kernel, begin, end, nullptr, false);
}

bool cpu_has_avx2() { return simd_avx2(); }  // the level in effect (simd_dispatch.hpp)
bool cpu_has_avx512() { return simd_avx512(); }
#else
bool cpu_has_avx2() { return false; }
bool cpu_has_avx512() { return false; }
#endif

// Runs the kernel over [0, count) in fixed chunks: on the pool, or on the calling thread
// for small counts; eight lanes where the CPU has them and the stores are cached.
template <class Kernel>
void run_chunks(ThreadPool& pool, int64_t count, const Kernel& kernel, const float* aligned, bool streaming,
                bool allow_avx2) {
    const bool wide = allow_avx2 && !streaming && cpu_has_avx2();
    const bool wide512 = wide && cpu_has_avx512();
    auto body = [&](int64_t begin, int64_t end) {
#if defined(__x86_64__)
        if (wide512) {
            vector_loop_avx512(kernel, begin, end);
            return;
        }
        if (wide) {
            vector_loop_avx2(kernel, begin, end);
            return;
        }
#endif
        vector_loop(kernel, begin, end, aligned, streaming);
    };
    if (count < kParallelMinCount) {
        for (int64_t begin = 0; begin < count; begin += kChunk) body(begin, std::min(count, begin + kChunk));
        return;
    }
    parallel_chunks(pool, count, kChunk, body);
}

// Streaming pays off for large outputs, and needs them all equally aligned (the head can
// align only one address).
bool use_streaming(int64_t count, const float* out, const float* other_out) {
#if defined(__SSE2__)
    const auto a = reinterpret_cast<uintptr_t>(out), b = reinterpret_cast<uintptr_t>(other_out);
    return count >= kStreamingMinCount && (other_out == nullptr || ((a ^ b) & 15) == 0);
#else
    (void)count, (void)out, (void)other_out;
    return false;
#endif
}

template <class V>
inline __attribute__((always_inline)) V splat(float v) {
    return V{} + v;
}

// NaN stays NaN, as torch.clamp keeps it.
template <class V>
inline __attribute__((always_inline)) V clamp(V v, V lo, V hi) {
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

// The step for the V-sized group of elements at i. Optional streams are null when absent
// or unused; the ifs test call-wide constants, so they predict perfectly.
struct DdimKernel {
    const float* sample;
    const float* cond;
    const float* uncond;
    const float* noise;
    float* prev;
    float* x0;
    DdimCoefficients k;

    template <class V, Stores S>
    inline __attribute__((always_inline)) void run(int64_t i) const {
        const V x = load<V>(sample + i);
        V m = load<V>(cond + i);
        if (uncond != nullptr) {
            const V u = load<V>(uncond + i);
            m = u + k.guidance * (m - u);  // the order diffusers' pipelines use
        }
        V x0_value = k.x0_x * x + k.x0_m * m;
        const V eps = k.eps_x * x + k.eps_m * m;
        if (k.clip) x0_value = clamp(x0_value, splat<V>(k.clip_lo), splat<V>(k.clip_hi));
        V prev_value = k.prev_x0 * x0_value + k.prev_eps * eps;
        if (noise != nullptr) prev_value += k.prev_noise * load<V>(noise + i);
        put<V, S>(prev + i, prev_value);
        if (x0 != nullptr) put<V, S>(x0 + i, x0_value);
    }
};

struct AddNoiseKernel {
    const float* original;
    const float* noise;
    float* out;
    float sqrt_a, sqrt_b;

    template <class V, Stores S>
    inline __attribute__((always_inline)) void run(int64_t i) const {
        put<V, S>(out + i, sqrt_a * load<V>(original + i) + sqrt_b * load<V>(noise + i));
    }
};

}  // namespace

void ddim_step_fast(ThreadPool& pool, const inkwell_ddim_step_params& p, bool allow_avx2) {
    const DdimKernel kernel{p.sample,      p.model_output,           p.model_output_uncond, p.eta > 0 ? p.noise : nullptr,
                            p.prev_sample, p.pred_original_sample, ddim_coefficients(p)};
    run_chunks(pool, p.count, kernel, p.prev_sample, use_streaming(p.count, p.prev_sample, p.pred_original_sample),
               allow_avx2);
}

void add_noise_fast(ThreadPool& pool, const inkwell_add_noise_params& p, bool allow_avx2) {
    const AddNoiseKernel kernel{p.original, p.noise, p.out, float(std::sqrt(p.alpha_prod)),
                                float(std::sqrt(1.0 - p.alpha_prod))};
    run_chunks(pool, p.count, kernel, p.out, use_streaming(p.count, p.out, nullptr), allow_avx2);
}

}  // namespace inkwell::cpu
