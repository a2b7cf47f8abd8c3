// Canny, CPU: threshold normalisation, the plain reference, and the fast striped path.
#include "canny_cpu.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "canny_common.hpp"
#include "canny_rows.hpp"

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
// Fast path: row stripes in parallel. Each stripe runs the row stages of canny_rows.hpp
// through a ring of source rows and a ring of 3 gradient rows, suppresses into the shared
// edge map (each map row is written by exactly one stripe) and runs hysteresis inside its
// rows; a serial pass then continues from the pixels on stripe boundaries.
// ---------------------------------------------------------------------------------------

namespace {

using canny_rows::kSimdSlack;
using canny_rows::RowKernels;

const RowKernels& row_kernels(CannyKernels which) {
    if (which == CannyKernels::Best) {
        if (const RowKernels* avx512 = canny_rows::avx512_row_kernels()) return *avx512;
        if (const RowKernels* avx2 = canny_rows::avx2_row_kernels()) return *avx2;
    }
    return canny_rows::scalar_row_kernels();
}

// Per-stripe scratch, allocated once per stripe.
class StripeScratch {
public:
    StripeScratch(int64_t w, int64_t cn, int aperture)
        : w_(w), cn_(cn), k_(aperture), r_(aperture / 2), plane_stride_(w + 2 * r_ + kSimdSlack),
          planes_(size_t(k_ * cn * plane_stride_)), vx_(size_t(w + 2 * r_ + kSimdSlack)), vy_(vx_.size()),
          channel_dx_(size_t((cn - 1) * (w + kSimdSlack))), channel_dy_(channel_dx_.size()),
          mag_(size_t(3 * (w + 2 + kSimdSlack)), 0), dx_(size_t(3 * (w + kSimdSlack))), dy_(dx_.size()) {
        std::fill(std::begin(loaded_), std::end(loaded_), -1);
        for (int64_t slot = 0; slot < k_; ++slot)
            for (int64_t c = 0; c < cn; ++c)
                slot_planes_[slot][c] = planes_.data() + (slot * cn + c) * plane_stride_ + r_;
    }

    // Source row `y` (in range) as cn planes, loaded into the ring if not already there.
    // The K rows one gradient row reads are consecutive (or repeated at the border), so
    // slot y % K never evicts one of them.
    uint8_t* const* source(const RowKernels& kernels, const ImageView& src, int64_t y) {
        const int64_t slot = y % k_;
        if (loaded_[slot] != y) {
            kernels.load(src.row(y), w_, cn_, r_, slot_planes_[slot]);
            loaded_[slot] = y;
        }
        return slot_planes_[slot];
    }

    int16_t* vx() { return vx_.data() + r_; }
    int16_t* vy() { return vy_.data() + r_; }
    int16_t* channel_dx(int64_t c) { return channel_dx_.data() + (c - 1) * (w_ + kSimdSlack); }
    int16_t* channel_dy(int64_t c) { return channel_dy_.data() + (c - 1) * (w_ + kSimdSlack); }
    // Gradient ring slot s: magnitude (with a zero column at -1 and w), selected dx, dy.
    int32_t* mag(int s) { return mag_.data() + s * (w_ + 2 + kSimdSlack) + 1; }
    int16_t* dx(int s) { return dx_.data() + s * (w_ + kSimdSlack); }
    int16_t* dy(int s) { return dy_.data() + s * (w_ + kSimdSlack); }

private:
    int64_t w_, cn_, k_, r_, plane_stride_;
    std::vector<uint8_t> planes_;  // ring of K source rows x cn planes, r replicated columns each side
    int64_t loaded_[7];            // source row held by each ring slot, -1 if none
    uint8_t* slot_planes_[7][3];   // [slot][channel], pointing at column 0
    std::vector<int16_t> vx_, vy_;                  // vertical Sobel pass of one plane
    std::vector<int16_t> channel_dx_, channel_dy_;  // gradients of channels 1, 2
    std::vector<int32_t> mag_;
    std::vector<int16_t> dx_, dy_;
};

// Stages load, gradient and magnitude for image row y into gradient ring slot `slot`.
// Rows outside the image get zero magnitude (the frame NMS compares against).
void gradient_row(const RowKernels& kernels, const ImageView& src, int64_t y, int aperture, bool l2,
                  StripeScratch& scratch, int slot) {
    const int64_t h = src.height, w = src.width, cn = src.channels, r = aperture / 2;
    int32_t* mag = scratch.mag(slot);
    if (y < 0 || y >= h) {
        std::fill(mag, mag + w, 0);
        return;
    }
    // plane[i][c]: channel c of source row y + i - r, replicated at the top and bottom.
    uint8_t* const* plane[7];
    for (int64_t i = 0; i < aperture; ++i)
        plane[i] = scratch.source(kernels, src, std::clamp<int64_t>(y + i - r, 0, h - 1));

    const int16_t* channel_dx[3];
    const int16_t* channel_dy[3];
    for (int64_t c = 0; c < cn; ++c) {
        // Channel 0 goes straight to the ring slot; the magnitude stage selects in place.
        int16_t* dx = c == 0 ? scratch.dx(slot) : scratch.channel_dx(c);
        int16_t* dy = c == 0 ? scratch.dy(slot) : scratch.channel_dy(c);
        const uint8_t* rows[7];
        for (int64_t i = 0; i < aperture; ++i) rows[i] = plane[i][c];
        kernels.gradient[r - 1](rows, w, scratch.vx(), scratch.vy(), dx, dy);
        channel_dx[c] = dx;
        channel_dy[c] = dy;
    }
    kernels.magnitude[cn == 3][l2](channel_dx, channel_dy, w, scratch.dx(slot), scratch.dy(slot), mag);
}

// Hysteresis from `stack`. Only pixels with map index in [expand_begin, expand_end) are
// expanded; the others are collected in `deferred` (their neighbours may belong to another
// stripe). With deferred == nullptr the range must cover the map.
void hysteresis(uint8_t* map, int64_t mw, std::vector<int64_t>& stack, int64_t expand_begin, int64_t expand_end,
                std::vector<int64_t>* deferred) {
    const int64_t offsets[8] = {-mw - 1, -mw, -mw + 1, -1, 1, mw - 1, mw, mw + 1};
    while (!stack.empty()) {
        const int64_t at = stack.back();
        stack.pop_back();
        if (at < expand_begin || at >= expand_end) {
            deferred->push_back(at);
            continue;
        }
        uint8_t* p = map + at;
        for (int64_t o : offsets)
            if (p[o] == kCandidate) {
                p[o] = kEdge;
                stack.push_back(at + o);
            }
    }
}

// Output: 255 for edges, 0 otherwise (kEdge is 2, the other states 0 and 1). Written so
// that the compiler vectorises it: no aliasing between the rows, w in a register.
void write_output_row(const uint8_t* __restrict map_row, uint8_t* __restrict out, int64_t w) {
    static_assert(kCandidate >> 1 == 0 && kNotEdge >> 1 == 0 && kEdge >> 1 == 1, "kEdge alone has bit 1");
    for (int64_t x = 0; x < w; ++x) out[x] = uint8_t((map_row[x] >> 1) * 255);
}

}  // namespace

