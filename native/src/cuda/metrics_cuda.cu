// PSNR and SSIM of 8-bit images on the GPU.
// Placeholder until the kernel is written: a CUDA context refuses it as UNSUPPORTED.
#include "cuda_common.cuh"

namespace inkwell::cuda {

double psnr(State&, const inkwell_image_metric_params&) { fail(INKWELL_UNSUPPORTED, "psnr (CUDA): not implemented yet"); }

double ssim(State&, const inkwell_image_metric_params&) { fail(INKWELL_UNSUPPORTED, "ssim (CUDA): not implemented yet"); }

}  // namespace inkwell::cuda
