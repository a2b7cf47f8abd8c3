package dev.inkwell.models;

import dev.inkwell.AttentionLayout;
import dev.inkwell.AttentionOptions;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;

/**
 * The self-attention of diffusers' {@code UNetMidBlock2D} (the VAE's mid-block attention): an
 * {@code Attention} module (attention_processor.py) built with a group norm,
 * {@code residual_connection=True}, {@code rescale_output_factor=1} and biased projections, the
 * module diffusers once called {@code AttentionBlock}. On x [N, C, H, W]:
 * <pre>
 * h = group_norm(x) viewed as tokens [N, H*W, C]
 * q, k, v = to_q(h), to_k(h), to_v(h)                 (heads of C / heads channels)
 * a = softmax(q k^T / sqrt(C / heads)) v
 * out = x + to_out.0(a) back as [N, C, H, W]          (rescale 1, dropout none)
 * </pre>
 * The VAE has one head (attention_head_dim = C). The heads are views [N, L, heads, D] of the
 * projections read with the {@link AttentionLayout#BLHD} layout; the two layout changes are
 * transposes. Weights {@code <prefix>group_norm}, {@code to_q}, {@code to_k}, {@code to_v},
 * {@code to_out.0} (weight and bias each).
 */
final class AttentionBlock {
    private final int channels, heads, groups;
    private final double eps;
    private final Tensor groupNormWeight, groupNormBias, toQWeight, toQBias, toKWeight, toKBias, toVWeight, toVBias;
    private final Tensor toOutWeight, toOutBias;
    private final AttentionOptions options = AttentionOptions.defaults().withLayout(AttentionLayout.BLHD);

    private AttentionBlock(int channels, int heads, int groups, double eps, Tensor[] t) {
        this.channels = channels;
        this.heads = heads;
        this.groups = groups;
        this.eps = eps;
        groupNormWeight = t[0];
        groupNormBias = t[1];
        toQWeight = t[2];
        toQBias = t[3];
        toKWeight = t[4];
        toKBias = t[5];
        toVWeight = t[6];
        toVBias = t[7];
        toOutWeight = t[8];
        toOutBias = t[9];
    }

    /**
     * @param w the model's weights
     * @param prefix ending in '.' ({@code decoder.mid_block.attentions.0.})
     * @param channels C
     * @param heads dividing C (1 in the VAE)
     * @param groups the group norm's groups
     * @param eps the group norm's epsilon
     */
    static AttentionBlock load(ModuleWeights w, String prefix, int channels, int heads, int groups, double eps)
            throws IOException {
        if (heads < 1 || channels % heads != 0) {
            throw new IllegalArgumentException("attention heads " + heads + " do not divide channels " + channels);
        }
        Tensor[] t = new Tensor[10];
        t[0] = w.get(prefix + "group_norm.weight", channels);
        t[1] = w.get(prefix + "group_norm.bias", channels);
        String[] names = {"to_q.", "to_k.", "to_v.", "to_out.0."};
        for (int i = 0; i < names.length; i++) {
            t[2 + 2 * i] = w.get(prefix + names[i] + "weight", channels, channels);
            t[3 + 2 * i] = w.get(prefix + names[i] + "bias", channels);
        }
        return new AttentionBlock(channels, heads, groups, eps, t);
    }

    /** [N, C, H, W] to a new [N, C, H, W]. */
    Tensor forward(Inkwell ctx, Tensor x) {
        long n = x.dim(0), hw = x.dim(2) * x.dim(3);
        long d = channels / heads;
        var nn = ctx.layers();
        try (Tensor normed = nn.groupNorm(x, groups, groupNormWeight, groupNormBias, eps);
                Tensor tokens = ctx.ops().transpose(normed.view(n, channels, hw), 1, 2);
                Tensor q = nn.linear(tokens, toQWeight, toQBias);
                Tensor k = nn.linear(tokens, toKWeight, toKBias);
                Tensor v = nn.linear(tokens, toVWeight, toVBias);
                Tensor a = ctx.attention(q.view(n, hw, heads, d), k.view(n, hw, heads, d), v.view(n, hw, heads, d),
                        options);
                Tensor o = nn.linear(a.view(n, hw, channels), toOutWeight, toOutBias)) {
            // back to [N, C, H*W] written straight into the owned [N, C, H, W] result, then += x
            Tensor out = Tensor.allocate(ctx, x.shape());
            try {
                Tensor flat = out.view(n, channels, hw);
                ctx.ops().transpose(o, 1, 2, flat);
                ctx.ops().add(flat, x.view(n, channels, hw), flat);
                return out;
            } catch (RuntimeException | Error e) {
                out.close();
                throw e;
            }
        }
    }
}
