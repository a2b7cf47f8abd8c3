// Image quality metrics of 8-bit images on the CPU, as scikit-image 0.19 computes them.
//
// PSNR (peak_signal_noise_ratio, data_range 255): 10 log10(255^2 / MSE) over every sample
// of every channel; +inf for identical images. The squared differences are summed as
// integers, so the MSE is exact to one rounding whatever the order.
//
// SSIM (structural_similarity, gaussian_weights=True, sigma 1.5, use_sample_covariance=
// False, data_range 255, channel_axis=-1 for colour): in double, per channel,
//   mu_x, mu_y, E[x^2], E[y^2], E[xy]  by scipy's gaussian_filter (truncate 3.5: radius 5,
//                                      taps exp(-i^2 / (2 sigma^2)) / sum), axis 0 then 1
//   S = ((2 mu_x mu_y + C1)(2 cov_xy + C2)) / ((mu_x^2 + mu_y^2 + C1)(var_x + var_y + C2))
//   with C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2, averaged over the pixels at least 5 from
//   every edge, then over channels. Only those pixels are filtered, so the filter never
//   reads past the image and scipy's border mode cannot matter.
//
// Variants: *_reference (plain loops; SSIM with the 11x11 window applied directly) and
// *_fast (rows in parallel; SSIM separable, both passes in scipy's symmetric order).
#pragma once

#include <array>

#include "../image.hpp"
#include "../thread_pool.hpp"

namespace inkwell::cpu {

constexpr int kSsimRadius = 5;
constexpr int kSsimWindow = 2 * kSsimRadius + 1;  // also the smallest side SSIM accepts

// The normalised Gaussian taps, index 0 = offset -5.
std::array<double, kSsimWindow> ssim_gaussian_taps();

// a and b have the same height, width and channels; SSIM needs both sides >= 11.
double psnr_reference(const ImageView& a, const ImageView& b);
double psnr_fast(ThreadPool& pool, const ImageView& a, const ImageView& b);
double ssim_reference(const ImageView& a, const ImageView& b);
double ssim_fast(ThreadPool& pool, const ImageView& a, const ImageView& b);

}  // namespace inkwell::cpu
