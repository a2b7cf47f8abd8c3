/*
 * Inkwell: the whole native interface of the library, in plain C.
 *
 * This header is the only file jextract reads (see bindings/regenerate.sh), and the only
 * contract between the Java API and the kernels. Rules every entry point follows:
 *   - it returns an inkwell_status (as int32_t); INKWELL_OK is 0;
 *   - on failure it leaves a message for the calling thread, readable with
 *     inkwell_last_error_message() until the next failing call on that thread;
 *   - it never throws, exits or aborts, and never keeps a pointer it was given;
 *   - sizes are int64_t and strides are explicit, in bytes.
 * Kernels are named <op>_<element type> (inkwell_canny_u8) and take one params struct by
 * pointer, so adding a field does not change a signature.
 */
#ifndef INKWELL_INKWELL_H
#define INKWELL_INKWELL_H

#include <stdint.h>

#if defined(_WIN32)
#define INKWELL_API __declspec(dllexport)
#else
#define INKWELL_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- version and status ------------------------------------------------------------ */

#define INKWELL_VERSION_MAJOR 0
#define INKWELL_VERSION_MINOR 1
#define INKWELL_VERSION_PATCH 0

typedef enum inkwell_status {
    INKWELL_OK = 0,
    INKWELL_INVALID_ARGUMENT = 1, /* a null pointer, a bad size, stride or parameter */
    INKWELL_OUT_OF_MEMORY = 2,    /* a scratch allocation failed */
    INKWELL_UNSUPPORTED = 3,      /* valid, but not available here (device, channel count) */
    INKWELL_INTERNAL_ERROR = 4    /* a bug: please report it with the message */
} inkwell_status;

/* Encoded as major * 10000 + minor * 100 + patch. */
INKWELL_API int32_t inkwell_version(void);

/* Static string, e.g. "INKWELL_INVALID_ARGUMENT"; "INKWELL_UNKNOWN_STATUS" otherwise. */
INKWELL_API const char* inkwell_status_name(int32_t status);

/* Message of the last failing call on this thread; "" if none. Valid until the next call. */
INKWELL_API const char* inkwell_last_error_message(void);

/* ---- capabilities ------------------------------------------------------------------ */

typedef enum inkwell_simd_level {
    INKWELL_SIMD_SCALAR = 0,
    INKWELL_SIMD_SSE4_1 = 1,
    INKWELL_SIMD_AVX2 = 2,
    INKWELL_SIMD_AVX512 = 3
} inkwell_simd_level;

/* The widest instruction set the CPU kernels use now: the CPU's own level
 * (inkwell_cpu_simd_level_supported) unless a lower one is forced, by the environment
 * variable INKWELL_SIMD=scalar|sse4.1|avx2|avx512 (read when the library first dispatches;
 * a level the CPU lacks, or an unknown name, prints a warning on stderr and is not used) or
 * by inkwell_cpu_set_simd_level. No kernel has an SSE4.1 variant: that level runs the
 * portable code. AVX2 means AVX2 + FMA; AVX512 means AVX-512 F, BW and VL besides. */
INKWELL_API int32_t inkwell_cpu_simd_level(void);

/* The widest inkwell_simd_level this CPU (and OS) supports, whatever is forced. */
INKWELL_API int32_t inkwell_cpu_simd_level_supported(void);

/* Caps the level the CPU kernels use, process-wide, for kernel calls that start afterwards
 * (call it before the first kernel call: results may differ in the last bits between
 * levels where the multiply-add order differs). level is an inkwell_simd_level; a lower
 * level than the CPU's is allowed, as is raising it back up to the CPU's.
 * INKWELL_INVALID_ARGUMENT: not an inkwell_simd_level. INKWELL_UNSUPPORTED: the CPU lacks
 * that level; the level in effect is unchanged. */
INKWELL_API int32_t inkwell_cpu_set_simd_level(int32_t level);

/* Threads the CPU reports (at least 1). */
INKWELL_API int32_t inkwell_hardware_threads(void);

/* Does nothing; lets benchmarks measure the cost of a call across the ABI. */
INKWELL_API int32_t inkwell_noop(void);

