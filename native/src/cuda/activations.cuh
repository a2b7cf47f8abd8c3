// The activations of inkwell_activation on the device, the same formulas as
// cpu/activations.hpp (PyTorch's), in float32 with CUDA's expf/erff/tanhf (accurate to a few
// ulp, not the CPU's bits: kernels that apply an activation are compared with the CPU within
// a tolerance).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "inkwell/inkwell.h"
#include "mma_half.cuh"

namespace inkwell::cuda {

__device__ __forceinline__ float apply_activation(int32_t a, float x) {
    switch (a) {
        case INKWELL_ACTIVATION_SILU: return x / (1.0f + expf(-x));
        case INKWELL_ACTIVATION_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752440f));
        case INKWELL_ACTIVATION_GELU_TANH:
            return 0.5f * x * (1.0f + tanhf(0.79788456080286535588f * (x + 0.044715f * x * x * x)));
        case INKWELL_ACTIVATION_QUICK_GELU: return x / (1.0f + expf(-1.702f * x));
        case INKWELL_ACTIVATION_RELU: return x > 0.0f ? x : (x != x ? x : 0.0f);
        default: return x;
    }
}

// Element I/O for the layer kernels, by element type (a template argument): load widens
// exactly, store rounds to nearest even, as element_types.hpp does on the CPU.
template <int32_t Type>
struct Io {
    __device__ __forceinline__ static float load(const void* p, int64_t i) {
        const uint16_t bits = static_cast<const uint16_t*>(p)[i];
        return Type == INKWELL_ELEMENT_F16 ? half::Element<INKWELL_ELEMENT_F16>::widen(bits)
                                           : half::Element<INKWELL_ELEMENT_BF16>::widen(bits);
    }
    __device__ __forceinline__ static void store(void* p, int64_t i, float v) {
        static_cast<uint16_t*>(p)[i] = Type == INKWELL_ELEMENT_F16 ? half::Element<INKWELL_ELEMENT_F16>::narrow(v)
                                                                   : half::Element<INKWELL_ELEMENT_BF16>::narrow(v);
    }
};

template <>
struct Io<INKWELL_ELEMENT_F32> {
    __device__ __forceinline__ static float load(const void* p, int64_t i) { return static_cast<const float*>(p)[i]; }
    __device__ __forceinline__ static void store(void* p, int64_t i, float v) { static_cast<float*>(p)[i] = v; }
};

// Calls body(std::integral_constant<int32_t, Type>{}) for a runtime element type.
template <class Body>
void dispatch_element_type(int32_t element_type, Body&& body) {
    switch (element_type) {
        case INKWELL_ELEMENT_F16: body(std::integral_constant<int32_t, INKWELL_ELEMENT_F16>{}); break;
        case INKWELL_ELEMENT_BF16: body(std::integral_constant<int32_t, INKWELL_ELEMENT_BF16>{}); break;
        default: body(std::integral_constant<int32_t, INKWELL_ELEMENT_F32>{}); break;
    }
}

}  // namespace inkwell::cuda
