// Argument checks shared by the ABI entries of the float32 tensor kernels: every failure is
// an INKWELL_INVALID_ARGUMENT whose message names the kernel, the argument and its value.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "error.hpp"

namespace inkwell {

// Largest element count a tensor kernel accepts: keeps every byte offset far inside int64
// and rejects sizes that are obviously garbage (a negative int64 read as a size).
constexpr int64_t kMaxTensorElements = int64_t(1) << 40;

inline void check_count(int64_t count, const char* kernel, const char* name) {
    if (count < 1 || count > kMaxTensorElements)
        invalid_argument(std::string(kernel) + ": " + name + " must be 1..2^40, got " + std::to_string(count));
}

inline void check_not_null(const void* pointer, const char* kernel, const char* name) {
    if (pointer == nullptr) invalid_argument(std::string(kernel) + ": " + name + " is null");
}

inline void check_finite(double value, const char* kernel, const char* name) {
    if (!std::isfinite(value))
        invalid_argument(std::string(kernel) + ": " + name + " must be finite, got " + std::to_string(value));
}

// A float buffer as the overlap checks see it: a name and a byte range.
struct FloatSpan {
    const float* data;
    int64_t count;
    const char* name;
};

inline bool spans_overlap(const FloatSpan& a, const FloatSpan& b) {
    if (a.data == nullptr || b.data == nullptr) return false;
    // Compare as integers: pointers into different objects are not ordered in C++.
    const auto a0 = reinterpret_cast<uintptr_t>(a.data), b0 = reinterpret_cast<uintptr_t>(b.data);
    const auto a1 = a0 + uintptr_t(a.count) * sizeof(float), b1 = b0 + uintptr_t(b.count) * sizeof(float);
    return a0 < b1 && b0 < a1;
}

inline void check_no_overlap(const FloatSpan& output, const FloatSpan& other, const char* kernel) {
    if (spans_overlap(output, other))
        invalid_argument(std::string(kernel) + ": " + output.name + " overlaps " + other.name);
}

}  // namespace inkwell
