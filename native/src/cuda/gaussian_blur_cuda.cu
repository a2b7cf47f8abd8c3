// Gaussian blur of 8-bit images on the GPU.
// Placeholder until the kernel is written: a CUDA context refuses it as UNSUPPORTED.
#include "cuda_common.cuh"

namespace inkwell::cuda {

void gaussian_blur(State&, const cuda_backend::BlurArgs&) { fail(INKWELL_UNSUPPORTED, "gaussian_blur (CUDA): not implemented yet"); }

}  // namespace inkwell::cuda
