// Canny, CPU: threshold normalisation, the plain reference, and the fast striped path.
#include "canny_cpu.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "canny_common.hpp"

namespace inkwell::cpu {

using namespace canny_detail;

CannyThresholds canny_thresholds(double low, double high, int aperture, bool l2_gradient) {
    if (aperture == 7) {
        low /= 16.0;
        high /= 16.0;
    }
    if (low > high) std::swap(low, high);
    if (l2_gradient) {
        low = std::min(32767.0, low);
        high = std::min(32767.0, high);
        if (low > 0) low *= low;
        if (high > 0) high *= high;
    }
    auto to_int = [](double t) {
        double f = std::floor(t);
        return f >= double(std::numeric_limits<int32_t>::max()) ? std::numeric_limits<int32_t>::max()
                                                                 : static_cast<int32_t>(f);
    };
    return CannyThresholds{to_int(low), to_int(high)};
}

// ---------------------------------------------------------------------------------------
// Reference: whole-image arrays, one stage after the other, a plain stack for hysteresis.
// ---------------------------------------------------------------------------------------

void canny_reference(const ImageView& src, const ImageView& dst, int aperture, bool l2, CannyThresholds t) {
    const int64_t h = src.height, w = src.width, cn = src.channels, r = aperture / 2;
    int32_t smooth[7], deriv[7];
    sobel_taps(aperture, smooth, deriv);
    auto pixel = [&](int64_t y, int64_t x, int64_t c) {
        y = std::clamp<int64_t>(y, 0, h - 1);
        x = std::clamp<int64_t>(x, 0, w - 1);
        return int32_t(src.row(y)[x * cn + c]);
    };

    // sobel + magnitude + channel selection; mag has a zero frame of one pixel.
    const int64_t mw = w + 2;
    std::vector<int32_t> mag((h + 2) * mw, 0);
    std::vector<int16_t> gx(h * w), gy(h * w);
    for (int64_t y = 0; y < h; ++y) {
        for (int64_t x = 0; x < w; ++x) {
            int32_t best = -1;
            for (int64_t c = 0; c < cn; ++c) {
                int32_t sx = 0, sy = 0;
                for (int64_t i = -r; i <= r; ++i)
                    for (int64_t j = -r; j <= r; ++j) {
                        int32_t p = pixel(y + i, x + j, c);
                        sx += smooth[i + r] * deriv[j + r] * p;
                        sy += deriv[i + r] * smooth[j + r] * p;
                    }
                int16_t dx = sobel_output(sx, aperture), dy = sobel_output(sy, aperture);
                int32_t m = magnitude(dx, dy, l2);
                if (c == 0 || m > best) {
                    best = m;
                    gx[y * w + x] = dx;
                    gy[y * w + x] = dy;
                }
            }
            mag[(y + 1) * mw + x + 1] = best;
        }
    }

    // non-maximum suppression + double threshold
    std::vector<uint8_t> map((h + 2) * mw, kNotEdge);
    std::vector<int64_t> stack;
    const int32_t tg22 = tan22_q15();
    for (int64_t y = 0; y < h; ++y) {
        const int32_t* prev = &mag[y * mw + 1];
        const int32_t* cur = prev + mw;
        const int32_t* next = cur + mw;
        for (int64_t x = 0; x < w; ++x) {
            if (cur[x] <= t.low) continue;
            if (!is_local_maximum(prev, cur, next, x, gx[y * w + x], gy[y * w + x], tg22)) continue;
            int64_t at = (y + 1) * mw + x + 1;
            if (cur[x] > t.high) {
                map[at] = kEdge;
                stack.push_back(at);
            } else {
                map[at] = kCandidate;
            }
        }
    }

    // hysteresis
    const int64_t offsets[8] = {-1, 1, -mw - 1, -mw, -mw + 1, mw - 1, mw, mw + 1};
    while (!stack.empty()) {
        int64_t at = stack.back();
        stack.pop_back();
        for (int64_t o : offsets)
            if (map[at + o] == kCandidate) {
                map[at + o] = kEdge;
                stack.push_back(at + o);
            }
    }
    for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) dst.row(y)[x] = map[(y + 1) * mw + x + 1] == kEdge ? 255 : 0;
}

// ---------------------------------------------------------------------------------------
// Fast path.
// ---------------------------------------------------------------------------------------