/* CUDA devices visible through the optional CUDA backend (libinkwell_cuda.so, loaded on
 * first use from the directory that holds libinkwell.so). On INKWELL_OK *out_count >= 0;
 * INKWELL_UNSUPPORTED when the backend library, the driver or a device is missing, with
 * the cause in inkwell_last_error_message() (*out_count is then set to 0). */
INKWELL_API int32_t inkwell_cuda_device_count(int32_t* out_count);

/* ---- context ----------------------------------------------------------------------- */

typedef enum inkwell_device {
    INKWELL_DEVICE_CPU = 0,
    INKWELL_DEVICE_CUDA = 1
} inkwell_device;

/* Owns the worker threads and the device a kernel runs on. One context may be shared by
 * many threads; calls on it are serialised (on its worker pool, or on its CUDA stream).
 *
 * A CUDA context owns one device (device_index) and one CUDA stream, both fixed for its
 * life. With a CUDA context every data pointer of a kernel's params (tensor buffers,
 * image data) must be device memory of that device (inkwell_device_alloc, or any CUDA
 * allocation of the same device); sizes, scalars and the params struct itself stay on the
 * host, and so do attention's kv_lens array (it is validated on the host) and the result of
 * psnr and ssim (written there before the call returns). Kernels run
 * on the context's stream and have finished when the call returns: their outputs may be
 * read at once, and an asynchronous CUDA error is reported by the call that caused it.
 * A CUDA context is created only when libinkwell_cuda.so sits next to libinkwell.so and
 * the driver reports the device; otherwise INKWELL_UNSUPPORTED, naming the cause. */
typedef struct inkwell_context inkwell_context;

typedef struct inkwell_context_options {
    int32_t device;       /* an inkwell_device */
    int32_t threads;      /* worker threads for CPU kernels; 0 = inkwell_hardware_threads() */
    int32_t device_index; /* CUDA device ordinal (0 = first); must be 0 for the CPU */
} inkwell_context_options;

/* options may be NULL (CPU, all hardware threads). *out_context is set on success only. */
INKWELL_API int32_t inkwell_context_create(const inkwell_context_options* options,
                                           inkwell_context** out_context);

/* The context's inkwell_device and device ordinal (0 for the CPU). */
INKWELL_API int32_t inkwell_context_device(const inkwell_context* context, int32_t* out_device,
                                           int32_t* out_device_index);

/* Frees the context; NULL is accepted and ignored. */
INKWELL_API int32_t inkwell_context_destroy(inkwell_context* context);

INKWELL_API int32_t inkwell_context_threads(const inkwell_context* context, int32_t* out_threads);

/* ---- memory of a context's device ------------------------------------------------- */
/* With a CUDA context: device memory (cudaMalloc), page-locked host memory (cudaMallocHost)
 * and copies on the context's stream that have completed when inkwell_copy returns. With a
 * CPU context the same calls work on ordinary memory, so one code path serves both: device
 * and pinned allocations are 64-byte aligned host allocations, every copy kind is a
 * memcpy, and synchronize returns at once. Allocations of 0 bytes are refused; free of
 * NULL is accepted and ignored. Memory must be freed through a context of the same device
 * kind that allocated it, before the last context of that device is destroyed. */

typedef enum inkwell_copy_kind { /* the values of cudaMemcpyKind */
    INKWELL_COPY_HOST_TO_HOST = 0,
    INKWELL_COPY_HOST_TO_DEVICE = 1,
    INKWELL_COPY_DEVICE_TO_HOST = 2,
    INKWELL_COPY_DEVICE_TO_DEVICE = 3,
    INKWELL_COPY_DEFAULT = 4 /* direction inferred from the pointers (unified addressing) */
} inkwell_copy_kind;

INKWELL_API int32_t inkwell_device_alloc(inkwell_context* context, int64_t bytes, void** out_pointer);
INKWELL_API int32_t inkwell_device_free(inkwell_context* context, void* pointer);
INKWELL_API int32_t inkwell_host_alloc_pinned(inkwell_context* context, int64_t bytes, void** out_pointer);
INKWELL_API int32_t inkwell_host_free_pinned(inkwell_context* context, void* pointer);

/* Copies bytes (>= 0) from src to dst, which may not overlap; returns when it is done. */
INKWELL_API int32_t inkwell_copy(inkwell_context* context, void* dst, const void* src, int64_t bytes,
                                 int32_t kind);

