// Pieces of Canny that the reference and the fast path must compute identically: the
// Sobel taps, the magnitude and the sector test of non-maximum suppression.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace inkwell::cpu::canny_detail {

// Sobel taps of size k (3, 5, 7): smoothing = binomial row k-1; derivative = binomial row
// k-2 convolved with [-1, 0, 1] (so k = 3 gives [-1 0 1], k = 5 gives [-1 -2 0 2 1]).
inline void sobel_taps(int k, int32_t smooth[7], int32_t deriv[7]) {
    int32_t b[8] = {1};
    for (int n = 1; n < k; ++n)
        for (int i = n; i > 0; --i) b[i] += b[i - 1];
    std::copy(b, b + k, smooth);
    int32_t c[8] = {1};
    for (int n = 1; n < k - 1; ++n)
        for (int i = n; i > 0; --i) c[i] += c[i - 1];
    for (int i = 0; i < k; ++i) deriv[i] = (i < k - 1 ? -c[i] : 0) + (i >= 1 ? c[i - 1] : 0);
}

inline int16_t saturate_i16(int32_t v) {
    return static_cast<int16_t>(std::clamp<int32_t>(v, INT16_MIN, INT16_MAX));
}

// OpenCV runs the 7x7 Sobel with scale 1/16 (and divides the thresholds by 16) so that
// responses fit int16. The scaled filter is computed exactly in float and rounded half to
// even, which in integers is: floor(sum / 16), plus one above the half, ties to even.
constexpr int kAperture7Shift = 4;

inline int32_t round_half_even_div16(int32_t sum) {
    int32_t q = sum >> kAperture7Shift;  // arithmetic shift: floor
    int32_t rem = sum & 15;
    return q + (rem > 8 || (rem == 8 && (q & 1)));
}

// The int16 gradient cv::Sobel(..., CV_16S) stores for an exact integer filter sum.
template <int K>
inline int16_t sobel_output(int32_t sum) {
    if constexpr (K == 7) return saturate_i16(round_half_even_div16(sum));
    return saturate_i16(sum);
}

inline int16_t sobel_output(int32_t sum, int aperture) {
    return aperture == 7 ? sobel_output<7>(sum) : sobel_output<3>(sum);
}

// No int32 overflow is possible below: the largest |dx| or |dy| is 255 * 96 = 24480
// (aperture 5; aperture 7 is scaled by 1/16 to at most 10200), so dx^2 + dy^2 < 1.2e9
// and |dx| * (tan22 + 2) in Q15 < 24480 * 79109 < 2^31.
constexpr int32_t kMaxSobelResponse = 255 * 96;

inline int32_t magnitude(int16_t dx, int16_t dy, bool l2) {
    if (l2) return int32_t(dx) * dx + int32_t(dy) * dy;
    return std::abs(int32_t(dx)) + std::abs(int32_t(dy));
}

// tan(22.5 degrees) in Q15, derived rather than written as 13573.
constexpr int kSectorShift = 15;
inline int32_t tan22_q15() {
    static const int32_t v = static_cast<int32_t>(std::tan(M_PI / 8) * (1 << kSectorShift) + 0.5);
    return v;
}

enum class Sector { Horizontal, Vertical, Diagonal };

// Which neighbours a pixel is compared with: the gradient is mostly along x (compare left
// and right), mostly along y (above and below), or diagonal. tan(67.5) = tan(22.5) + 2.
inline Sector sector(int16_t dx, int16_t dy, int32_t tg22) {
    const int32_t x = std::abs(int32_t(dx));
    const int32_t y = std::abs(int32_t(dy)) << kSectorShift;
    const int32_t tg22x = x * tg22;
    if (y < tg22x) return Sector::Horizontal;
    const int32_t tg67x = tg22x + (x << (kSectorShift + 1));
    return y > tg67x ? Sector::Vertical : Sector::Diagonal;
}

// Non-maximum suppression of one pixel. prev, cur, next are magnitude rows above, at and
// below it, indexable at j - 1 and j + 1 (zero outside the image). The asymmetric > / >=
// is OpenCV's: of two equal neighbours along the gradient, only the first one survives.
inline bool is_local_maximum(const int32_t* prev, const int32_t* cur, const int32_t* next, int64_t j, int16_t dx,
                             int16_t dy, int32_t tg22) {
    const int32_t m = cur[j];
    switch (sector(dx, dy, tg22)) {
        case Sector::Horizontal: return m > cur[j - 1] && m >= cur[j + 1];
        case Sector::Vertical: return m > prev[j] && m >= next[j];
        case Sector::Diagonal: {
            const int64_t s = ((dx ^ dy) < 0) ? -1 : 1;
            return m > prev[j - s] && m > next[j + s];
        }
    }
    return false;
}

// Values of the edge map (one byte per pixel, with a one-pixel frame of kNotEdge).
constexpr uint8_t kCandidate = 0;  // above low, survived NMS, not (yet) reached
constexpr uint8_t kNotEdge = 1;
constexpr uint8_t kEdge = 2;

}  // namespace inkwell::cpu::canny_detail
