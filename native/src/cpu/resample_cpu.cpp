// Resampling, CPU: the per-window arithmetic both paths share, the plain reference, and
// the row-parallel fast path. See the header for the torch semantics.
#include "resample_cpu.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace inkwell::cpu {

namespace {

// ---------------------------------------------------------------------------------------
// Arithmetic of one output element, shared so both paths round identically.
// ---------------------------------------------------------------------------------------

// Bilinear taps of output index dst along an axis of in_size samples (scale 1/2).
struct LinearTap {
    int64_t i0, i1;
    float l0, l1;
};

LinearTap linear_tap(int64_t dst, int64_t in_size) {
    // torch's area_pixel_compute_source_index: scale (dst + 0.5) - 0.5, clamped at 0.
    // Every value here is a multiple of 1/4, exact in float and double.
    const float src = std::max(0.0f, float(0.5 * (double(dst) + 0.5) - 0.5));
    LinearTap t;
    t.i0 = int64_t(src);
    t.i1 = t.i0 + (t.i0 < in_size - 1 ? 1 : 0);
    t.l1 = std::min(std::max(src - float(t.i0), 0.0f), 1.0f);
    t.l0 = 1.0f - t.l1;
    return t;
}

inline float lerp_row(const float* row, const LinearTap& w) { return row[w.i0] * w.l0 + row[w.i1] * w.l1; }

inline float bilinear(const float* plane, int64_t in_width, const LinearTap& h, const LinearTap& w) {
    return lerp_row(plane + h.i0 * in_width, w) * h.l0 + lerp_row(plane + h.i1 * in_width, w) * h.l1;
}

// torch's max pool update: a NaN replaces the maximum and then nothing replaces it.
inline float max_update(float best, float v) { return (v > best || std::isnan(v)) ? v : best; }

inline float max_window(float a, float b, float c, float d) {
    return max_update(max_update(max_update(max_update(-INFINITY, a), b), c), d);
}

inline float avg_window(float a, float b, float c, float d) { return (((a + b) + c) + d) / 4.0f; }

}  // namespace

ResampleShape resample_shape(const inkwell_resample_params& p) {
    const bool upsample = p.mode == INKWELL_UPSAMPLE_NEAREST_2X || p.mode == INKWELL_UPSAMPLE_BILINEAR_2X;
    const int64_t oh = upsample ? p.in_height * 2 : p.in_height / 2;
    const int64_t ow = upsample ? p.in_width * 2 : p.in_width / 2;
    return ResampleShape{p.batch * p.channels, p.in_height, p.in_width, oh, ow};
}

// ---------------------------------------------------------------------------------------
// Reference: one expression per output element.
// ---------------------------------------------------------------------------------------

void resample_reference(const inkwell_resample_params& p) {
    const ResampleShape s = resample_shape(p);
    const int64_t iw = s.in_width;
    for (int64_t n = 0; n < s.planes; ++n) {
        const float* in = p.input + n * s.in_height * iw;
        float* out = p.output + n * s.out_height * s.out_width;
        for (int64_t y = 0; y < s.out_height; ++y)
            for (int64_t x = 0; x < s.out_width; ++x) {
                float v = 0;
                if (p.mode == INKWELL_UPSAMPLE_NEAREST_2X) {
                    v = in[(y / 2) * iw + x / 2];
                } else if (p.mode == INKWELL_UPSAMPLE_BILINEAR_2X) {
                    v = bilinear(in, iw, linear_tap(y, s.in_height), linear_tap(x, iw));
                } else {
                    const float* w = in + 2 * y * iw + 2 * x;  // the pools' 2x2 window
                    v = p.mode == INKWELL_MAX_POOL_2X2 ? max_window(w[0], w[1], w[iw], w[iw + 1])
                                                       : avg_window(w[0], w[1], w[iw], w[iw + 1]);
                }
                out[y * s.out_width + x] = v;
            }
    }
}

// ---------------------------------------------------------------------------------------
// Fast path: tasks of whole output rows across all planes; one loop per mode and row.
// ---------------------------------------------------------------------------------------

namespace {

// Output elements per task: about 64 K, so small tensors run on one thread and large ones
// spread evenly.
constexpr int64_t kElementsPerTask = 65536;

void nearest_row(const float* in, float* out, int64_t in_width) {
    for (int64_t x = 0; x < in_width; ++x) out[2 * x] = out[2 * x + 1] = in[x];
}

void bilinear_row(const float* r0, const float* r1, const LinearTap& h, const std::vector<LinearTap>& cols,
                  float* out) {
    for (size_t x = 0; x < cols.size(); ++x) out[x] = lerp_row(r0, cols[x]) * h.l0 + lerp_row(r1, cols[x]) * h.l1;
}

template <float (*Window)(float, float, float, float)>
void pool_row(const float* r0, const float* r1, float* out, int64_t out_width) {
    for (int64_t x = 0; x < out_width; ++x) out[x] = Window(r0[2 * x], r0[2 * x + 1], r1[2 * x], r1[2 * x + 1]);
}

}  // namespace

