// Canny of 8-bit images on the GPU, bit-identical to the CPU backend (and so to cv::Canny).
// Variants:
//   CPU reference   cpu/canny_cpu.cpp (canny_reference), shared pieces in cpu/canny_common.hpp
//   blur_u8         optional Gaussian pre-blur (cv::GaussianBlur, BORDER_REFLECT_101): the
//                   kernels of gaussian_blur_cuda.cu, into a compact buffer in scratch
//   gradient_kernel Sobel dx, dy per channel (replicated border, int16 saturation, 1/16
//                   round-half-even for aperture 7), magnitude L1 or L2, channel with the
//                   largest magnitude (ties to the lowest), the NMS sector of its gradient;
//                   one thread per pixel of the framed magnitude map (frame = 0)
//   suppress_kernel non-maximum suppression + double threshold into the framed edge map
//   hysteresis_kernel  32x32 tiles in shared memory: a tile grows its edges until nothing
//                   changes inside it, then raises a global flag if a pixel on its border
//                   changed (only those can affect another tile). Persistent: one cooperative
//                   launch loops over all tiles and grid-synchronises per global iteration,
//                   until an iteration leaves the flag down; no host round trip. Devices
//                   without cooperative launch relaunch one iteration at a time and read
//                   the flag each time.
//   output_kernel   255 for edges, 0 otherwise
// Integer arithmetic throughout, and any order of growing edges reaches the same fixed
// point, which is why the output equals the CPU's bit for bit.
#include <cooperative_groups.h>

#include "cuda_common.cuh"

namespace cg = cooperative_groups;

