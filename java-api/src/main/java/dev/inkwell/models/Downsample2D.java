package dev.inkwell.models;

import dev.inkwell.Conv2dOptions;
import dev.inkwell.Device;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;

/**
 * diffusers' {@code Downsample2D} with {@code use_conv=True} (resnet.py): {@code conv}, a 3x3
 * convolution with stride 2. With {@code padding=1} (the SD U-Net's) the convolution pads one
 * zero on every side. With {@code padding=0} (the VAE encoder's {@code downsample_padding}),
 * diffusers first pads one zero column on the right and one zero row at the bottom
 * ({@code F.pad(x, (0, 1, 0, 1))}) and convolves without padding: the windows start at even
 * rows/columns 0, 2, ... and the last one may reach the added zeros.
 *
 * <p>That asymmetric pad is not a symmetric conv2d padding (padding 1 would shift every window
 * up-left by one), and there is no pad kernel, so it is built from exact copies: the input is
 * concatenated with a zero column along W ({@code TensorOps.cat} on dim 3) and then with a zero
 * row along H (dim 2), giving [N, C, H+1, W+1], which the stride-2, padding-0 convolution reads.
 * The concatenation copies, adds no arithmetic, so the result is bit-for-bit the convolution of
 * the padded tensor. Weights {@code <prefix>conv.weight/bias} ({@code downsamplers.0.conv}).
 */
final class Downsample2D {
    private final Tensor convWeight, convBias;
    private final int padding;

    private Downsample2D(Tensor convWeight, Tensor convBias, int padding) {
        this.convWeight = convWeight;
        this.convBias = convBias;
        this.padding = padding;
    }

    /**
     * @param w the model's weights
     * @param prefix ending in '.' ({@code encoder.down_blocks.0.downsamplers.0.})
     * @param channels input channels
     * @param out output channels
     * @param padding 0 (asymmetric pad, the VAE) or 1 (the U-Net)
     */
    static Downsample2D load(ModuleWeights w, String prefix, int channels, int out, int padding) throws IOException {
        if (padding != 0 && padding != 1) {
            throw new IllegalArgumentException("Downsample2D padding " + padding + " is not supported (0 or 1)");
        }
        return new Downsample2D(w.get(prefix + "conv.weight", out, channels, 3, 3), w.get(prefix + "conv.bias", out),
                padding);
    }

    /** [N, C, H, W] to a new [N, out, H', W']: H' = floor(H / 2) with padding 0, ceil(H / 2) with padding 1. */
    Tensor forward(Inkwell ctx, Tensor x) {
        Conv2dOptions stride2 = Conv2dOptions.defaults().withStride(2);
        if (padding == 1) {
            return ctx.conv2d(x, convWeight, convBias, stride2.withPadding(1));
        }
        long n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
        try (Tensor zeroColumn = zeros(ctx, n, c, h, 1);
                Tensor right = ctx.ops().cat(3, x, zeroColumn);
                Tensor zeroRow = zeros(ctx, n, c, 1, wd + 1);
                Tensor padded = ctx.ops().cat(2, right, zeroRow)) {
            return ctx.conv2d(padded, convWeight, convBias, stride2);
        }
    }

    /** A float32 tensor of zeros in the context's memory. */
    private static Tensor zeros(Inkwell ctx, long... shape) {
        long count = 1;
        for (long d : shape) {
            count = Math.multiplyExact(count, d);
        }
        Tensor host = Tensor.fromArray(new float[Math.toIntExact(count)], shape);
        if (ctx.device() == Device.CPU) {
            return host;
        }
        try (host) {
            return ctx.copyToDevice(host);
        }
    }
}
