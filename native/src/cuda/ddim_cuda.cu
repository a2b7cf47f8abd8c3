// DDIM step and add_noise on the GPU. Variants:
//   CPU reference   cpu/ddim_cpu.cpp (ddim_step_reference, the diffusers formulas in double)
//   ddim_kernel     one fused, grid-stride pass: guidance combine, x0 (clamped when
//                   clipping), eps, x_{t-1}, optional x0 output; float4 loads and stores
//                   when every buffer is 16-byte aligned, else one float at a time.
//   noise_kernel    out = sqrt(a) x0 + sqrt(1 - a) noise, the same way.
// Arithmetic: the coefficients come from the core (cpu::ddim_coefficients, rounded once),
// and every multiply and add is rounded separately (__fmul_rn / __fadd_rn: no contraction
// into FMA), in the CPU fast path's order, so results are bit-identical to the CPU backend.
// Both passes are memory-bound: loads and stores bypass L1 (__ldcs / __stcs), and the grid
// is capped at a few waves so each thread streams several vectors.
#include "cuda_common.cuh"

namespace inkwell::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kBlocksPerSm = 8;

__device__ __forceinline__ float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float add(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float sub(float a, float b) { return __fsub_rn(a, b); }

struct DdimArgs {
    const float* sample;
    const float* cond;
    const float* uncond;  // null: no guidance
    const float* noise;   // null: eta == 0
    float* prev;
    float* x0;  // null: not written
    cuda_backend::DdimCoefficients k;
};

// One element, exactly as DdimKernel::run in cpu/ddim_cpu.cpp.
__device__ __forceinline__ void ddim_element(const cuda_backend::DdimCoefficients& k, bool guided, bool noisy,
                                             float x, float m, float u, float n, float& prev, float& x0) {
    if (guided) m = add(u, mul(k.guidance, sub(m, u)));
    float x0_value = add(mul(k.x0_x, x), mul(k.x0_m, m));
    const float eps = add(mul(k.eps_x, x), mul(k.eps_m, m));
    if (k.clip) {  // NaN stays NaN, as in the CPU clamp
        x0_value = x0_value < k.clip_lo ? k.clip_lo : x0_value;
        x0_value = x0_value > k.clip_hi ? k.clip_hi : x0_value;
    }
    float prev_value = add(mul(k.prev_x0, x0_value), mul(k.prev_eps, eps));
    if (noisy) prev_value = add(prev_value, mul(k.prev_noise, n));
    prev = prev_value;
    x0 = x0_value;
}

__global__ void ddim_vec4_kernel(DdimArgs a, int64_t vectors) {
    const bool guided = a.uncond != nullptr, noisy = a.noise != nullptr, with_x0 = a.x0 != nullptr;
    const float4* sample = reinterpret_cast<const float4*>(a.sample);
    const float4* cond = reinterpret_cast<const float4*>(a.cond);
    const float4* uncond = reinterpret_cast<const float4*>(a.uncond);
    const float4* noise = reinterpret_cast<const float4*>(a.noise);
    float4* prev = reinterpret_cast<float4*>(a.prev);
    float4* x0 = reinterpret_cast<float4*>(a.x0);
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < vectors; i += int64_t(gridDim.x) * blockDim.x) {
        const float4 x = __ldcs(sample + i), m = __ldcs(cond + i);
        const float4 u = guided ? __ldcs(uncond + i) : float4{0, 0, 0, 0};
        const float4 n = noisy ? __ldcs(noise + i) : float4{0, 0, 0, 0};
        float4 p, o;
        ddim_element(a.k, guided, noisy, x.x, m.x, u.x, n.x, p.x, o.x);
        ddim_element(a.k, guided, noisy, x.y, m.y, u.y, n.y, p.y, o.y);
        ddim_element(a.k, guided, noisy, x.z, m.z, u.z, n.z, p.z, o.z);
        ddim_element(a.k, guided, noisy, x.w, m.w, u.w, n.w, p.w, o.w);
        __stcs(prev + i, p);
        if (with_x0) __stcs(x0 + i, o);
    }
}