namespace inkwell::cuda {

namespace {

// Edge map values, as canny_common.hpp.
constexpr uint8_t kCandidate = 0;
constexpr uint8_t kNotEdge = 1;
constexpr uint8_t kEdge = 2;

// Sector codes stored per pixel by the gradient stage.
constexpr uint8_t kHorizontal = 0, kVertical = 1, kDiagonalPlus = 2, kDiagonalMinus = 3;

constexpr int64_t kMaxGridY = 65535;  // CUDA's limit on gridDim.y

// ---- gradient, magnitude, sector ------------------------------------------------------

template <int K>
struct SobelTaps {
    int32_t smooth[K];
    int32_t deriv[K];
    __host__ __device__ constexpr SobelTaps() : smooth{}, deriv{} {
        int32_t b[8] = {1, 0, 0, 0, 0, 0, 0, 0};
        for (int n = 1; n < K; ++n)
            for (int i = n; i > 0; --i) b[i] += b[i - 1];
        int32_t c[8] = {1, 0, 0, 0, 0, 0, 0, 0};
        for (int n = 1; n < K - 1; ++n)
            for (int i = n; i > 0; --i) c[i] += c[i - 1];
        for (int i = 0; i < K; ++i) {
            smooth[i] = b[i];
            deriv[i] = (i < K - 1 ? -c[i] : 0) + (i >= 1 ? c[i - 1] : 0);
        }
    }
};

__device__ __forceinline__ int16_t saturate_i16(int32_t v) { return int16_t(max(-32768, min(32767, v))); }

template <int K>
__device__ __forceinline__ int16_t sobel_output(int32_t sum) {
    if (K == 7) {  // round_half_even_div16 of canny_common.hpp
        const int32_t q = sum >> 4, rem = sum & 15;
        return saturate_i16(q + (rem > 8 || (rem == 8 && (q & 1))));
    }
    return saturate_i16(sum);
}

struct GradientArgs {
    const uint8_t* src;
    int64_t stride, h, w;
    int32_t* mag;     // (h + 2) x (w + 2), frame written as 0
    uint8_t* sector;  // h x w
    int32_t tg22;
};

template <int K, int CN, bool L2>
__device__ __forceinline__ void gradient_pixel(const GradientArgs& a, int64_t mx, int64_t my) {
    constexpr SobelTaps<K> taps;
    constexpr int R = K / 2;
    const int64_t mw = a.w + 2;
    if (mx == 0 || my == 0 || mx == a.w + 1 || my == a.h + 1) {
        a.mag[my * mw + mx] = 0;
        return;
    }
    const int64_t y = my - 1, x = mx - 1;
    int64_t rows[K], cols[K];
#pragma unroll
    for (int i = 0; i < K; ++i) {
        rows[i] = min(max(y + i - R, int64_t(0)), a.h - 1) * a.stride;
        cols[i] = min(max(x + i - R, int64_t(0)), a.w - 1) * CN;
    }
    int32_t best = -1;
    int16_t best_dx = 0, best_dy = 0;
#pragma unroll
    for (int c = 0; c < CN; ++c) {
        int32_t sx = 0, sy = 0;
#pragma unroll
        for (int i = 0; i < K; ++i) {
            // The vertical pass, then the horizontal one: exact integers, so any order works.
            int32_t hx = 0, hy = 0;
#pragma unroll
            for (int j = 0; j < K; ++j) {
                const int32_t p = __ldg(a.src + rows[i] + cols[j] + c);
                hx += taps.deriv[j] * p;
                hy += taps.smooth[j] * p;
            }
            sx += taps.smooth[i] * hx;
            sy += taps.deriv[i] * hy;
        }
        const int16_t dx = sobel_output<K>(sx), dy = sobel_output<K>(sy);
        const int32_t m = L2 ? int32_t(dx) * dx + int32_t(dy) * dy : abs(int32_t(dx)) + abs(int32_t(dy));
        if (c == 0 || m > best) {
            best = m;
            best_dx = dx;
            best_dy = dy;
        }
    }
    a.mag[my * mw + mx] = best;
    // sector() of canny_common.hpp
    const int32_t ax = abs(int32_t(best_dx)), ay = abs(int32_t(best_dy)) << 15;
    const int32_t tg22x = ax * a.tg22;
    uint8_t s;
    if (ay < tg22x)
        s = kHorizontal;
    else if (ay > tg22x + (ax << 16))
        s = kVertical;
    else
        s = ((best_dx ^ best_dy) < 0) ? kDiagonalMinus : kDiagonalPlus;
    a.sector[y * a.w + x] = s;
}

// Rows are grid-strided: (h + 2) / 8 blocks would pass gridDim.y's 65535 for tall images.
template <int K, int CN, bool L2>
__global__ void gradient_kernel(GradientArgs a) {
    const int64_t mx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    if (mx >= a.w + 2) return;
    for (int64_t my = blockIdx.y * int64_t(blockDim.y) + threadIdx.y; my < a.h + 2; my += int64_t(gridDim.y) * blockDim.y)
        gradient_pixel<K, CN, L2>(a, mx, my);
}

// ---- suppression and double threshold ------------------------------------------------

__global__ void suppress_kernel(const int32_t* mag, const uint8_t* sector, int64_t h, int64_t w, int32_t low,
                                int32_t high, uint8_t* map) {
    const int64_t mx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    const int64_t mw = w + 2;
    if (mx >= mw) return;
    for (int64_t my = blockIdx.y * int64_t(blockDim.y) + threadIdx.y; my < h + 2; my += int64_t(gridDim.y) * blockDim.y) {
        uint8_t v = kNotEdge;
        if (mx != 0 && my != 0 && mx != w + 1 && my != h + 1) {
            const int32_t* cur = mag + my * mw + mx;
            const int32_t m = *cur;
            if (m > low) {
                bool maximum;
                switch (sector[(my - 1) * w + mx - 1]) {  // is_local_maximum of canny_common.hpp
                    case kHorizontal: maximum = m > cur[-1] && m >= cur[1]; break;
                    case kVertical: maximum = m > cur[-mw] && m >= cur[mw]; break;
                    case kDiagonalPlus: maximum = m > cur[-mw - 1] && m > cur[mw + 1]; break;
                    default: maximum = m > cur[-mw + 1] && m > cur[mw - 1]; break;
                }
                if (maximum) v = m > high ? kEdge : kCandidate;
            }
        }
        map[my * mw + mx] = v;
    }
}

// ---- hysteresis ----------------------------------------------------------------------

constexpr int kTile = 32;           // tile side in pixels
constexpr int kTileThreadsY = 8;    // 32 x 8 threads, 4 rows each
constexpr int kRowsPerThread = kTile / kTileThreadsY;

struct HysteresisArgs {
    uint8_t* map;  // (h + 2) x (w + 2), frame kNotEdge
    int64_t h, w;
    int64_t tiles_x, tiles;
    int* flags;  // 3 ints, zero before the first iteration
};

// One tile: load it with its halo (L2 only: other SMs write the map between iterations),
// grow edges inside it until stable, write back what changed. Returns (in every thread)
// whether a pixel on the tile's border changed.
__device__ bool grow_tile(const HysteresisArgs& a, int64_t tile, uint8_t (*s)[kTile + 2]) {
    const int64_t ty0 = (tile / a.tiles_x) * kTile, tx0 = (tile % a.tiles_x) * kTile;
    const int64_t mw = a.w + 2;
    const int tx = threadIdx.x, ty = threadIdx.y;
    // Rows/columns of the tile that exist in the image.
    const int rows = int(min(int64_t(kTile), a.h - ty0)), cols = int(min(int64_t(kTile), a.w - tx0));
    // Shared (i, j) is map (ty0 + i, tx0 + j): the tile's pixels are i, j in 1..kTile.
    for (int idx = ty * kTile + tx; idx < (kTile + 2) * (kTile + 2); idx += kTile * kTileThreadsY) {
        const int i = idx / (kTile + 2), j = idx % (kTile + 2);
        const bool inside = i <= rows + 1 && j <= cols + 1;
        s[i][j] = inside ? __ldcg(a.map + (ty0 + i) * mw + tx0 + j) : kNotEdge;
    }
    __syncthreads();
    uint8_t before[kRowsPerThread];
#pragma unroll
    for (int r = 0; r < kRowsPerThread; ++r) before[r] = s[ty + r * kTileThreadsY + 1][tx + 1];
    // Jacobi sweeps: every thread decides from the same snapshot, then all write. (Writing
    // in place would also converge, edges only grow, but racecheck would flag it.)
    bool border = false;
    bool changed;
    do {
        bool reached[kRowsPerThread];
#pragma unroll
        for (int r = 0; r < kRowsPerThread; ++r) {
            const int i = ty + r * kTileThreadsY + 1, j = tx + 1;
            reached[r] = i <= rows && j <= cols && s[i][j] == kCandidate &&
                         (s[i - 1][j - 1] == kEdge || s[i - 1][j] == kEdge || s[i - 1][j + 1] == kEdge ||
                          s[i][j - 1] == kEdge || s[i][j + 1] == kEdge || s[i + 1][j - 1] == kEdge ||
                          s[i + 1][j] == kEdge || s[i + 1][j + 1] == kEdge);
        }
        __syncthreads();
        changed = false;
#pragma unroll
        for (int r = 0; r < kRowsPerThread; ++r) {
            if (!reached[r]) continue;
            const int i = ty + r * kTileThreadsY + 1, j = tx + 1;
            s[i][j] = kEdge;
            changed = true;
            border = border || i == 1 || j == 1 || i == rows || j == cols;
        }
    } while (__syncthreads_or(changed));
#pragma unroll
    for (int r = 0; r < kRowsPerThread; ++r) {
        const int i = ty + r * kTileThreadsY + 1, j = tx + 1;
        if (i <= rows && j <= cols && s[i][j] != before[r]) a.map[(ty0 + i) * mw + tx0 + j] = s[i][j];
    }
    const bool any_border = __syncthreads_or(border);  // also: s is free for the next tile
    return any_border;
}

__global__ void __launch_bounds__(kTile* kTileThreadsY) hysteresis_kernel(HysteresisArgs a, int persistent) {
    __shared__ uint8_t s[kTile + 2][kTile + 2];
    const bool leader = threadIdx.x == 0 && threadIdx.y == 0;
    for (int iteration = 0;; ++iteration) {
        int* flag = a.flags + iteration % 3;
        // The flag of the next iteration was last read before the previous grid sync.
        if (persistent && blockIdx.x == 0 && leader) a.flags[(iteration + 1) % 3] = 0;
        for (int64_t tile = blockIdx.x; tile < a.tiles; tile += gridDim.x)
            if (grow_tile(a, tile, s) && leader) *reinterpret_cast<volatile int*>(flag) = 1;
        if (!persistent) return;
        cg::this_grid().sync();
        if (*reinterpret_cast<volatile int*>(flag) == 0) return;
    }
}

// ---- output --------------------------------------------------------------------------

__global__ void output_kernel(const uint8_t* map, int64_t h, int64_t w, uint8_t* dst, int64_t dst_stride) {
    const int64_t x = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    if (x >= w) return;
    for (int64_t y = blockIdx.y * int64_t(blockDim.y) + threadIdx.y; y < h; y += int64_t(gridDim.y) * blockDim.y)
        dst[y * dst_stride + x] = uint8_t((map[(y + 1) * (w + 2) + x + 1] >> 1) * 255);
}

size_t align256(size_t n) { return (n + 255) / 256 * 256; }

using GradientKernel = void (*)(GradientArgs);

GradientKernel gradient_kernel_for(int aperture, int64_t cn, bool l2) {
#define INKWELL_GRADIENT_CASE(K)                                                                       \
    if (aperture == K)                                                                                 \
        return cn == 1 ? (l2 ? gradient_kernel<K, 1, true> : gradient_kernel<K, 1, false>)             \
                       : (l2 ? gradient_kernel<K, 3, true> : gradient_kernel<K, 3, false>);
    INKWELL_GRADIENT_CASE(3)
    INKWELL_GRADIENT_CASE(5)
    INKWELL_GRADIENT_CASE(7)
#undef INKWELL_GRADIENT_CASE
    fail(INKWELL_INTERNAL_ERROR, "canny: aperture " + std::to_string(aperture) + " reached the CUDA launcher");
}

}  // namespace

void canny(State& s, const cuda_backend::CannyArgs& a) {
    const int64_t h = a.height, w = a.width, cn = a.channels, mw = w + 2, mh = h + 2;
    const size_t mag_bytes = align256(size_t(mh * mw) * sizeof(int32_t));
    const size_t sector_bytes = align256(size_t(h * w));
    const size_t map_bytes = align256(size_t(mh * mw));
    const size_t flag_bytes = 256;
    const bool blur = a.blur_taps != nullptr;
    const size_t v_bytes = blur ? align256(blur_scratch_bytes(h, w, cn)) : 0;
    const size_t blurred_bytes = blur ? align256(size_t(h * w * cn)) : 0;
    auto* base = static_cast<uint8_t*>(scratch(s, mag_bytes + sector_bytes + map_bytes + flag_bytes + v_bytes + blurred_bytes));
    auto* mag = reinterpret_cast<int32_t*>(base);
    uint8_t* sector = base + mag_bytes;
    uint8_t* map = sector + sector_bytes;
    int* flags = reinterpret_cast<int*>(map + map_bytes);
    auto* v = reinterpret_cast<uint16_t*>(map + map_bytes + flag_bytes);
    uint8_t* blurred = map + map_bytes + flag_bytes + v_bytes;

    const uint8_t* src = a.src;
    int64_t src_stride = a.src_stride;
    if (blur) {
        blur_u8(s, a.src, a.src_stride, blurred, w * cn, h, w, cn, a.blur_taps, a.blur_ksize, v);
        src = blurred;
        src_stride = w * cn;
    }

    const dim3 block2d(32, 8);
    // gridDim.y is at most 65535: the kernels stride over the rows beyond (images up to 2^20 tall).
    const dim3 framed_grid(unsigned(ceil_div(mw, 32)), unsigned(std::min<int64_t>(ceil_div(mh, 8), kMaxGridY)));
    gradient_kernel_for(a.aperture, cn, a.l2 != 0)<<<framed_grid, block2d, 0, s.stream>>>(
        GradientArgs{src, src_stride, h, w, mag, sector, a.tan22_q15});
    suppress_kernel<<<framed_grid, block2d, 0, s.stream>>>(mag, sector, h, w, a.low, a.high, map);
    check(cudaGetLastError(), "canny: gradient/suppress launch");

    check(cudaMemsetAsync(flags, 0, flag_bytes, s.stream), "canny: cudaMemsetAsync");
    const int64_t tiles_x = ceil_div(w, kTile), tiles = tiles_x * ceil_div(h, kTile);
    HysteresisArgs ha{map, h, w, tiles_x, tiles, flags};
    const dim3 tile_block(kTile, kTileThreadsY);
    int per_sm = 0;
    if (s.cooperative)
        check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, hysteresis_kernel, kTile * kTileThreadsY, 0),
              "canny: occupancy");
    if (per_sm > 0) {
        const int blocks = int(std::min<int64_t>(tiles, int64_t(per_sm) * s.sm_count));
        int persistent = 1;
        void* args[] = {&ha, &persistent};
        check(cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(hysteresis_kernel), dim3(blocks), tile_block,
                                          args, 0, s.stream),
              "canny: hysteresis cooperative launch");
    } else {
        // Fallback: one iteration per launch, the flag read back after each.
        const int blocks = int(std::min<int64_t>(tiles, int64_t(s.sm_count) * 8));
        for (int iteration = 0;; ++iteration) {
            int* flag = flags + iteration % 3;
            check(cudaMemsetAsync(flag, 0, sizeof(int), s.stream), "canny: cudaMemsetAsync");
            HysteresisArgs one = ha;
            one.flags = flag;  // iteration 0 of the kernel uses flags[0]
            hysteresis_kernel<<<blocks, tile_block, 0, s.stream>>>(one, 0);
            int raised = 0;
            check(cudaMemcpyAsync(&raised, flag, sizeof(int), cudaMemcpyDeviceToHost, s.stream), "canny: flag");
            check(cudaStreamSynchronize(s.stream), "canny: hysteresis iteration");
            if (raised == 0) break;
        }
    }
    const dim3 image_grid(unsigned(ceil_div(w, 32)), unsigned(std::min<int64_t>(ceil_div(h, 8), kMaxGridY)));
    output_kernel<<<image_grid, block2d, 0, s.stream>>>(map, h, w, a.dst, a.dst_stride);
    finish_launch(s, "canny");
}

}  // namespace inkwell::cuda
