// PSNR and SSIM, CPU: the Gaussian taps, the references and the row-parallel fast paths.
// See the header for the scikit-image definitions they follow.
#include "metrics_cpu.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace inkwell::cpu {

namespace {

constexpr double kSigma = 1.5;
constexpr double kDataRange = 255.0;
constexpr double kC1 = (0.01 * kDataRange) * (0.01 * kDataRange);
constexpr double kC2 = (0.03 * kDataRange) * (0.03 * kDataRange);

// Rows per task: SSIM costs about 100 multiply-adds per pixel and channel, so a few rows
// of any useful width outweigh the pool's cost per task.
constexpr int64_t kRowsPerTask = 4;
// PSNR touches each byte once: bigger tasks.
constexpr int64_t kPsnrRowsPerTask = 64;

double psnr_from_sum(int64_t squared_error_sum, int64_t samples) {
    if (squared_error_sum == 0) return std::numeric_limits<double>::infinity();
    const double mse = double(squared_error_sum) / double(samples);
    return 10.0 * std::log10(kDataRange * kDataRange / mse);
}

int64_t squared_error_of_row(const ImageView& a, const ImageView& b, int64_t y) {
    const uint8_t* ra = a.row(y);
    const uint8_t* rb = b.row(y);
    int64_t sum = 0;
    for (int64_t i = 0; i < a.row_bytes(); ++i) {
        const int32_t d = int32_t(ra[i]) - int32_t(rb[i]);
        sum += d * d;
    }
    return sum;
}

// The five local statistics SSIM combines, for one pixel.
struct Moments {
    double x, y, xx, yy, xy;
};

double ssim_of(const Moments& m) {
    const double vx = m.xx - m.x * m.x;
    const double vy = m.yy - m.y * m.y;
    const double vxy = m.xy - m.x * m.y;
    const double a1 = 2.0 * m.x * m.y + kC1, a2 = 2.0 * vxy + kC2;
    const double b1 = m.x * m.x + m.y * m.y + kC1, b2 = vx + vy + kC2;
    return (a1 * a2) / (b1 * b2);
}

// Mean over channels of each channel's mean over the valid region, from per-channel sums.
double mean_ssim(const std::vector<double>& channel_sums, const ImageView& a) {
    const double pixels = double(a.height - 2 * kSsimRadius) * double(a.width - 2 * kSsimRadius);
    double total = 0;
    for (double s : channel_sums) total += s / pixels;
    return total / double(channel_sums.size());
}

}  // namespace

std::array<double, kSsimWindow> ssim_gaussian_taps() {
    std::array<double, kSsimWindow> taps;
    double sum = 0;
    for (int i = 0; i < kSsimWindow; ++i) {
        const double x = i - kSsimRadius;
        taps[i] = std::exp(-0.5 / (kSigma * kSigma) * (x * x));
        sum += taps[i];
    }
    for (double& t : taps) t /= sum;
    return taps;
}

// ---------------------------------------------------------------------------------------
// References.
// ---------------------------------------------------------------------------------------

double psnr_reference(const ImageView& a, const ImageView& b) {
    int64_t sum = 0;
    for (int64_t y = 0; y < a.height; ++y) sum += squared_error_of_row(a, b, y);
    return psnr_from_sum(sum, a.height * a.row_bytes());
}

double ssim_reference(const ImageView& a, const ImageView& b) {
    const auto taps = ssim_gaussian_taps();
    const int64_t cn = a.channels, r = kSsimRadius;
    std::vector<double> sums(cn, 0.0);
    for (int64_t c = 0; c < cn; ++c)
        for (int64_t y = r; y < a.height - r; ++y)
            for (int64_t x = r; x < a.width - r; ++x) {
                Moments m{0, 0, 0, 0, 0};
                for (int64_t i = -r; i <= r; ++i)
                    for (int64_t j = -r; j <= r; ++j) {
                        const double w = taps[i + r] * taps[j + r];
                        const double p = a.row(y + i)[(x + j) * cn + c], q = b.row(y + i)[(x + j) * cn + c];
                        m.x += w * p;
                        m.y += w * q;
                        m.xx += w * p * p;
                        m.yy += w * q * q;
                        m.xy += w * p * q;
                    }
                sums[c] += ssim_of(m);
            }
    return mean_ssim(sums, a);
}

// ---------------------------------------------------------------------------------------
// Fast paths.
// ---------------------------------------------------------------------------------------

