package dev.inkwell.models;

import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;

/**
 * diffusers' {@code UNetMidBlock2D} (unet_2d_blocks.py) as the VAE builds it (one layer, no
 * time embedding, {@code resnet_time_scale_shift="default"}): resnets.0, then (with
 * {@code add_attention}) attentions.0, then resnets.1, all at one channel count. Weights under
 * {@code <prefix>resnets.i.} and {@code <prefix>attentions.0.}.
 */
final class UNetMidBlock2D {
    private final ResnetBlock2D resnet0, resnet1;
    private final AttentionBlock attention; // null without add_attention

    private UNetMidBlock2D(ResnetBlock2D resnet0, AttentionBlock attention, ResnetBlock2D resnet1) {
        this.resnet0 = resnet0;
        this.attention = attention;
        this.resnet1 = resnet1;
    }

    /**
     * @param w the model's weights
     * @param prefix ending in '.' ({@code encoder.mid_block.})
     * @param channels in and out channels
     * @param groups group-norm groups of the resnets and the attention
     * @param eps group-norm epsilon (1e-6 in the VAE)
     * @param addAttention whether the block has its attention
     * @param heads attention heads (channels / attention_head_dim; 1 in the VAE)
     */
    static UNetMidBlock2D load(ModuleWeights w, String prefix, int channels, int groups, double eps,
            boolean addAttention, int heads) throws IOException {
        ResnetBlock2D r0 = ResnetBlock2D.load(w, prefix + "resnets.0.", channels, channels, 0, groups, eps);
        AttentionBlock a = addAttention
                ? AttentionBlock.load(w, prefix + "attentions.0.", channels, heads, groups, eps) : null;
        ResnetBlock2D r1 = ResnetBlock2D.load(w, prefix + "resnets.1.", channels, channels, 0, groups, eps);
        return new UNetMidBlock2D(r0, a, r1);
    }

    /** [N, C, H, W] to a new [N, C, H, W]. */
    Tensor forward(Inkwell ctx, Tensor x) {
        Tensor h = resnet0.forward(ctx, x);
        if (attention != null) {
            h = Forward.then(h, true, t -> attention.forward(ctx, t));
        }
        return Forward.then(h, true, t -> resnet1.forward(ctx, t));
    }
}
