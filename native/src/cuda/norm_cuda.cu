// GroupNorm and LayerNorm on the GPU, float32 / float16 / bfloat16 tensors (statistics and
// arithmetic in float32, 16-bit elements widened on load and rounded once on store).
// torch's semantics as on the CPU (cpu/norm_cpu.hpp); the CPU reference is
// cpu/norm_cpu.cpp (group_norm_reference, layer_norm_reference, in double).
//
// A segment is a (sample, group) of channels / groups x spatial elements, or a row of dim
// elements; both are contiguous. Per segment, two passes plus the apply step:
//   shift   k = the segment's first element: sums of x - k stay near the spread of the data,
//           not its offset (x - k is exact for x within a factor 2 of k), so a mean of 1e4
//           with a spread of 0.1 keeps its accuracy in float;
//   pass 1  m1 = sum(x - k) / n; mean = k + m1 as two floats hi + lo (TwoSum, exact);
//   pass 2  var = sum(d^2) / n with d = (x - hi) - lo (biased variance, two passes);
//   apply   y = fma(d * rstd, w, b), rstd = 1 / sqrt(var + eps); group_norm's activation.
// Each thread sums its strided elements with Kahan compensation, the team (warp or block)
// adds the threads' sums in a fixed butterfly / tree: float32 statistics with a compensated
// two-level sum (inkwell.h), deterministic for a given device. Float32 sums overflow where
// |x - k| or d^2 passes ~3.4e38 (spreads beyond ~1.8e19), as torch's float32 kernels do; the
// CPU's double statistics do not.
//
// Kernels:
//   fused_kernel<Type, Team, Group>  one team per segment, grid-strided over segments; Team =
//                                    a warp (segments up to kWarpSegment elements: rows of a
//                                    transformer, small groups) or the whole block;
//   slice_sums / slice_squares /     few large segments (fewer than the SMs): each segment
//   slice_apply                      cut into slices of a block each, partial sums in
//                                    scratch, added by every block in slice order.
// Loads are scalar and coalesced (a group's channel runs, a row's elements); the kernels are
// memory-bound.
#include "activations.cuh"
#include "cuda_common.cuh"

