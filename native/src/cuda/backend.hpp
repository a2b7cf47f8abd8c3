// The contract between libinkwell (the core, no CUDA dependency) and libinkwell_cuda (the
// CUDA backend, loaded on demand with dlopen). The backend exports one C function,
// inkwell_cuda_backend_v4, returning a table of plain function pointers; nothing else
// crosses the boundary (no exceptions, no C++ types). Every entry returns an
// inkwell_status and, on failure, leaves a message readable through last_error() on the
// same thread.
//
// The core validates every argument (the same checks as for the CPU) and computes what
// must be identical on both backends in its own code: Canny's integer thresholds and
// sector constant, the Gaussian taps, the DDIM coefficients. The backend only launches.
// Every kernel entry runs on the state's stream and synchronises before returning.
//
// Change a signature or a struct here only together with kVersion (and the entry point's
// name, so an old core never loads a new backend).
#pragma once

#include <cstddef>
#include <cstdint>

#include "inkwell/inkwell.h"

namespace inkwell::cuda_backend {

constexpr uint32_t kVersion = 4;
constexpr const char* kEntryPoint = "inkwell_cuda_backend_v4";
constexpr const char* kLibraryName = "libinkwell_cuda.so";

// The DDIM step's linear form (see cpu/ddim_cpu.hpp), coefficients rounded by the core.
struct DdimCoefficients {
    float guidance;
    float x0_x, x0_m;
    float eps_x, eps_m;
    float clip_lo, clip_hi;
    float prev_x0, prev_eps;
    float prev_noise;
    int32_t clip;
};

// Canny, validated and normalised: device images, integer thresholds, optional blur taps.
struct CannyArgs {
    const uint8_t* src;  // device
    int64_t src_stride;
    uint8_t* dst;  // device
    int64_t dst_stride;
    int64_t height, width, channels;  // channels 1 or 3
    int32_t aperture;                 // 3, 5, 7
    int32_t l2;
    int32_t low, high;  // magnitude > low: candidate, > high: strong
    int32_t tan22_q15;  // sector constant of non-maximum suppression
    const int32_t* blur_taps;  // host, blur_ksize Q8 taps summing to 256; NULL: no blur
    int32_t blur_ksize;
};

// Gaussian blur, validated: device images and the Q8 taps the core computed (as for Canny).
struct BlurArgs {
    const uint8_t* src;  // device
    int64_t src_stride;
    uint8_t* dst;  // device
    int64_t dst_stride;
    int64_t height, width, channels;
    const int32_t* taps;  // host, ksize Q8 taps summing to 256
    int32_t ksize;
};

// Resize, validated, with the host tables of the core's plan (cpu::ResizePlan in
// cpu/resize_cpu.hpp): the backend uploads them and does the arithmetic the CPU does.
struct ResizeArgs {
    const uint8_t* src;  // device
    int64_t src_stride;
    uint8_t* dst;  // device
    int64_t dst_stride;
    int64_t src_height, src_width, dst_height, dst_width, channels;
    int32_t method;                           // a cpu::ResizeMethod
    int32_t factor_x, factor_y, round_shift;  // area fast
    int32_t ksize;                            // area linear (2) and Lanczos-4 (8)
    const int32_t* x_first;                   // host, dst_width entries
    const int16_t* x_coef;                    // host, dst_width * ksize
    const int32_t* y_first;                   // host, dst_height entries
    const int16_t* y_coef;                    // host, dst_height * ksize
    const int32_t* x_start;                   // host, area cells: dst_width + 1 entries
    const int32_t* x_index;                   // host, x_cells entries
    const float* x_weight;
    const int32_t* y_start;  // host, dst_height + 1 entries
    const int32_t* y_index;  // host, y_cells entries
    const float* y_weight;
    int64_t x_cells, y_cells;
};

struct Table {
    uint32_t version;     // kVersion
    uint32_t table_size;  // sizeof(Table)
    const char* (*last_error)();
    // Driver and device discovery: INKWELL_UNSUPPORTED with the cause when unusable.
    int32_t (*device_count)(int32_t* out_count);
    int32_t (*create)(int32_t device_index, void** out_state);
    void (*destroy)(void* state);
    int32_t (*device_alloc)(void* state, int64_t bytes, void** out_pointer);
    int32_t (*device_free)(void* state, void* pointer);
    int32_t (*host_alloc_pinned)(void* state, int64_t bytes, void** out_pointer);
    int32_t (*host_free_pinned)(void* state, void* pointer);
    int32_t (*copy)(void* state, void* dst, const void* src, int64_t bytes, int32_t kind);
    int32_t (*synchronize)(void* state);
    int32_t (*ddim_step)(void* state, const inkwell_ddim_step_params* p, const DdimCoefficients* k);
    int32_t (*add_noise)(void* state, const inkwell_add_noise_params* p, float sqrt_a, float sqrt_b);
    int32_t (*canny)(void* state, const CannyArgs* args);
    // element_type: an inkwell_element_type; the data pointers of p hold that type.
    int32_t (*conv2d)(void* state, const inkwell_conv2d_params* p, int32_t element_type);
    int32_t (*attention)(void* state, const inkwell_attention_params* p, int32_t element_type);
    int32_t (*gaussian_blur)(void* state, const BlurArgs* args);
    int32_t (*randn)(void* state, const inkwell_randn_params* p);
    int32_t (*resample)(void* state, const inkwell_resample_params* p);
    // The metric goes to *out (host); p->result is not touched by the backend.
    int32_t (*psnr)(void* state, const inkwell_image_metric_params* p, double* out);
    int32_t (*ssim)(void* state, const inkwell_image_metric_params* p, double* out);
    // Layers (v3); element_type: an inkwell_element_type, the type of every data pointer of p.
    int32_t (*group_norm)(void* state, const inkwell_group_norm_params* p, int32_t element_type);
    int32_t (*layer_norm)(void* state, const inkwell_layer_norm_params* p, int32_t element_type);
    int32_t (*linear)(void* state, const inkwell_linear_params* p, int32_t element_type);
    int32_t (*geglu)(void* state, const inkwell_geglu_params* p, int32_t element_type);
    int32_t (*activation)(void* state, const inkwell_activation_params* p, int32_t element_type);
    int32_t (*timestep_embedding)(void* state, const inkwell_timestep_embedding_params* p);
    int32_t (*add)(void* state, const inkwell_add_params* p);
    int32_t (*cat)(void* state, const inkwell_cat_params* p);
    int32_t (*transpose)(void* state, const inkwell_transpose_params* p);
    int32_t (*max_pool2d)(void* state, const inkwell_max_pool2d_params* p);
    int32_t (*resize)(void* state, const ResizeArgs* args);
    // v4; element_type: an inkwell_element_type, the type of both data pointers of p.
    int32_t (*upsample_nearest2d)(void* state, const inkwell_upsample_nearest2d_params* p, int32_t element_type);
};

using EntryPoint = const Table* (*)();

}  // namespace inkwell::cuda_backend
