package dev.inkwell.models;

import dev.inkwell.Activation;
import dev.inkwell.Conv2dOptions;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' VAE {@code Encoder} (vae.py) with {@code double_z=True}: conv_in (3x3), one
 * DownEncoderBlock2D per level (downsampling except at the last), the UNetMidBlock2D at the
 * last level's channels, then conv_norm_out (group norm, eps 1e-6) with silu and conv_out (3x3)
 * to 2 * latent_channels: the posterior's mean and log-variance, stacked along channels.
 * Weights under {@code encoder.}.
 */
final class Encoder {
    static final double EPS = 1e-6; // every group norm of diffusers' VAE (resnet_eps)
    private static final Conv2dOptions CONV3 = Conv2dOptions.defaults().withPadding(1);

    private final int groups;
    private final Tensor convInWeight, convInBias, convNormOutWeight, convNormOutBias, convOutWeight, convOutBias;
    private final List<DownEncoderBlock2D> downBlocks;
    private final UNetMidBlock2D midBlock;

    private Encoder(int groups, Tensor[] t, List<DownEncoderBlock2D> downBlocks, UNetMidBlock2D midBlock) {
        this.groups = groups;
        convInWeight = t[0];
        convInBias = t[1];
        convNormOutWeight = t[2];
        convNormOutBias = t[3];
        convOutWeight = t[4];
        convOutBias = t[5];
        this.downBlocks = downBlocks;
        this.midBlock = midBlock;
    }

    static Encoder load(ModuleWeights w, AutoencoderKLConfig c) throws IOException {
        String p = "encoder.";
        List<Integer> channels = c.blockOutChannels();
        int groups = c.normNumGroups(), first = channels.get(0), last = channels.get(channels.size() - 1);
        Tensor[] t = new Tensor[6];
        t[0] = w.get(p + "conv_in.weight", first, c.inChannels(), 3, 3);
        t[1] = w.get(p + "conv_in.bias", first);
        List<DownEncoderBlock2D> blocks = new ArrayList<>();
        for (int i = 0; i < channels.size(); i++) {
            int in = i == 0 ? first : channels.get(i - 1);
            blocks.add(DownEncoderBlock2D.load(w, p + "down_blocks." + i + ".", in, channels.get(i), c.layersPerBlock(),
                    groups, EPS, i < channels.size() - 1));
        }
        UNetMidBlock2D mid = UNetMidBlock2D.load(w, p + "mid_block.", last, groups, EPS, c.midBlockAddAttention(), 1);
        t[2] = w.get(p + "conv_norm_out.weight", last);
        t[3] = w.get(p + "conv_norm_out.bias", last);
        t[4] = w.get(p + "conv_out.weight", 2L * c.latentChannels(), last, 3, 3);
        t[5] = w.get(p + "conv_out.bias", 2L * c.latentChannels());
        return new Encoder(groups, t, List.copyOf(blocks), mid);
    }

    /** [N, in_channels, H, W] to a new [N, 2 * latent_channels, H / 2^(levels-1), ...]. */
    Tensor forward(Inkwell ctx, Tensor x) {
        Tensor h = ctx.conv2d(x, convInWeight, convInBias, CONV3);
        for (DownEncoderBlock2D b : downBlocks) {
            h = Forward.then(h, true, t -> b.forward(ctx, t));
        }
        h = Forward.then(h, true, t -> midBlock.forward(ctx, t));
        h = Forward.then(h, true, t -> ctx.layers().groupNorm(t, groups, convNormOutWeight, convNormOutBias, EPS,
                Activation.SILU));
        return Forward.then(h, true, t -> ctx.conv2d(t, convOutWeight, convOutBias, CONV3));
    }
}
