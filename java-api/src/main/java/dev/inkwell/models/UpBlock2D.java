package dev.inkwell.models;

import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.util.List;

/**
 * diffusers' {@code UpBlock2D} (unet_2d_blocks.py): {@link CrossAttnUpBlock2D} without the
 * Transformer2DModels: num_layers times {@code h = resnet(cat([h, skip], dim=1), temb)}, then
 * (except at the last level) an Upsample2D (to {@code upsample_size} when given). Weights under {@code resnets.i.},
 * {@code upsamplers.0.}.
 */
final class UpBlock2D implements UNetUpBlock {
    private final CrossAttnUpBlock2D resnetsOnly;

    private UpBlock2D(CrossAttnUpBlock2D resnetsOnly) {
        this.resnetsOnly = resnetsOnly;
    }

    /** As {@link CrossAttnUpBlock2D#load} without heads and transformer layers. */
    static UpBlock2D load(ModuleWeights w, String prefix, int layers, int in, int prevOut, int out, UNetSpec s,
            boolean addUpsample) throws IOException {
        return new UpBlock2D(CrossAttnUpBlock2D.load(w, prefix, layers, in, prevOut, out, 0, 0, s, addUpsample));
    }

    @Override
    public Tensor forward(Inkwell ctx, Tensor x, Tensor temb, Tensor encoderHiddenStates, List<Tensor> skips,
            long[] upsampleSize) {
        return resnetsOnly.forward(ctx, x, temb, encoderHiddenStates, skips, upsampleSize);
    }

    @Override
    public int resnetCount() {
        return resnetsOnly.resnetCount();
    }
}
