package dev.inkwell.models;

import dev.inkwell.Device;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;

/**
 * diffusers' {@code Timesteps} (embeddings.py): the sinusoidal embedding of the timestep,
 * {@code get_timestep_embedding(timesteps, num_channels, flip_sin_to_cos, downscale_freq_shift)}
 * with scale 1 and max_period 10000, for one timestep shared by the batch (diffusers expands a
 * scalar timestep to the batch). The timestep is rounded to float32 first, as diffusers'
 * {@code timesteps[:, None].float()} does.
 *
 * @param numChannels the embedding's width (block_out_channels[0])
 * @param flipSinToCos cos first
 * @param downscaleFreqShift freq_shift
 */
record Timesteps(int numChannels, boolean flipSinToCos, double downscaleFreqShift) {
    /**
     * @param ctx the context
     * @param timestep finite
     * @param batch N
     * @return a new tensor [N, numChannels] in the context's memory
     */
    Tensor forward(Inkwell ctx, double timestep, long batch) {
        float[] t = new float[Math.toIntExact(batch)];
        java.util.Arrays.fill(t, (float) timestep);
        try (Tensor host = Tensor.fromArray(t, batch);
                Tensor steps = ctx.device() == Device.CPU ? null : ctx.copyToDevice(host)) {
            return ctx.layers().timestepEmbedding(steps == null ? host : steps, numChannels, flipSinToCos,
                    downscaleFreqShift, 1, 10000);
        }
    }
}