namespace inkwell::cuda {

namespace {

constexpr int kBlock = 256;
constexpr int kWarps = kBlock / 32;
// Segments up to this many elements get a warp each, larger ones a block.
constexpr int64_t kWarpSegment = 2048;
// Below this many segments (per SM) large segments are sliced across blocks.
constexpr int64_t kSliceMinElements = 4096;

struct Args {
    const void* x;
    const void* w;  // or null (1)
    const void* b;  // or null (0)
    void* y;
    int64_t segments, n;
    // group_norm: element i of segment s has channel (s % groups) * per_group + i / spatial.
    int64_t groups, per_group, spatial;
    double eps;
    int32_t activation;  // NONE for layer_norm
    // Sliced path: slices per segment, elements per slice, partial sums (scratch).
    int64_t slices, slice_length;
    float* partial_sums;
    float* partial_squares;
};

// Compensated sum of one thread's terms.
struct Kahan {
    float sum = 0.0f, carry = 0.0f;
    __device__ __forceinline__ void add(float v) {
        const float y = __fsub_rn(v, carry);
        const float t = __fadd_rn(sum, y);
        carry = __fsub_rn(__fsub_rn(t, sum), y);
        sum = t;
    }
    __device__ __forceinline__ float value() const { return __fsub_rn(sum, carry); }
};

// Butterfly over the warp: every lane ends with the same value (IEEE addition commutes).
__device__ __forceinline__ float warp_sum(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) v = __fadd_rn(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}

// Sum over the team; every thread of the team gets the result. Team == kBlock: all threads
// of the block must call it (block-uniform control flow); shared holds kWarps floats.
template <int Team>
__device__ __forceinline__ float team_sum(float v, float* shared) {
    v = warp_sum(v);
    if constexpr (Team == 32) {
        return v;
    } else {
        const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
        __syncthreads();  // the previous call's readers are done
        if (lane == 0) shared[warp] = v;
        __syncthreads();
        return warp_sum(lane < kWarps ? shared[lane] : 0.0f);  // every warp, the same sum
    }
}

// a + b as hi + lo exactly (Knuth's TwoSum, every operation rounded on its own).
__device__ __forceinline__ void two_sum(float a, float b, float& hi, float& lo) {
    hi = __fadd_rn(a, b);
    const float bb = __fsub_rn(hi, a);
    lo = __fadd_rn(__fsub_rn(a, __fsub_rn(hi, bb)), __fsub_rn(b, bb));
}

// What the apply step needs: the mean as hi + lo and rstd.
struct Moments {
    float hi, lo, rstd;
};

__device__ __forceinline__ void mean_of(float shift, float shifted_sum, int64_t n, Moments& m) {
    const float m1 = float(double(shifted_sum) / double(n));
    two_sum(shift, m1, m.hi, m.lo);
}

__device__ __forceinline__ void rstd_of(float squares, int64_t n, double eps, Moments& m) {
    m.rstd = float(1.0 / sqrt(double(squares) / double(n) + eps));
}

__device__ __forceinline__ float deviation(float x, const Moments& m) { return __fsub_rn(__fsub_rn(x, m.hi), m.lo); }

// Sum of x - shift over elements [begin, end) of a segment, this thread's share.
template <int32_t Type>
__device__ __forceinline__ float shifted_sum(const Args& a, int64_t base, int64_t begin, int64_t end, int rank, int step,
                                             float shift) {
    Kahan acc;
    for (int64_t i = begin + rank; i < end; i += step) acc.add(__fsub_rn(Io<Type>::load(a.x, base + i), shift));
    return acc.value();
}

template <int32_t Type>
__device__ __forceinline__ float squares_sum(const Args& a, int64_t base, int64_t begin, int64_t end, int rank, int step,
                                             const Moments& m) {
    Kahan acc;
    for (int64_t i = begin + rank; i < end; i += step) {
        const float d = deviation(Io<Type>::load(a.x, base + i), m);
        acc.add(__fmul_rn(d, d));
    }
    return acc.value();
}

template <int32_t Type, bool Group>
__device__ __forceinline__ void apply_range(const Args& a, int64_t segment, int64_t begin, int64_t end, int rank, int step,
                                            const Moments& m) {
    const int64_t base = segment * a.n;
    int64_t i = begin + rank;
    if (i >= end) return;
    if constexpr (Group) {
        // Channel and position of i, advanced by step without a division per element.
        int64_t channel = (segment % a.groups) * a.per_group + i / a.spatial, position = i % a.spatial;
        const int64_t channel_step = step / a.spatial, position_step = step % a.spatial;
        for (; i < end; i += step) {
            const float w = a.w != nullptr ? Io<Type>::load(a.w, channel) : 1.0f;
            const float b = a.b != nullptr ? Io<Type>::load(a.b, channel) : 0.0f;
            const float t = __fmul_rn(deviation(Io<Type>::load(a.x, base + i), m), m.rstd);
            Io<Type>::store(a.y, base + i, apply_activation(a.activation, __fmaf_rn(t, w, b)));
            channel += channel_step;
            position += position_step;
            if (position >= a.spatial) {
                position -= a.spatial;
                ++channel;
            }
        }
    } else {
        for (; i < end; i += step) {
            const float w = a.w != nullptr ? Io<Type>::load(a.w, i) : 1.0f;
            const float b = a.b != nullptr ? Io<Type>::load(a.b, i) : 0.0f;
            const float t = __fmul_rn(deviation(Io<Type>::load(a.x, base + i), m), m.rstd);
            Io<Type>::store(a.y, base + i, __fmaf_rn(t, w, b));
        }
    }
}

// One team per segment: a warp (Team 32) or the block (Team kBlock).
template <int32_t Type, int Team, bool Group>
__global__ void __launch_bounds__(kBlock) fused_kernel(Args a) {
    __shared__ float shared[kWarps];
    const int rank = Team == 32 ? int(threadIdx.x % 32) : int(threadIdx.x);
    const int64_t teams_per_block = kBlock / Team;
    const int64_t first = blockIdx.x * teams_per_block + threadIdx.x / Team;
    for (int64_t s = first; s < a.segments; s += int64_t(gridDim.x) * teams_per_block) {  // team-uniform
        const int64_t base = s * a.n;
        const float shift = Io<Type>::load(a.x, base);
        Moments m;
        mean_of(shift, team_sum<Team>(shifted_sum<Type>(a, base, 0, a.n, rank, Team, shift), shared), a.n, m);
        rstd_of(team_sum<Team>(squares_sum<Type>(a, base, 0, a.n, rank, Team, m), shared), a.n, a.eps, m);
        apply_range<Type, Group>(a, s, 0, a.n, rank, Team, m);
    }
}

// Sliced path. Work item t = segment * slices + slice, one block each, grid-strided.
__device__ __forceinline__ int64_t slice_begin(const Args& a, int64_t slice) { return slice * a.slice_length; }
__device__ __forceinline__ int64_t slice_end(const Args& a, int64_t slice) {
    const int64_t end = (slice + 1) * a.slice_length;
    return end < a.n ? end : a.n;
}

// The segment's partials added in slice order (every thread the same sum).
__device__ __forceinline__ float add_partials(const float* partial, int64_t segment, int64_t slices) {
    Kahan acc;
    for (int64_t p = 0; p < slices; ++p) acc.add(partial[segment * slices + p]);
    return acc.value();
}

template <int32_t Type>
__global__ void __launch_bounds__(kBlock) slice_sums(Args a) {
    __shared__ float shared[kWarps];
    for (int64_t t = blockIdx.x; t < a.segments * a.slices; t += gridDim.x) {  // block-uniform
        const int64_t segment = t / a.slices, slice = t % a.slices, base = segment * a.n;
        const float shift = Io<Type>::load(a.x, base);
        const float sum = team_sum<kBlock>(
            shifted_sum<Type>(a, base, slice_begin(a, slice), slice_end(a, slice), threadIdx.x, kBlock, shift), shared);
        if (threadIdx.x == 0) a.partial_sums[t] = sum;
    }
}

template <int32_t Type>
__global__ void __launch_bounds__(kBlock) slice_squares(Args a) {
    __shared__ float shared[kWarps];
    for (int64_t t = blockIdx.x; t < a.segments * a.slices; t += gridDim.x) {
        const int64_t segment = t / a.slices, slice = t % a.slices, base = segment * a.n;
        Moments m;
        mean_of(Io<Type>::load(a.x, base), add_partials(a.partial_sums, segment, a.slices), a.n, m);
        const float sum = team_sum<kBlock>(
            squares_sum<Type>(a, base, slice_begin(a, slice), slice_end(a, slice), threadIdx.x, kBlock, m), shared);
        if (threadIdx.x == 0) a.partial_squares[t] = sum;
    }
}

template <int32_t Type, bool Group>
__global__ void __launch_bounds__(kBlock) slice_apply(Args a) {
    for (int64_t t = blockIdx.x; t < a.segments * a.slices; t += gridDim.x) {
        const int64_t segment = t / a.slices, slice = t % a.slices, base = segment * a.n;
        Moments m;
        mean_of(Io<Type>::load(a.x, base), add_partials(a.partial_sums, segment, a.slices), a.n, m);
        rstd_of(add_partials(a.partial_squares, segment, a.slices), a.n, a.eps, m);
        apply_range<Type, Group>(a, segment, slice_begin(a, slice), slice_end(a, slice), threadIdx.x, kBlock, m);
    }
}

unsigned grid_of(int64_t work, int64_t per_sm, const State& s) {
    return unsigned(std::max<int64_t>(1, std::min<int64_t>(work, int64_t(std::max(s.sm_count, 1)) * per_sm)));
}

template <int32_t Type, bool Group>
void launch(State& s, Args a, const char* name) {
    const int64_t sms = std::max(s.sm_count, 1);
    if (a.segments < sms && a.n >= 4 * kSliceMinElements) {
        // Enough slices for ~4 blocks per SM, each at least kSliceMinElements long.
        a.slices = std::min(ceil_div(4 * sms, a.segments), a.n / kSliceMinElements);
        a.slice_length = ceil_div(a.n, a.slices);
        a.slices = ceil_div(a.n, a.slice_length);  // no empty slice
        auto* partial = static_cast<float*>(scratch(s, size_t(2 * a.segments * a.slices) * sizeof(float)));
        a.partial_sums = partial;
        a.partial_squares = partial + a.segments * a.slices;
        const unsigned grid = grid_of(a.segments * a.slices, 16, s);
        slice_sums<Type><<<grid, kBlock, 0, s.stream>>>(a);
        check(cudaGetLastError(), name);
        slice_squares<Type><<<grid, kBlock, 0, s.stream>>>(a);
        check(cudaGetLastError(), name);
        slice_apply<Type, Group><<<grid, kBlock, 0, s.stream>>>(a);
    } else if (a.n <= kWarpSegment) {
        fused_kernel<Type, 32, Group><<<grid_of(ceil_div(a.segments, kWarps), 32, s), kBlock, 0, s.stream>>>(a);
    } else {
        fused_kernel<Type, kBlock, Group><<<grid_of(a.segments, 16, s), kBlock, 0, s.stream>>>(a);
    }
    finish_launch(s, name);
}

}  // namespace

void group_norm(State& s, const inkwell_group_norm_params& p, int32_t element_type) {
    Args a{};
    a.x = p.input;
    a.w = p.weight;
    a.b = p.bias;
    a.y = p.output;
    a.per_group = p.channels / p.groups;
    a.segments = p.batch * p.groups;
    a.n = a.per_group * p.spatial;
    a.groups = p.groups;
    a.spatial = p.spatial;
    a.eps = p.eps;
    a.activation = p.activation;
    dispatch_element_type(element_type, [&](auto type) { launch<decltype(type)::value, true>(s, a, "group_norm"); });
}

void layer_norm(State& s, const inkwell_layer_norm_params& p, int32_t element_type) {
    Args a{};
    a.x = p.input;
    a.w = p.weight;
    a.b = p.bias;
    a.y = p.output;
    a.segments = p.rows;
    a.n = p.dim;
    a.groups = a.per_group = a.spatial = 1;
    a.eps = p.eps;
    a.activation = INKWELL_ACTIVATION_NONE;
    dispatch_element_type(element_type, [&](auto type) { launch<decltype(type)::value, false>(s, a, "layer_norm"); });
}

}  // namespace inkwell::cuda