double psnr_fast(ThreadPool& pool, const ImageView& a, const ImageView& b) {
    std::vector<int64_t> row_sums(a.height);
    const int64_t tasks = (a.height + kPsnrRowsPerTask - 1) / kPsnrRowsPerTask;
    pool.parallel_for(tasks, [&](int64_t t) {
        const int64_t end = std::min(a.height, (t + 1) * kPsnrRowsPerTask);
        for (int64_t y = t * kPsnrRowsPerTask; y < end; ++y) row_sums[y] = squared_error_of_row(a, b, y);
    });
    int64_t sum = 0;  // exact: at most 2^40 * 255^2 < 2^56
    for (int64_t s : row_sums) sum += s;
    return psnr_from_sum(sum, a.height * a.row_bytes());
}

namespace {

// One channel of one output row, filtered along axis 0 at every column: the row's five
// moment planes, a struct of arrays so the horizontal pass runs down contiguous memory.
struct VerticalMoments {
    explicit VerticalMoments(int64_t width) : x(width), y(width), xx(width), yy(width), xy(width) {}
    std::vector<double> x, y, xx, yy, xy;
};

// scipy's symmetric correlate1d: centre tap first, then pairs from the outermost inwards.
// at(k) is the sample k steps from the centre (k in -5..5).
template <class At>
double symmetric_filter(const std::array<double, kSsimWindow>& taps, const At& at) {
    double acc = at(0) * taps[kSsimRadius];
    for (int k = kSsimRadius; k >= 1; --k) acc += (at(-k) + at(k)) * taps[kSsimRadius - k];
    return acc;
}

void filter_rows(const ImageView& a, const ImageView& b, int64_t y, int64_t c,
                 const std::array<double, kSsimWindow>& taps, VerticalMoments& v) {
    const int64_t cn = a.channels;
    const uint8_t* ra[kSsimWindow];
    const uint8_t* rb[kSsimWindow];
    for (int i = 0; i < kSsimWindow; ++i) {
        ra[i] = a.row(y + i - kSsimRadius) + c;
        rb[i] = b.row(y + i - kSsimRadius) + c;
    }
    for (int64_t x = 0; x < a.width; ++x) {
        const int64_t o = x * cn;
        auto p = [&](int k) { return double(ra[k + kSsimRadius][o]); };
        auto q = [&](int k) { return double(rb[k + kSsimRadius][o]); };
        v.x[x] = symmetric_filter(taps, p);
        v.y[x] = symmetric_filter(taps, q);
        v.xx[x] = symmetric_filter(taps, [&](int k) { return p(k) * p(k); });
        v.yy[x] = symmetric_filter(taps, [&](int k) { return q(k) * q(k); });
        v.xy[x] = symmetric_filter(taps, [&](int k) { return p(k) * q(k); });
    }
}

double ssim_row_sum(const VerticalMoments& v, const std::array<double, kSsimWindow>& taps) {
    const int64_t width = int64_t(v.x.size());
    double sum = 0;
    for (int64_t x = kSsimRadius; x < width - kSsimRadius; ++x) {
        auto along = [&](const std::vector<double>& plane) {
            return symmetric_filter(taps, [&](int k) { return plane[x + k]; });
        };
        sum += ssim_of(Moments{along(v.x), along(v.y), along(v.xx), along(v.yy), along(v.xy)});
    }
    return sum;
}

}  // namespace

double ssim_fast(ThreadPool& pool, const ImageView& a, const ImageView& b) {
    const auto taps = ssim_gaussian_taps();
    const int64_t cn = a.channels, first = kSsimRadius, rows = a.height - 2 * kSsimRadius;
    // Each row's sum lands in its own slot and the slots are added in order afterwards,
    // so the result does not depend on the thread count.
    std::vector<double> row_sums(rows * cn);
    const int64_t tasks = (rows + kRowsPerTask - 1) / kRowsPerTask;
    pool.parallel_for(tasks, [&](int64_t t) {
        VerticalMoments v(a.width);
        const int64_t end = std::min(rows, (t + 1) * kRowsPerTask);
        for (int64_t r = t * kRowsPerTask; r < end; ++r)
            for (int64_t c = 0; c < cn; ++c) {
                filter_rows(a, b, first + r, c, taps, v);
                row_sums[c * rows + r] = ssim_row_sum(v, taps);
            }
    });
    std::vector<double> sums(cn, 0.0);
    for (int64_t c = 0; c < cn; ++c)
        for (int64_t r = 0; r < rows; ++r) sums[c] += row_sums[c * rows + r];
    return mean_ssim(sums, a);
}

}  // namespace inkwell::cpu