void canny_fast(ThreadPool& pool, const ImageView& src, const ImageView& dst, int aperture, bool l2,
                CannyThresholds t, CannyKernels which) {
    const RowKernels& kernels = row_kernels(which);
    const int64_t h = src.height, w = src.width, mw = w + 2, map_size = (h + 2) * mw;
    // Every byte is written before it is read: the frame rows here, the rest by the stripes.
    // The map is kept per calling thread and reused (it only grows): a fresh 2 MB buffer per
    // 1080p call came from mmap and cost ~500 page faults, a third of an RGB call's time.
    thread_local std::vector<uint8_t> map_buffer;
    if (map_buffer.size() < size_t(map_size)) map_buffer.resize(size_t(map_size));
    uint8_t* map = map_buffer.data();
    std::fill(map, map + mw, kNotEdge);
    std::fill(map + map_size - mw, map + map_size, kNotEdge);

    // Stripes of at least 32 rows (each recomputes two halo rows), four per thread so that
    // a thread slowed down by other load is balanced out. The result does not depend on
    // the split.
    const int64_t min_rows = 32;
    const int64_t stripes = std::clamp<int64_t>(h / min_rows, 1, int64_t(pool.threads()) * 4);
    const int64_t rows_per_stripe = (h + stripes - 1) / stripes;
    std::vector<std::vector<int64_t>> deferred(static_cast<size_t>(stripes));

    pool.parallel_for(stripes, [&](int64_t s) {
        const int64_t y0 = s * rows_per_stripe, y1 = std::min(h, y0 + rows_per_stripe);
        if (y0 >= y1) return;
        StripeScratch scratch(w, src.channels, aperture);
        std::vector<int64_t> stack;
        auto slot = [](int64_t y) { return int((y + 3) % 3); };
        gradient_row(kernels, src, y0 - 1, aperture, l2, scratch, slot(y0 - 1));
        gradient_row(kernels, src, y0, aperture, l2, scratch, slot(y0));
        for (int64_t y = y0; y < y1; ++y) {
            gradient_row(kernels, src, y + 1, aperture, l2, scratch, slot(y + 1));
            const int c = slot(y);
            uint8_t* map_row = map + (y + 1) * mw + 1;
            map_row[-1] = map_row[w] = kNotEdge;
            kernels.suppress(scratch.mag(slot(y - 1)), scratch.mag(c), scratch.mag(slot(y + 1)), scratch.dx(c),
                             scratch.dy(c), w, t, canny_rows::MapRow{map_row, (y + 1) * mw + 1, &stack});
        }
        // Map rows y0 + 1 .. y1 belong to this stripe; expand only strictly inside them.
        hysteresis(map, mw, stack, (y0 + 2) * mw, y1 * mw, &deferred[size_t(s)]);
    });

    std::vector<int64_t> stack;
    for (auto& d : deferred) stack.insert(stack.end(), d.begin(), d.end());
    hysteresis(map, mw, stack, 0, map_size, nullptr);

    pool.parallel_for(stripes, [&](int64_t s) {
        const int64_t y0 = s * rows_per_stripe, y1 = std::min(h, y0 + rows_per_stripe);
        for (int64_t y = y0; y < y1; ++y) write_output_row(map + (y + 1) * mw + 1, dst.row(y), w);
    });
}

}  // namespace inkwell::cpu
