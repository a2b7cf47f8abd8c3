// The SIMD level the CPU kernels run at: what the CPU has (cpuid, with the OS saving the
// registers), capped by a forced level. Every kernel that has SIMD variants asks here when a
// call starts, so one setting moves all of them together.
//
// Levels (inkwell_simd_level):
//   SCALAR   the portable C++ paths only;
//   SSE4_1   reported where the CPU has nothing wider; no kernel has an SSE4.1 variant, so it
//            runs the portable paths;
//   AVX2     AVX2 + FMA (both required: every AVX2 kernel uses fused multiply-adds);
//   AVX512   AVX-512 F, BW and VL (plus AVX2 + FMA); the kernels use F, BW/VL are required so
//            that a later kernel may use byte/word or 256-bit masked forms without a new level.
//
// Forcing a level: the environment variable INKWELL_SIMD=scalar|sse4.1|avx2|avx512 (case
// insensitive), read once when a kernel first asks, or inkwell_cpu_set_simd_level at run
// time (the Java API calls it with -Dinkwell.simd before any kernel runs). A level the CPU
// lacks never runs: through the ABI it is an error (INKWELL_UNSUPPORTED, the level kept);
// through the environment, where no call can fail, a warning on stderr and the CPU's own
// level. An unknown INKWELL_SIMD value is a warning and ignored.
#pragma once

#include <cstdint>

namespace inkwell::cpu {

// The widest level this CPU supports (cached after the first call).
int32_t simd_level_supported();

// The level in effect: min(supported, forced); the kernels dispatch on it.
int32_t simd_level();

// Caps the level (INKWELL_SIMD_* value). Returns false, changing nothing, when the CPU lacks
// it. Takes effect for kernel calls that start afterwards.
bool set_simd_level(int32_t level);

// Parses a level name as INKWELL_SIMD takes it; -1 when unknown.
int32_t parse_simd_level(const char* name);

// "SCALAR", "SSE4_1", "AVX2" or "AVX512".
const char* simd_level_name(int32_t level);

inline bool simd_avx2() { return simd_level() >= 2; }    // INKWELL_SIMD_AVX2
inline bool simd_avx512() { return simd_level() >= 3; }  // INKWELL_SIMD_AVX512

}  // namespace inkwell::cpu
