// Resizing of 8-bit images, bit-exact with OpenCV 4.6's cv::resize (imgproc/src/resize.cpp,
// its own code, not IPP) for INTER_AREA and INTER_LANCZOS4: what ControlNet's resize_image
// calls. Both axes use OpenCV's scales, inv = dst / src and scale = 1 / inv, in double.
// cv::resize picks one of five methods from the sizes alone:
//   copy        dst as large as src
//   area fast   INTER_AREA, both factors src/dst integers: the box mean of each
//               scale_y x scale_x block; (sum + 2) >> 2 for 2x2 (OpenCV's 2x2 path, except
//               for 2 channels), else cvRound(sum * (1.f / area)) (float, half to even); the
//               sum is OpenCV's int, wrapping past 2^31 (blocks of over 8M samples)
//   area        INTER_AREA, no side grows: per axis the cells of computeResizeAreaTab
//               (double geometry, float weights); per output pixel, for each source row of
//               its cell in order, buf = sum of S * wx over the row's cells in order (float,
//               from 0), then acc = wy * buf (first row) or acc + wy * buf, and
//               cvRound(acc) clamped to 0..255
//   area linear INTER_AREA when a side grows: OpenCV's bilinear emulation; per axis
//               s = floor(d * scale), f = float((d + 1) - (s + 1) * inv), f = f <= 0 ? 0 :
//               f - floor(f); x: s >= W - 1 gives f = 0, s = W - 1; Q11 weights
//               cvRound((1 - f) * 2048), cvRound(f * 2048); rows h = sum of S[clamp] * wx
//               (int), out = (((wy0 (h0 >> 4)) >> 16) + ((wy1 (h1 >> 4)) >> 16) + 2) >> 2
//   lanczos4    s = floor(f), f = float((d + 0.5) * scale - 0.5) - s; OpenCV's
//               interpolateLanczos4(f) (float sum of 8 double-computed taps, normalised),
//               Q11 weights cvRound(c * 2048); taps s - 3 .. s + 4 with replicated borders;
//               rows h = sum of S * wx (int), out = saturate((sum of wy h + 2^21) >> 22)
// Fixed-point sums fit in int32: |h| <= 255 * 2780 (largest positive Q11 tap sum, see
// test_resize) and |sum wy h| + 2^21 < 2^31.
//
// Variants: resize_reference (per output sample, its taps recomputed from the formulas
// above) and resize_fast (the taps tabulated once in a ResizePlan, output rows in fixed
// chunks on the pool, each chunk's horizontal pass done once per source row). The CUDA
// backend takes the same ResizePlan tables, so every backend gives the same bits.
#pragma once

#include <cstdint>
#include <vector>

#include "../image.hpp"
#include "../thread_pool.hpp"
#include "inkwell/inkwell.h"

namespace inkwell::cpu {

enum class ResizeMethod : int32_t { kCopy = 0, kAreaFast = 1, kArea = 2, kAreaLinear = 3, kLanczos4 = 4 };

constexpr int kResizeCoefBits = 11;  // OpenCV's INTER_RESIZE_COEF_BITS
constexpr int kLanczosTaps = 8;

// OpenCV's scales of one axis: inv = dst / src, scale = 1 / inv (not src / dst).
struct AxisScale {
    double inv;
    double scale;
};
AxisScale axis_scale(int64_t src, int64_t dst);

// The method cv::resize takes for these sizes; interpolation is INKWELL_INTER_AREA or
// INKWELL_INTER_LANCZOS4. For kAreaFast, *factor_x / *factor_y get the integer factors.
ResizeMethod resize_method(int64_t src_h, int64_t src_w, int64_t dst_h, int64_t dst_w, int32_t interpolation,
                           int32_t* factor_x, int32_t* factor_y);

// Taps of output index d along one axis. first is the source index of tap 0, before the
// replicated-border clamp that every use applies.
void lanczos4_taps(int64_t d, const AxisScale& s, int32_t* first, int16_t coef[kLanczosTaps]);
// clamp_end: the x axis's "s >= src - 1 gives f = 0, s = src - 1" (the y axis has none).
void area_linear_taps(int64_t d, const AxisScale& s, int64_t src, bool clamp_end, int32_t* first, int16_t coef[2]);
// Area cells of output index d: up to max_cells (>= scale + 3) source indices and weights;
// returns how many.
int area_cells(int64_t d, const AxisScale& s, int64_t src, int32_t* index, float* weight, int max_cells);

// Fixed-point taps of one axis, ksize per output index.
struct ResizeTaps {
    int32_t ksize = 0;
    std::vector<int32_t> first;
    std::vector<int16_t> coef;
};

// Area cells of one axis: output index d takes entries start[d] .. start[d + 1] - 1.
struct ResizeCells {
    std::vector<int32_t> start;
    std::vector<int32_t> index;
    std::vector<float> weight;
};

// Everything that depends on the sizes only, computed once on the host.
struct ResizePlan {
    ResizeMethod method = ResizeMethod::kCopy;
    int64_t src_h = 0, src_w = 0, dst_h = 0, dst_w = 0, channels = 0;
    int32_t factor_x = 1, factor_y = 1;  // kAreaFast
    bool round_shift = false;            // kAreaFast: (sum + 2) >> 2 instead of cvRound(sum / area)
    ResizeTaps x_taps, y_taps;           // kAreaLinear, kLanczos4
    ResizeCells x_cells, y_cells;        // kArea
};

ResizePlan resize_plan(int64_t src_h, int64_t src_w, int64_t dst_h, int64_t dst_w, int64_t channels,
                       int32_t interpolation);

// src and dst have the same channels (1..4); interpolation is valid.
void resize_reference(const ImageView& src, const ImageView& dst, int32_t interpolation);
void resize_fast(ThreadPool& pool, const ImageView& src, const ImageView& dst, const ResizePlan& plan);

}  // namespace inkwell::cpu
