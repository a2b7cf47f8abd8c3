package dev.inkwell.models;

import dev.inkwell.Conv2dOptions;
import dev.inkwell.Inkwell;
import dev.inkwell.ResampleMode;
import dev.inkwell.Tensor;
import java.io.IOException;

/**
 * diffusers' {@code Upsample2D} with {@code use_conv=True} (resnet.py), as the VAE decoder and
 * the SD U-Net use it: nearest-neighbour upsampling by 2 ({@code F.interpolate(scale_factor=2.0,
 * mode="nearest")}), or to the given {@code output_size} ({@code F.interpolate(size=output_size,
 * mode="nearest")}, which the U-Net passes when its sample size is not a multiple of its
 * upsampling factor), then {@code conv}, a 3x3 convolution with padding 1. Weights
 * {@code <prefix>conv.weight/bias} (the state dict's {@code upsamplers.0.conv}).
 */
final class Upsample2D {
    private static final Conv2dOptions CONV3 = Conv2dOptions.defaults().withPadding(1);

    private final Tensor convWeight, convBias;

    private Upsample2D(Tensor convWeight, Tensor convBias) {
        this.convWeight = convWeight;
        this.convBias = convBias;
    }

    /**
     * @param w the model's weights
     * @param prefix ending in '.' ({@code decoder.up_blocks.0.upsamplers.0.})
     * @param channels input channels
     * @param out output channels
     */
    static Upsample2D load(ModuleWeights w, String prefix, int channels, int out) throws IOException {
        return new Upsample2D(w.get(prefix + "conv.weight", out, channels, 3, 3), w.get(prefix + "conv.bias", out));
    }

    /** [N, C, H, W] to a new [N, out, 2H, 2W]. */
    Tensor forward(Inkwell ctx, Tensor x) {
        return forward(ctx, x, null);
    }

    /**
     * [N, C, H, W] to a new [N, out, outputSize[0], outputSize[1]], or [N, out, 2H, 2W] when
     * outputSize is null (diffusers' {@code output_size=None}).
     */
    Tensor forward(Inkwell ctx, Tensor x, long[] outputSize) {
        try (Tensor up = outputSize == null ? ctx.resample(x, ResampleMode.UPSAMPLE_NEAREST_2X)
                : ctx.upsampleNearest2d(x, outputSize[0], outputSize[1])) {
            return ctx.conv2d(up, convWeight, convBias, CONV3);
        }
    }
}