/* Waits until everything queued on the context's stream has finished. */
INKWELL_API int32_t inkwell_context_synchronize(inkwell_context* context);

/* ---- images ------------------------------------------------------------------------ */

/* An 8-bit image, channels interleaved (gray, or RGB in memory order), rows row_stride
 * bytes apart. The caller owns data. */
typedef struct inkwell_image_u8 {
    uint8_t* data;
    int64_t height;
    int64_t width;
    int64_t channels;
    int64_t row_stride; /* bytes, at least width * channels */
} inkwell_image_u8;

/* ---- Gaussian blur (cv::GaussianBlur, BORDER_REFLECT_101, 8-bit fixed point) --------- */

typedef struct inkwell_gaussian_blur_params {
    inkwell_image_u8 src;
    inkwell_image_u8 dst; /* same height, width and channels as src; may not overlap it */
    int32_t ksize;        /* odd, 1..31; 0 = derived from sigma */
    double sigma;         /* > 0; 0 = derived from ksize; both 0 is an error */
} inkwell_gaussian_blur_params;

INKWELL_API int32_t inkwell_gaussian_blur_u8(inkwell_context* context,
                                             const inkwell_gaussian_blur_params* params);

/* ---- Canny (cv::Canny: Sobel with replicated border, NMS, double threshold, hysteresis) */

typedef struct inkwell_canny_params {
    inkwell_image_u8 src;  /* 1 or 3 channels */
    inkwell_image_u8 dst;  /* 1 channel, same height and width; may not overlap src */
    double low_threshold;  /* >= 0; the two thresholds are swapped if low > high */
    double high_threshold; /* >= 0 */
    int32_t aperture_size; /* Sobel aperture: 3, 5 or 7 */
    int32_t l2_gradient;   /* 0: |dx| + |dy|; 1: sqrt(dx^2 + dy^2) */
    int32_t blur_ksize;    /* optional Gaussian pre-blur, as in gaussian_blur; */
    double blur_sigma;     /* blur_ksize and blur_sigma both 0 = no pre-blur */
} inkwell_canny_params;

INKWELL_API int32_t inkwell_canny_u8(inkwell_context* context, const inkwell_canny_params* params);

/* ---- tensors ----------------------------------------------------------------------- */
/* Kernels on tensors take contiguous row-major (C order) buffers; their sizes are fields of
 * the params struct. Outputs may not overlap inputs. The Java Tensor type checks shapes
 * before the call; the native side checks them again.
 *
 * Element types. Most tensor kernels take float32 only (entries named _f32). conv2d and
 * attention also have _f16 and _bf16 entries taking the same params struct, whose data
 * pointers (void*) then hold 16-bit elements: IEEE 754 binary16 (f16) or bfloat16 (bf16,
 * the upper 16 bits of a float32), as uint16_t bit patterns. Every tensor of one call has
 * the entry's element type (conv2d's bias included). The 16-bit entries compute in float32:
 * inputs are widened exactly, products are summed in float32, bias and activation are
 * applied in float32, and each output is rounded once, to nearest even. The CPU backend
 * runs its float32 kernel on the widened inputs; the CUDA backend uses tensor cores with
 * float32 accumulation (see the tolerances in native/tests/test_cuda_conv2d.cpp). */

typedef enum inkwell_element_type {
    INKWELL_ELEMENT_F32 = 0,  /* float */
    INKWELL_ELEMENT_F16 = 1,  /* IEEE 754 binary16, as uint16_t */
    INKWELL_ELEMENT_BF16 = 2  /* bfloat16, as uint16_t */
} inkwell_element_type;

/* Activations, as PyTorch defines them; a fused one is applied after the bias. conv2d
 * takes NONE and SILU only; the layer kernels below take every value. */
typedef enum inkwell_activation {
    INKWELL_ACTIVATION_NONE = 0,
    INKWELL_ACTIVATION_SILU = 1,       /* x * sigmoid(x)                       (F.silu) */
    INKWELL_ACTIVATION_GELU = 2,       /* x * (1 + erf(x / sqrt 2)) / 2        (F.gelu) */
    INKWELL_ACTIVATION_GELU_TANH = 3,  /* x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2
                                          (F.gelu(approximate="tanh")) */
    INKWELL_ACTIVATION_QUICK_GELU = 4, /* x * sigmoid(1.702 x)                 (CLIP's quick_gelu) */
    INKWELL_ACTIVATION_RELU = 5        /* max(x, 0), NaN kept                  (F.relu) */
} inkwell_activation;

