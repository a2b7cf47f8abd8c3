// AVX2 row kernels of canny_fast. This file is compiled for the baseline ISA: only the
// functions inside the AVX2 target region use AVX2, and they run only
// after avx2_row_kernels() has checked the CPU. (Compiling the whole file with -mavx2
// would also make AVX2 copies of inline library functions that the linker could pick for
// the rest of the library.) Each SIMD body is followed by the scalar range function from
// canny_rows.hpp for the columns left over.
#include "canny_rows.hpp"
#include "simd_dispatch.hpp"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

namespace inkwell::cpu::canny_rows {

namespace {

// GCC's target pragma; clang ignores it, so there the same region is an attribute applied
// to every function declared in it.
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif

// ---- Stage load -------------------------------------------------------------------------

void load_row_avx2(const uint8_t* src, int64_t w, int64_t cn, int64_t r, uint8_t* const* planes) {
    if (cn == 1) {
        std::memcpy(planes[0], src, size_t(w));
        replicate_edges(planes, cn, w, r);
        return;
    }
    // cn == 3 (the only other count canny accepts); 16 pixels per step.
    int64_t x = 0;
    for (; x + 16 <= w; x += 16) {
        const uint8_t* p = src + 3 * x;
        const __m128i v[3] = {_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)),
                              _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16)),
                              _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 32))};
        for (int plane = 0; plane < 3; ++plane) {
            __m128i out = _mm_setzero_si128();
            for (int vector = 0; vector < 3; ++vector) {
                const __m128i mask =
                    _mm_load_si128(reinterpret_cast<const __m128i*>(kDeinterleave.mask[plane][vector]));
                out = _mm_or_si128(out, _mm_shuffle_epi8(v[vector], mask));
            }
            _mm_storeu_si128(reinterpret_cast<__m128i*>(planes[plane] + x), out);
        }
    }
    deinterleave_range(src, cn, planes, x, w);
    replicate_edges(planes, cn, w, r);
}

// ---- Stage gradient ---------------------------------------------------------------------

// 16 pixels of a uint8 plane widened to int16.
inline __m256i load_u8x16(const uint8_t* p) {
    return _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

inline __m256i load_i16x16(const int16_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

inline void store_i16x16(int16_t* p, __m256i v) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v);
}

// Aperture 3 in one pass straight from the three source rows: every intermediate and the
// result fit int16 (|dx|, |dy| <= 4 * 255), so no vertical-pass buffer is needed.
void gradient3_avx2(const uint8_t* const* rows, int64_t w, int16_t* vx, int16_t* vy, int16_t* dx, int16_t* dy) {
    const uint8_t* top = rows[0];
    const uint8_t* mid = rows[1];
    const uint8_t* bottom = rows[2];
    int64_t x = 0;
    for (; x + 16 <= w; x += 16) {
        const __m256i top_l = load_u8x16(top + x - 1), top_c = load_u8x16(top + x), top_r = load_u8x16(top + x + 1);
        const __m256i mid_l = load_u8x16(mid + x - 1), mid_r = load_u8x16(mid + x + 1);
        const __m256i bot_l = load_u8x16(bottom + x - 1), bot_c = load_u8x16(bottom + x),
                      bot_r = load_u8x16(bottom + x + 1);
        // dx: right column minus left column, rows weighted 1 2 1.
        const __m256i diff_top = _mm256_sub_epi16(top_r, top_l);
        const __m256i diff_mid = _mm256_sub_epi16(mid_r, mid_l);
        const __m256i diff_bot = _mm256_sub_epi16(bot_r, bot_l);
        const __m256i gx = _mm256_add_epi16(_mm256_add_epi16(diff_top, diff_bot), _mm256_add_epi16(diff_mid, diff_mid));
        // dy: bottom row minus top row, columns weighted 1 2 1.
        const __m256i diff_l = _mm256_sub_epi16(bot_l, top_l);
        const __m256i diff_c = _mm256_sub_epi16(bot_c, top_c);
        const __m256i diff_r = _mm256_sub_epi16(bot_r, top_r);
        const __m256i gy = _mm256_add_epi16(_mm256_add_epi16(diff_l, diff_r), _mm256_add_epi16(diff_c, diff_c));
        store_i16x16(dx + x, gx);
        store_i16x16(dy + x, gy);
    }
    gradient_range<3>(rows, x, w, vx, vy, dx, dy);
}

