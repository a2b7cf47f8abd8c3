// Gaussian blur, CPU: kernel construction, reference, fast path. See the header for the
// arithmetic that makes them bit-exact with OpenCV and with each other.
#include "gaussian_blur_cpu.hpp"

#include <algorithm>
#include <cmath>

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

// One output row: the vertical pass (u8 x Q8, at most 255 * 256, fits u16) into a buffer
// padded by r pixels on each side, then the horizontal pass (u16 x Q8, fits u32).
void blur_row(const ImageView& src, const ImageView& dst, const std::vector<int32_t>& kernel, int64_t y,
              std::vector<const uint8_t*>& rows, std::vector<uint16_t>& vertical) {
    const int64_t ksize = static_cast<int64_t>(kernel.size());
    const int64_t r = ksize / 2;
    const int64_t cn = src.channels;
    const int64_t n = src.width * cn;
    for (int64_t i = 0; i < ksize; ++i) rows[i] = src.row(reflect101(y + i - r, src.height));

    uint16_t* v = vertical.data() + r * cn;
    for (int64_t x = 0; x < n; ++x) v[x] = static_cast<uint16_t>(kernel[0] * rows[0][x]);
    for (int64_t i = 1; i < ksize; ++i) {
        const uint8_t* s = rows[i];
        const uint16_t k = static_cast<uint16_t>(kernel[i]);
        for (int64_t x = 0; x < n; ++x) v[x] = static_cast<uint16_t>(v[x] + k * s[x]);
    }
    for (int64_t p = 1; p <= r; ++p) {
        int64_t left = reflect101(-p, src.width), right = reflect101(src.width - 1 + p, src.width);
        for (int64_t c = 0; c < cn; ++c) {
            v[-p * cn + c] = v[left * cn + c];
            v[(src.width - 1 + p) * cn + c] = v[right * cn + c];
        }
    }

    uint8_t* out = dst.row(y);
    const uint16_t* base = v - r * cn;
    for (int64_t x = 0; x < n; ++x) {
        uint32_t acc = 0;
        for (int64_t j = 0; j < ksize; ++j) acc += uint32_t(kernel[j]) * base[x + j * cn];
        out[x] = static_cast<uint8_t>(std::min<uint32_t>(255, (acc + (1u << 15)) >> 16));
    }
}

}  // namespace

void gaussian_blur_fast(ThreadPool& pool, const ImageView& src, const ImageView& dst,
                        const std::vector<int32_t>& kernel) {
    const int64_t rows_per_stripe = std::max<int64_t>(8, src.height / (pool.threads() * 4) + 1);
    const int64_t stripes = (src.height + rows_per_stripe - 1) / rows_per_stripe;
    const int64_t r = static_cast<int64_t>(kernel.size()) / 2;
    pool.parallel_for(stripes, [&](int64_t s) {
        std::vector<const uint8_t*> rows(kernel.size());
        std::vector<uint16_t> vertical((src.width + 2 * r) * src.channels);
        const int64_t end = std::min(src.height, (s + 1) * rows_per_stripe);
        for (int64_t y = s * rows_per_stripe; y < end; ++y) blur_row(src, dst, kernel, y, rows, vertical);
    });
}

}  // namespace inkwell::cpu
