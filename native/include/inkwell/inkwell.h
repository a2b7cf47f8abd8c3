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

/* The widest instruction set the CPU kernels use on this machine. */
INKWELL_API int32_t inkwell_cpu_simd_level(void);

/* Threads the CPU reports (at least 1). */
INKWELL_API int32_t inkwell_hardware_threads(void);

/* Does nothing; lets benchmarks measure the cost of a call across the ABI. */
INKWELL_API int32_t inkwell_noop(void);

/* ---- context ----------------------------------------------------------------------- */

typedef enum inkwell_device {
    INKWELL_DEVICE_CPU = 0,
    INKWELL_DEVICE_CUDA = 1
} inkwell_device;

/* Owns the worker threads and the device a kernel runs on. One context may be shared by
 * many threads; calls on it are serialised on its worker pool. */
typedef struct inkwell_context inkwell_context;

typedef struct inkwell_context_options {
    int32_t device;  /* an inkwell_device */
    int32_t threads; /* worker threads for CPU kernels; 0 = inkwell_hardware_threads() */
} inkwell_context_options;

/* options may be NULL (CPU, all hardware threads). *out_context is set on success only. */
INKWELL_API int32_t inkwell_context_create(const inkwell_context_options* options,
                                           inkwell_context** out_context);

/* Frees the context; NULL is accepted and ignored. */
INKWELL_API int32_t inkwell_context_destroy(inkwell_context* context);

INKWELL_API int32_t inkwell_context_threads(const inkwell_context* context, int32_t* out_threads);

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

#ifdef __cplusplus
}
#endif

#endif /* INKWELL_INKWELL_H */
