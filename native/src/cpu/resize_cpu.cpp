// Resizing, CPU: OpenCV's per-axis geometry and rounding, the per-sample reference, and the
// row-chunked fast path. See the header for the formulas.
//
// Floating-point expressions are split into one operation per statement so that no
// compiler contracts a multiply and an add into an FMA (OpenCV's x86 build has none).
#include "resize_cpu.hpp"

#include <algorithm>
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../error.hpp"
#include "parallel_chunks.hpp"

namespace inkwell::cpu {

namespace {

constexpr int64_t kRowsPerChunk = 16;  // output rows per task; fixed, so no result depends on threads
constexpr double kPi = 3.1415926535897932384626433832795;  // CV_PI

// OpenCV's cvFloor / cvCeil / cvRound (round half to even, as the SSE conversion does).
inline int cv_floor(double v) {
    const int i = int(v);
    return i - (double(i) > v ? 1 : 0);
}
inline int cv_floor(float v) {
    const int i = int(v);
    return i - (float(i) > v ? 1 : 0);
}
inline int cv_ceil(double v) {
    const int i = int(v);
    return i + (double(i) < v ? 1 : 0);
}
inline int cv_round(float v) { return int(std::lrintf(v)); }

// saturate_cast<short>(c * INTER_RESIZE_COEF_SCALE): a float product, rounded.
inline int16_t q11(float c) {
    const float scaled = c * float(1 << kResizeCoefBits);
    return int16_t(std::min(32767, std::max(-32768, cv_round(scaled))));
}

inline uint8_t saturate_u8(int v) { return uint8_t(std::min(255, std::max(0, v))); }

inline int64_t clamp_index(int64_t i, int64_t n) { return i < 0 ? 0 : (i >= n ? n - 1 : i); }

// OpenCV's interpolateLanczos4: x + 3 - i in float, the sine terms in double, each tap
// rounded to float, their float sum inverted and multiplied in.
void interpolate_lanczos4(float x, float coeffs[kLanczosTaps]) {
    static const double s45 = 0.70710678118654752440084436210485;
    static const double cs[kLanczosTaps][2] = {{1, 0},  {-s45, -s45}, {0, 1},  {s45, -s45},
                                               {-1, 0}, {s45, s45},   {0, -1}, {-s45, s45}};
    if (x < FLT_EPSILON) {
        for (int i = 0; i < kLanczosTaps; ++i) coeffs[i] = 0;
        coeffs[3] = 1;
        return;
    }
    const float x3 = x + 3.0f;
    const double y0 = -double(x3) * kPi * 0.25;
    const double s0 = std::sin(y0);
    const double c0 = std::cos(y0);
    float sum = 0;
    for (int i = 0; i < kLanczosTaps; ++i) {
        const float xi = x3 - float(i);
        const double y = -double(xi) * kPi * 0.25;
        const double a = cs[i][0] * s0;
        const double b = cs[i][1] * c0;
        const double num = a + b;
        const double yy = y * y;
        coeffs[i] = float(num / yy);
        sum += coeffs[i];
    }
    sum = 1.0f / sum;
    for (int i = 0; i < kLanczosTaps; ++i) coeffs[i] *= sum;
}

// ---------------------------------------------------------------------------------------
// Arithmetic of one output sample, shared by both paths.
// ---------------------------------------------------------------------------------------

// Horizontal pass of the tap methods: sum of S[clamp(first + j)] * coef[j] over the taps.
inline int32_t tap_row(const uint8_t* row, int64_t width, int64_t cn, int64_t c, int32_t first, const int16_t* coef,
                       int ksize) {
    int32_t sum = 0;
    for (int j = 0; j < ksize; ++j) sum += int32_t(row[clamp_index(int64_t(first) + j, width) * cn + c]) * coef[j];
    return sum;
}

// Vertical pass of the bilinear emulation (OpenCV's 8-bit VResizeLinear): each row is
// shifted right by 4 first and each product's high 16 bits kept, then (+ 2) >> 2. The
// result is at most 255 (weights sum to at most 2049), so the plain cast is exact.
inline uint8_t linear_column(int32_t h0, int32_t h1, const int16_t* b) {
    const int32_t t0 = (int32_t(b[0]) * (h0 >> 4)) >> 16;
    const int32_t t1 = (int32_t(b[1]) * (h1 >> 4)) >> 16;
    return uint8_t((t0 + t1 + 2) >> 2);
}

// Vertical pass of Lanczos-4: FixedPtCast<int, uchar, 22>.
inline uint8_t lanczos_column(const int32_t* h, const int16_t* b) {
    int32_t sum = 0;
    for (int k = 0; k < kLanczosTaps; ++k) sum += h[k] * b[k];
    return saturate_u8((sum + (1 << (2 * kResizeCoefBits - 1))) >> (2 * kResizeCoefBits));
}

// The box mean of the fast area path. OpenCV sums in int, which wraps past 2^31 for blocks
// of more than 8M samples (a white 4096x4096 image shrunk to 1x1 gives 0), so the sum is
// taken modulo 2^32 (unsigned, no overflow) and read back as two's complement.
inline uint8_t box_mean(uint32_t sum_mod, int64_t area, bool round_shift) {
    const int32_t sum = sum_mod <= uint32_t(INT32_MAX) ? int32_t(sum_mod) : int32_t(int64_t(sum_mod) - (int64_t(1) << 32));
    if (round_shift) return uint8_t((sum + 2) >> 2);  // 2x2: at most 1022
    const float scale = 1.0f / float(int32_t(area));
    const float mean = float(sum) * scale;
    return saturate_u8(cv_round(mean));
}

// One source row's area sums: buf = 0 + S * w over the cells, in order, in float.
inline float area_row(const uint8_t* row, int64_t cn, int64_t c, const int32_t* index, const float* weight,
                      int count) {
    float buf = 0;
    for (int k = 0; k < count; ++k) {
        const float p = float(row[int64_t(index[k]) * cn + c]) * weight[k];
        buf = buf + p;
    }
    return buf;
}

inline float area_accumulate(float acc, float buf, float wy, bool first) {
    const float p = wy * buf;
    return first ? p : acc + p;
}

int max_area_cells(const AxisScale& s) { return int(std::ceil(s.scale)) + 3; }

}  // namespace

AxisScale axis_scale(int64_t src, int64_t dst) {
    AxisScale s;
    s.inv = double(dst) / double(src);
    s.scale = 1.0 / s.inv;
    return s;
}

ResizeMethod resize_method(int64_t src_h, int64_t src_w, int64_t dst_h, int64_t dst_w, int32_t interpolation,
                           int32_t* factor_x, int32_t* factor_y) {
    *factor_x = 1;
    *factor_y = 1;
    if (src_h == dst_h && src_w == dst_w) return ResizeMethod::kCopy;  // cv::resize copies
    if (interpolation == INKWELL_INTER_LANCZOS4) return ResizeMethod::kLanczos4;
    const AxisScale x = axis_scale(src_w, dst_w), y = axis_scale(src_h, dst_h);
    if (x.scale < 1 || y.scale < 1) return ResizeMethod::kAreaLinear;  // "area" only shrinks
    // saturate_cast<int>(scale), and OpenCV's test for an integer factor.
    const int ix = int(std::lrint(x.scale)), iy = int(std::lrint(y.scale));
    if (std::abs(x.scale - ix) < DBL_EPSILON && std::abs(y.scale - iy) < DBL_EPSILON) {
        *factor_x = ix;
        *factor_y = iy;
        return ResizeMethod::kAreaFast;
    }
    return ResizeMethod::kArea;
}

void lanczos4_taps(int64_t d, const AxisScale& s, int32_t* first, int16_t coef[kLanczosTaps]) {
    const double pos = (double(d) + 0.5) * s.scale;
    float f = float(pos - 0.5);
    const int sx = cv_floor(f);
    f -= float(sx);
    float c[kLanczosTaps];
    interpolate_lanczos4(f, c);
    for (int k = 0; k < kLanczosTaps; ++k) coef[k] = q11(c[k]);
    *first = sx - (kLanczosTaps / 2 - 1);
}

void area_linear_taps(int64_t d, const AxisScale& s, int64_t src, bool clamp_end, int32_t* first, int16_t coef[2]) {
    int sx = cv_floor(double(d) * s.scale);
    const double cell_end = double(sx + 1) * s.inv;
    float f = float(double(d + 1) - cell_end);
    f = f <= 0 ? 0.0f : f - float(cv_floor(f));
    if (clamp_end) {  // OpenCV's x axis only
        if (sx < 0) f = 0, sx = 0;
        if (sx >= src - 1) f = 0, sx = int(src - 1);
    }
    coef[0] = q11(1.0f - f);
    coef[1] = q11(f);
    *first = sx;
}

int area_cells(int64_t d, const AxisScale& s, int64_t src, int32_t* index, float* weight, int max_cells) {
    const double scale = s.scale;
    const double fsx1 = double(d) * scale;
    const double fsx2 = fsx1 + scale;
    const double cell_width = std::min(scale, double(src) - fsx1);
    int sx1 = cv_ceil(fsx1), sx2 = cv_floor(fsx2);
    sx2 = std::min(sx2, int(src - 1));
    sx1 = std::min(sx1, sx2);
    int k = 0;
    auto add = [&](int sx, float w) {
        if (k >= max_cells) invalid_argument("resize: internal: more area cells than " + std::to_string(max_cells));
        index[k] = sx;
        weight[k] = w;
        ++k;
    };
    if (double(sx1) - fsx1 > 1e-3) add(sx1 - 1, float((double(sx1) - fsx1) / cell_width));
    for (int sx = sx1; sx < sx2; ++sx) add(sx, float(1.0 / cell_width));
    if (fsx2 - double(sx2) > 1e-3) add(sx2, float(std::min(std::min(fsx2 - double(sx2), 1.0), cell_width) / cell_width));
    return k;
}

ResizePlan resize_plan(int64_t src_h, int64_t src_w, int64_t dst_h, int64_t dst_w, int64_t channels,
                       int32_t interpolation) {
    ResizePlan p;
    p.src_h = src_h;
    p.src_w = src_w;
    p.dst_h = dst_h;
    p.dst_w = dst_w;
    p.channels = channels;
    p.method = resize_method(src_h, src_w, dst_h, dst_w, interpolation, &p.factor_x, &p.factor_y);
    const AxisScale sx = axis_scale(src_w, dst_w), sy = axis_scale(src_h, dst_h);
    switch (p.method) {
        case ResizeMethod::kCopy: break;
        case ResizeMethod::kAreaFast:
            // OpenCV's 2x2 path rounds half up; it exists for 1, 3 and 4 channels only.
            p.round_shift = p.factor_x == 2 && p.factor_y == 2 && channels != 2;
            break;
        case ResizeMethod::kArea: {
            auto fill = [](ResizeCells& cells, int64_t src, int64_t dst, const AxisScale& s) {
                const int max_cells = max_area_cells(s);
                std::vector<int32_t> index(static_cast<size_t>(max_cells));
                std::vector<float> weight(static_cast<size_t>(max_cells));
                cells.start.assign(1, 0);
                for (int64_t d = 0; d < dst; ++d) {
                    const int n = area_cells(d, s, src, index.data(), weight.data(), max_cells);
                    cells.index.insert(cells.index.end(), index.begin(), index.begin() + n);
                    cells.weight.insert(cells.weight.end(), weight.begin(), weight.begin() + n);
                    cells.start.push_back(int32_t(cells.index.size()));
                }
            };
            fill(p.x_cells, src_w, dst_w, sx);
            fill(p.y_cells, src_h, dst_h, sy);
            break;
        }
        case ResizeMethod::kAreaLinear:
        case ResizeMethod::kLanczos4: {
            const bool lanczos = p.method == ResizeMethod::kLanczos4;
            auto fill = [&](ResizeTaps& taps, int64_t src, int64_t dst, const AxisScale& s, bool is_x) {
                taps.ksize = lanczos ? kLanczosTaps : 2;
                taps.first.resize(size_t(dst));
                taps.coef.resize(size_t(dst * taps.ksize));
                for (int64_t d = 0; d < dst; ++d) {
                    if (lanczos)
                        lanczos4_taps(d, s, &taps.first[size_t(d)], &taps.coef[size_t(d * kLanczosTaps)]);
                    else
                        area_linear_taps(d, s, src, is_x, &taps.first[size_t(d)], &taps.coef[size_t(d * 2)]);
                }
            };
            fill(p.x_taps, src_w, dst_w, sx, true);
            fill(p.y_taps, src_h, dst_h, sy, false);
            break;
        }
    }
    return p;
}

// ---------------------------------------------------------------------------------------
// Reference: every output sample from the formulas, its taps recomputed each time.
// ---------------------------------------------------------------------------------------

void resize_reference(const ImageView& src, const ImageView& dst, int32_t interpolation) {
    int32_t fx = 1, fy = 1;
    const ResizeMethod method = resize_method(src.height, src.width, dst.height, dst.width, interpolation, &fx, &fy);
    const AxisScale ax = axis_scale(src.width, dst.width), ay = axis_scale(src.height, dst.height);
    const int64_t cn = src.channels;
    const int mx = max_area_cells(ax), my = max_area_cells(ay);
    std::vector<int32_t> xi(static_cast<size_t>(mx)), yi(static_cast<size_t>(my));
    std::vector<float> xw(static_cast<size_t>(mx)), yw(static_cast<size_t>(my));
    for (int64_t y = 0; y < dst.height; ++y) {
        uint8_t* out = dst.row(y);
        for (int64_t x = 0; x < dst.width; ++x)
            for (int64_t c = 0; c < cn; ++c) {
                uint8_t v = 0;
                switch (method) {
                    case ResizeMethod::kCopy: v = src.row(y)[x * cn + c]; break;
                    case ResizeMethod::kAreaFast: {
                        uint32_t sum = 0;
                        for (int64_t i = 0; i < fy; ++i)
                            for (int64_t j = 0; j < fx; ++j) sum += src.row(y * fy + i)[(x * fx + j) * cn + c];
                        v = box_mean(sum, int64_t(fx) * fy, fx == 2 && fy == 2 && cn != 2);
                        break;
                    }
                    case ResizeMethod::kArea: {
                        const int nx = area_cells(x, ax, src.width, xi.data(), xw.data(), mx);
                        const int ny = area_cells(y, ay, src.height, yi.data(), yw.data(), my);
                        float acc = 0;
                        for (int i = 0; i < ny; ++i)
                            acc = area_accumulate(acc, area_row(src.row(yi[size_t(i)]), cn, c, xi.data(), xw.data(), nx),
                                                  yw[size_t(i)], i == 0);
                        v = saturate_u8(cv_round(acc));
                        break;
                    }
                    case ResizeMethod::kAreaLinear: {
                        int32_t first_x = 0, first_y = 0;
                        int16_t cx[2], cy[2];
                        area_linear_taps(x, ax, src.width, true, &first_x, cx);
                        area_linear_taps(y, ay, src.height, false, &first_y, cy);
                        const int32_t h0 = tap_row(src.row(clamp_index(first_y, src.height)), src.width, cn, c, first_x, cx, 2);
                        const int32_t h1 =
                            tap_row(src.row(clamp_index(int64_t(first_y) + 1, src.height)), src.width, cn, c, first_x, cx, 2);
                        v = linear_column(h0, h1, cy);
                        break;
                    }
                    case ResizeMethod::kLanczos4: {
                        int32_t first_x = 0, first_y = 0;
                        int16_t cx[kLanczosTaps], cy[kLanczosTaps];
                        lanczos4_taps(x, ax, &first_x, cx);
                        lanczos4_taps(y, ay, &first_y, cy);
                        int32_t h[kLanczosTaps];
                        for (int k = 0; k < kLanczosTaps; ++k)
                            h[k] = tap_row(src.row(clamp_index(int64_t(first_y) + k, src.height)), src.width, cn, c,
                                           first_x, cx, kLanczosTaps);
                        v = lanczos_column(h, cy);
                        break;
                    }
                }
                out[x * cn + c] = v;
            }
    }
}

// ---------------------------------------------------------------------------------------
// Fast path: the plan's tables, output rows in fixed chunks.
// ---------------------------------------------------------------------------------------

namespace {

void copy_rows(const ImageView& src, const ImageView& dst, int64_t y0, int64_t y1) {
    for (int64_t y = y0; y < y1; ++y) std::memcpy(dst.row(y), src.row(y), size_t(src.row_bytes()));
}

void area_fast_rows(const ImageView& src, const ImageView& dst, const ResizePlan& p, int64_t y0, int64_t y1) {
    const int64_t cn = p.channels, fx = p.factor_x, fy = p.factor_y;
    for (int64_t y = y0; y < y1; ++y) {
        uint8_t* out = dst.row(y);
        for (int64_t x = 0; x < p.dst_w; ++x)
            for (int64_t c = 0; c < cn; ++c) {
                uint32_t sum = 0;
                for (int64_t i = 0; i < fy; ++i) {
                    const uint8_t* s = src.row(y * fy + i) + x * fx * cn + c;
                    for (int64_t j = 0; j < fx; ++j) sum += s[j * cn];
                }
                out[x * cn + c] = box_mean(sum, fx * fy, p.round_shift);
            }
    }
}

void area_rows(const ImageView& src, const ImageView& dst, const ResizePlan& p, int64_t y0, int64_t y1) {
    const int64_t cn = p.channels, row_bytes = p.dst_w * cn;
    std::vector<float> buf(static_cast<size_t>(row_bytes)), acc(static_cast<size_t>(row_bytes));
    const ResizeCells& xc = p.x_cells;
    const ResizeCells& yc = p.y_cells;
    for (int64_t y = y0; y < y1; ++y) {
        for (int32_t j = yc.start[size_t(y)]; j < yc.start[size_t(y) + 1]; ++j) {
            const uint8_t* row = src.row(yc.index[size_t(j)]);
            for (int64_t x = 0; x < p.dst_w; ++x) {
                const int32_t k0 = xc.start[size_t(x)];
                const int count = xc.start[size_t(x) + 1] - k0;
                for (int64_t c = 0; c < cn; ++c)
                    buf[size_t(x * cn + c)] = area_row(row, cn, c, &xc.index[size_t(k0)], &xc.weight[size_t(k0)], count);
            }
            const bool first = j == yc.start[size_t(y)];
            const float wy = yc.weight[size_t(j)];
            for (int64_t i = 0; i < row_bytes; ++i)
                acc[size_t(i)] = area_accumulate(acc[size_t(i)], buf[size_t(i)], wy, first);
        }
        uint8_t* out = dst.row(y);
        for (int64_t i = 0; i < row_bytes; ++i) out[i] = saturate_u8(cv_round(acc[size_t(i)]));
    }
}

// Linear and Lanczos: the chunk's source rows (clamped, deduplicated) pass horizontally
// once into int32 rows, then each output row combines its ksize rows.
void tap_rows(const ImageView& src, const ImageView& dst, const ResizePlan& p, const std::vector<int32_t>& xidx,
              int64_t y0, int64_t y1) {
    const int64_t cn = p.channels, row_bytes = p.dst_w * cn;
    const int ks = p.x_taps.ksize;
    std::vector<int64_t> rows;
    for (int64_t y = y0; y < y1; ++y)
        for (int k = 0; k < ks; ++k) rows.push_back(clamp_index(int64_t(p.y_taps.first[size_t(y)]) + k, p.src_h));
    std::sort(rows.begin(), rows.end());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
    std::vector<int32_t> h(rows.size() * size_t(row_bytes));
    for (size_t r = 0; r < rows.size(); ++r) {
        const uint8_t* s = src.row(rows[r]);
        int32_t* hr = &h[r * size_t(row_bytes)];
        for (int64_t x = 0; x < p.dst_w; ++x) {
            const int32_t* idx = &xidx[size_t(x * ks)];
            const int16_t* coef = &p.x_taps.coef[size_t(x * ks)];
            for (int64_t c = 0; c < cn; ++c) {
                int32_t sum = 0;
                for (int j = 0; j < ks; ++j) sum += int32_t(s[idx[j] + c]) * coef[j];
                hr[x * cn + c] = sum;
            }
        }
    }
    const int32_t* taps[kLanczosTaps];
    for (int64_t y = y0; y < y1; ++y) {
        for (int k = 0; k < ks; ++k) {
            const int64_t r = clamp_index(int64_t(p.y_taps.first[size_t(y)]) + k, p.src_h);
            taps[k] = &h[size_t(std::lower_bound(rows.begin(), rows.end(), r) - rows.begin()) * size_t(row_bytes)];
        }
        const int16_t* b = &p.y_taps.coef[size_t(y * ks)];
        uint8_t* out = dst.row(y);
        if (p.method == ResizeMethod::kAreaLinear) {
            for (int64_t i = 0; i < row_bytes; ++i) out[i] = linear_column(taps[0][i], taps[1][i], b);
        } else {
            int32_t col[kLanczosTaps];
            for (int64_t i = 0; i < row_bytes; ++i) {
                for (int k = 0; k < kLanczosTaps; ++k) col[k] = taps[k][i];
                out[i] = lanczos_column(col, b);
            }
        }
    }
}

}  // namespace

void resize_fast(ThreadPool& pool, const ImageView& src, const ImageView& dst, const ResizePlan& p) {
    std::vector<int32_t> xidx;  // tap methods: clamped byte offsets of each tap's pixel
    if (p.method == ResizeMethod::kAreaLinear || p.method == ResizeMethod::kLanczos4) {
        const int ks = p.x_taps.ksize;
        xidx.resize(size_t(p.dst_w * ks));
        for (int64_t x = 0; x < p.dst_w; ++x)
            for (int j = 0; j < ks; ++j)
                xidx[size_t(x * ks + j)] =
                    int32_t(clamp_index(int64_t(p.x_taps.first[size_t(x)]) + j, p.src_w) * p.channels);
    }
    parallel_chunks(pool, p.dst_h, kRowsPerChunk, [&](int64_t y0, int64_t y1) {
        switch (p.method) {
            case ResizeMethod::kCopy: copy_rows(src, dst, y0, y1); break;
            case ResizeMethod::kAreaFast: area_fast_rows(src, dst, p, y0, y1); break;
            case ResizeMethod::kArea: area_rows(src, dst, p, y0, y1); break;
            case ResizeMethod::kAreaLinear:
            case ResizeMethod::kLanczos4: tap_rows(src, dst, p, xidx, y0, y1); break;
        }
    });
}

}  // namespace inkwell::cpu
