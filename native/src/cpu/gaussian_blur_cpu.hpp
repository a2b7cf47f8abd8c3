// Gaussian blur of 8-bit images on the CPU, bit-exact with OpenCV's fixed-point
// cv::GaussianBlur (BORDER_REFLECT_101).
//
// OpenCV quantises the 1-D kernel to 8 fraction bits (taps sum to exactly 256, rounding
// error diffused from the outside in), filters rows and columns with exact integer
// arithmetic, and rounds once at the end: out = (sum_ij ky[i] kx[j] src + 2^15) >> 16.
// Because every intermediate is exact, the order of the two passes does not matter and a
// plain 2-D loop (the reference) and the separable fast path agree to the bit.
#pragma once

#include <cstdint>
#include <vector>

#include "../image.hpp"
#include "../thread_pool.hpp"

namespace inkwell::cpu {

constexpr int kMaxGaussianKsize = 127;

// Kernel size OpenCV derives from sigma for 8-bit images: round(6 sigma + 1) | 1.
int gaussian_ksize_for_sigma(double sigma);

// The quantised kernel: ksize odd taps summing to 256. sigma <= 0 derives it from ksize
// (OpenCV's fixed tables for ksize <= 7, else 0.3 ((ksize - 1) / 2 - 1) + 0.8).
std::vector<int32_t> gaussian_kernel_q8(int ksize, double sigma);

// OpenCV's borderInterpolate for BORDER_REFLECT_101 (gfedcb|abcdefgh|gfedcba), for any
// offset, including images narrower than the kernel.
int64_t reflect101(int64_t p, int64_t len);

// Plain 2-D loop, for tests.
void gaussian_blur_reference(const ImageView& src, const ImageView& dst, const std::vector<int32_t>& kernel);

// Separable, multi-threaded over row stripes.
void gaussian_blur_fast(ThreadPool& pool, const ImageView& src, const ImageView& dst,
                        const std::vector<int32_t>& kernel);

}  // namespace inkwell::cpu
