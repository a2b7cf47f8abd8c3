package dev.inkwell.models;

import dev.inkwell.Activation;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;

/**
 * diffusers' {@code TimestepEmbedding} (embeddings.py) with {@code act_fn="silu"} and neither a
 * condition projection nor a post-activation: {@code linear_2(silu(linear_1(sample)))}, the
 * SiLU fused into linear_1. Weights {@code linear_1} [time_embed_dim, in] and {@code linear_2}
 * [time_embed_dim, time_embed_dim] with their biases.
 */
final class TimestepEmbedding {
    private final Tensor linear1Weight, linear1Bias, linear2Weight, linear2Bias;

    private TimestepEmbedding(Tensor linear1Weight, Tensor linear1Bias, Tensor linear2Weight, Tensor linear2Bias) {
        this.linear1Weight = linear1Weight;
        this.linear1Bias = linear1Bias;
        this.linear2Weight = linear2Weight;
        this.linear2Bias = linear2Bias;
    }

    /**
     * @param w the model's weights
     * @param prefix ending in '.' ({@code time_embedding.})
     * @param in the sinusoidal embedding's width
     * @param timeEmbedDim the output width
     */
    static TimestepEmbedding load(ModuleWeights w, String prefix, int in, int timeEmbedDim) throws IOException {
        return new TimestepEmbedding(w.get(prefix + "linear_1.weight", timeEmbedDim, in),
                w.get(prefix + "linear_1.bias", timeEmbedDim), w.get(prefix + "linear_2.weight", timeEmbedDim,
                        timeEmbedDim), w.get(prefix + "linear_2.bias", timeEmbedDim));
    }

    /** [N, in] to a new [N, time_embed_dim]. */
    Tensor forward(Inkwell ctx, Tensor sample) {
        try (Tensor h = ctx.layers().linear(sample, linear1Weight, linear1Bias, Activation.SILU)) {
            return ctx.layers().linear(h, linear2Weight, linear2Bias);
        }
    }
}
