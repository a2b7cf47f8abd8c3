package dev.inkwell.models;

import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code UpDecoderBlock2D} (unet_2d_blocks.py), one level of the VAE decoder:
 * {@code num_layers} (layers_per_block + 1) ResnetBlock2D (the first from in to out channels),
 * then, except at the last level, an Upsample2D. Weights under {@code <prefix>resnets.i.} and
 * {@code <prefix>upsamplers.0.}.
 */
final class UpDecoderBlock2D {
    private final List<ResnetBlock2D> resnets;
    private final Upsample2D upsampler; // null at the last level

    private UpDecoderBlock2D(List<ResnetBlock2D> resnets, Upsample2D upsampler) {
        this.resnets = resnets;
        this.upsampler = upsampler;
    }

    static UpDecoderBlock2D load(ModuleWeights w, String prefix, int in, int out, int layers, int groups, double eps,
            boolean addUpsample) throws IOException {
        List<ResnetBlock2D> resnets = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            resnets.add(ResnetBlock2D.load(w, prefix + "resnets." + i + ".", i == 0 ? in : out, out, 0, groups, eps));
        }
        Upsample2D up = addUpsample ? Upsample2D.load(w, prefix + "upsamplers.0.", out, out) : null;
        return new UpDecoderBlock2D(List.copyOf(resnets), up);
    }

    /** [N, in, H, W] to a new [N, out, 2H, 2W] ([N, out, H, W] at the last level). */
    Tensor forward(Inkwell ctx, Tensor x) {
        Tensor h = x;
        for (ResnetBlock2D r : resnets) {
            h = Forward.then(h, h != x, t -> r.forward(ctx, t));
        }
        if (upsampler != null) {
            h = Forward.then(h, h != x, t -> upsampler.forward(ctx, t));
        }
        return h;
    }
}
