package dev.inkwell.models;

import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;

/**
 * diffusers' {@code UNetMidBlock2DCrossAttn} (unet_2d_blocks.py) with one layer (as the U-Net
 * and ControlNet build it): resnets.0, attentions.0 (a Transformer2DModel with
 * transformer_layers_per_block[-1] blocks), resnets.1, all at the deepest level's channels. The
 * resnets' {@code output_scale_factor} is {@code mid_block_scale_factor}: diffusers divides
 * their output by it; here the output is multiplied by its float32 reciprocal when it is not 1
 * (within one rounding of the quotient; SD uses 1, where nothing is done).
 */
final class UNetMidBlock2DCrossAttn {
    private final ResnetBlock2D resnet0, resnet1;
    private final Transformer2DModel attention;
    private final double outputScaleFactor;

    private UNetMidBlock2DCrossAttn(ResnetBlock2D resnet0, Transformer2DModel attention, ResnetBlock2D resnet1,
            double outputScaleFactor) {
        this.resnet0 = resnet0;
        this.attention = attention;
        this.resnet1 = resnet1;
        this.outputScaleFactor = outputScaleFactor;
    }

    static UNetMidBlock2DCrossAttn load(ModuleWeights w, String prefix, UNetSpec s) throws IOException {
        int last = s.levels() - 1, c = s.blockOutChannels().get(last);
        ResnetBlock2D r0 = ResnetBlock2D.load(w, prefix + "resnets.0.", c, c, s.timeEmbedDim(), s.groups(), s.eps());
        Transformer2DModel a = Transformer2DModel.load(w, prefix + "attentions.0.", c, s.heads().get(last),
                s.transformerLayersPerBlock().get(last), s.crossAttentionDim(), s.groups(), s.useLinearProjection());
        ResnetBlock2D r1 = ResnetBlock2D.load(w, prefix + "resnets.1.", c, c, s.timeEmbedDim(), s.groups(), s.eps());
        return new UNetMidBlock2DCrossAttn(r0, a, r1, s.midBlockScaleFactor());
    }

    /** [N, C, H, W] to a new [N, C, H, W]. */
    Tensor forward(Inkwell ctx, Tensor x, Tensor temb, Tensor encoderHiddenStates) {
        Tensor h = scaled(ctx, resnet0.forward(ctx, x, temb));
        h = Forward.then(h, true, t -> attention.forward(ctx, t, encoderHiddenStates));
        h = Forward.then(h, true, t -> resnet1.forward(ctx, t, temb));
        return scaled(ctx, h);
    }

    private Tensor scaled(Inkwell ctx, Tensor h) {
        return outputScaleFactor == 1 ? h : Forward.then(h, true, t -> Scale.multiply(ctx, t,
                (float) (1 / outputScaleFactor)));
    }
}
