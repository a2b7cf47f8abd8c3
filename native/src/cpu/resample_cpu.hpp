// 2x resampling of NCHW float32 tensors on the CPU, as torch computes it in float:
//   nearest x2    out[y][x] = in[y / 2][x / 2]                      (F.interpolate, nearest)
//   bilinear x2   align_corners=False: src = max(0, (dst + 0.5) / 2 - 0.5), i0 = floor(src),
//                 i1 = min(i0 + 1, size - 1), l1 = src - i0, l0 = 1 - l1, and
//                 out = (in[h0][w0] lw0 + in[h0][w1] lw1) lh0 + (in[h1][w0] lw0 + in[h1][w1] lw1) lh1
//                 in that order (torch's Interpolate<2>::eval)
//   max pool 2x2  stride 2, floor(h/2) x floor(w/2); a NaN in the window wins (torch's
//                 "val > max || isnan(val)")
//   avg pool 2x2  stride 2, ((a + b) + c + d) / 4, row by row as torch sums
//
// upsample_nearest2d to any output size (F.interpolate(size=..., mode="nearest")): per axis,
// aten's nearest_idx: out == in copies, out == 2 in takes dst / 2, otherwise
// src = min(int64(floorf(float(dst) * scale)), in - 1) with scale = float(in) / float(out)
// (compute_scales_value without a scale factor), all in float32 as torch computes it.
//
// Variants: resample_reference (one formula per output element, indices recomputed each
// time) and resample_fast (output rows in parallel, the bilinear column taps tabulated once).
#pragma once

#include <cstdint>

#include "../thread_pool.hpp"
#include "inkwell/inkwell.h"

namespace inkwell::cpu {

struct ResampleShape {
    int64_t planes;  // batch * channels
    int64_t in_height, in_width;
    int64_t out_height, out_width;
};

// Output size of a mode; mode must be valid.
ResampleShape resample_shape(const inkwell_resample_params& p);

void resample_reference(const inkwell_resample_params& p);
void resample_fast(ThreadPool& pool, const inkwell_resample_params& p);

// Source index of output index dst along an axis of in_size inputs and out_size outputs.
int64_t nearest_source_index(int64_t dst, int64_t in_size, int64_t out_size);

// upsample_nearest2d of elements of element_bytes (4: float32; 2: float16 or bfloat16, copied
// as bits): the reference recomputes both indices per element; the fast path tabulates the
// column indices once and fills output rows in parallel.
void upsample_nearest2d_reference(const inkwell_upsample_nearest2d_params& p, int64_t element_bytes = 4);
void upsample_nearest2d_fast(ThreadPool& pool, const inkwell_upsample_nearest2d_params& p,
                             int64_t element_bytes = 4);

}  // namespace inkwell::cpu
