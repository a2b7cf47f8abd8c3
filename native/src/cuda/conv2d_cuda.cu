#include "cuda_common.cuh"
namespace inkwell::cuda {
void conv2d(State&, const inkwell_conv2d_params&) { fail(INKWELL_UNSUPPORTED, "conv2d: no CUDA kernel yet"); }
}
