package dev.inkwell.models;

import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code Transformer2DModel} (transformer_2d.py) for continuous inputs, as the SD
 * U-Net's cross-attention blocks build it. On x [N, C, H, W]:
 * <pre>
 * h = norm(x)                                  GroupNorm(norm_num_groups, C, eps 1e-6)
 * h = proj_in(h) as tokens [N, H*W, inner]     inner = heads * dim_head
 * h = transformer_blocks[i](h, encoder_hidden_states)   for each of num_layers
 * out = proj_out(h) back as [N, C, H, W] + x
 * </pre>
 * proj_in / proj_out are Linear layers with {@code use_linear_projection} (SD 2.x), else 1x1
 * convolutions (SD 1.x, weights [out, in, 1, 1]). A 1x1 convolution is the same linear map of
 * each pixel's channels, so both run as a Linear on the tokens: the convolution's weight is viewed
 * as [out, in], and the NCHW/token layout changes are transposes ({@code TensorOps.transpose}).
 * Weights {@code norm}, {@code proj_in}, {@code transformer_blocks.i}, {@code proj_out}.
 */
final class Transformer2DModel {
    /** diffusers builds this group norm with eps=1e-6 whatever the U-Net's norm_eps. */
    private static final double GROUP_NORM_EPS = 1e-6;

    private final int channels, groups;
    private final Tensor normWeight, normBias, projInWeight, projInBias, projOutWeight, projOutBias;
    private final List<BasicTransformerBlock> blocks;

    private Transformer2DModel(int channels, int groups, Tensor[] t, List<BasicTransformerBlock> blocks) {
        this.channels = channels;
        this.groups = groups;
        normWeight = t[0];
        normBias = t[1];
        projInWeight = t[2];
        projInBias = t[3];
        projOutWeight = t[4];
        projOutBias = t[5];
        this.blocks = blocks;
    }

    /**
     * @param w the model's weights
     * @param prefix ending in '.' ({@code down_blocks.0.attentions.1.})
     * @param channels C, in and out
     * @param heads attention heads, dividing C (dim_head = C / heads, inner = C)
     * @param layers transformer blocks
     * @param crossAttentionDim width of encoder_hidden_states
     * @param groups the group norm's groups
     * @param linearProjection Linear proj_in/proj_out (else 1x1 convolutions)
     */
    static Transformer2DModel load(ModuleWeights w, String prefix, int channels, int heads, int layers,
            int crossAttentionDim, int groups, boolean linearProjection) throws IOException {
        int dimHead = channels / heads, inner = heads * dimHead;
        Tensor[] t = new Tensor[6];
        t[0] = w.get(prefix + "norm.weight", channels);
        t[1] = w.get(prefix + "norm.bias", channels);
        t[2] = projection(w, prefix + "proj_in.weight", inner, channels, linearProjection);
        t[3] = w.get(prefix + "proj_in.bias", inner);
        List<BasicTransformerBlock> blocks = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            blocks.add(BasicTransformerBlock.load(w, prefix + "transformer_blocks." + i + ".", inner, heads, dimHead,
                    crossAttentionDim));
        }
        t[4] = projection(w, prefix + "proj_out.weight", channels, inner, linearProjection);
        t[5] = w.get(prefix + "proj_out.bias", channels);
        return new Transformer2DModel(channels, groups, t, List.copyOf(blocks));
    }

    /** A Linear weight [out, in], or a 1x1 convolution's [out, in, 1, 1] viewed as one. */
    private static Tensor projection(ModuleWeights w, String name, int out, int in, boolean linear)
            throws IOException {
        return linear ? w.get(name, out, in) : w.get(name, out, in, 1, 1).view(out, in);
    }

    /**
     * @param ctx the context holding the weights
     * @param x [N, C, H, W]
     * @param encoderHiddenStates [N, S, cross_attention_dim]
     * @return a new tensor [N, C, H, W]
     */
    Tensor forward(Inkwell ctx, Tensor x, Tensor encoderHiddenStates) {
        long n = x.dim(0), hw = x.dim(2) * x.dim(3);
        Tensor h;
        try (Tensor normed = ctx.layers().groupNorm(x, groups, normWeight, normBias, GROUP_NORM_EPS);
                Tensor tokens = ctx.ops().transpose(normed.view(n, channels, hw), 1, 2)) {
            h = ctx.layers().linear(tokens, projInWeight, projInBias);
        }
        for (BasicTransformerBlock b : blocks) {
            h = Forward.then(h, true, t -> b.forward(ctx, t, encoderHiddenStates));
        }
        try (Tensor o = Forward.then(h, true, t -> ctx.layers().linear(t, projOutWeight, projOutBias))) {
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