/* ---- conv2d (torch.nn.functional.conv2d, NCHW) ------------------------------------- */

typedef struct inkwell_conv2d_params {
    /* Elements of the entry's type (float for _f32, uint16_t for _f16 and _bf16). */
    const void* input;  /* [batch, in_channels, in_height, in_width] */
    const void* weight; /* [out_channels, in_channels / groups, kernel_h, kernel_w] */
    const void* bias;   /* [out_channels], or NULL */
    void* output;       /* [batch, out_channels, out_height, out_width] */
    int64_t batch;
    int64_t in_channels;
    int64_t in_height;
    int64_t in_width;
    int64_t out_channels;
    int64_t kernel_h;
    int64_t kernel_w;
    int64_t stride_h; /* >= 1 */
    int64_t stride_w;
    int64_t pad_h; /* >= 0, zero padding */
    int64_t pad_w;
    int64_t dilation_h; /* >= 1 */
    int64_t dilation_w;
    int64_t groups;     /* divides in_channels and out_channels */
    int64_t out_height; /* (in_height + 2 pad_h - dilation_h (kernel_h - 1) - 1) / stride_h + 1 */
    int64_t out_width;
    int32_t activation; /* an inkwell_activation */
} inkwell_conv2d_params;

INKWELL_API int32_t inkwell_conv2d_f32(inkwell_context* context, const inkwell_conv2d_params* params);
INKWELL_API int32_t inkwell_conv2d_f16(inkwell_context* context, const inkwell_conv2d_params* params);
INKWELL_API int32_t inkwell_conv2d_bf16(inkwell_context* context, const inkwell_conv2d_params* params);

/* ---- attention: softmax(q k^T scale + mask) v, one pass, online softmax ------------- */

typedef enum inkwell_attention_layout {
    INKWELL_ATTENTION_BHLD = 0, /* [batch, heads, length, head_dim] (the shapes below) */
    INKWELL_ATTENTION_BLHD = 1  /* [batch, length, heads, head_dim]: a projection's output
                                   [batch, length, heads * head_dim] as it is, no permute copy */
} inkwell_attention_layout;

typedef struct inkwell_attention_params {
    /* Elements of the entry's type (float for _f32, uint16_t for _f16 and _bf16). */
    const void* q;          /* [batch, heads, q_len, head_dim] */
    const void* k;          /* [batch, heads, kv_len, head_dim] */
    const void* v;          /* [batch, heads, kv_len, head_dim] */
    void* out;              /* [batch, heads, q_len, head_dim] */
    int64_t batch;
    int64_t heads;
    int64_t q_len;
    int64_t kv_len;
    int64_t head_dim;       /* 1..512 (above 256: the VAE's one wide head; slower on CUDA) */
    double scale;           /* finite and > 0; callers pass 1 / sqrt(head_dim) by default */
    int32_t causal;         /* 1: query i sees keys j <= i only */
    const int32_t* kv_lens; /* [batch]: batch b sees keys j < kv_lens[b] (1..kv_len); or NULL.
                               Host memory, also with a CUDA context */
    int32_t layout;         /* an inkwell_attention_layout: how q, k, v and out are laid out */
} inkwell_attention_params;

INKWELL_API int32_t inkwell_attention_f32(inkwell_context* context, const inkwell_attention_params* params);
INKWELL_API int32_t inkwell_attention_f16(inkwell_context* context, const inkwell_attention_params* params);
INKWELL_API int32_t inkwell_attention_bf16(inkwell_context* context, const inkwell_attention_params* params);

/* ---- layers of the U-Net, VAE and text encoder ------------------------------------- */
/* Each has _f32, _f16 and _bf16 entries taking the same params struct, whose data pointers
 * hold elements of the entry's type (every tensor of a call, weight and bias included). As
 * for conv2d, the 16-bit entries widen inputs exactly, compute in float32 and round each
 * output once to nearest even. Statistics (means, variances) are accumulated in double on
 * the CPU and in float32 with a compensated or two-level sum on CUDA. */

