/*
 * libinkwellbench: the native side of the benchmarks' anchors.
 *
 *  - Java_dev_inkwell_benchmarks_BenchNative_noop: a JNI function of the same shape as
 *    inkwell_noop (no arguments, returns an int), for FfmCallBenchmark.
 *  - inkwell_bench_noop: the same as a plain C symbol, for an FFM call into this library.
 *  - inkwell_bench_fma_f32: independent FMA chains (PeakFlopsBenchmark) with the widest
 *    vectors the CPU has (AVX-512, else AVX2, else a scalar fallback; whatever INKWELL_SIMD
 *    forces on Inkwell's kernels: the peak is the machine's), so the conv2d and attention
 *    numbers can be quoted as a fraction of the machine's FMA peak. Callable through JNI and
 *    FFM; inkwell_bench_fma_isa says which kernel runs, inkwell_bench_fma_flops its flops.
 *
 * Compiled by the benchmarks' Maven build (exec-maven-plugin -> gcc, see benchmarks/pom.xml)
 * into target/classes/native/<platform>/, so it travels inside benchmarks.jar.
 */
#include <jni.h>
#include <stdint.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define INKWELL_BENCH_X86 1
#endif

JNIEXPORT jint JNICALL Java_dev_inkwell_benchmarks_BenchNative_noop(JNIEnv *env, jclass cls) {
    (void)env;
    (void)cls;
    return 0;
}

__attribute__((visibility("default"), noinline)) int32_t inkwell_bench_noop(void) {
    return 0;
}

/* The FMA kernel inkwell_bench_fma_f32 runs: 3 AVX-512 (F), 2 AVX2+FMA, 0 the scalar fallback
 * (the numbering of Inkwell's inkwell_simd_level). __builtin_cpu_supports also checks that
 * the OS saves the registers. */
__attribute__((visibility("default"))) int32_t inkwell_bench_fma_isa(void) {
#ifdef INKWELL_BENCH_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 3;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 2;
#endif
    return 0;
}

/* 1 if the CPU runs a SIMD FMA kernel (AVX2+FMA or AVX-512), 0 if the scalar fallback is used. */
__attribute__((visibility("default"))) int32_t inkwell_bench_has_fma(void) {
    return inkwell_bench_fma_isa() != 0;
}

#ifdef INKWELL_BENCH_X86
/*
 * 12 independent accumulators x 8 floats: enough chains to cover FMA latency (4-5 cycles)
 * times 2 FMA ports on current x86 cores. Each iteration does 12 FMAs = 12 * 8 * 2 flops.
 */
__attribute__((target("avx2,fma"), noinline)) static float fma_chains_avx2(int64_t iterations, float seed) {
    __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f * seed);
    __m256 c0 = _mm256_set1_ps(seed), c1 = _mm256_set1_ps(seed + 1), c2 = _mm256_set1_ps(seed + 2);
    __m256 c3 = _mm256_set1_ps(seed + 3), c4 = _mm256_set1_ps(seed + 4), c5 = _mm256_set1_ps(seed + 5);
    __m256 c6 = _mm256_set1_ps(seed + 6), c7 = _mm256_set1_ps(seed + 7), c8 = _mm256_set1_ps(seed + 8);
    __m256 c9 = _mm256_set1_ps(seed + 9), c10 = _mm256_set1_ps(seed + 10), c11 = _mm256_set1_ps(seed + 11);
    for (int64_t i = 0; i < iterations; i++) {
        c0 = _mm256_fmadd_ps(c0, a, b);
        c1 = _mm256_fmadd_ps(c1, a, b);
        c2 = _mm256_fmadd_ps(c2, a, b);
        c3 = _mm256_fmadd_ps(c3, a, b);
        c4 = _mm256_fmadd_ps(c4, a, b);
        c5 = _mm256_fmadd_ps(c5, a, b);
        c6 = _mm256_fmadd_ps(c6, a, b);
        c7 = _mm256_fmadd_ps(c7, a, b);
        c8 = _mm256_fmadd_ps(c8, a, b);
        c9 = _mm256_fmadd_ps(c9, a, b);
        c10 = _mm256_fmadd_ps(c10, a, b);
        c11 = _mm256_fmadd_ps(c11, a, b);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)),
                             _mm256_add_ps(_mm256_add_ps(c4, c5), _mm256_add_ps(c6, c7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(c8, c9), _mm256_add_ps(c10, c11)));
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

