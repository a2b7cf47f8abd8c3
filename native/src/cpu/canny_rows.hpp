// Row stages of the fast Canny path (canny_fast), one image row at a time:
//
//   load       one source row into per-channel planes with `r` replicated pixels each side
//   gradient   dx, dy (int16, exactly as cv::Sobel CV_16S) of one channel plane
//   magnitude  |dx|+|dy| or dx^2+dy^2 per channel; for 3 channels the largest wins
//   suppress   non-maximum suppression + double threshold into the edge map
//
// Each stage has a portable scalar version over a column range [x0, x1) (defined here, so
// the SIMD versions can use it for their tails) and whole-row entry points collected in a
// RowKernels table: the scalar table everywhere, an AVX2 table where the CPU has AVX2, and
// an AVX-512 table (its load, gradient 3, magnitude and suppress kernels; AVX2 for the rest)
// where the level in effect is AVX-512.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "canny_common.hpp"
#include "canny_cpu.hpp"

namespace inkwell::cpu::canny_rows {

using namespace canny_detail;

// Spare elements after every row buffer. The SIMD bodies stop where a full vector would
// pass the row's valid columns (the scalar tails do the rest), so this is only a margin.
constexpr int64_t kSimdSlack = 32;

// Sobel taps of aperture K as constants, the values canny_detail::sobel_taps computes.
template <int K>
struct Taps {
    int32_t smooth[K];
    int32_t deriv[K];
};

template <int K>
constexpr Taps<K> make_taps() {
    Taps<K> t{};
    int32_t b[8] = {1};
    for (int n = 1; n < K; ++n)
        for (int i = n; i > 0; --i) b[i] += b[i - 1];
    int32_t c[8] = {1};
    for (int n = 1; n < K - 1; ++n)
        for (int i = n; i > 0; --i) c[i] += c[i - 1];
    for (int i = 0; i < K; ++i) {
        t.smooth[i] = b[i];
        t.deriv[i] = (i < K - 1 ? -c[i] : 0) + (i >= 1 ? c[i - 1] : 0);
    }
    return t;
}

// ---- Stage load -------------------------------------------------------------------------

// planes[c][x] = src[x * cn + c] for x in [x0, x1).
inline void deinterleave_range(const uint8_t* src, int64_t cn, uint8_t* const* planes, int64_t x0, int64_t x1) {
    for (int64_t x = x0; x < x1; ++x)
        for (int64_t c = 0; c < cn; ++c) planes[c][x] = src[x * cn + c];
}

// Byte shuffles that split 16 RGB pixels (three 16-byte vectors) into three planes (the
// AVX2 and AVX-512 loads):
// kDeinterleave.mask[plane][vector][i] is the byte of `vector` that holds pixel i of
// `plane`, or -1 (shuffle in a zero) where that pixel lies in another vector.
struct DeinterleaveMasks {
    alignas(16) int8_t mask[3][3][16];
};

constexpr DeinterleaveMasks make_deinterleave_masks() {
    DeinterleaveMasks m{};
    for (int plane = 0; plane < 3; ++plane)
        for (int vector = 0; vector < 3; ++vector)
            for (int i = 0; i < 16; ++i) {
                const int byte = 3 * i + plane - 16 * vector;
                m.mask[plane][vector][i] = static_cast<int8_t>(byte >= 0 && byte < 16 ? byte : -1);
            }
    return m;
}

inline constexpr DeinterleaveMasks kDeinterleave = make_deinterleave_masks();

// The replicated border columns [-r, 0) and [w, w + r) of each plane.
inline void replicate_edges(uint8_t* const* planes, int64_t cn, int64_t w, int64_t r) {
    for (int64_t c = 0; c < cn; ++c)
        for (int64_t p = 1; p <= r; ++p) {
            planes[c][-p] = planes[c][0];
            planes[c][w - 1 + p] = planes[c][w - 1];
        }
}

// ---- Stage gradient ---------------------------------------------------------------------
// Separable: a vertical pass (smoothing for dx, derivative for dy) over the K source rows,
// then a horizontal one. Vertical sums fit int16 for every aperture (at most 64 * 255).

template <int K>
void vertical_range(const uint8_t* const* rows, int64_t x0, int64_t x1, int16_t* vx, int16_t* vy) {
    constexpr Taps<K> taps = make_taps<K>();
    for (int64_t x = x0; x < x1; ++x) {
        int32_t sx = 0, sy = 0;
        for (int i = 0; i < K; ++i) {
            const int32_t p = rows[i][x];
            sx += taps.smooth[i] * p;
            sy += taps.deriv[i] * p;
        }
        vx[x] = static_cast<int16_t>(sx);
        vy[x] = static_cast<int16_t>(sy);
    }
}

template <int K>
void horizontal_range(const int16_t* vx, const int16_t* vy, int64_t x0, int64_t x1, int16_t* dx, int16_t* dy) {
    constexpr Taps<K> taps = make_taps<K>();
    constexpr int R = K / 2;
    for (int64_t x = x0; x < x1; ++x) {
        int32_t sx = 0, sy = 0;
        for (int j = 0; j < K; ++j) {
            sx += taps.deriv[j] * vx[x + j - R];
            sy += taps.smooth[j] * vy[x + j - R];
        }
        dx[x] = sobel_output<K>(sx);
        dy[x] = sobel_output<K>(sy);
    }
}

// rows: the K planes of source rows y - R .. y + R; vx, vy: scratch valid on [-R, w + R).
template <int K>
void gradient_range(const uint8_t* const* rows, int64_t x0, int64_t x1, int16_t* vx, int16_t* vy, int16_t* dx,
                    int16_t* dy) {
    constexpr int R = K / 2;
    vertical_range<K>(rows, x0 - R, x1 + R, vx, vy);
    horizontal_range<K>(vx, vy, x0, x1, dx, dy);
}

// ---- Stage magnitude --------------------------------------------------------------------

// Magnitude of each of the CN channels' gradients; the largest wins, ties to the lowest
// channel. dx, dy may alias channel_dx[0], channel_dy[0].
template <int CN, bool L2>
void magnitude_range(const int16_t* const* channel_dx, const int16_t* const* channel_dy, int64_t x0, int64_t x1,
                     int16_t* dx, int16_t* dy, int32_t* mag) {
    for (int64_t x = x0; x < x1; ++x) {
        int16_t best_dx = channel_dx[0][x], best_dy = channel_dy[0][x];
        int32_t best = magnitude(best_dx, best_dy, L2);
        for (int c = 1; c < CN; ++c) {
            const int32_t m = magnitude(channel_dx[c][x], channel_dy[c][x], L2);
            if (m > best) {
                best = m;
                best_dx = channel_dx[c][x];
                best_dy = channel_dy[c][x];
            }
        }
        mag[x] = best;
        dx[x] = best_dx;
        dy[x] = best_dy;
    }
}

// ---- Stage suppress ---------------------------------------------------------------------

// Where suppress writes: one edge-map row, its index in the map (for the hysteresis stack)
// and the stack of strong pixels.
struct MapRow {
    uint8_t* row;
    int64_t index;
    std::vector<int64_t>* strong;
};

// Pushes the strong pixels x + i for the set bits i of `bits` (the SIMD suppress kernels).
// Defined here, outside their files' target regions, so that the std::vector code it
// instantiates is built for the baseline ISA.
inline void push_strong(const MapRow& out, int64_t x, unsigned bits) {
    for (; bits != 0; bits &= bits - 1) out.strong->push_back(out.index + x + __builtin_ctz(bits));
}

inline void suppress_range(const int32_t* prev, const int32_t* cur, const int32_t* next, const int16_t* dx,
                           const int16_t* dy, int64_t x0, int64_t x1, CannyThresholds t, const MapRow& out) {
    const int32_t tg22 = tan22_q15();
    for (int64_t x = x0; x < x1; ++x) {
        uint8_t v = kNotEdge;
        if (cur[x] > t.low && is_local_maximum(prev, cur, next, x, dx[x], dy[x], tg22)) {
            if (cur[x] > t.high) {
                v = kEdge;
                out.strong->push_back(out.index + x);
            } else {
                v = kCandidate;
            }
        }
        out.row[x] = v;
    }
}

// ---- Whole-row entry points -------------------------------------------------------------

using LoadRow = void (*)(const uint8_t* src, int64_t w, int64_t cn, int64_t r, uint8_t* const* planes);
using GradientRow = void (*)(const uint8_t* const* rows, int64_t w, int16_t* vx, int16_t* vy, int16_t* dx,
                             int16_t* dy);
using MagnitudeRow = void (*)(const int16_t* const* channel_dx, const int16_t* const* channel_dy, int64_t w,
                              int16_t* dx, int16_t* dy, int32_t* mag);
using SuppressRow = void (*)(const int32_t* prev, const int32_t* cur, const int32_t* next, const int16_t* dx,
                             const int16_t* dy, int64_t w, CannyThresholds t, const MapRow& out);

struct RowKernels {
    LoadRow load;
    GradientRow gradient[3];      // aperture 3, 5, 7
    MagnitudeRow magnitude[2][2];  // [3 channels][L2]
    SuppressRow suppress;
};

const RowKernels& scalar_row_kernels();
// The AVX2 kernels, or nullptr where the CPU (or the compiler's target) has no AVX2.
const RowKernels* avx2_row_kernels();
// The AVX-512 kernels, or nullptr below the AVX-512 level (simd_dispatch.hpp).
const RowKernels* avx512_row_kernels();

}  // namespace inkwell::cpu::canny_rows
