package dev.inkwell.models;

import dev.inkwell.Conv2dOptions;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The encoder half that UNet2DConditionModel and ControlNetModel share, with diffusers' names
 * (unet_2d_condition.py / controlnet.py): {@code time_proj} (Timesteps) and
 * {@code time_embedding}, {@code conv_in} (3x3, padding 1), {@code down_blocks.i} and
 * {@code mid_block}. Sizes from a {@link UNetSpec}; immutable; the weights belong to the model's
 * {@link ModuleWeights}.
 */
final class UNetEncoder {
    private static final Conv2dOptions CONV3 = Conv2dOptions.defaults().withPadding(1);

    private final UNetSpec spec;
    private final Timesteps timeProj;
    private final TimestepEmbedding timeEmbedding;
    private final Tensor convInWeight, convInBias;
    private final List<UNetDownBlock> downBlocks;
    private final UNetMidBlock2DCrossAttn midBlock;

    private UNetEncoder(UNetSpec spec, TimestepEmbedding timeEmbedding, Tensor convInWeight, Tensor convInBias,
            List<UNetDownBlock> downBlocks, UNetMidBlock2DCrossAttn midBlock) {
        this.spec = spec;
        this.timeProj = new Timesteps(spec.blockOutChannels().get(0), spec.flipSinToCos(), spec.freqShift());
        this.timeEmbedding = timeEmbedding;
        this.convInWeight = convInWeight;
        this.convInBias = convInBias;
        this.downBlocks = downBlocks;
        this.midBlock = midBlock;
    }

    static UNetEncoder load(ModuleWeights w, UNetSpec s) throws IOException {
        List<Integer> ch = s.blockOutChannels();
        int first = ch.get(0);
        Tensor convInWeight = w.get("conv_in.weight", first, s.inChannels(), 3, 3);
        Tensor convInBias = w.get("conv_in.bias", first);
        TimestepEmbedding te = TimestepEmbedding.load(w, "time_embedding.", first, s.timeEmbedDim());
        List<UNetDownBlock> down = new ArrayList<>();
        for (int i = 0; i < s.levels(); i++) {
            int in = i == 0 ? first : ch.get(i - 1);
            boolean addDownsample = i < s.levels() - 1;
            String prefix = "down_blocks." + i + ".";
            down.add(s.crossAttention().get(i)
                    ? CrossAttnDownBlock2D.load(w, prefix, s, i, in, ch.get(i), addDownsample)
                    : DownBlock2D.load(w, prefix, s, i, in, ch.get(i), addDownsample));
        }
        UNetMidBlock2DCrossAttn mid = UNetMidBlock2DCrossAttn.load(w, "mid_block.", s);
        return new UNetEncoder(s, te, convInWeight, convInBias, List.copyOf(down), mid);
    }

    /** {@code time_embedding(time_proj(timestep))} for a batch of n: a new [n, time_embed_dim]. */
    Tensor timeEmbedding(Inkwell ctx, double timestep, long n) {
        Tensor t = timeProj.forward(ctx, timestep, n);
        return Forward.then(t, true, x -> timeEmbedding.forward(ctx, x));
    }

    /** {@code conv_in(sample)}: a new [N, block_out_channels[0], H, W]. */
    Tensor convIn(Inkwell ctx, Tensor sample) {
        return ctx.conv2d(sample, convInWeight, convInBias, CONV3);
    }

    /**
     * The down blocks on the last entry of {@code states} (conv_in's output, which the caller
     * put there), appending every block's output states; see {@link UNetDownBlock#forward}.
     */
    void down(Inkwell ctx, Tensor temb, Tensor encoderHiddenStates, List<Tensor> states) {
        for (UNetDownBlock b : downBlocks) {
            b.forward(ctx, states.getLast(), temb, encoderHiddenStates, states);
        }
    }

    /** {@code mid_block(x, temb, encoder_hidden_states)}: a new tensor shaped like x. */
    Tensor mid(Inkwell ctx, Tensor x, Tensor temb, Tensor encoderHiddenStates) {
        return midBlock.forward(ctx, x, temb, encoderHiddenStates);
    }

    /**
     * The shapes of the down-block output states (diffusers' {@code down_block_res_samples}) for
     * a sample [n, in, h, w]: conv_in's, then per level layers_per_block at the level's size and,
     * but at the deepest level, the downsampler's (each Downsample2D halves, rounding up with
     * padding 1 and down with padding 0).
     */
    List<long[]> stateShapes(long n, long h, long w) {
        List<long[]> shapes = new ArrayList<>();
        shapes.add(new long[] {n, spec.blockOutChannels().get(0), h, w});
        for (int i = 0; i < spec.levels(); i++) {
            long c = spec.blockOutChannels().get(i);
            for (int j = 0; j < spec.layersPerBlock().get(i); j++) {
                shapes.add(new long[] {n, c, h, w});
            }
            if (i < spec.levels() - 1) {
                h = halve(h);
                w = halve(w);
                shapes.add(new long[] {n, c, h, w});
            }
        }
        return shapes;
    }

    /** A Downsample2D's output size: conv 3x3 stride 2 with padding 1 (ceil) or the pad-(0,1) form (floor). */
    long halve(long size) {
        return spec.downsamplePadding() == 1 ? (size + 1) / 2 : size / 2;
    }
}