// Vertical pass of aperture K over columns [-R, w + R), in int16 (sums are at most
// 64 * 255; int16 wraps in between are harmless as the exact result fits).
template <int K>
void vertical_avx2(const uint8_t* const* rows, int64_t w, int16_t* vx, int16_t* vy) {
    constexpr Taps<K> taps = make_taps<K>();
    constexpr int R = K / 2;
    int64_t x = -R;
    for (; x + 16 <= w + R; x += 16) {
        __m256i sx = _mm256_setzero_si256(), sy = _mm256_setzero_si256();
        for (int i = 0; i < K; ++i) {
            const __m256i p = load_u8x16(rows[i] + x);
            sx = _mm256_add_epi16(sx, _mm256_mullo_epi16(p, _mm256_set1_epi16(int16_t(taps.smooth[i]))));
            sy = _mm256_add_epi16(sy, _mm256_mullo_epi16(p, _mm256_set1_epi16(int16_t(taps.deriv[i]))));
        }
        store_i16x16(vx + x, sx);
        store_i16x16(vy + x, sy);
    }
    vertical_range<K>(rows, x, w + R, vx, vy);
}

// Aperture 5: the horizontal pass also fits int16 (|dx|, |dy| <= 48 * 255).
void gradient5_avx2(const uint8_t* const* rows, int64_t w, int16_t* vx, int16_t* vy, int16_t* dx, int16_t* dy) {
    constexpr int K = 5, R = K / 2;
    constexpr Taps<K> taps = make_taps<K>();
    vertical_avx2<K>(rows, w, vx, vy);
    int64_t x = 0;
    for (; x + 16 <= w; x += 16) {
        __m256i sx = _mm256_setzero_si256(), sy = _mm256_setzero_si256();
        for (int j = 0; j < K; ++j) {
            sx = _mm256_add_epi16(sx, _mm256_mullo_epi16(load_i16x16(vx + x + j - R),
                                                         _mm256_set1_epi16(int16_t(taps.deriv[j]))));
            sy = _mm256_add_epi16(sy, _mm256_mullo_epi16(load_i16x16(vy + x + j - R),
                                                         _mm256_set1_epi16(int16_t(taps.smooth[j]))));
        }
        store_i16x16(dx + x, sx);
        store_i16x16(dy + x, sy);
    }
    horizontal_range<K>(vx, vy, x, w, dx, dy);
}

// Horizontal tap sum of aperture 7 for 8 pixels, in int32 (sums reach 640 * 255), then
// OpenCV's 1/16 scaling rounded half to even: (s + 7 + bit 0 of floor(s / 16)) >> 4.
inline __m256i horizontal7_x8(const int16_t* v, const int32_t* taps) {
    constexpr int K = 7, R = K / 2;
    __m256i s = _mm256_setzero_si256();
    for (int j = 0; j < K; ++j) {
        const __m256i p = _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v + j - R)));
        s = _mm256_add_epi32(s, _mm256_mullo_epi32(p, _mm256_set1_epi32(taps[j])));
    }
    const __m256i odd = _mm256_and_si256(_mm256_srai_epi32(s, kAperture7Shift), _mm256_set1_epi32(1));
    return _mm256_srai_epi32(_mm256_add_epi32(s, _mm256_add_epi32(odd, _mm256_set1_epi32(7))), kAperture7Shift);
}

// 16 int32 to int16 with saturation, in order (packs works per 128-bit lane).
inline __m256i pack_i32_to_i16(__m256i lo, __m256i hi) {
    return _mm256_permute4x64_epi64(_mm256_packs_epi32(lo, hi), 0xD8);
}

