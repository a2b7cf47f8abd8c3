package dev.inkwell.models;

import dev.inkwell.Activation;
import dev.inkwell.Conv2dOptions;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;

/**
 * diffusers' {@code ResnetBlock2D} (resnet.py) with its default {@code time_embedding_norm}
 * ("default"), as the VAE and the SD U-Net use it:
 * <pre>
 * h = conv1(silu(norm1(x)))
 * h = h + time_emb_proj(silu(temb))[:, :, None, None]     (only with a time embedding)
 * h = conv2(silu(norm2(h)))                                (dropout: none at inference)
 * out = (conv_shortcut(x) or x) + h                        (output_scale_factor 1)
 * </pre>
 * norm1/norm2 are group norms (norm_num_groups groups, eps 1e-6 in the VAE, 1e-5 in the
 * U-Net) with the silu fused; conv1/conv2 are 3x3 with padding 1; conv_shortcut is the 1x1
 * convolution present when the channel count changes. Weights named as the state dict under
 * {@code prefix} ({@code norm1.weight}, {@code conv1.weight}, ...). Immutable; the weights
 * belong to the model's {@link ModuleWeights}.
 */
final class ResnetBlock2D {
    private static final Conv2dOptions CONV3 = Conv2dOptions.defaults().withPadding(1);

    private final int groups;
    private final double eps;
    private final Tensor norm1Weight, norm1Bias, conv1Weight, conv1Bias;
    private final Tensor norm2Weight, norm2Bias, conv2Weight, conv2Bias;
    private final Tensor timeEmbProjWeight, timeEmbProjBias; // null without a time embedding
    private final Tensor convShortcutWeight, convShortcutBias; // null when channels do not change

    private ResnetBlock2D(int groups, double eps, Tensor[] t) {
        this.groups = groups;
        this.eps = eps;
        norm1Weight = t[0];
        norm1Bias = t[1];
        conv1Weight = t[2];
        conv1Bias = t[3];
        norm2Weight = t[4];
        norm2Bias = t[5];
        conv2Weight = t[6];
        conv2Bias = t[7];
        timeEmbProjWeight = t[8];
        timeEmbProjBias = t[9];
        convShortcutWeight = t[10];
        convShortcutBias = t[11];
    }

    /**
     * Loads one block.
     *
     * @param w the model's weights
     * @param prefix the block's state-dict prefix, ending in '.' ({@code decoder.up_blocks.0.resnets.1.})
     * @param in input channels
     * @param out output channels
     * @param tembChannels width of the time embedding (time_emb_proj's input), 0 for none (VAE)
     * @param groups groups of both norms, dividing in and out
     * @param eps the norms' epsilon
     */
    static ResnetBlock2D load(ModuleWeights w, String prefix, int in, int out, int tembChannels, int groups, double eps)
            throws IOException {
        Tensor[] t = new Tensor[12];
        t[0] = w.get(prefix + "norm1.weight", in);
        t[1] = w.get(prefix + "norm1.bias", in);
        t[2] = w.get(prefix + "conv1.weight", out, in, 3, 3);
        t[3] = w.get(prefix + "conv1.bias", out);
        t[4] = w.get(prefix + "norm2.weight", out);
        t[5] = w.get(prefix + "norm2.bias", out);
        t[6] = w.get(prefix + "conv2.weight", out, out, 3, 3);
        t[7] = w.get(prefix + "conv2.bias", out);
        if (tembChannels > 0) {
            t[8] = w.get(prefix + "time_emb_proj.weight", out, tembChannels);
            t[9] = w.get(prefix + "time_emb_proj.bias", out);
        }
        if (in != out) {
            t[10] = w.get(prefix + "conv_shortcut.weight", out, in, 1, 1);
            t[11] = w.get(prefix + "conv_shortcut.bias", out);
        }
        return new ResnetBlock2D(groups, eps, t);
    }

    /**
     * The block without a time embedding (the VAE's).
     *
     * @param ctx the context holding the weights
     * @param x [N, in, H, W]
     * @return a new tensor [N, out, H, W]
     */
    Tensor forward(Inkwell ctx, Tensor x) {
        return forward(ctx, x, null);
    }

    /**
     * The block.
     *
     * @param ctx the context holding the weights
     * @param x [N, in, H, W]
     * @param temb [N, temb_channels] before its silu, or null (required iff the block was loaded
     *     with a time embedding)
     * @return a new tensor [N, out, H, W]
     */
    Tensor forward(Inkwell ctx, Tensor x, Tensor temb) {
        if ((temb == null) != (timeEmbProjWeight == null)) {
            throw new IllegalArgumentException(timeEmbProjWeight == null ? "this ResnetBlock2D has no time_emb_proj"
                    : "this ResnetBlock2D needs a time embedding");
        }
        Tensor h;
        try (Tensor n1 = ctx.layers().groupNorm(x, groups, norm1Weight, norm1Bias, eps, Activation.SILU)) {
            h = ctx.conv2d(n1, conv1Weight, conv1Bias, CONV3);
        }
        try {
            if (temb != null) {
                try (Tensor act = ctx.layers().activation(temb, Activation.SILU);
                        Tensor proj = ctx.layers().linear(act, timeEmbProjWeight, timeEmbProjBias)) {
                    ctx.ops().add(h, proj.view(proj.dim(0), proj.dim(1), 1, 1), h);
                }
            }
            Tensor out;
            try (Tensor n2 = ctx.layers().groupNorm(h, groups, norm2Weight, norm2Bias, eps, Activation.SILU)) {
                out = ctx.conv2d(n2, conv2Weight, conv2Bias, CONV3);
            }
            try {
                if (convShortcutWeight == null) {
                    ctx.ops().add(out, x, out);
                } else {
                    try (Tensor s = ctx.conv2d(x, convShortcutWeight, convShortcutBias, Conv2dOptions.defaults())) {
                        ctx.ops().add(out, s, out);
                    }
                }
                return out;
            } catch (RuntimeException | Error e) {
                out.close();
                throw e;
            }
        } finally {
            h.close();
        }
    }
}
