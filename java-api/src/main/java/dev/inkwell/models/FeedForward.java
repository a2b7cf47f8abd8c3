package dev.inkwell.models;

import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;

/**
 * diffusers' {@code FeedForward} (attention.py) with {@code activation_fn="geglu"}, mult 4, as
 * BasicTransformerBlock builds it: {@code net.0} is a {@code GEGLU} (its {@code proj}, a Linear
 * dim to 2 * inner, split into value and gate, value * gelu(gate) with the erf gelu),
 * {@code net.1} a dropout (none at inference), {@code net.2} a Linear inner to dim. inner =
 * 4 * dim. The GEGLU runs fused ({@link dev.inkwell.Layers#geglu}).
 */
final class FeedForward {
    private final Tensor projWeight, projBias, outWeight, outBias;

    private FeedForward(Tensor projWeight, Tensor projBias, Tensor outWeight, Tensor outBias) {
        this.projWeight = projWeight;
        this.projBias = projBias;
        this.outWeight = outWeight;
        this.outBias = outBias;
    }

    /**
     * @param w the model's weights
     * @param prefix ending in '.' ({@code ...transformer_blocks.0.ff.})
     * @param dim width in and out
     */
    static FeedForward load(ModuleWeights w, String prefix, int dim) throws IOException {
        long inner = 4L * dim;
        return new FeedForward(w.get(prefix + "net.0.proj.weight", 2 * inner, dim),
                w.get(prefix + "net.0.proj.bias", 2 * inner), w.get(prefix + "net.2.weight", dim, inner),
                w.get(prefix + "net.2.bias", dim));
    }

    /** [N, L, dim] to a new [N, L, dim]. */
    Tensor forward(Inkwell ctx, Tensor x) {
        try (Tensor h = ctx.layers().geglu(x, projWeight, projBias)) {
            return ctx.layers().linear(h, outWeight, outBias);
        }
    }
}