/* torch.nn.functional.group_norm (then an optional activation) of [batch, channels, *]:
 * per (sample, group) of channels / groups channels, y = (x - mean) / sqrt(var + eps) *
 * weight[c] + bias[c], var the biased (population) variance, computed in two passes (never
 * E[x^2] - E[x]^2). */
typedef struct inkwell_group_norm_params {
    const void* input;  /* [batch, channels, spatial] */
    const void* weight; /* [channels], or NULL (1) */
    const void* bias;   /* [channels], or NULL (0) */
    void* output;       /* like input */
    int64_t batch;
    int64_t channels;
    int64_t spatial;    /* elements per channel: height * width (or the product of the trailing dims) */
    int64_t groups;     /* divides channels */
    double eps;         /* finite, >= 0 */
    int32_t activation; /* an inkwell_activation, applied after the affine step */
} inkwell_group_norm_params;

INKWELL_API int32_t inkwell_group_norm_f32(inkwell_context* context, const inkwell_group_norm_params* params);
INKWELL_API int32_t inkwell_group_norm_f16(inkwell_context* context, const inkwell_group_norm_params* params);
INKWELL_API int32_t inkwell_group_norm_bf16(inkwell_context* context, const inkwell_group_norm_params* params);

/* torch.nn.functional.layer_norm over the last dimension: per row, y = (x - mean) /
 * sqrt(var + eps) * weight + bias (biased variance, two passes). */
typedef struct inkwell_layer_norm_params {
    const void* input;  /* [rows, dim] */
    const void* weight; /* [dim], or NULL (1) */
    const void* bias;   /* [dim], or NULL (0) */
    void* output;       /* [rows, dim] */
    int64_t rows;
    int64_t dim;
    double eps;         /* finite, >= 0 */
} inkwell_layer_norm_params;

INKWELL_API int32_t inkwell_layer_norm_f32(inkwell_context* context, const inkwell_layer_norm_params* params);
INKWELL_API int32_t inkwell_layer_norm_f16(inkwell_context* context, const inkwell_layer_norm_params* params);
INKWELL_API int32_t inkwell_layer_norm_bf16(inkwell_context* context, const inkwell_layer_norm_params* params);

/* torch.nn.functional.linear, y = x W^T + b, then an optional activation. Products are
 * summed in float32 (a register-blocked GEMM; the order of the sum depends on the sizes
 * only, never on the thread count). */
typedef struct inkwell_linear_params {
    const void* input;  /* [rows, in_features] (any leading dims flattened into rows) */
    const void* weight; /* [out_features, in_features], torch.nn.Linear's layout */
    const void* bias;   /* [out_features], or NULL */
    void* output;       /* [rows, out_features] */
    int64_t rows;
    int64_t in_features;
    int64_t out_features;
    int32_t activation; /* an inkwell_activation */
} inkwell_linear_params;

INKWELL_API int32_t inkwell_linear_f32(inkwell_context* context, const inkwell_linear_params* params);
INKWELL_API int32_t inkwell_linear_f16(inkwell_context* context, const inkwell_linear_params* params);
INKWELL_API int32_t inkwell_linear_bf16(inkwell_context* context, const inkwell_linear_params* params);

/* diffusers' GEGLU, fused: h = x W^T + b with W [2 inner_dim, in_features]; a = h[..., :inner],
 * gate = h[..., inner:]; y = a * gelu(gate) (erf form). */
typedef struct inkwell_geglu_params {
    const void* input;  /* [rows, in_features] */
    const void* weight; /* [2 * inner_dim, in_features] */
    const void* bias;   /* [2 * inner_dim], or NULL */
    void* output;       /* [rows, inner_dim] */
    int64_t rows;
    int64_t in_features;
    int64_t inner_dim;
} inkwell_geglu_params;

INKWELL_API int32_t inkwell_geglu_f32(inkwell_context* context, const inkwell_geglu_params* params);
INKWELL_API int32_t inkwell_geglu_f16(inkwell_context* context, const inkwell_geglu_params* params);
INKWELL_API int32_t inkwell_geglu_bf16(inkwell_context* context, const inkwell_geglu_params* params);

