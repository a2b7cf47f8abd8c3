package dev.inkwell.models;

import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.util.List;

/** One level of a U-Net's decoder half: CrossAttnUpBlock2D or UpBlock2D. */
interface UNetUpBlock {
    /**
     * Runs the level: each resnet takes {@code cat([h, skip], dim=1)} with the skip popped from
     * the end of {@code skips} (closed once used, also when this throws).
     *
     * @param ctx the context holding the weights
     * @param x [N, prev_out, H, W], not closed here
     * @param temb [N, temb_channels]
     * @param encoderHiddenStates [N, S, cross_attention_dim] (unused without attention)
     * @param skips the remaining down-block output states, owned by the caller's list
     * @param upsampleSize null (the upsampler doubles H and W), or diffusers' {@code upsample_size}
     *     {height, width} the upsampler interpolates to; ignored at the last level
     * @return a new tensor [N, out, 2H, 2W] or [N, out, upsampleSize] ([N, out, H, W] at the last level)
     */
    Tensor forward(Inkwell ctx, Tensor x, Tensor temb, Tensor encoderHiddenStates, List<Tensor> skips,
            long[] upsampleSize);

    /**
     * diffusers' {@code len(upsample_block.resnets)}: how many skips {@link #forward} pops.
     *
     * @return the resnet count
     */
    int resnetCount();
}