void gradient7_avx2(const uint8_t* const* rows, int64_t w, int16_t* vx, int16_t* vy, int16_t* dx, int16_t* dy) {
    constexpr int K = 7;
    constexpr Taps<K> taps = make_taps<K>();
    vertical_avx2<K>(rows, w, vx, vy);
    int64_t x = 0;
    for (; x + 16 <= w; x += 16) {
        store_i16x16(dx + x, pack_i32_to_i16(horizontal7_x8(vx + x, taps.deriv), horizontal7_x8(vx + x + 8, taps.deriv)));
        store_i16x16(dy + x,
                     pack_i32_to_i16(horizontal7_x8(vy + x, taps.smooth), horizontal7_x8(vy + x + 8, taps.smooth)));
    }
    horizontal_range<K>(vx, vy, x, w, dx, dy);
}

// ---- Stage magnitude --------------------------------------------------------------------

inline __m256i load_i16x8_as_i32(const int16_t* p) {
    return _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

inline void store_i32_as_i16x8(int16_t* p, __m256i v) {
    const __m128i packed = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), packed);
}

template <bool L2>
inline __m256i magnitude_x8(__m256i gx, __m256i gy) {
    if constexpr (L2) return _mm256_add_epi32(_mm256_mullo_epi32(gx, gx), _mm256_mullo_epi32(gy, gy));
    return _mm256_add_epi32(_mm256_abs_epi32(gx), _mm256_abs_epi32(gy));
}

// 8 pixels per step in int32 lanes; a channel replaces the best so far only where its
// magnitude is strictly larger (ties go to the lowest channel).
template <int CN, bool L2>
void magnitude_avx2(const int16_t* const* channel_dx, const int16_t* const* channel_dy, int64_t w, int16_t* dx,
                    int16_t* dy, int32_t* mag) {
    int64_t x = 0;
    for (; x + 8 <= w; x += 8) {
        __m256i best_dx = load_i16x8_as_i32(channel_dx[0] + x);
        __m256i best_dy = load_i16x8_as_i32(channel_dy[0] + x);
        __m256i best = magnitude_x8<L2>(best_dx, best_dy);
        for (int c = 1; c < CN; ++c) {
            const __m256i gx = load_i16x8_as_i32(channel_dx[c] + x);
            const __m256i gy = load_i16x8_as_i32(channel_dy[c] + x);
            const __m256i m = magnitude_x8<L2>(gx, gy);
            const __m256i larger = _mm256_cmpgt_epi32(m, best);
            best = _mm256_blendv_epi8(best, m, larger);
            best_dx = _mm256_blendv_epi8(best_dx, gx, larger);
            best_dy = _mm256_blendv_epi8(best_dy, gy, larger);
        }
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(mag + x), best);
        store_i32_as_i16x8(dx + x, best_dx);
        store_i32_as_i16x8(dy + x, best_dy);
    }
    magnitude_range<CN, L2>(channel_dx, channel_dy, x, w, dx, dy, mag);
}

// ---- Stage suppress ---------------------------------------------------------------------