// Elements [begin, count): the tail after the vectors, or everything when unaligned.
__global__ void ddim_scalar_kernel(DdimArgs a, int64_t begin, int64_t count) {
    const bool guided = a.uncond != nullptr, noisy = a.noise != nullptr;
    for (int64_t i = begin + blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
         i += int64_t(gridDim.x) * blockDim.x) {
        float p, o;
        ddim_element(a.k, guided, noisy, __ldcs(a.sample + i), __ldcs(a.cond + i), guided ? __ldcs(a.uncond + i) : 0.0f,
                     noisy ? __ldcs(a.noise + i) : 0.0f, p, o);
        __stcs(a.prev + i, p);
        if (a.x0 != nullptr) __stcs(a.x0 + i, o);
    }
}

struct NoiseArgs {
    const float* original;
    const float* noise;
    float* out;
    float sqrt_a, sqrt_b;
};

__global__ void noise_vec4_kernel(NoiseArgs a, int64_t vectors) {
    const float4* x = reinterpret_cast<const float4*>(a.original);
    const float4* n = reinterpret_cast<const float4*>(a.noise);
    float4* out = reinterpret_cast<float4*>(a.out);
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < vectors; i += int64_t(gridDim.x) * blockDim.x) {
        const float4 xv = __ldcs(x + i), nv = __ldcs(n + i);
        __stcs(out + i, float4{add(mul(a.sqrt_a, xv.x), mul(a.sqrt_b, nv.x)), add(mul(a.sqrt_a, xv.y), mul(a.sqrt_b, nv.y)),
                               add(mul(a.sqrt_a, xv.z), mul(a.sqrt_b, nv.z)), add(mul(a.sqrt_a, xv.w), mul(a.sqrt_b, nv.w))});
    }
}

__global__ void noise_scalar_kernel(NoiseArgs a, int64_t begin, int64_t count) {
    for (int64_t i = begin + blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
         i += int64_t(gridDim.x) * blockDim.x)
        __stcs(a.out + i, add(mul(a.sqrt_a, __ldcs(a.original + i)), mul(a.sqrt_b, __ldcs(a.noise + i))));
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

int grid_for(const State& s, int64_t items) {
    return int(std::max<int64_t>(1, std::min<int64_t>(ceil_div(items, kThreads), int64_t(s.sm_count) * kBlocksPerSm)));
}

}  // namespace

void ddim_step(State& s, const inkwell_ddim_step_params& p, const cuda_backend::DdimCoefficients& k) {
    const DdimArgs a{p.sample, p.model_output, p.model_output_uncond, p.noise, p.prev_sample, p.pred_original_sample, k};
    const bool vectorise = aligned16(a.sample) && aligned16(a.cond) && aligned16(a.uncond) && aligned16(a.noise) &&
                           aligned16(a.prev) && aligned16(a.x0);  // null is aligned
    const int64_t vectors = vectorise ? p.count / 4 : 0;
    if (vectors > 0) ddim_vec4_kernel<<<grid_for(s, vectors), kThreads, 0, s.stream>>>(a, vectors);
    if (vectors * 4 < p.count)
        ddim_scalar_kernel<<<grid_for(s, p.count - vectors * 4), kThreads, 0, s.stream>>>(a, vectors * 4, p.count);
    finish_launch(s, "ddim_step");
}

void add_noise(State& s, const inkwell_add_noise_params& p, float sqrt_a, float sqrt_b) {
    const NoiseArgs a{p.original, p.noise, p.out, sqrt_a, sqrt_b};
    const bool vectorise = aligned16(a.original) && aligned16(a.noise) && aligned16(a.out);
    const int64_t vectors = vectorise ? p.count / 4 : 0;
    if (vectors > 0) noise_vec4_kernel<<<grid_for(s, vectors), kThreads, 0, s.stream>>>(a, vectors);
    if (vectors * 4 < p.count)
        noise_scalar_kernel<<<grid_for(s, p.count - vectors * 4), kThreads, 0, s.stream>>>(a, vectors * 4, p.count);
    finish_launch(s, "add_noise");
}

}  // namespace inkwell::cuda
