package dev.inkwell.models;

import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code CrossAttnUpBlock2D} (unet_2d_blocks.py): num_layers (layers_per_block + 1)
 * times {@code h = cat([h, skip], dim=1)} (skip: the last remaining down-block state), a
 * ResnetBlock2D with the time embedding, and a Transformer2DModel; then (except at the last
 * level) an Upsample2D (nearest 2x, or to {@code upsample_size} when the U-Net passes one; 3x3
 * conv). Resnet i takes (i == 0 ? prev_output_channel :
 * out) + (i == num_layers - 1 ? in : out) channels to out. Weights under {@code resnets.i.},
 * {@code attentions.i.}, {@code upsamplers.0.}.
 */
final class CrossAttnUpBlock2D implements UNetUpBlock {
    private final List<ResnetBlock2D> resnets;
    private final List<Transformer2DModel> attentions; // empty for UpBlock2D
    private final Upsample2D upsampler; // null at the last level

    CrossAttnUpBlock2D(List<ResnetBlock2D> resnets, List<Transformer2DModel> attentions, Upsample2D upsampler) {
        this.resnets = resnets;
        this.attentions = attentions;
        this.upsampler = upsampler;
    }

    /**
     * @param w the model's weights
     * @param prefix ending in '.' ({@code up_blocks.1.})
     * @param layers num_layers (layers_per_block of the down level of this depth, + 1)
     * @param in in_channels (the channels of the down level below this depth's: the last skip's)
     * @param prevOut prev_output_channel (the input's channels)
     * @param out out_channels
     * @param heads attention heads, dividing out; 0 for no attention (UpBlock2D)
     * @param transformerLayers transformer blocks per Transformer2DModel
     * @param s the U-Net's sizes (time embedding, groups, eps, cross-attention width, projection)
     * @param addUpsample whether an Upsample2D follows
     */
    static CrossAttnUpBlock2D load(ModuleWeights w, String prefix, int layers, int in, int prevOut, int out, int heads,
            int transformerLayers, UNetSpec s, boolean addUpsample) throws IOException {
        List<ResnetBlock2D> resnets = new ArrayList<>();
        List<Transformer2DModel> attentions = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            int skip = i == layers - 1 ? in : out, resnetIn = i == 0 ? prevOut : out;
            resnets.add(ResnetBlock2D.load(w, prefix + "resnets." + i + ".", resnetIn + skip, out, s.timeEmbedDim(),
                    s.groups(), s.eps()));
            if (heads > 0) {
                attentions.add(Transformer2DModel.load(w, prefix + "attentions." + i + ".", out, heads,
                        transformerLayers, s.crossAttentionDim(), s.groups(), s.useLinearProjection()));
            }
        }
        Upsample2D up = addUpsample ? Upsample2D.load(w, prefix + "upsamplers.0.", out, out) : null;
        return new CrossAttnUpBlock2D(List.copyOf(resnets), List.copyOf(attentions), up);
    }

    @Override
    public int resnetCount() {
        return resnets.size();
    }

    @Override
    public Tensor forward(Inkwell ctx, Tensor x, Tensor temb, Tensor encoderHiddenStates, List<Tensor> skips,
            long[] upsampleSize) {
        Tensor h = x;
        for (int i = 0; i < resnets.size(); i++) {
            ResnetBlock2D resnet = resnets.get(i);
            Tensor cat;
            try (Tensor skip = skips.removeLast()) {
                cat = Forward.then(h, h != x, t -> ctx.ops().cat(1, t, skip));
            }
            h = Forward.then(cat, true, t -> resnet.forward(ctx, t, temb));
            if (!attentions.isEmpty()) {
                Transformer2DModel attention = attentions.get(i);
                h = Forward.then(h, true, t -> attention.forward(ctx, t, encoderHiddenStates));
            }
        }
        if (upsampler != null) {
            h = Forward.then(h, h != x, t -> upsampler.forward(ctx, t, upsampleSize));
        }
        return h;
    }
}
