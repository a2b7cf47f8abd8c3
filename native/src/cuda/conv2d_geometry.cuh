// The sizes both CUDA conv2d kernels (conv2d_cuda.cu, float32; conv2d_half_cuda.cu, 16-bit)
// take, narrowed to int once on the host: kernels index in int, so every size, and every
// index they form (with one K step and one pixel tile of headroom), must stay below 2^31.
#pragma once

#include <string>

#include "cuda_common.cuh"

namespace inkwell::cuda {

struct ConvGeometry {
    int cin, h, w, cout, kh, kw, sh, sw, ph, pw, dh, dw, groups, oh, ow;
    int cin_g, cout_g, taps, k_len, pixels;
    int silu;
};

// `what` names the kernel in messages; k_step and pixel_tile are the kernel's K step and
// pixel tile (the headroom). Too large a size is INKWELL_UNSUPPORTED, naming it.
inline ConvGeometry conv_geometry(const inkwell_conv2d_params& p, int k_step, int pixel_tile, const char* what) {
    auto narrow = [what](int64_t v, const char* name) {
        if (v > 0x7fffffff) fail(INKWELL_UNSUPPORTED, std::string(what) + ": " + name + " exceeds 2^31 - 1");
        return int(v);
    };
    ConvGeometry g{};
    g.cin = narrow(p.in_channels, "in_channels");
    g.h = narrow(p.in_height, "in_height");
    g.w = narrow(p.in_width, "in_width");
    g.cout = narrow(p.out_channels, "out_channels");
    g.kh = narrow(p.kernel_h, "kernel_h");
    g.kw = narrow(p.kernel_w, "kernel_w");
    g.sh = narrow(p.stride_h, "stride_h");
    g.sw = narrow(p.stride_w, "stride_w");
    g.ph = narrow(p.pad_h, "pad_h");
    g.pw = narrow(p.pad_w, "pad_w");
    g.dh = narrow(p.dilation_h, "dilation_h");
    g.dw = narrow(p.dilation_w, "dilation_w");
    g.groups = narrow(p.groups, "groups");
    g.oh = narrow(p.out_height, "out_height");
    g.ow = narrow(p.out_width, "out_width");
    g.silu = p.activation == INKWELL_ACTIVATION_SILU;
    g.cin_g = g.cin / g.groups;
    g.cout_g = g.cout / g.groups;
    g.taps = narrow(p.kernel_h * p.kernel_w, "kernel_h * kernel_w");
    g.k_len = narrow(int64_t(g.cin_g) * g.taps + k_step, "in_channels / groups * kernel_h * kernel_w") - k_step;
    g.pixels = narrow(p.out_height * p.out_width + pixel_tile, "out_height * out_width") - pixel_tile;
    // Input coordinates (oy * stride - pad + i * dilation) are formed in int.
    narrow(p.in_height + 2 * p.pad_h + p.dilation_h * p.kernel_h, "padded in_height + dilated kernel_h");
    narrow(p.in_width + 2 * p.pad_w + p.dilation_w * p.kernel_w, "padded in_width + dilated kernel_w");
    return g;
}

}  // namespace inkwell::cuda