namespace {

// Per-stripe scratch: the vertical Sobel pass (padded for the horizontal one), per-channel
// gradients, and a ring of 3 magnitude rows with the selected dx, dy.
struct StripeBuffers {
    StripeBuffers(int64_t w, int64_t cn, int64_t r)
        : vx((w + 2 * r) * cn), vy((w + 2 * r) * cn), cdx(w * cn), cdy(w * cn), cmag(w * cn) {
        for (auto& m : mag) m.assign(w + 2, 0);
        for (auto& d : dx) d.assign(w, 0);
        for (auto& d : dy) d.assign(w, 0);
    }
    std::vector<int32_t> vx, vy;
    std::vector<int16_t> cdx, cdy;
    std::vector<int32_t> cmag;
    std::vector<int32_t> mag[3];
    std::vector<int16_t> dx[3], dy[3];
};

// sobel + magnitude + channel selection for image row y into ring slot `slot`.
// K is the aperture, a template parameter so the tap loops unroll and vectorise.
template <int K>
void gradient_row(const ImageView& src, int64_t y, bool l2, StripeBuffers& b, int slot) {
    constexpr int R = K / 2;
    int32_t smooth[7], deriv[7];
    sobel_taps(K, smooth, deriv);
    const int64_t h = src.height, w = src.width, cn = src.channels, n = w * cn;
    int32_t* mag = b.mag[slot].data() + 1;
    if (y < 0 || y >= h) {
        std::fill(mag - 1, mag + w + 1, 0);
        return;
    }
    // Vertical pass: smoothing for dx, derivative for dy, over replicated rows.
    const uint8_t* rows[K];
    for (int i = 0; i < K; ++i) rows[i] = src.row(std::clamp<int64_t>(y + i - R, 0, h - 1));
    int32_t* vx = b.vx.data() + R * cn;
    int32_t* vy = b.vy.data() + R * cn;
    for (int64_t x = 0; x < n; ++x) {
        int32_t sx = 0, sy = 0;
        for (int i = 0; i < K; ++i) {
            int32_t p = rows[i][x];
            sx += smooth[i] * p;
            sy += deriv[i] * p;
        }
        vx[x] = sx;
        vy[x] = sy;
    }
    // Replicated columns.
    for (int64_t p = 1; p <= R; ++p)
        for (int64_t c = 0; c < cn; ++c) {
            vx[-p * cn + c] = vx[c];
            vy[-p * cn + c] = vy[c];
            vx[(w - 1 + p) * cn + c] = vx[(w - 1) * cn + c];
            vy[(w - 1 + p) * cn + c] = vy[(w - 1) * cn + c];
        }
    // Horizontal pass: derivative for dx, smoothing for dy; to int16 as cv::Sobel does.
    int16_t* cdx = cn == 1 ? b.dx[slot].data() : b.cdx.data();
    int16_t* cdy = cn == 1 ? b.dy[slot].data() : b.cdy.data();
    int32_t* cmag = cn == 1 ? mag : b.cmag.data();
    for (int64_t x = 0; x < n; ++x) {
        int32_t sx = 0, sy = 0;
        for (int j = 0; j < K; ++j) {
            sx += deriv[j] * vx[x + (j - R) * cn];
            sy += smooth[j] * vy[x + (j - R) * cn];
        }
        int16_t gx = sobel_output<K>(sx), gy = sobel_output<K>(sy);
        cdx[x] = gx;
        cdy[x] = gy;
        cmag[x] = magnitude(gx, gy, l2);
    }
    if (cn > 1) {
        int16_t* dx = b.dx[slot].data();
        int16_t* dy = b.dy[slot].data();
        for (int64_t x = 0; x < w; ++x) {
            int64_t best = x * cn;
            for (int64_t c = 1; c < cn; ++c)
                if (cmag[x * cn + c] > cmag[best]) best = x * cn + c;
            mag[x] = cmag[best];
            dx[x] = cdx[best];
            dy[x] = cdy[best];
        }
    }
    mag[-1] = mag[w] = 0;
}

using GradientRow = void (*)(const ImageView&, int64_t, bool, StripeBuffers&, int);

GradientRow gradient_row_for(int aperture) {
    switch (aperture) {
        case 3: return gradient_row<3>;
        case 5: return gradient_row<5>;
        default: return gradient_row<7>;
    }
}

// Non-maximum suppression + double threshold of one row into the edge map; strong pixels
// are marked kEdge and pushed.
void suppress_row(const int32_t* prev, const int32_t* cur, const int32_t* next, const int16_t* dx,
                  const int16_t* dy, int64_t w, CannyThresholds t, uint8_t* map_row, int64_t map_row_index,
                  std::vector<int64_t>& stack) {
    const int32_t tg22 = tan22_q15();
    map_row[-1] = map_row[w] = kNotEdge;
    for (int64_t x = 0; x < w; ++x) {
        uint8_t v = kNotEdge;
        if (cur[x] > t.low && is_local_maximum(prev, cur, next, x, dx[x], dy[x], tg22)) {
            if (cur[x] > t.high) {
                v = kEdge;
                stack.push_back(map_row_index + x);
            } else {
                v = kCandidate;
            }
        }
        map_row[x] = v;
    }
}

// Hysteresis from `stack`. Pixels in map rows outside (first_row, last_row) are not
// expanded but collected in `deferred`: their neighbours may belong to another stripe.
// With first_row = -1 and last_row = rows, everything expands.
void hysteresis(uint8_t* map, int64_t mw, std::vector<int64_t>& stack, int64_t first_row, int64_t last_row,
                std::vector<int64_t>* deferred) {
    const int64_t offsets[8] = {-1, 1, -mw - 1, -mw, -mw + 1, mw - 1, mw, mw + 1};
    while (!stack.empty()) {
        int64_t at = stack.back();
        stack.pop_back();
        if (deferred != nullptr) {
            int64_t row = at / mw;
            if (row <= first_row || row >= last_row) {
                deferred->push_back(at);
                continue;
            }
        }
        for (int64_t o : offsets)
            if (map[at + o] == kCandidate) {
                map[at + o] = kEdge;
                stack.push_back(at + o);
            }
    }
}

}  // namespace