inline __m256i load_i32x8(const int32_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// Non-maximum suppression of 8 pixels at a time, branch-free: the sector test picks, per
// lane, the two neighbours along the gradient (as in is_local_maximum), and the resulting
// map values are 1 (kNotEdge) minus 1 for local maxima above low plus 2 for those above
// high. Groups with no pixel above low, the common case, skip all of it.
void suppress_avx2(const int32_t* prev, const int32_t* cur, const int32_t* next, const int16_t* dx,
                   const int16_t* dy, int64_t w, CannyThresholds t, const MapRow& out) {
    static_assert(kCandidate == 0 && kNotEdge == 1 && kEdge == 2, "map values computed arithmetically below");
    const __m256i low = _mm256_set1_epi32(t.low), high = _mm256_set1_epi32(t.high);
    const __m256i tg22 = _mm256_set1_epi32(tan22_q15());
    const __m256i zero = _mm256_setzero_si256(), all_ones = _mm256_set1_epi32(-1);
    const __m256i one = _mm256_set1_epi32(1), two = _mm256_set1_epi32(2);
    const uint64_t not_edge_x8 = 0x0101010101010101ull * kNotEdge;
    int64_t x = 0;
    for (; x + 8 <= w; x += 8) {
        const __m256i m = load_i32x8(cur + x);
        const __m256i above_low = _mm256_cmpgt_epi32(m, low);
        if (_mm256_testz_si256(above_low, above_low)) {
            std::memcpy(out.row + x, &not_edge_x8, sizeof not_edge_x8);
            continue;
        }
        // Sector, as canny_detail::sector: y = |dy| << 15 against |dx| * tan(22.5) and
        // |dx| * tan(67.5) = |dx| * (tan(22.5) + 2), all in Q15.
        const __m256i gx = load_i16x8_as_i32(dx + x), gy = load_i16x8_as_i32(dy + x);
        const __m256i ax = _mm256_abs_epi32(gx);
        const __m256i ay = _mm256_slli_epi32(_mm256_abs_epi32(gy), kSectorShift);
        const __m256i tg22x = _mm256_mullo_epi32(ax, tg22);
        const __m256i tg67x = _mm256_add_epi32(tg22x, _mm256_slli_epi32(ax, kSectorShift + 1));
        const __m256i horizontal = _mm256_cmpgt_epi32(tg22x, ay);
        const __m256i vertical = _mm256_andnot_si256(horizontal, _mm256_cmpgt_epi32(ay, tg67x));
        const __m256i diagonal = _mm256_andnot_si256(_mm256_or_si256(horizontal, vertical), above_low);
        // Diagonal direction: dx, dy of equal sign compare (x-1, y-1) with (x+1, y+1).
        const __m256i opposite = _mm256_cmpgt_epi32(zero, _mm256_xor_si256(gx, gy));
        const __m256i diag_first =
            _mm256_blendv_epi8(load_i32x8(prev + x - 1), load_i32x8(prev + x + 1), opposite);
        const __m256i diag_second =
            _mm256_blendv_epi8(load_i32x8(next + x + 1), load_i32x8(next + x - 1), opposite);
        __m256i first = _mm256_blendv_epi8(diag_first, load_i32x8(prev + x), vertical);
        first = _mm256_blendv_epi8(first, load_i32x8(cur + x - 1), horizontal);
        __m256i second = _mm256_blendv_epi8(diag_second, load_i32x8(next + x), vertical);
        second = _mm256_blendv_epi8(second, load_i32x8(cur + x + 1), horizontal);
        // m > first, and m >= second (m > second on diagonals).
        const __m256i beats_first = _mm256_cmpgt_epi32(m, first);
        const __m256i not_below_second = _mm256_xor_si256(_mm256_cmpgt_epi32(second, m), all_ones);
        const __m256i second_ok = _mm256_blendv_epi8(not_below_second, _mm256_cmpgt_epi32(m, second), diagonal);
        const __m256i maximum = _mm256_and_si256(above_low, _mm256_and_si256(beats_first, second_ok));
        const __m256i strong = _mm256_and_si256(maximum, _mm256_cmpgt_epi32(m, high));
        // maximum is -1 where set: 1 + maximum + (strong & 2).
        const __m256i value = _mm256_add_epi32(_mm256_add_epi32(one, maximum), _mm256_and_si256(strong, two));
        const __m128i value16 = _mm_packs_epi32(_mm256_castsi256_si128(value), _mm256_extracti128_si256(value, 1));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(out.row + x), _mm_packus_epi16(value16, value16));
        push_strong(out, x, unsigned(_mm256_movemask_ps(_mm256_castsi256_ps(strong))));
    }
    suppress_range(prev, cur, next, dx, dy, x, w, t, out);
}

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

}  // namespace

const RowKernels* avx2_row_kernels() {
    static const RowKernels kernels{
        load_row_avx2,
        {gradient3_avx2, gradient5_avx2, gradient7_avx2},
        {{magnitude_avx2<1, false>, magnitude_avx2<1, true>}, {magnitude_avx2<3, false>, magnitude_avx2<3, true>}},
        suppress_avx2,
    };
    return simd_avx2() ? &kernels : nullptr;  // the level in effect (simd_dispatch.hpp)
}

}  // namespace inkwell::cpu::canny_rows

#else

namespace inkwell::cpu::canny_rows {

const RowKernels* avx2_row_kernels() { return nullptr; }

}  // namespace inkwell::cpu::canny_rows

#endif