/* The same 12 chains 16 floats wide: 12 * 16 * 2 flops per iteration. Two FMA ports of 4
 * cycles' latency need 8 chains in flight; 12 leave room. */
__attribute__((target("avx512f"), noinline)) static float fma_chains_avx512(int64_t iterations, float seed) {
    __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f * seed);
    __m512 c0 = _mm512_set1_ps(seed), c1 = _mm512_set1_ps(seed + 1), c2 = _mm512_set1_ps(seed + 2);
    __m512 c3 = _mm512_set1_ps(seed + 3), c4 = _mm512_set1_ps(seed + 4), c5 = _mm512_set1_ps(seed + 5);
    __m512 c6 = _mm512_set1_ps(seed + 6), c7 = _mm512_set1_ps(seed + 7), c8 = _mm512_set1_ps(seed + 8);
    __m512 c9 = _mm512_set1_ps(seed + 9), c10 = _mm512_set1_ps(seed + 10), c11 = _mm512_set1_ps(seed + 11);
    for (int64_t i = 0; i < iterations; i++) {
        c0 = _mm512_fmadd_ps(c0, a, b);
        c1 = _mm512_fmadd_ps(c1, a, b);
        c2 = _mm512_fmadd_ps(c2, a, b);
        c3 = _mm512_fmadd_ps(c3, a, b);
        c4 = _mm512_fmadd_ps(c4, a, b);
        c5 = _mm512_fmadd_ps(c5, a, b);
        c6 = _mm512_fmadd_ps(c6, a, b);
        c7 = _mm512_fmadd_ps(c7, a, b);
        c8 = _mm512_fmadd_ps(c8, a, b);
        c9 = _mm512_fmadd_ps(c9, a, b);
        c10 = _mm512_fmadd_ps(c10, a, b);
        c11 = _mm512_fmadd_ps(c11, a, b);
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)),
                             _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(c8, c9), _mm512_add_ps(c10, c11)));
    return _mm512_reduce_add_ps(s);
}
#endif

/* Same flop count, scalar: only so the benchmark runs (slowly) on CPUs without AVX2/FMA. */
static float fma_chains_scalar(int64_t iterations, float seed) {
    float c[96];
    for (int j = 0; j < 96; j++) c[j] = seed + (float)(j % 12);
    for (int64_t i = 0; i < iterations; i++)
        for (int j = 0; j < 96; j++) c[j] = c[j] * 0.999999f + 1e-7f * seed;
    float s = 0;
    for (int j = 0; j < 96; j++) s += c[j];
    return s;
}

/* Flops done by one call: iterations * 12 chains * lanes (16 with AVX-512, else 8) * 2. */
__attribute__((visibility("default"))) int64_t inkwell_bench_fma_flops(int64_t iterations) {
    return iterations * 12 * (inkwell_bench_fma_isa() == 3 ? 16 : 8) * 2;
}

__attribute__((visibility("default"))) float inkwell_bench_fma_f32(int64_t iterations, float seed) {
#ifdef INKWELL_BENCH_X86
    const int32_t isa = inkwell_bench_fma_isa();
    if (isa == 3) return fma_chains_avx512(iterations, seed);
    if (isa == 2) return fma_chains_avx2(iterations, seed);
#endif
    return fma_chains_scalar(iterations, seed);
}

JNIEXPORT jfloat JNICALL Java_dev_inkwell_benchmarks_BenchNative_fma(JNIEnv *env, jclass cls, jlong iterations,
                                                                      jfloat seed) {
    (void)env;
    (void)cls;
    return inkwell_bench_fma_f32(iterations, seed);
}