/* One activation, element by element (F.silu, F.gelu, F.relu, ...). */
typedef struct inkwell_activation_params {
    const void* input;  /* [count] */
    void* output;       /* [count]; may be input itself (in place), may not otherwise overlap it */
    int64_t count;
    int32_t activation; /* an inkwell_activation other than NONE */
} inkwell_activation_params;

INKWELL_API int32_t inkwell_activation_f32(inkwell_context* context, const inkwell_activation_params* params);
INKWELL_API int32_t inkwell_activation_f16(inkwell_context* context, const inkwell_activation_params* params);
INKWELL_API int32_t inkwell_activation_bf16(inkwell_context* context, const inkwell_activation_params* params);

/* diffusers' get_timestep_embedding: half = dim / 2, freq[i] = exp(-ln(max_period) i /
 * (half - downscale_freq_shift)), arg = scale * t * freq[i]; [sin(arg), cos(arg)] (or
 * [cos, sin] with flip_sin_to_cos); an odd dim gets a zero last column. Computed in double,
 * rounded once. */
typedef struct inkwell_timestep_embedding_params {
    const float* timesteps; /* [count], finite */
    float* output;          /* [count, dim] */
    int64_t count;
    int64_t dim;                 /* >= 1 */
    int32_t flip_sin_to_cos;     /* 1: cos first (Stable Diffusion's U-Net) */
    double downscale_freq_shift; /* finite; half - shift may not be 0 (SD: 0; diffusers' default 1) */
    double scale;                /* finite (1) */
    double max_period;           /* finite, > 0 (10000) */
} inkwell_timestep_embedding_params;

INKWELL_API int32_t inkwell_timestep_embedding_f32(inkwell_context* context,
                                                   const inkwell_timestep_embedding_params* params);

/* ---- tensor plumbing: residuals, skip connections, layouts, pooling ---------------- */

/* torch.add with the broadcasts a U-Net needs: out[i] = a[i] + b[(i / inner) % b_count].
 * inner 1, b_count count: element-wise (residuals); inner H*W, b_count N*C: one value per
 * (sample, channel) (the time embedding added to a feature map); inner H*W, b_count C: a
 * per-channel bias; inner 1, b_count C: a bias on the last dimension. */
typedef struct inkwell_add_params {
    const float* a;  /* [count] */
    const float* b;  /* [b_count] */
    float* out;      /* [count]; may be a itself (in place), may not otherwise overlap a or b */
    int64_t count;
    int64_t b_count; /* b_count * inner divides count */
    int64_t inner;   /* >= 1 */
} inkwell_add_params;

INKWELL_API int32_t inkwell_add_f32(inkwell_context* context, const inkwell_add_params* params);

/* torch.cat((a, b), dim) of contiguous tensors, seen as [outer, a_inner] and [outer, b_inner]:
 * outer is the product of the dims before dim, x_inner the product of the dims from dim on
 * (for [N,C,H,W] along channels: outer N, a_inner Ca*H*W, b_inner Cb*H*W). */
typedef struct inkwell_cat_params {
    const float* a;
    const float* b;
    float* out; /* [outer, a_inner + b_inner] */
    int64_t outer;
    int64_t a_inner;
    int64_t b_inner;
} inkwell_cat_params;

INKWELL_API int32_t inkwell_cat_f32(inkwell_context* context, const inkwell_cat_params* params);

/* x.transpose(dim0, dim1).contiguous(), seen as [outer, size0, middle, size1, inner] ->
 * [outer, size1, middle, size0, inner]. [N,C,H*W] -> [N,H*W,C] is outer N, size0 C,
 * middle 1, size1 H*W, inner 1 (and back with the sizes swapped). */
typedef struct inkwell_transpose_params {
    const float* input;
    float* output;
    int64_t outer;
    int64_t size0;
    int64_t middle;
    int64_t size1;
    int64_t inner;
} inkwell_transpose_params;

INKWELL_API int32_t inkwell_transpose_f32(inkwell_context* context, const inkwell_transpose_params* params);

/* torch.nn.functional.max_pool2d (dilation 1, ceil_mode false) of NCHW: padding is -inf,
 * a NaN in a window wins. out = (in + 2 pad - kernel) / stride + 1 per axis. */
