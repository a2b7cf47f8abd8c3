package dev.inkwell.models;

import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code DownEncoderBlock2D} (unet_2d_blocks.py), one level of the VAE encoder:
 * {@code num_layers} ResnetBlock2D (the first from in to out channels), then, except at the last
 * level, a Downsample2D with padding 0 (the asymmetric pad). Weights under
 * {@code <prefix>resnets.i.} and {@code <prefix>downsamplers.0.}.
 */
final class DownEncoderBlock2D {
    private final List<ResnetBlock2D> resnets;
    private final Downsample2D downsampler; // null at the last level

    private DownEncoderBlock2D(List<ResnetBlock2D> resnets, Downsample2D downsampler) {
        this.resnets = resnets;
        this.downsampler = downsampler;
    }

    static DownEncoderBlock2D load(ModuleWeights w, String prefix, int in, int out, int layers, int groups,
            double eps, boolean addDownsample) throws IOException {
        List<ResnetBlock2D> resnets = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            resnets.add(ResnetBlock2D.load(w, prefix + "resnets." + i + ".", i == 0 ? in : out, out, 0, groups, eps));
        }
        Downsample2D down = addDownsample ? Downsample2D.load(w, prefix + "downsamplers.0.", out, out, 0) : null;
        return new DownEncoderBlock2D(List.copyOf(resnets), down);
    }

    /** [N, in, H, W] to a new [N, out, H', W'] (halved, rounding down, unless last). */
    Tensor forward(Inkwell ctx, Tensor x) {
        Tensor h = x;
        for (ResnetBlock2D r : resnets) {
            h = Forward.then(h, h != x, t -> r.forward(ctx, t));
        }
        if (downsampler != null) {
            h = Forward.then(h, h != x, t -> downsampler.forward(ctx, t));
        }
        return h;
    }
}
