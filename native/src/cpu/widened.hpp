// The CPU backend's 16-bit tensor entries: widen every input to float32 (exact), run the
// float32 kernel, narrow the output once (round to nearest even). Conversions run in
// fixed-size chunks, so the bits never depend on the thread count.
#pragma once

#include <cstdint>
#include <vector>

#include "../element_types.hpp"
#include "parallel_chunks.hpp"

namespace inkwell::cpu {

constexpr int64_t kConvertChunk = 1 << 16;

// count elements of `type` (f16 or bf16) at src, as floats.
inline std::vector<float> widen(ThreadPool& pool, int32_t type, const void* src, int64_t count) {
    std::vector<float> out(static_cast<size_t>(count));
    const auto* in = static_cast<const uint16_t*>(src);
    parallel_chunks(pool, count, kConvertChunk, [&](int64_t begin, int64_t end) {
        if (type == INKWELL_ELEMENT_F16)
            for (int64_t i = begin; i < end; ++i) out[i] = f16_to_float(in[i]);
        else
            for (int64_t i = begin; i < end; ++i) out[i] = bf16_to_float(in[i]);
    });
    return out;
}

inline void narrow(ThreadPool& pool, int32_t type, const std::vector<float>& src, void* dst) {
    auto* out = static_cast<uint16_t*>(dst);
    parallel_chunks(pool, int64_t(src.size()), kConvertChunk, [&](int64_t begin, int64_t end) {
        if (type == INKWELL_ELEMENT_F16)
            for (int64_t i = begin; i < end; ++i) out[i] = float_to_f16(src[i]);
        else
            for (int64_t i = begin; i < end; ++i) out[i] = float_to_bf16(src[i]);
    });
}

}  // namespace inkwell::cpu
