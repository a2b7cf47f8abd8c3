// The activations of inkwell_activation as scalar float32 functions, shared by every CPU
// kernel that applies one (activation, group_norm, linear, geglu) and by the tests. The
// formulas are PyTorch's, evaluated in float32 with the C library's expf/erff/tanhf:
//   SILU        x / (1 + exp(-x))
//   GELU        0.5 x (1 + erf(x / sqrt 2))
//   GELU_TANH   0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
//   QUICK_GELU  x / (1 + exp(-1.702 x))
//   RELU        x > 0 ? x : 0, a NaN stays NaN (torch.relu)
// activation_reference() is the same in double, for tests.
#pragma once

#include <cmath>
#include <cstdint>

#include "inkwell/inkwell.h"

namespace inkwell::cpu {

inline bool is_activation(int32_t a) { return a >= INKWELL_ACTIVATION_NONE && a <= INKWELL_ACTIVATION_RELU; }

inline const char* activation_name(int32_t a) {
    switch (a) {
        case INKWELL_ACTIVATION_NONE: return "none";
        case INKWELL_ACTIVATION_SILU: return "silu";
        case INKWELL_ACTIVATION_GELU: return "gelu";
        case INKWELL_ACTIVATION_GELU_TANH: return "gelu_tanh";
        case INKWELL_ACTIVATION_QUICK_GELU: return "quick_gelu";
        case INKWELL_ACTIVATION_RELU: return "relu";
        default: return "unknown";
    }
}

constexpr float kSqrtHalf = 0.70710678118654752440f;      // 1 / sqrt(2)
constexpr float kSqrtTwoOverPi = 0.79788456080286535588f;  // sqrt(2 / pi)
constexpr float kGeluTanhCubic = 0.044715f;
constexpr float kQuickGelu = 1.702f;

inline float silu(float x) { return x / (1.0f + std::exp(-x)); }
inline float gelu(float x) { return 0.5f * x * (1.0f + std::erf(x * kSqrtHalf)); }
inline float gelu_tanh(float x) {
    return 0.5f * x * (1.0f + std::tanh(kSqrtTwoOverPi * (x + kGeluTanhCubic * x * x * x)));
}
inline float quick_gelu(float x) { return x / (1.0f + std::exp(-kQuickGelu * x)); }
inline float relu(float x) { return x > 0.0f ? x : (x != x ? x : 0.0f); }

// a must satisfy is_activation (the ABI entries check it).
inline float apply_activation(int32_t a, float x) {
    switch (a) {
        case INKWELL_ACTIVATION_SILU: return silu(x);
        case INKWELL_ACTIVATION_GELU: return gelu(x);
        case INKWELL_ACTIVATION_GELU_TANH: return gelu_tanh(x);
        case INKWELL_ACTIVATION_QUICK_GELU: return quick_gelu(x);
        case INKWELL_ACTIVATION_RELU: return relu(x);
        default: return x;
    }
}

inline double activation_reference(int32_t a, double x) {
    switch (a) {
        case INKWELL_ACTIVATION_SILU: return x / (1.0 + std::exp(-x));
        case INKWELL_ACTIVATION_GELU: return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
        case INKWELL_ACTIVATION_GELU_TANH:
            return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
        case INKWELL_ACTIVATION_QUICK_GELU: return x / (1.0 + std::exp(-1.702 * x));
        case INKWELL_ACTIVATION_RELU: return x > 0.0 ? x : (x != x ? x : 0.0);
        default: return x;
    }
}

}  // namespace inkwell::cpu