void canny_fast(ThreadPool& pool, const ImageView& src, const ImageView& dst, int aperture, bool l2,
                CannyThresholds t) {
    const int64_t h = src.height, w = src.width, mw = w + 2;
    std::vector<uint8_t> map((h + 2) * mw);
    std::fill(map.begin(), map.begin() + mw, kNotEdge);
    std::fill(map.end() - mw, map.end(), kNotEdge);

    // Stripes of at least 16 rows (each recomputes two halo rows), a few per thread for
    // balance. The result does not depend on the split.
    const int64_t min_rows = 16;
    const int64_t stripes = std::clamp<int64_t>(h / min_rows, 1, int64_t(pool.threads()) * 2);
    const int64_t rows_per_stripe = (h + stripes - 1) / stripes;
    std::vector<std::vector<int64_t>> deferred(stripes);
    const GradientRow gradient = gradient_row_for(aperture);

    pool.parallel_for(stripes, [&](int64_t s) {
        const int64_t y0 = s * rows_per_stripe, y1 = std::min(h, y0 + rows_per_stripe);
        if (y0 >= y1) return;
        StripeBuffers b(w, src.channels, aperture / 2);
        std::vector<int64_t> stack;
        auto slot = [](int64_t y) { return int((y + 3) % 3); };
        gradient(src, y0 - 1, l2, b, slot(y0 - 1));
        gradient(src, y0, l2, b, slot(y0));
        for (int64_t y = y0; y < y1; ++y) {
            gradient(src, y + 1, l2, b, slot(y + 1));
            const int c = slot(y);
            suppress_row(b.mag[slot(y - 1)].data() + 1, b.mag[c].data() + 1, b.mag[slot(y + 1)].data() + 1,
                         b.dx[c].data(), b.dy[c].data(), w, t, map.data() + (y + 1) * mw + 1, (y + 1) * mw + 1,
                         stack);
        }
        // Map rows y0 + 1 .. y1 belong to this stripe; expand only strictly inside them.
        hysteresis(map.data(), mw, stack, y0 + 1, y1, &deferred[s]);
    });

    std::vector<int64_t> stack;
    for (auto& d : deferred) stack.insert(stack.end(), d.begin(), d.end());
    hysteresis(map.data(), mw, stack, -1, h + 2, nullptr);

    pool.parallel_for(stripes, [&](int64_t s) {
        const int64_t y0 = s * rows_per_stripe, y1 = std::min(h, y0 + rows_per_stripe);
        for (int64_t y = y0; y < y1; ++y) {
            const uint8_t* m = map.data() + (y + 1) * mw + 1;
            uint8_t* out = dst.row(y);
            for (int64_t x = 0; x < w; ++x) out[x] = m[x] == kEdge ? 255 : 0;
        }
    });
}

}  // namespace inkwell::cpu
