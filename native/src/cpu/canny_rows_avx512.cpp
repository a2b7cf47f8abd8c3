// AVX-512 (F + BW) row kernels of canny_fast: the AVX2 kernels of canny_rows_avx2.cpp two or
// four times as wide where the profile of a 1080p RGB call put the time (the load, the
// aperture-3 gradient, the magnitude and the suppression). The aperture 5 and 7 gradients
// stay AVX2. Integer arithmetic throughout: the same
// values as the AVX2 and scalar kernels (test_canny compares every level with the reference).
// Compiled for the baseline ISA like the AVX2 file: only the functions in the target region
// use AVX-512, and they run only after avx512_row_kernels() has checked the level in effect.
#include "canny_rows.hpp"
#include "simd_dispatch.hpp"

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

namespace inkwell::cpu::canny_rows {

namespace {

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw")
// GCC 12's AVX-512 intrinsics (the widenings, abs, shifts, narrowings) pass an undefined
// vector as their unused pass-through operand, which -Wmaybe-uninitialized reports once
// inlined; nothing here reads an uninitialised value.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

// ---- Stage load -------------------------------------------------------------------------

// load_row_avx2's shuffles on 64 RGB pixels at a time: the 192 bytes as three vectors, their
// 16-byte chunks regrouped so that lane g of vector v holds chunk v of pixels 16 g .. 16 g + 15
// (chunk 3 g + v of the row), then the same byte shuffles in every lane.
void load_row_avx512(const uint8_t* src, int64_t w, int64_t cn, int64_t r, uint8_t* const* planes) {
    if (cn == 1) {
        std::memcpy(planes[0], src, size_t(w));
        replicate_edges(planes, cn, w, r);
        return;
    }
    // Quadword indices: 0-7 the first source, 8-15 the second; chunk c is quadwords 2c, 2c + 1.
    // The row's chunks 0-3 are in a, 4-7 in b, 8-11 in c.
    const __m512i pick_ab[3] = {_mm512_setr_epi64(0, 1, 6, 7, 12, 13, 0, 0),    // a0 a3 b2 -
                                _mm512_setr_epi64(2, 3, 8, 9, 14, 15, 0, 0),    // a1 b0 b3 -
                                _mm512_setr_epi64(4, 5, 10, 11, 0, 0, 0, 0)};   // a2 b1 -  -
    const __m512i pick_c[3] = {_mm512_setr_epi64(0, 1, 2, 3, 4, 5, 10, 11),     // .. .. .. c1
                               _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 12, 13),     // .. .. .. c2
                               _mm512_setr_epi64(0, 1, 2, 3, 8, 9, 14, 15)};    // .. .. c0 c3
    __m512i shuffle[3][3];
    for (int plane = 0; plane < 3; ++plane)
        for (int vector = 0; vector < 3; ++vector)
            shuffle[plane][vector] = _mm512_broadcast_i32x4(
                _mm_load_si128(reinterpret_cast<const __m128i*>(kDeinterleave.mask[plane][vector])));
    int64_t x = 0;
    for (; x + 64 <= w; x += 64) {
        const uint8_t* p = src + 3 * x;
        const __m512i a = _mm512_loadu_si512(p), b = _mm512_loadu_si512(p + 64), c = _mm512_loadu_si512(p + 128);
        __m512i v[3];
        for (int vector = 0; vector < 3; ++vector)
            v[vector] = _mm512_permutex2var_epi64(_mm512_permutex2var_epi64(a, pick_ab[vector], b), pick_c[vector], c);
        for (int plane = 0; plane < 3; ++plane) {
            const __m512i out = _mm512_or_si512(_mm512_or_si512(_mm512_shuffle_epi8(v[0], shuffle[plane][0]),
                                                                _mm512_shuffle_epi8(v[1], shuffle[plane][1])),
                                                _mm512_shuffle_epi8(v[2], shuffle[plane][2]));
            _mm512_storeu_si512(planes[plane] + x, out);
        }
    }
    deinterleave_range(src, cn, planes, x, w);
    replicate_edges(planes, cn, w, r);
}

// ---- Stage gradient ---------------------------------------------------------------------

// 32 pixels of a uint8 plane widened to int16.
inline __m512i load_u8x32(const uint8_t* p) {
    return _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// gradient3_avx2 32 pixels at a time: the same sums in int16.
void gradient3_avx512(const uint8_t* const* rows, int64_t w, int16_t* vx, int16_t* vy, int16_t* dx, int16_t* dy) {
    const uint8_t* top = rows[0];
    const uint8_t* mid = rows[1];
    const uint8_t* bottom = rows[2];
    int64_t x = 0;
    for (; x + 32 <= w; x += 32) {
        const __m512i top_l = load_u8x32(top + x - 1), top_c = load_u8x32(top + x), top_r = load_u8x32(top + x + 1);
        const __m512i mid_l = load_u8x32(mid + x - 1), mid_r = load_u8x32(mid + x + 1);
        const __m512i bot_l = load_u8x32(bottom + x - 1), bot_c = load_u8x32(bottom + x),
                      bot_r = load_u8x32(bottom + x + 1);
        // dx: right column minus left column, rows weighted 1 2 1.
        const __m512i diff_top = _mm512_sub_epi16(top_r, top_l);
        const __m512i diff_mid = _mm512_sub_epi16(mid_r, mid_l);
        const __m512i diff_bot = _mm512_sub_epi16(bot_r, bot_l);
        const __m512i gx = _mm512_add_epi16(_mm512_add_epi16(diff_top, diff_bot), _mm512_add_epi16(diff_mid, diff_mid));
        // dy: bottom row minus top row, columns weighted 1 2 1.
        const __m512i diff_l = _mm512_sub_epi16(bot_l, top_l);
        const __m512i diff_c = _mm512_sub_epi16(bot_c, top_c);
        const __m512i diff_r = _mm512_sub_epi16(bot_r, top_r);
        const __m512i gy = _mm512_add_epi16(_mm512_add_epi16(diff_l, diff_r), _mm512_add_epi16(diff_c, diff_c));
        _mm512_storeu_si512(dx + x, gx);
        _mm512_storeu_si512(dy + x, gy);
    }
    gradient_range<3>(rows, x, w, vx, vy, dx, dy);
}

// ---- Stage magnitude --------------------------------------------------------------------

inline __m512i load_i16x16_as_i32(const int16_t* p) {
    return _mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// The values came from int16, so the saturating narrowing is exact.
inline void store_i32_as_i16x16(int16_t* p, __m512i v) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtsepi32_epi16(v));
}

template <bool L2>
inline __m512i magnitude_x16(__m512i gx, __m512i gy) {
    if constexpr (L2) return _mm512_add_epi32(_mm512_mullo_epi32(gx, gx), _mm512_mullo_epi32(gy, gy));
    return _mm512_add_epi32(_mm512_abs_epi32(gx), _mm512_abs_epi32(gy));
}

// magnitude_avx2 16 pixels at a time: a channel replaces the best so far only where its
// magnitude is strictly larger (ties go to the lowest channel).
template <int CN, bool L2>
void magnitude_avx512(const int16_t* const* channel_dx, const int16_t* const* channel_dy, int64_t w, int16_t* dx,
                      int16_t* dy, int32_t* mag) {
    int64_t x = 0;
    for (; x + 16 <= w; x += 16) {
        __m512i best_dx = load_i16x16_as_i32(channel_dx[0] + x);
        __m512i best_dy = load_i16x16_as_i32(channel_dy[0] + x);
        __m512i best = magnitude_x16<L2>(best_dx, best_dy);
        for (int c = 1; c < CN; ++c) {
            const __m512i gx = load_i16x16_as_i32(channel_dx[c] + x);
            const __m512i gy = load_i16x16_as_i32(channel_dy[c] + x);
            const __m512i m = magnitude_x16<L2>(gx, gy);
            const __mmask16 larger = _mm512_cmpgt_epi32_mask(m, best);
            best = _mm512_mask_blend_epi32(larger, best, m);
            best_dx = _mm512_mask_blend_epi32(larger, best_dx, gx);
            best_dy = _mm512_mask_blend_epi32(larger, best_dy, gy);
        }
        _mm512_storeu_si512(mag + x, best);
        store_i32_as_i16x16(dx + x, best_dx);
        store_i32_as_i16x16(dy + x, best_dy);
    }
    magnitude_range<CN, L2>(channel_dx, channel_dy, x, w, dx, dy, mag);
}

// ---- Stage suppress ---------------------------------------------------------------------

inline __m512i load_i32x16(const int32_t* p) { return _mm512_loadu_si512(p); }

// suppress_avx2 16 pixels at a time, with mask registers for the per-lane choices.
void suppress_avx512(const int32_t* prev, const int32_t* cur, const int32_t* next, const int16_t* dx,
                     const int16_t* dy, int64_t w, CannyThresholds t, const MapRow& out) {
    static_assert(kCandidate == 0 && kNotEdge == 1 && kEdge == 2, "map values computed arithmetically below");
    const __m512i low = _mm512_set1_epi32(t.low), high = _mm512_set1_epi32(t.high);
    const __m512i tg22 = _mm512_set1_epi32(tan22_q15());
    const __m512i candidate = _mm512_set1_epi32(kCandidate), not_edge = _mm512_set1_epi32(kNotEdge);
    const __m512i edge = _mm512_set1_epi32(kEdge);
    const __m128i not_edge_x16 = _mm_set1_epi8(static_cast<char>(kNotEdge));
    int64_t x = 0;
    for (; x + 16 <= w; x += 16) {
        const __m512i m = load_i32x16(cur + x);
        const __mmask16 above_low = _mm512_cmpgt_epi32_mask(m, low);
        if (above_low == 0) {
            _mm_storeu_si128(reinterpret_cast<__m128i*>(out.row + x), not_edge_x16);
            continue;
        }
        // Sector, as canny_detail::sector: y = |dy| << 15 against |dx| * tan(22.5) and
        // |dx| * tan(67.5) = |dx| * (tan(22.5) + 2), all in Q15.
        const __m512i gx = load_i16x16_as_i32(dx + x), gy = load_i16x16_as_i32(dy + x);
        const __m512i ax = _mm512_abs_epi32(gx);
        const __m512i ay = _mm512_slli_epi32(_mm512_abs_epi32(gy), kSectorShift);
        const __m512i tg22x = _mm512_mullo_epi32(ax, tg22);
        const __m512i tg67x = _mm512_add_epi32(tg22x, _mm512_slli_epi32(ax, kSectorShift + 1));
        const __mmask16 horizontal = _mm512_cmpgt_epi32_mask(tg22x, ay);
        const __mmask16 vertical = static_cast<__mmask16>(~horizontal & _mm512_cmpgt_epi32_mask(ay, tg67x));
        const __mmask16 diagonal = static_cast<__mmask16>(~(horizontal | vertical) & above_low);
        // Diagonal direction: dx, dy of equal sign compare (x-1, y-1) with (x+1, y+1).
        const __mmask16 opposite = _mm512_cmplt_epi32_mask(_mm512_xor_si512(gx, gy), _mm512_setzero_si512());
        const __m512i diag_first = _mm512_mask_blend_epi32(opposite, load_i32x16(prev + x - 1), load_i32x16(prev + x + 1));
        const __m512i diag_second =
            _mm512_mask_blend_epi32(opposite, load_i32x16(next + x + 1), load_i32x16(next + x - 1));
        __m512i first = _mm512_mask_blend_epi32(vertical, diag_first, load_i32x16(prev + x));
        first = _mm512_mask_blend_epi32(horizontal, first, load_i32x16(cur + x - 1));
        __m512i second = _mm512_mask_blend_epi32(vertical, diag_second, load_i32x16(next + x));
        second = _mm512_mask_blend_epi32(horizontal, second, load_i32x16(cur + x + 1));
        // m > first, and m >= second (m > second on diagonals).
        const __mmask16 beats_first = _mm512_cmpgt_epi32_mask(m, first);
        const __mmask16 second_ok = static_cast<__mmask16>((diagonal & _mm512_cmpgt_epi32_mask(m, second)) |
                                                           (~diagonal & _mm512_cmpge_epi32_mask(m, second)));
        const __mmask16 maximum = static_cast<__mmask16>(above_low & beats_first & second_ok);
        const __mmask16 strong = static_cast<__mmask16>(maximum & _mm512_cmpgt_epi32_mask(m, high));
        const __m512i value =
            _mm512_mask_blend_epi32(strong, _mm512_mask_blend_epi32(maximum, not_edge, candidate), edge);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out.row + x), _mm512_cvtepi32_epi8(value));
        push_strong(out, x, strong);
    }
    suppress_range(prev, cur, next, dx, dy, x, w, t, out);
}

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC diagnostic pop
#pragma GCC pop_options
#endif

}  // namespace

const RowKernels* avx512_row_kernels() {
    if (!simd_avx512()) return nullptr;  // the level in effect (simd_dispatch.hpp)
    // The AVX-512 level includes AVX2, so the AVX2 table is there for the stages kept AVX2.
    static const RowKernels kernels = [] {
        RowKernels k = *avx2_row_kernels();
        k.load = load_row_avx512;
        k.gradient[0] = gradient3_avx512;
        k.magnitude[0][0] = magnitude_avx512<1, false>;
        k.magnitude[0][1] = magnitude_avx512<1, true>;
        k.magnitude[1][0] = magnitude_avx512<3, false>;
        k.magnitude[1][1] = magnitude_avx512<3, true>;
        k.suppress = suppress_avx512;
        return k;
    }();
    return &kernels;
}

}  // namespace inkwell::cpu::canny_rows

#else

namespace inkwell::cpu::canny_rows {

const RowKernels* avx512_row_kernels() { return nullptr; }

}  // namespace inkwell::cpu::canny_rows

#endif
