package dev.inkwell.models;

import dev.inkwell.Activation;
import dev.inkwell.Conv2dOptions;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' VAE {@code Decoder} (vae.py): conv_in (3x3, latent to the last level's channels),
 * the UNetMidBlock2D, one UpDecoderBlock2D per level in reversed channel order (each
 * layers_per_block + 1 resnets, upsampling except at the last), then conv_norm_out (group norm,
 * eps 1e-6) with silu and conv_out (3x3) to out_channels. Weights under {@code decoder.}.
 */
final class Decoder {
    private static final Conv2dOptions CONV3 = Conv2dOptions.defaults().withPadding(1);

    private final int groups;
    private final Tensor convInWeight, convInBias, convNormOutWeight, convNormOutBias, convOutWeight, convOutBias;
    private final UNetMidBlock2D midBlock;
    private final List<UpDecoderBlock2D> upBlocks;

    private Decoder(int groups, Tensor[] t, UNetMidBlock2D midBlock, List<UpDecoderBlock2D> upBlocks) {
        this.groups = groups;
        convInWeight = t[0];
        convInBias = t[1];
        convNormOutWeight = t[2];
        convNormOutBias = t[3];
        convOutWeight = t[4];
        convOutBias = t[5];
        this.midBlock = midBlock;
        this.upBlocks = upBlocks;
    }

    static Decoder load(ModuleWeights w, AutoencoderKLConfig c) throws IOException {
        String p = "decoder.";
        List<Integer> reversed = new ArrayList<>(c.blockOutChannels());
        java.util.Collections.reverse(reversed);
        int groups = c.normNumGroups(), top = reversed.get(0), first = reversed.get(reversed.size() - 1);
        double eps = Encoder.EPS;
        Tensor[] t = new Tensor[6];
        t[0] = w.get(p + "conv_in.weight", top, c.latentChannels(), 3, 3);
        t[1] = w.get(p + "conv_in.bias", top);
        UNetMidBlock2D mid = UNetMidBlock2D.load(w, p + "mid_block.", top, groups, eps, c.midBlockAddAttention(), 1);
        List<UpDecoderBlock2D> blocks = new ArrayList<>();
        for (int i = 0; i < reversed.size(); i++) {
            int in = i == 0 ? top : reversed.get(i - 1);
            blocks.add(UpDecoderBlock2D.load(w, p + "up_blocks." + i + ".", in, reversed.get(i),
                    c.layersPerBlock() + 1, groups, eps, i < reversed.size() - 1));
        }
        t[2] = w.get(p + "conv_norm_out.weight", first);
        t[3] = w.get(p + "conv_norm_out.bias", first);
        t[4] = w.get(p + "conv_out.weight", c.outChannels(), first, 3, 3);
        t[5] = w.get(p + "conv_out.bias", c.outChannels());
        return new Decoder(groups, t, mid, List.copyOf(blocks));
    }

    /** [N, latent_channels, h, w] to a new [N, out_channels, h * 2^(levels-1), ...]. */
    Tensor forward(Inkwell ctx, Tensor z) {
        Tensor h = ctx.conv2d(z, convInWeight, convInBias, CONV3);
        h = Forward.then(h, true, t -> midBlock.forward(ctx, t));
        for (UpDecoderBlock2D b : upBlocks) {
            h = Forward.then(h, true, t -> b.forward(ctx, t));
        }
        h = Forward.then(h, true, t -> ctx.layers().groupNorm(t, groups, convNormOutWeight, convNormOutBias,
                Encoder.EPS, Activation.SILU));
        return Forward.then(h, true, t -> ctx.conv2d(t, convOutWeight, convOutBias, CONV3));
    }
}
