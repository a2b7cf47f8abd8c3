// Gaussian blur, CPU: kernel construction, reference, fast path. See the header for the
// arithmetic that makes them bit-exact with OpenCV and with each other.
#include "gaussian_blur_cpu.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "simd_dispatch.hpp"

namespace inkwell::cpu {

namespace {

// OpenCV's cvRound: round half to even (lrint in the default rounding mode).
int64_t round_half_even(double v) { return static_cast<int64_t>(std::nearbyint(v)); }

// Binomial-like tables OpenCV uses when sigma is not given and ksize <= 7. Exact in Q8.
const double* small_gaussian_table(int ksize) {
    static const double k1[] = {1.0};
    static const double k3[] = {0.25, 0.5, 0.25};
    static const double k5[] = {0.0625, 0.25, 0.375, 0.25, 0.0625};
    static const double k7[] = {0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125};
    switch (ksize) {
        case 1: return k1;
        case 3: return k3;
        case 5: return k5;
        case 7: return k7;
        default: return nullptr;
    }
}

constexpr int kFractionBits = 8;
constexpr int32_t kOne = 1 << kFractionBits;

}  // namespace

int gaussian_ksize_for_sigma(double sigma) {
    return static_cast<int>(round_half_even(sigma * 3 * 2 + 1)) | 1;
}

std::vector<int32_t> gaussian_kernel_q8(int ksize, double sigma) {
    const int half = ksize / 2;
    std::vector<double> k(ksize);
    const double* table = sigma <= 0 ? small_gaussian_table(ksize) : nullptr;
    if (table != nullptr) {
        std::copy(table, table + ksize, k.begin());
    } else {
        if (sigma <= 0) sigma = 0.3 * ((ksize - 1) * 0.5 - 1) + 0.8;
        // Symmetric taps in doubled coordinates, as OpenCV's getGaussianKernelBitExact
        // computes them: exp(-(2i)^2 / (8 sigma^2)) for offsets i, centre tap exactly 1.
        const double scale2x = -0.125 / (sigma * sigma);
        double sum = 0;
        for (int i = 0; i < half; ++i) {
            double x = 2.0 * (i - half);
            k[i] = std::exp(x * x * scale2x);
            sum += k[i];
        }
        sum = sum * 2 + 1;
        const double mul = 1.0 / sum;
        for (int i = 0; i < half; ++i) k[ksize - 1 - i] = k[i] = k[i] * mul;
        k[half] = mul;
    }
    // Quantise from the outside in, carrying each tap's rounding error to the next; the
    // centre tap takes whatever makes the sum exactly 256.
    std::vector<int32_t> q(ksize);
    double error = 0;
    int64_t sum = 0;
    for (int i = 0; i < half; ++i) {
        double adjusted = k[i] * kOne + error;
        int64_t v = round_half_even(adjusted);
        error = adjusted - static_cast<double>(v);
        q[i] = q[ksize - 1 - i] = static_cast<int32_t>(v);
        sum += v;
    }
    q[half] = static_cast<int32_t>(kOne - 2 * sum);
    return q;
}

int64_t reflect101(int64_t p, int64_t len) {
    if (len == 1) return 0;
    while (p < 0 || p >= len) {
        if (p < 0)
            p = -p;
        else
            p = 2 * (len - 1) - p;
    }
    return p;
}

void gaussian_blur_reference(const ImageView& src, const ImageView& dst, const std::vector<int32_t>& kernel) {
    const int64_t r = static_cast<int64_t>(kernel.size()) / 2;
    const int64_t cn = src.channels;
    for (int64_t y = 0; y < src.height; ++y) {
        for (int64_t x = 0; x < src.width; ++x) {
            for (int64_t c = 0; c < cn; ++c) {
                int64_t acc = 0;
                for (int64_t i = -r; i <= r; ++i) {
                    const uint8_t* row = src.row(reflect101(y + i, src.height));
                    for (int64_t j = -r; j <= r; ++j)
                        acc += int64_t(kernel[i + r]) * kernel[j + r] * row[reflect101(x + j, src.width) * cn + c];
                }
                dst.row(y)[x * cn + c] = static_cast<uint8_t>(std::min<int64_t>(255, (acc + (1 << 15)) >> 16));
            }
        }
    }
}

namespace {

// Per-thread buffers of one row: the vertical sums (u16), those as floats padded by r pixels
// on each side, and the horizontal sums.
struct BlurBuffers {
    std::vector<uint16_t> vertical;
    std::vector<float> padded, horizontal;
    std::vector<const uint8_t*> rows;
};

// The passes of one row (below), each a loop over the row that the compiler vectorises at
// the width of the target it is inlined into. The kernel is gaussian_kernel_q8's: symmetric,
// taps >= 0 summing to 256. A pass adds kPairs pairs of mirrored taps,
// k_p (a_p + b_p), to the sums so far (or, first, to the centre tap's product) and stores the
// sums, or, last, the finished values.
//  - Vertical, in 16-bit integers: u8 x Q8 (a pair's sum is at most 510 and an outer tap at
//    most 128; every partial sum at most 255 * 256: all fit u16); the finished values are the
//    sums as floats.
//  - Horizontal, as float multiply-adds: every product (a u16 value, or a pair's sum, times a
//    tap) and every partial sum (at most 256 * 65280 < 2^24) is an integer that a float holds
//    exactly, so the sum is the exact integer whatever the order or fusing; the finished
//    value is min(255, (sum + 2^15) >> 16), OpenCV's to the bit.
template <int kPairs, bool kFirst, bool kLast>
__attribute__((always_inline)) inline void blur_vertical_pass(const uint8_t* centre, int32_t kc,
                                                              const uint8_t* const* a, const uint8_t* const* b,
                                                              const int32_t* k, uint16_t* acc, float* out,
                                                              int64_t n) {
    const uint8_t* const __restrict c = centre;
    const uint8_t* const __restrict a0 = kPairs > 0 ? a[0] : nullptr;
    const uint8_t* const __restrict b0 = kPairs > 0 ? b[0] : nullptr;
    const uint8_t* const __restrict a1 = kPairs > 1 ? a[1] : nullptr;
    const uint8_t* const __restrict b1 = kPairs > 1 ? b[1] : nullptr;
    const uint16_t k0 = kPairs > 0 ? uint16_t(k[0]) : 0, k1 = kPairs > 1 ? uint16_t(k[1]) : 0;
    const uint16_t kcentre = uint16_t(kc);
    uint16_t* const __restrict s = acc;
    float* const __restrict o = out;
    for (int64_t x = 0; x < n; ++x) {
        uint16_t t = kFirst ? uint16_t(kcentre * c[x]) : s[x];
        if constexpr (kPairs > 0) t = uint16_t(t + k0 * uint16_t(a0[x] + b0[x]));
        if constexpr (kPairs > 1) t = uint16_t(t + k1 * uint16_t(a1[x] + b1[x]));
        if constexpr (kLast) {
            o[x] = float(t);
        } else {
            s[x] = t;
        }
    }
}

template <int kPairs, bool kFirst, bool kLast>
__attribute__((always_inline)) inline void blur_horizontal_pass(const float* centre, float kc, const float* const* a,
                                                                const float* const* b, const float* k, float* sum,
                                                                uint8_t* out, int64_t n) {
    const float* const __restrict c = centre;
    const float* const __restrict a0 = kPairs > 0 ? a[0] : nullptr;
    const float* const __restrict b0 = kPairs > 0 ? b[0] : nullptr;
    const float* const __restrict a1 = kPairs > 1 ? a[1] : nullptr;
    const float* const __restrict b1 = kPairs > 1 ? b[1] : nullptr;
    const float k0 = kPairs > 0 ? k[0] : 0.0f, k1 = kPairs > 1 ? k[1] : 0.0f;
    float* const __restrict s = sum;
    uint8_t* const __restrict o = out;
    for (int64_t x = 0; x < n; ++x) {
        float t = kFirst ? kc * c[x] : s[x];
        if constexpr (kPairs > 0) t += k0 * (a0[x] + b0[x]);
        if constexpr (kPairs > 1) t += k1 * (a1[x] + b1[x]);
        if constexpr (kLast) {
            o[x] = static_cast<uint8_t>(std::min<int32_t>(255, static_cast<int32_t>(t + 32768.0f) >> 16));
        } else {
            s[x] = t;
        }
    }
}

// One output row, separable: the vertical pass into a float buffer padded by r pixels on each
// side (reflected), then the horizontal one. (Per-pixel loops over the taps took 28 ms for a
// 1080p RGB image with ksize 5, against OpenCV's 2.4.)
__attribute__((always_inline)) inline void blur_row_body(const ImageView& src, const ImageView& dst,
                                                         const std::vector<int32_t>& kernel, int64_t y,
                                                         BlurBuffers& b) {
    const int64_t ksize = static_cast<int64_t>(kernel.size()), r = ksize / 2, cn = src.channels;
    const int64_t n = src.width * cn;
    const uint8_t** const rows = b.rows.data();
    for (int64_t i = 0; i < ksize; ++i) rows[i] = src.row(reflect101(y + i - r, src.height));
    // Pair p: rows p and ksize - 1 - p, tap kernel[p].
    const uint8_t* upper[kMaxGaussianKsize / 2 + 1];
    const uint8_t* lower[kMaxGaussianKsize / 2 + 1];
    float taps[kMaxGaussianKsize / 2 + 1];
    for (int64_t p = 0; p < r; ++p) {
        upper[p] = rows[p];
        lower[p] = rows[ksize - 1 - p];
        taps[p] = float(kernel[p]);
    }

    uint16_t* const acc = b.vertical.data();
    float* const v = b.padded.data() + r * cn;
    const int32_t* const k = kernel.data();
    // The first pass: the centre and up to two pairs.
    if (r == 0) {
        blur_vertical_pass<0, true, true>(rows[0], k[0], upper, lower, k, acc, v, n);
    } else if (r == 1) {
        blur_vertical_pass<1, true, true>(rows[r], k[r], upper, lower, k, acc, v, n);
    } else if (r == 2) {
        blur_vertical_pass<2, true, true>(rows[r], k[r], upper, lower, k, acc, v, n);
    } else {
        blur_vertical_pass<2, true, false>(rows[r], k[r], upper, lower, k, acc, v, n);
        int64_t p = 2;
        for (; p + 2 < r; p += 2) blur_vertical_pass<2, false, false>(nullptr, 0, upper + p, lower + p, k + p, acc, v, n);
        if (r - p == 2) {
            blur_vertical_pass<2, false, true>(nullptr, 0, upper + p, lower + p, k + p, acc, v, n);
        } else {
            blur_vertical_pass<1, false, true>(nullptr, 0, upper + p, lower + p, k + p, acc, v, n);
        }
    }
    for (int64_t p = 1; p <= r; ++p) {
        const int64_t left = reflect101(-p, src.width), right = reflect101(src.width - 1 + p, src.width);
        for (int64_t c = 0; c < cn; ++c) {
            v[-p * cn + c] = v[left * cn + c];
            v[(src.width - 1 + p) * cn + c] = v[right * cn + c];
        }
    }

    const float* const base = b.padded.data();
    const float* left[kMaxGaussianKsize / 2 + 1];
    const float* right[kMaxGaussianKsize / 2 + 1];
    for (int64_t p = 0; p < r; ++p) {
        left[p] = base + p * cn;
        right[p] = base + (ksize - 1 - p) * cn;
    }
    float* const sum = b.horizontal.data();
    uint8_t* const out = dst.row(y);
    const float* const centre = base + r * cn;
    const float kc = float(k[r]);
    if (r == 0) {
        blur_horizontal_pass<0, true, true>(centre, kc, left, right, taps, sum, out, n);
    } else if (r == 1) {
        blur_horizontal_pass<1, true, true>(centre, kc, left, right, taps, sum, out, n);
    } else if (r == 2) {
        blur_horizontal_pass<2, true, true>(centre, kc, left, right, taps, sum, out, n);
    } else {
        blur_horizontal_pass<2, true, false>(centre, kc, left, right, taps, sum, out, n);
        int64_t p = 2;
        for (; p + 2 < r; p += 2)
            blur_horizontal_pass<2, false, false>(nullptr, 0.0f, left + p, right + p, taps + p, sum, out, n);
        if (r - p == 2) {
            blur_horizontal_pass<2, false, true>(nullptr, 0.0f, left + p, right + p, taps + p, sum, out, n);
        } else {
            blur_horizontal_pass<1, false, true>(nullptr, 0.0f, left + p, right + p, taps + p, sum, out, n);
        }
    }
}

using BlurRow = void (*)(const ImageView&, const ImageView&, const std::vector<int32_t>&, int64_t, BlurBuffers&);

void blur_row_portable(const ImageView& src, const ImageView& dst, const std::vector<int32_t>& kernel, int64_t y,
                       BlurBuffers& b) {
    blur_row_body(src, dst, kernel, y, b);
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) void blur_row_avx2(const ImageView& src, const ImageView& dst,
                                                       const std::vector<int32_t>& kernel, int64_t y,
                                                       BlurBuffers& b) {
    blur_row_body(src, dst, kernel, y, b);
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) void blur_row_avx512(const ImageView& src, const ImageView& dst,
                                                                          const std::vector<int32_t>& kernel,
                                                                          int64_t y, BlurBuffers& b) {
    blur_row_body(src, dst, kernel, y, b);
}
#endif

// The row kernel of the SIMD level in effect (the same bits at every level).
BlurRow select_blur_row() {
#if defined(__x86_64__) || defined(__i386__)
    if (simd_avx512()) return blur_row_avx512;
    if (simd_avx2()) return blur_row_avx2;
#endif
    return blur_row_portable;
}

}  // namespace

void gaussian_blur_fast(ThreadPool& pool, const ImageView& src, const ImageView& dst,
                        const std::vector<int32_t>& kernel) {
    const int64_t rows_per_stripe = std::max<int64_t>(8, src.height / (pool.threads() * 4) + 1);
    const int64_t stripes = (src.height + rows_per_stripe - 1) / rows_per_stripe;
    const int64_t r = static_cast<int64_t>(kernel.size()) / 2;
    const BlurRow row = select_blur_row();
    const size_t n = size_t(src.width * src.channels);
    pool.parallel_for(stripes, [&](int64_t s) {
        BlurBuffers b{std::vector<uint16_t>(n), std::vector<float>(n + size_t(2 * r * src.channels)),
                      std::vector<float>(n), std::vector<const uint8_t*>(kernel.size())};
        const int64_t end = std::min(src.height, (s + 1) * rows_per_stripe);
        for (int64_t y = s * rows_per_stripe; y < end; ++y) row(src, dst, kernel, y, b);
    });
}

}  // namespace inkwell::cpu
