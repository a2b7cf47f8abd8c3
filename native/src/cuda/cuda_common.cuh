// Shared by the CUDA backend's files: the per-context state, error handling (C++
// exceptions inside the library, turned into a status + message at the table entries in
// backend.cu), launch checks and the kernel launchers each family file defines.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>

#include "backend.hpp"

namespace inkwell::cuda {

// What a CUDA inkwell_context owns: its device, its stream, device properties the
// launchers need, and a scratch buffer that grows as kernels ask (freed with the state).
struct State {
    int device = 0;
    cudaStream_t stream = nullptr;
    int sm_count = 0;
    int max_shared_optin = 0;  // bytes of shared memory one block may opt in to
    bool cooperative = false;  // cudaLaunchCooperativeKernel supported
    std::mutex mutex;          // one call at a time per context (the scratch is shared)
    void* scratch = nullptr;
    size_t scratch_bytes = 0;
    // Every ABI call returns with its work done (inkwell.h). Only the benchmark, which
    // calls the launchers directly and times them with events, turns this off.
    bool synchronous = true;
};

class Failure : public std::runtime_error {
public:
    Failure(int32_t status, const std::string& message) : std::runtime_error(message), status_(status) {}
    int32_t status() const { return status_; }

private:
    int32_t status_;
};

[[noreturn]] inline void fail(int32_t status, const std::string& message) { throw Failure(status, message); }

inline void check(cudaError_t e, const char* what) {
    if (e == cudaSuccess) return;
    // A failed runtime call also leaves e as the thread's last error; unless taken here, the
    // next call's finish_launch (cudaGetLastError) would report it again as a launch failure
    // of an unrelated kernel (e.g. every kernel after a cudaMalloc that ran out of memory).
    // Sticky errors stay, as they must.
    cudaGetLastError();
    const int32_t status = e == cudaErrorMemoryAllocation ? INKWELL_OUT_OF_MEMORY : INKWELL_INTERNAL_ERROR;
    fail(status, std::string(what) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

// After a launch: the launch itself (bad configuration), then the kernel's completion on
// the stream (every ABI call returns with its work finished, see inkwell.h).
inline void finish_launch(State& s, const char* kernel) {
    check(cudaGetLastError(), kernel);
    if (s.synchronous) check(cudaStreamSynchronize(s.stream), kernel);
}

// At least `bytes` of device scratch, valid until the next call on this state.
inline void* scratch(State& s, size_t bytes) {
    if (bytes > s.scratch_bytes) {
        if (s.scratch != nullptr) check(cudaFree(s.scratch), "cudaFree(scratch)");
        s.scratch = nullptr;
        s.scratch_bytes = 0;
        check(cudaMalloc(&s.scratch, bytes), "cudaMalloc(scratch)");
        s.scratch_bytes = bytes;
    }
    return s.scratch;
}

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// A data pointer of a kernel's params must be memory the context's device can address:
// device memory of that device, managed memory, or mapped page-locked host memory. A
// pageable host pointer (or another device's memory) would make the kernel fault, and the
// illegal-address error is sticky: it would poison the whole CUDA context of the process.
// One driver query per pointer (no transfer, no synchronisation) turns that into
// INKWELL_INVALID_ARGUMENT naming the pointer. Only the start is checked (the runtime API
// cannot give an allocation's extent); null pointers are the core's to refuse.
inline void require_device_pointer(const State& s, const void* p, const char* name) {
    if (p == nullptr) return;
    cudaPointerAttributes attr{};
    const cudaError_t e = cudaPointerGetAttributes(&attr, p);
    if (e != cudaSuccess) {
        // Before CUDA 11 an unregistered host pointer gave cudaErrorInvalidValue.
        cudaGetLastError();
        if (e != cudaErrorInvalidValue) check(e, "cudaPointerGetAttributes");
        attr.type = cudaMemoryTypeUnregistered;
    }
    switch (attr.type) {
        case cudaMemoryTypeDevice:
            if (attr.device == s.device) return;
            fail(INKWELL_INVALID_ARGUMENT, std::string(name) + " is memory of CUDA device " + std::to_string(attr.device) +
                                               ", but the context's device is " + std::to_string(s.device));
        case cudaMemoryTypeManaged: return;
        case cudaMemoryTypeHost:
            if (attr.devicePointer == p) return;  // page-locked and mapped at the same address (UVA)
            fail(INKWELL_INVALID_ARGUMENT,
                 std::string(name) + " is page-locked host memory not mapped for the device: a CUDA context needs device memory");
        default:
            fail(INKWELL_INVALID_ARGUMENT, std::string(name) +
                                               " is not CUDA memory (a host pointer?): with a CUDA context every data "
                                               "pointer must be device memory (inkwell_device_alloc)");
    }
}

// Attention's kv_lens (host memory, validated by the core) copied into the scratch buffer on
// the stream, or nullptr without a mask.
inline const int32_t* kv_lens_on_device(State& s, const inkwell_attention_params& p) {
    if (p.kv_lens == nullptr) return nullptr;
    auto* lens = static_cast<int32_t*>(scratch(s, size_t(p.batch) * sizeof(int32_t)));
    check(cudaMemcpyAsync(lens, p.kv_lens, size_t(p.batch) * sizeof(int32_t), cudaMemcpyHostToDevice, s.stream),
          "attention: kv_lens upload");
    return lens;
}

// What both CUDA attention kernels (float32 and 16-bit) take besides their data pointers.
// Element strides of the layout (p.layout, the same for q, k, v and out): element (b, h, i,
// d) of q and out is at b * q_batch + h * q_head + i * row_stride + d, of k and v at
// b * kv_batch + h * kv_head + i * row_stride + d. BHLD: row_stride = head_dim, heads
// length * head_dim apart; BLHD: row_stride = heads * head_dim, heads head_dim apart.
struct AttentionShape {
    const int32_t* kv_lens;  // device, or null
    int64_t heads, q_len, kv_len;
    int head_dim;
    float scale_log2;  // scale * log2(e)
    int causal;
    int64_t row_stride, q_batch, q_head, kv_batch, kv_head;
};

inline AttentionShape attention_shape(State& s, const inkwell_attention_params& p) {
    AttentionShape a{};
    a.kv_lens = kv_lens_on_device(s, p);  // host memory (inkwell.h)
    a.heads = p.heads;
    a.q_len = p.q_len;
    a.kv_len = p.kv_len;
    a.head_dim = int(p.head_dim);
    a.scale_log2 = float(p.scale * 1.4426950408889634);
    a.causal = p.causal;
    const bool blhd = p.layout == INKWELL_ATTENTION_BLHD;
    a.row_stride = blhd ? p.heads * p.head_dim : p.head_dim;
    a.q_batch = p.heads * p.q_len * p.head_dim;
    a.kv_batch = p.heads * p.kv_len * p.head_dim;
    a.q_head = blhd ? p.head_dim : p.q_len * p.head_dim;
    a.kv_head = blhd ? p.head_dim : p.kv_len * p.head_dim;
    return a;
}

// Launchers, one family per file; parameters are validated by the core.
void ddim_step(State& s, const inkwell_ddim_step_params& p, const cuda_backend::DdimCoefficients& k);
void add_noise(State& s, const inkwell_add_noise_params& p, float sqrt_a, float sqrt_b);
void canny(State& s, const cuda_backend::CannyArgs& a);
void conv2d(State& s, const inkwell_conv2d_params& p, int32_t element_type);
void attention(State& s, const inkwell_attention_params& p, int32_t element_type);
void gaussian_blur(State& s, const cuda_backend::BlurArgs& a);
void randn(State& s, const inkwell_randn_params& p);
void resample(State& s, const inkwell_resample_params& p);
void upsample_nearest2d(State& s, const inkwell_upsample_nearest2d_params& p, int32_t element_type);  // resample_cuda.cu
double psnr(State& s, const inkwell_image_metric_params& p);
double ssim(State& s, const inkwell_image_metric_params& p);
void group_norm(State& s, const inkwell_group_norm_params& p, int32_t element_type);  // norm_cuda.cu
void layer_norm(State& s, const inkwell_layer_norm_params& p, int32_t element_type);  // norm_cuda.cu
void linear(State& s, const inkwell_linear_params& p, int32_t element_type);          // linear_cuda.cu
void geglu(State& s, const inkwell_geglu_params& p, int32_t element_type);            // linear_cuda.cu
void activation(State& s, const inkwell_activation_params& p, int32_t element_type);  // elementwise_cuda.cu
void timestep_embedding(State& s, const inkwell_timestep_embedding_params& p);        // elementwise_cuda.cu
void add(State& s, const inkwell_add_params& p);                                      // elementwise_cuda.cu
void cat(State& s, const inkwell_cat_params& p);                                      // elementwise_cuda.cu
void transpose(State& s, const inkwell_transpose_params& p);                          // elementwise_cuda.cu
void max_pool2d(State& s, const inkwell_max_pool2d_params& p);                        // elementwise_cuda.cu
void resize(State& s, const cuda_backend::ResizeArgs& a);                             // resize_cuda.cu

// Shared between families (gaussian_blur_cuda.cu): the 8-bit Gaussian blur of src into dst
// with ksize Q8 taps (host), both passes on s's stream, launches checked but not
// synchronised; `vertical` is device scratch of blur_scratch_bytes(h, w, cn). Canny's
// pre-blur and gaussian_blur use it.
size_t blur_scratch_bytes(int64_t h, int64_t w, int64_t cn);
void blur_u8(State& s, const uint8_t* src, int64_t src_stride, uint8_t* dst, int64_t dst_stride, int64_t h, int64_t w,
             int64_t cn, const int32_t* taps, int ksize, uint16_t* vertical);

}  // namespace inkwell::cuda