typedef struct inkwell_max_pool2d_params {
    const float* input; /* [batch, channels, in_height, in_width] */
    float* output;      /* [batch, channels, out_height, out_width] */
    int64_t batch;
    int64_t channels;
    int64_t in_height;
    int64_t in_width;
    int64_t kernel_h; /* >= 1 */
    int64_t kernel_w;
    int64_t stride_h; /* >= 1 */
    int64_t stride_w;
    int64_t pad_h;    /* 0 .. kernel_h / 2, as PyTorch requires */
    int64_t pad_w;
    int64_t out_height;
    int64_t out_width;
} inkwell_max_pool2d_params;

INKWELL_API int32_t inkwell_max_pool2d_f32(inkwell_context* context, const inkwell_max_pool2d_params* params);

/* ---- DDIM step with classifier-free guidance (diffusers' DDIMScheduler.step) --------- */

typedef enum inkwell_prediction_type {
    INKWELL_PREDICTION_EPSILON = 0,
    INKWELL_PREDICTION_V = 1,
    INKWELL_PREDICTION_SAMPLE = 2
} inkwell_prediction_type;

/* One fused pass: guidance combine (when model_output_uncond is given), predicted x0,
 * optional clipping, and x_{t-1}. The cumulative alphas are computed by the caller in
 * double precision (the Java DdimScheduler does). */
typedef struct inkwell_ddim_step_params {
    const float* sample;              /* x_t */
    const float* model_output;        /* the model output; the conditional one with guidance */
    const float* model_output_uncond; /* NULL: no guidance; else uncond + g (cond - uncond) */
    const float* noise;               /* variance noise; required when eta > 0, else ignored */
    float* prev_sample;               /* x_{t-1} */
    float* pred_original_sample;      /* predicted x0, or NULL */
    int64_t count;                    /* elements in each tensor */
    double guidance_scale;            /* g, used with model_output_uncond */
    double alpha_prod_t;              /* alphas_cumprod[t], in (0, 1] */
    double alpha_prod_t_prev;         /* alphas_cumprod[prev_t], or the final alpha, in (0, 1] */
    double eta;                       /* >= 0: 0 is deterministic DDIM, 1 is DDPM-like */
    int32_t prediction_type;          /* an inkwell_prediction_type */
    int32_t clip_sample;              /* 1: clamp predicted x0 to [-range, range] */
    double clip_sample_range;         /* > 0 when clip_sample */
} inkwell_ddim_step_params;

INKWELL_API int32_t inkwell_ddim_step_f32(inkwell_context* context, const inkwell_ddim_step_params* params);

/* Forward noising: out = sqrt(alpha_prod) x0 + sqrt(1 - alpha_prod) noise. */
typedef struct inkwell_add_noise_params {
    const float* original; /* x0 */
    const float* noise;
    float* out;
    int64_t count;
    double alpha_prod; /* alphas_cumprod[t], in [0, 1] */
} inkwell_add_noise_params;

INKWELL_API int32_t inkwell_add_noise_f32(inkwell_context* context, const inkwell_add_noise_params* params);

/* Standard normal noise whose stream is defined by the seed alone: element i of the stream
 * is the same number on every backend and for any thread count (counter-based Philox4x32-10
 * and a Box-Muller transform in plain IEEE arithmetic). out receives elements
 * offset .. offset + count - 1 of the stream. */
typedef struct inkwell_randn_params {
    float* out;
    int64_t count;
    uint64_t seed;
    uint64_t offset;
} inkwell_randn_params;

INKWELL_API int32_t inkwell_randn_f32(inkwell_context* context, const inkwell_randn_params* params);

/* ---- resampling (torch.nn.functional.interpolate / max_pool2d / avg_pool2d) --------- */

typedef enum inkwell_resample_mode {
    INKWELL_UPSAMPLE_NEAREST_2X = 0,  /* out = 2h x 2w */
    INKWELL_UPSAMPLE_BILINEAR_2X = 1, /* align_corners = false; out = 2h x 2w */
    INKWELL_MAX_POOL_2X2 = 2,         /* stride 2, no padding; out = floor(h/2) x floor(w/2) */
    INKWELL_AVG_POOL_2X2 = 3          /* stride 2, no padding; out = floor(h/2) x floor(w/2) */
} inkwell_resample_mode;

