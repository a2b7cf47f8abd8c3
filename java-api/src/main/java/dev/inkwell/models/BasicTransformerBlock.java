package dev.inkwell.models;

import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;

/**
 * diffusers' {@code BasicTransformerBlock} (attention.py) as Transformer2DModel builds it for
 * the SD U-Net (norm_type "layer_norm", activation "geglu", no attention bias, no
 * only_cross_attention / double_self_attention, no positional embedding):
 * <pre>
 * h = attn1(norm1(x)) + x                          self-attention
 * h = attn2(norm2(h), encoder_hidden_states) + h   cross-attention
 * out = ff(norm3(h)) + h
 * </pre>
 * The norms are LayerNorms with affine weights and eps 1e-5 (nn.LayerNorm's default). Weights
 * {@code norm1}, {@code attn1}, {@code norm2}, {@code attn2}, {@code norm3}, {@code ff} under
 * the prefix.
 */
final class BasicTransformerBlock {
    private static final double LAYER_NORM_EPS = 1e-5;

    private final Tensor norm1Weight, norm1Bias, norm2Weight, norm2Bias, norm3Weight, norm3Bias;
    private final Attention attn1, attn2;
    private final FeedForward ff;

    private BasicTransformerBlock(Tensor[] norms, Attention attn1, Attention attn2, FeedForward ff) {
        norm1Weight = norms[0];
        norm1Bias = norms[1];
        norm2Weight = norms[2];
        norm2Bias = norms[3];
        norm3Weight = norms[4];
        norm3Bias = norms[5];
        this.attn1 = attn1;
        this.attn2 = attn2;
        this.ff = ff;
    }

    /**
     * @param w the model's weights
     * @param prefix ending in '.' ({@code ...attentions.0.transformer_blocks.0.})
     * @param dim width of the tokens (heads * dimHead)
     * @param heads attention heads
     * @param dimHead channels per head
     * @param crossAttentionDim width of encoder_hidden_states
     */
    static BasicTransformerBlock load(ModuleWeights w, String prefix, int dim, int heads, int dimHead,
            int crossAttentionDim) throws IOException {
        Tensor[] norms = new Tensor[6];
        norms[0] = w.get(prefix + "norm1.weight", dim);
        norms[1] = w.get(prefix + "norm1.bias", dim);
        Attention attn1 = Attention.load(w, prefix + "attn1.", dim, dim, heads, dimHead);
        norms[2] = w.get(prefix + "norm2.weight", dim);
        norms[3] = w.get(prefix + "norm2.bias", dim);
        Attention attn2 = Attention.load(w, prefix + "attn2.", dim, crossAttentionDim, heads, dimHead);
        norms[4] = w.get(prefix + "norm3.weight", dim);
        norms[5] = w.get(prefix + "norm3.bias", dim);
        FeedForward ff = FeedForward.load(w, prefix + "ff.", dim);
        return new BasicTransformerBlock(norms, attn1, attn2, ff);
    }

    /**
     * @param ctx the context holding the weights
     * @param x [N, L, dim]
     * @param encoderHiddenStates [N, S, cross_attention_dim]
     * @return a new tensor [N, L, dim]
     */
    Tensor forward(Inkwell ctx, Tensor x, Tensor encoderHiddenStates) {
        var nn = ctx.layers();
        Tensor h;
        try (Tensor n1 = nn.layerNorm(x, norm1Weight, norm1Bias, LAYER_NORM_EPS)) {
            h = attn1.forward(ctx, n1, null);
        }
        try {
            ctx.ops().add(h, x, h);
            try (Tensor n2 = nn.layerNorm(h, norm2Weight, norm2Bias, LAYER_NORM_EPS);
                    Tensor a = attn2.forward(ctx, n2, encoderHiddenStates)) {
                ctx.ops().add(h, a, h);
            }
            try (Tensor n3 = nn.layerNorm(h, norm3Weight, norm3Bias, LAYER_NORM_EPS);
                    Tensor f = ff.forward(ctx, n3)) {
                ctx.ops().add(h, f, h);
            }
            return h;
        } catch (RuntimeException | Error e) {
            h.close();
            throw e;
        }
    }
}
