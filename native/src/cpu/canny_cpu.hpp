// Canny edge detection of 8-bit images on the CPU, bit-exact with OpenCV's cv::Canny.
//
// Stages (named as in the code): sobel (dx, dy as int16, replicated border, saturated),
// magnitude (|dx|+|dy| or dx^2+dy^2 in int32; for 3 channels the channel with the largest
// magnitude wins, ties to the lowest index), non-maximum suppression along one of four
// sectors chosen in fixed point, double threshold on the integer magnitudes, hysteresis
// (every weak pixel 8-connected to a strong one becomes an edge).
#pragma once

#include <cstdint>

#include "../image.hpp"
#include "../thread_pool.hpp"

namespace inkwell::cpu {

// Thresholds as the integer comparisons use them: a pixel is a candidate when its
// magnitude is > low and strong when > high.
struct CannyThresholds {
    int32_t low;
    int32_t high;
};

// OpenCV's normalisation: divide by 16 for aperture 7 (its Sobel is scaled by 1/16); swap
// if low > high; for L2, clamp to 32767 and square; floor.
CannyThresholds canny_thresholds(double low, double high, int aperture, bool l2_gradient);

// Plain full-image loops, for tests.
void canny_reference(const ImageView& src, const ImageView& dst, int aperture, bool l2_gradient,
                     CannyThresholds thresholds);

// Which row kernels canny_fast runs: the best the SIMD level in effect allows (AVX-512, else
// AVX2, where available), or the portable scalar ones (for tests on machines with AVX2).
// Results are identical.
enum class CannyKernels { Best, Scalar };

// Row stripes in parallel with a 3-row ring buffer; stripe-local hysteresis, then one
// serial pass over the pixels on stripe boundaries.
void canny_fast(ThreadPool& pool, const ImageView& src, const ImageView& dst, int aperture, bool l2_gradient,
                CannyThresholds thresholds, CannyKernels kernels = CannyKernels::Best);

}  // namespace inkwell::cpu
