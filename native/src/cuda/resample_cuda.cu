// Up/down-sampling of float32 NCHW tensors on the GPU.
// Placeholder until the kernel is written: a CUDA context refuses it as UNSUPPORTED.
#include "cuda_common.cuh"

namespace inkwell::cuda {

void resample(State&, const inkwell_resample_params&) { fail(INKWELL_UNSUPPORTED, "resample (CUDA): not implemented yet"); }

}  // namespace inkwell::cuda
