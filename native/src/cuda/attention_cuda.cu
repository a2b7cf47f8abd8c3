#include "cuda_common.cuh"
namespace inkwell::cuda {
void attention(State&, const inkwell_attention_params&) { fail(INKWELL_UNSUPPORTED, "attention: no CUDA kernel yet"); }
}
