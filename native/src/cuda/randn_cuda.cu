// Philox4x32-10 + Box-Muller normal noise on the GPU.
// Placeholder until the kernel is written: a CUDA context refuses it as UNSUPPORTED.
#include "cuda_common.cuh"

namespace inkwell::cuda {

void randn(State&, const inkwell_randn_params&) { fail(INKWELL_UNSUPPORTED, "randn (CUDA): not implemented yet"); }

}  // namespace inkwell::cuda
