package dev.inkwell.models;

import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.util.List;

/** One level of a U-Net's encoder half: CrossAttnDownBlock2D or DownBlock2D. */
interface UNetDownBlock {
    /**
     * Runs the level on x and appends its output states (diffusers' {@code res_samples}: each
     * resnet's (and attention's) output, then the downsampler's) to {@code states}, which owns
     * them from then on, also when this throws. The level's output is the last state.
     *
     * @param ctx the context holding the weights
     * @param x [N, in, H, W], not closed here
     * @param temb [N, temb_channels]
     * @param encoderHiddenStates [N, S, cross_attention_dim] (unused without attention)
     * @param states where the output states go
     */
    void forward(Inkwell ctx, Tensor x, Tensor temb, Tensor encoderHiddenStates, List<Tensor> states);
}
