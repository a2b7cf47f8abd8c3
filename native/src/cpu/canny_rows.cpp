// The portable row kernels of canny_fast: the scalar range functions over whole rows.
#include "canny_rows.hpp"

namespace inkwell::cpu::canny_rows {

namespace {

void load_row(const uint8_t* src, int64_t w, int64_t cn, int64_t r, uint8_t* const* planes) {
    if (cn == 1)
        std::memcpy(planes[0], src, size_t(w));
    else
        deinterleave_range(src, cn, planes, 0, w);
    replicate_edges(planes, cn, w, r);
}

template <int K>
void gradient_row(const uint8_t* const* rows, int64_t w, int16_t* vx, int16_t* vy, int16_t* dx, int16_t* dy) {
    gradient_range<K>(rows, 0, w, vx, vy, dx, dy);
}

template <int CN, bool L2>
void magnitude_row(const int16_t* const* channel_dx, const int16_t* const* channel_dy, int64_t w, int16_t* dx,
                   int16_t* dy, int32_t* mag) {
    magnitude_range<CN, L2>(channel_dx, channel_dy, 0, w, dx, dy, mag);
}

void suppress_row(const int32_t* prev, const int32_t* cur, const int32_t* next, const int16_t* dx,
                  const int16_t* dy, int64_t w, CannyThresholds t, const MapRow& out) {
    suppress_range(prev, cur, next, dx, dy, 0, w, t, out);
}

}  // namespace

const RowKernels& scalar_row_kernels() {
    static const RowKernels kernels{
        load_row,
        {gradient_row<3>, gradient_row<5>, gradient_row<7>},
        {{magnitude_row<1, false>, magnitude_row<1, true>}, {magnitude_row<3, false>, magnitude_row<3, true>}},
        suppress_row,
    };
    return kernels;
}

}  // namespace inkwell::cpu::canny_rows
