#include "cuda_common.cuh"
namespace inkwell::cuda {
void canny(State&, const cuda_backend::CannyArgs&) { fail(INKWELL_UNSUPPORTED, "canny: no CUDA kernel yet"); }
}