void resample_fast(ThreadPool& pool, const inkwell_resample_params& p) {
    const ResampleShape s = resample_shape(p);
    const int64_t iw = s.in_width, ow = s.out_width;
    std::vector<LinearTap> cols;
    if (p.mode == INKWELL_UPSAMPLE_BILINEAR_2X)
        for (int64_t x = 0; x < ow; ++x) cols.push_back(linear_tap(x, iw));

    auto one_row = [&](int64_t row) {  // row of all planes' output rows
        const int64_t n = row / s.out_height, y = row % s.out_height;
        const float* in = p.input + n * s.in_height * iw;
        float* out = p.output + row * ow;
        switch (p.mode) {
            case INKWELL_UPSAMPLE_NEAREST_2X: nearest_row(in + (y / 2) * iw, out, iw); break;
            case INKWELL_UPSAMPLE_BILINEAR_2X: {
                const LinearTap h = linear_tap(y, s.in_height);
                bilinear_row(in + h.i0 * iw, in + h.i1 * iw, h, cols, out);
                break;
            }
            case INKWELL_MAX_POOL_2X2: pool_row<max_window>(in + 2 * y * iw, in + (2 * y + 1) * iw, out, ow); break;
            case INKWELL_AVG_POOL_2X2: pool_row<avg_window>(in + 2 * y * iw, in + (2 * y + 1) * iw, out, ow); break;
        }
    };
    const int64_t rows = s.planes * s.out_height;
    const int64_t rows_per_task = std::max<int64_t>(1, kElementsPerTask / ow);
    const int64_t tasks = (rows + rows_per_task - 1) / rows_per_task;
    pool.parallel_for(tasks, [&](int64_t t) {
        const int64_t end = std::min(rows, (t + 1) * rows_per_task);
        for (int64_t row = t * rows_per_task; row < end; ++row) one_row(row);
    });
}

// ---------------------------------------------------------------------------------------
// upsample_nearest2d to an explicit size.
// ---------------------------------------------------------------------------------------

int64_t nearest_source_index(int64_t dst, int64_t in_size, int64_t out_size) {
    // aten's nearest_idx: the two special cases keep large indices exact (a float holds
    // integers only up to 2^24); otherwise nearest_neighbor_compute_source_index.
    if (out_size == in_size) return dst;
    if (out_size == 2 * in_size) return dst >> 1;
    const float scale = float(in_size) / float(out_size);
    return std::min(int64_t(std::floor(float(dst) * scale)), in_size - 1);
}

namespace {

template <typename T>
void nearest_reference(const inkwell_upsample_nearest2d_params& p) {
    const T* input = static_cast<const T*>(p.input);
    T* output = static_cast<T*>(p.output);
    const int64_t planes = p.batch * p.channels;
    for (int64_t n = 0; n < planes; ++n)
        for (int64_t y = 0; y < p.out_height; ++y)
            for (int64_t x = 0; x < p.out_width; ++x) {
                const int64_t sy = nearest_source_index(y, p.in_height, p.out_height);
                const int64_t sx = nearest_source_index(x, p.in_width, p.out_width);
                output[(n * p.out_height + y) * p.out_width + x] = input[(n * p.in_height + sy) * p.in_width + sx];
            }
}

template <typename T>
void nearest_fast(ThreadPool& pool, const inkwell_upsample_nearest2d_params& p) {
    const T* input = static_cast<const T*>(p.input);
    T* output = static_cast<T*>(p.output);
    const int64_t ow = p.out_width, iw = p.in_width;
    std::vector<int64_t> cols(static_cast<size_t>(ow));
    for (int64_t x = 0; x < ow; ++x) cols[size_t(x)] = nearest_source_index(x, iw, ow);
    const int64_t rows = p.batch * p.channels * p.out_height;
    const int64_t rows_per_task = std::max<int64_t>(1, kElementsPerTask / ow);
    const int64_t tasks = (rows + rows_per_task - 1) / rows_per_task;
    pool.parallel_for(tasks, [&](int64_t t) {
        const int64_t end = std::min(rows, (t + 1) * rows_per_task);
        for (int64_t row = t * rows_per_task; row < end; ++row) {  // row of all planes' output rows
            const int64_t n = row / p.out_height, y = row % p.out_height;
            const T* in = input + (n * p.in_height + nearest_source_index(y, p.in_height, p.out_height)) * iw;
            T* out = output + row * ow;
            for (int64_t x = 0; x < ow; ++x) out[x] = in[cols[size_t(x)]];
        }
    });
}

}  // namespace

// Integer element types: a copy moves the bits unchanged (a float copy could quiet a
// signalling NaN on some targets; torch copies the bits too).
void upsample_nearest2d_reference(const inkwell_upsample_nearest2d_params& p, int64_t element_bytes) {
    if (element_bytes == 4) nearest_reference<uint32_t>(p); else nearest_reference<uint16_t>(p);
}

void upsample_nearest2d_fast(ThreadPool& pool, const inkwell_upsample_nearest2d_params& p, int64_t element_bytes) {
    if (element_bytes == 4) nearest_fast<uint32_t>(pool, p); else nearest_fast<uint16_t>(pool, p);
}

}  // namespace inkwell::cpu
