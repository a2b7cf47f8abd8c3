package dev.inkwell.models;

import dev.inkwell.Activation;
import dev.inkwell.Conv2dOptions;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code ControlNetConditioningEmbedding} (controlnet.py): the control image to the
 * latents' size and conv_in's channels.
 * <pre>
 * h = silu(conv_in(cond))                       3x3, conditioning_channels -> c[0]
 * for each level i &lt; last:
 *     h = silu(blocks[2i](h))                   3x3, c[i] -> c[i]
 *     h = silu(blocks[2i+1](h))                 3x3 stride 2, c[i] -> c[i+1]
 * out = conv_out(h)                             3x3, c[-1] -> block_out_channels[0] (a zero conv)
 * </pre>
 * with c = conditioning_embedding_out_channels, every convolution with padding 1 and the SiLUs
 * fused into the convolutions. Weights under {@code controlnet_cond_embedding.}.
 */
final class ControlNetConditioningEmbedding {
    private static final Conv2dOptions CONV3 = Conv2dOptions.defaults().withPadding(1);
    private static final Conv2dOptions CONV3_SILU = CONV3.withActivation(Activation.SILU);
    private static final Conv2dOptions CONV3_STRIDE2_SILU = CONV3_SILU.withStride(2);

    private final Tensor convInWeight, convInBias, convOutWeight, convOutBias;
    private final List<Tensor> blockWeights, blockBiases;

    private ControlNetConditioningEmbedding(Tensor[] t, List<Tensor> blockWeights, List<Tensor> blockBiases) {
        convInWeight = t[0];
        convInBias = t[1];
        convOutWeight = t[2];
        convOutBias = t[3];
        this.blockWeights = blockWeights;
        this.blockBiases = blockBiases;
    }

    /**
     * @param w the model's weights
     * @param prefix ending in '.' ({@code controlnet_cond_embedding.})
     * @param conditioningChannels channels of the control image
     * @param c conditioning_embedding_out_channels
     * @param embeddingChannels the output's channels (block_out_channels[0])
     */
    static ControlNetConditioningEmbedding load(ModuleWeights w, String prefix, int conditioningChannels,
            List<Integer> c, int embeddingChannels) throws IOException {
        Tensor[] t = new Tensor[4];
        t[0] = w.get(prefix + "conv_in.weight", c.get(0), conditioningChannels, 3, 3);
        t[1] = w.get(prefix + "conv_in.bias", c.get(0));
        List<Tensor> weights = new ArrayList<>(), biases = new ArrayList<>();
        for (int i = 0; i < c.size() - 1; i++) {
            int in = c.get(i), out = c.get(i + 1);
            weights.add(w.get(prefix + "blocks." + (2 * i) + ".weight", in, in, 3, 3));
            biases.add(w.get(prefix + "blocks." + (2 * i) + ".bias", in));
            weights.add(w.get(prefix + "blocks." + (2 * i + 1) + ".weight", out, in, 3, 3));
            biases.add(w.get(prefix + "blocks." + (2 * i + 1) + ".bias", out));
        }
        t[2] = w.get(prefix + "conv_out.weight", embeddingChannels, c.get(c.size() - 1), 3, 3);
        t[3] = w.get(prefix + "conv_out.bias", embeddingChannels);
        return new ControlNetConditioningEmbedding(t, List.copyOf(weights), List.copyOf(biases));
    }

    /** [N, conditioning_channels, H, W] to a new [N, block_out_channels[0], H', W'] (halved per level, rounding up). */
    Tensor forward(Inkwell ctx, Tensor cond) {
        Tensor h = ctx.conv2d(cond, convInWeight, convInBias, CONV3_SILU);
        for (int i = 0; i < blockWeights.size(); i++) {
            Tensor weight = blockWeights.get(i), bias = blockBiases.get(i);
            Conv2dOptions options = i % 2 == 0 ? CONV3_SILU : CONV3_STRIDE2_SILU;
            h = Forward.then(h, true, t -> ctx.conv2d(t, weight, bias, options));
        }
        return Forward.then(h, true, t -> ctx.conv2d(t, convOutWeight, convOutBias, CONV3));
    }
}
