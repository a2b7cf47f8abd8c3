package dev.inkwell.models;

import dev.inkwell.AttentionLayout;
import dev.inkwell.AttentionOptions;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;

/**
 * diffusers' {@code Attention} (attention_processor.py) as BasicTransformerBlock builds it:
 * {@code bias=False} projections {@code to_q}, {@code to_k}, {@code to_v}, a biased
 * {@code to_out.0}, no group norm, no residual, rescale 1. On x [N, L, query_dim] and a context
 * [N, S, cross_dim] (x itself for self-attention):
 * <pre>
 * q = to_q(x), k = to_k(context), v = to_v(context)        [N, *, heads * dim_head]
 * out = to_out.0(softmax(q k^T / sqrt(dim_head)) v)         per head
 * </pre>
 * The heads are views [N, L, heads, dim_head] read with {@link AttentionLayout#BLHD}; the
 * attention kernel's default scale is 1/sqrt(dim_head), diffusers' {@code dim_head**-0.5}.
 * {@code upcast_attention} / {@code upcast_softmax} change nothing here: everything is float32.
 */
final class Attention {
    private static final AttentionOptions BLHD = AttentionOptions.defaults().withLayout(AttentionLayout.BLHD);

    private final int heads, dimHead;
    private final Tensor toQ, toK, toV, toOutWeight, toOutBias;

    private Attention(int heads, int dimHead, Tensor toQ, Tensor toK, Tensor toV, Tensor toOutWeight,
            Tensor toOutBias) {
        this.heads = heads;
        this.dimHead = dimHead;
        this.toQ = toQ;
        this.toK = toK;
        this.toV = toV;
        this.toOutWeight = toOutWeight;
        this.toOutBias = toOutBias;
    }

    /**
     * @param w the model's weights
     * @param prefix ending in '.' ({@code ...transformer_blocks.0.attn2.})
     * @param queryDim width of x
     * @param contextDim width of the context (queryDim for self-attention)
     * @param heads attention heads
     * @param dimHead channels per head
     */
    static Attention load(ModuleWeights w, String prefix, int queryDim, int contextDim, int heads, int dimHead)
            throws IOException {
        long inner = (long) heads * dimHead;
        return new Attention(heads, dimHead, w.get(prefix + "to_q.weight", inner, queryDim),
                w.get(prefix + "to_k.weight", inner, contextDim), w.get(prefix + "to_v.weight", inner, contextDim),
                w.get(prefix + "to_out.0.weight", queryDim, inner), w.get(prefix + "to_out.0.bias", queryDim));
    }

    /**
     * @param ctx the context holding the weights
     * @param x [N, L, query_dim]
     * @param context [N, S, context_dim], or null for self-attention
     * @return a new tensor [N, L, query_dim]
     */
    Tensor forward(Inkwell ctx, Tensor x, Tensor context) {
        Tensor kv = context == null ? x : context;
        long n = x.dim(0), l = x.dim(1), s = kv.dim(1);
        var nn = ctx.layers();
        try (Tensor q = nn.linear(x, toQ, null);
                Tensor k = nn.linear(kv, toK, null);
                Tensor v = nn.linear(kv, toV, null);
                Tensor a = ctx.attention(q.view(n, l, heads, dimHead), k.view(n, s, heads, dimHead),
                        v.view(n, s, heads, dimHead), BLHD)) {
            return nn.linear(a.view(n, l, (long) heads * dimHead), toOutWeight, toOutBias);
        }
    }
}
