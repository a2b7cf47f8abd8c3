package dev.inkwell.models;

import dev.inkwell.ElementType;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One U-Net building block on its own, for benchmarks: the model's own {@code ResnetBlock2D}
 * or {@code BasicTransformerBlock} class (the code the U-Net runs, not a copy), on weights
 * made up in memory as {@link UNet2DConditionModel#random} makes them (each tensor from the
 * seed and its state-dict name: matrices and kernels uniform with standard deviation
 * 1/sqrt(fan_in), norm weights 1, biases in [-0.01, 0.01]). {@link #stateDict()} hands the
 * same weights, under diffusers' names, to another library so that it can build the same
 * block. Not thread-safe; one pass at a time. Close it to free the weights.
 */
public final class ModelBlocks implements AutoCloseable {
    /** The block's pass; the condition is the time embedding or the encoder hidden states. */
    @FunctionalInterface
    private interface Pass {
        Tensor forward(Inkwell ctx, Tensor x, Tensor condition);
    }

    private final Inkwell context;
    private final ModuleWeights weights;
    private final List<String> names;
    private final List<Tensor> tensors;
    private final Pass pass;
    private boolean closed;

    private ModelBlocks(Inkwell context, ModuleWeights weights, List<String> names, List<Tensor> tensors, Pass pass) {
        this.context = context;
        this.weights = weights;
        this.names = names;
        this.tensors = tensors;
        this.pass = pass;
    }

    /**
     * diffusers' {@code ResnetBlock2D} with a time embedding, as in the SD U-Net: group norm +
     * silu, 3x3 conv, time_emb_proj of silu(temb) added per channel, group norm + silu, 3x3
     * conv, residual (a 1x1 conv_shortcut when the channel count changes).
     *
     * @param context where the weights live and the pass runs
     * @param seed the weights' seed
     * @param inChannels input channels (positive, divisible by groups)
     * @param outChannels output channels (positive, divisible by groups)
     * @param tembChannels width of the time embedding (positive; 1280 in SD 1.5)
     * @param groups the group norms' groups
     * @param eps the group norms' epsilon (1e-5 in the U-Net)
     * @return the block; {@link #forward} takes x [N, in, H, W] and temb [N, tembChannels]
     * @throws NullPointerException if context is null
     * @throws IllegalArgumentException if a size is not positive or groups does not divide the channels
     */
    public static ModelBlocks resnetBlock2D(Inkwell context, long seed, int inChannels, int outChannels,
            int tembChannels, int groups, double eps) {
        if (inChannels <= 0 || outChannels <= 0 || tembChannels <= 0 || groups <= 0 || inChannels % groups != 0
                || outChannels % groups != 0 || !(eps > 0)) {
            throw new IllegalArgumentException("ResnetBlock2D in " + inChannels + ", out " + outChannels + ", temb "
                    + tembChannels + ", groups " + groups + ", eps " + eps
                    + ": sizes and eps must be positive and groups must divide in and out");
        }
        return build(context, seed, w -> {
            ResnetBlock2D block = ResnetBlock2D.load(w, "", inChannels, outChannels, tembChannels, groups, eps);
            return block::forward;
        });
    }

    /**
     * diffusers' {@code BasicTransformerBlock} as the SD U-Net's Transformer2DModel builds it:
     * layer norm + self-attention, layer norm + cross-attention, layer norm + GEGLU feed-forward
     * (inner width 4 dim), each with its residual; attention without biases on q, k, v.
     *
     * @param context where the weights live and the pass runs
     * @param seed the weights' seed
     * @param heads attention heads (positive)
     * @param dimHead channels per head (positive); the tokens' width is heads * dimHead
     * @param crossAttentionDim width of the encoder hidden states (positive; 768 in SD 1.5)
     * @return the block; {@link #forward} takes x [N, L, heads * dimHead] and the encoder
     *     hidden states [N, S, crossAttentionDim]
     * @throws NullPointerException if context is null
     * @throws IllegalArgumentException if a size is not positive
     */
    public static ModelBlocks basicTransformerBlock(Inkwell context, long seed, int heads, int dimHead,
            int crossAttentionDim) {
        if (heads <= 0 || dimHead <= 0 || crossAttentionDim <= 0) {
            throw new IllegalArgumentException("BasicTransformerBlock heads " + heads + ", dim_head " + dimHead
                    + ", cross_attention_dim " + crossAttentionDim + ": all must be positive");
        }
        return build(context, seed, w -> {
            BasicTransformerBlock block = BasicTransformerBlock.load(w, "", heads * dimHead, heads, dimHead,
                    crossAttentionDim);
            return block::forward;
        });
    }

    @FunctionalInterface
    private interface Loader {
        Pass load(ModuleWeights w) throws IOException;
    }

    /** Loads through a source that records each tensor's name in load order (the state dict's keys). */
    private static ModelBlocks build(Inkwell context, long seed, Loader loader) {
        Objects.requireNonNull(context, "context");
        RandomWeights random = new RandomWeights(seed);
        List<String> names = new ArrayList<>();
        List<Tensor> tensors = new ArrayList<>();
        ModuleWeights w = new ModuleWeights((name, ctx, type, shape) -> {
            Tensor t = random.load(name, ctx, type, shape);
            names.add(name);
            tensors.add(t);
            return t;
        }, context, ElementType.FLOAT32);
        try {
            return new ModelBlocks(context, w, names, tensors, loader.load(w));
        } catch (IOException e) {
            w.close();
            throw new UncheckedIOException(e); // a generator does not read files
        } catch (RuntimeException | Error e) {
            w.close();
            throw e;
        }
    }

    /**
     * One pass of the block.
     *
     * @param x the input: [N, in, H, W] for ResnetBlock2D, [N, L, dim] for BasicTransformerBlock
     * @param condition the time embedding [N, temb] (before its silu) or the encoder hidden
     *     states [N, S, cross_attention_dim]
     * @return a new tensor, [N, out, H, W] or [N, L, dim], which the caller closes
     * @throws NullPointerException if x or condition is null
     * @throws IllegalStateException if this block is closed
     * @throws IllegalArgumentException if a shape does not fit the block (from the layers)
     */
    public Tensor forward(Tensor x, Tensor condition) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(condition, "condition");
        checkOpen();
        return pass.forward(context, x, condition);
    }

    /**
     * The weights as diffusers' state dict of this block names them ({@code norm1.weight},
     * {@code conv1.weight}, {@code attn1.to_q.weight}, {@code ff.net.0.proj.weight}, ...), each
     * a copy in C order (PyTorch's layouts: conv [out, in, kh, kw], linear [out, in]).
     *
     * @return a new unmodifiable map in load order
     * @throws IllegalStateException if this block is closed
     */
    public Map<String, float[]> stateDict() {
        checkOpen();
        Map<String, float[]> out = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) {
            out.put(names.get(i), tensors.get(i).toArray());
        }
        return Collections.unmodifiableMap(out);
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("this ModelBlocks block is closed");
        }
    }

    /** Frees the weights; idempotent. */
    @Override
    public void close() {
        closed = true;
        weights.close();
    }
}
