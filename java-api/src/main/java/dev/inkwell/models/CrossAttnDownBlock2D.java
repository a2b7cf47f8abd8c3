package dev.inkwell.models;

import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code CrossAttnDownBlock2D} (unet_2d_blocks.py): num_layers pairs of a
 * ResnetBlock2D (with the time embedding; the first from in to out channels) and a
 * Transformer2DModel, then (except at the deepest level) a Downsample2D (3x3, stride 2, padding
 * {@code downsample_padding}). Every pair's output and the downsampler's are output states (the
 * skip connections). Weights under {@code resnets.i.}, {@code attentions.i.},
 * {@code downsamplers.0.}.
 */
final class CrossAttnDownBlock2D implements UNetDownBlock {
    private final List<ResnetBlock2D> resnets;
    private final List<Transformer2DModel> attentions;
    private final Downsample2D downsampler; // null at the deepest level

    private CrossAttnDownBlock2D(List<ResnetBlock2D> resnets, List<Transformer2DModel> attentions,
            Downsample2D downsampler) {
        this.resnets = resnets;
        this.attentions = attentions;
        this.downsampler = downsampler;
    }

    static CrossAttnDownBlock2D load(ModuleWeights w, String prefix, UNetSpec s, int level, int in, int out,
            boolean addDownsample) throws IOException {
        List<ResnetBlock2D> resnets = new ArrayList<>();
        List<Transformer2DModel> attentions = new ArrayList<>();
        for (int i = 0; i < s.layersPerBlock().get(level); i++) {
            resnets.add(ResnetBlock2D.load(w, prefix + "resnets." + i + ".", i == 0 ? in : out, out, s.timeEmbedDim(),
                    s.groups(), s.eps()));
            attentions.add(Transformer2DModel.load(w, prefix + "attentions." + i + ".", out, s.heads().get(level),
                    s.transformerLayersPerBlock().get(level), s.crossAttentionDim(), s.groups(),
                    s.useLinearProjection()));
        }
        Downsample2D down = addDownsample
                ? Downsample2D.load(w, prefix + "downsamplers.0.", out, out, s.downsamplePadding()) : null;
        return new CrossAttnDownBlock2D(List.copyOf(resnets), List.copyOf(attentions), down);
    }

    @Override
    public void forward(Inkwell ctx, Tensor x, Tensor temb, Tensor encoderHiddenStates, List<Tensor> states) {
        Tensor h = x;
        for (int i = 0; i < resnets.size(); i++) {
            ResnetBlock2D resnet = resnets.get(i);
            Transformer2DModel attention = attentions.get(i);
            Tensor r = resnet.forward(ctx, h, temb);
            h = Forward.then(r, true, t -> attention.forward(ctx, t, encoderHiddenStates));
            states.add(h);
        }
        if (downsampler != null) {
            states.add(downsampler.forward(ctx, h));
        }
    }
}