typedef struct inkwell_resample_params {
    const float* input; /* [batch, channels, in_height, in_width] */
    float* output;      /* [batch, channels, out_height, out_width] as the mode gives */
    int64_t batch;
    int64_t channels;
    int64_t in_height;
    int64_t in_width;
    int32_t mode; /* an inkwell_resample_mode */
} inkwell_resample_params;

INKWELL_API int32_t inkwell_resample_f32(inkwell_context* context, const inkwell_resample_params* params);

/* torch.nn.functional.interpolate(input, size=(out_height, out_width), mode="nearest")
 * (aten's upsample_nearest2d): any output size, up or down. Per axis, as PyTorch computes it
 * in float32: out == in copies, out == 2 in takes dst / 2, otherwise scale = (float)in / out
 * and src = min((int64)floorf((float)dst * scale), in - 1). Not the "nearest-exact" mode.
 * Every output element is a bit copy of an input element, so the _f16 and _bf16 entries
 * (elements of that type) give what PyTorch gives in that type or through float32. */
typedef struct inkwell_upsample_nearest2d_params {
    const void* input; /* [batch, channels, in_height, in_width] */
    void* output;      /* [batch, channels, out_height, out_width]; must not overlap input */
    int64_t batch;
    int64_t channels;
    int64_t in_height;
    int64_t in_width;
    int64_t out_height;
    int64_t out_width;
} inkwell_upsample_nearest2d_params;

INKWELL_API int32_t inkwell_upsample_nearest2d_f32(inkwell_context* context,
                                                   const inkwell_upsample_nearest2d_params* params);
INKWELL_API int32_t inkwell_upsample_nearest2d_f16(inkwell_context* context,
                                                   const inkwell_upsample_nearest2d_params* params);
INKWELL_API int32_t inkwell_upsample_nearest2d_bf16(inkwell_context* context,
                                                    const inkwell_upsample_nearest2d_params* params);

/* ---- image metrics (scikit-image's peak_signal_noise_ratio, structural_similarity) -- */

typedef struct inkwell_image_metric_params {
    inkwell_image_u8 reference;
    inkwell_image_u8 test; /* same height, width and channels as reference */
    double* result;        /* receives the metric; host memory, also with a CUDA context */
} inkwell_image_metric_params;

/* PSNR in dB with data range 255 over all samples; +infinity for identical images. */
INKWELL_API int32_t inkwell_psnr_u8(inkwell_context* context, const inkwell_image_metric_params* params);

/* SSIM with an 11x11 Gaussian window (sigma 1.5), K1 0.01, K2 0.03, data range 255,
 * population covariances, mean over the valid region (5-pixel border excluded), channels
 * averaged. Images must be at least 11x11. */
INKWELL_API int32_t inkwell_ssim_u8(inkwell_context* context, const inkwell_image_metric_params* params);

/* ---- resize (cv::resize of 8-bit images: INTER_AREA, INTER_LANCZOS4) ---------------- */
/* Bit-exact with OpenCV 4.6's cv::resize(src, dst, dst size, 0, 0, interpolation) on 8-bit
 * images (its own code, not an IPP build), as ControlNet's annotator/util.py resize_image
 * calls it: a dst as large as src is a copy; INTER_AREA averages the source area each
 * output pixel covers when neither side grows (integer factors: the plain box mean) and
 * falls back to OpenCV's bilinear emulation when a side grows; INTER_LANCZOS4 is the 8x8
 * Lanczos window with replicated borders in OpenCV's 11-bit fixed point. */

typedef enum inkwell_interpolation { /* the values of cv::InterpolationFlags */
    INKWELL_INTER_AREA = 3,
    INKWELL_INTER_LANCZOS4 = 4
} inkwell_interpolation;

typedef struct inkwell_resize_params {
    inkwell_image_u8 src;  /* 1..4 channels */
    inkwell_image_u8 dst;  /* any height and width, src's channels; may not overlap src */
    int32_t interpolation; /* an inkwell_interpolation */
} inkwell_resize_params;

INKWELL_API int32_t inkwell_resize_u8(inkwell_context* context, const inkwell_resize_params* params);

#ifdef __cplusplus
}
#endif

#endif /* INKWELL_INKWELL_H */
