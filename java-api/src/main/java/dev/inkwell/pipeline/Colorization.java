package dev.inkwell.pipeline;

import dev.inkwell.Image;

/**
 * What {@link ControlNetColorizer#colorize} made: the colored picture, the control map it
 * followed, the seed of its start latents and how long each phase took. Closing it closes both
 * images.
 *
 * @param image the colored picture, 8-bit RGB in host memory, the control map's size
 * @param control the Canny control map ControlNet saw (8-bit, 3 equal channels, host memory)
 * @param seed the seed of the start latents (and of eta's noise)
 * @param annotateNanos HWC3, resize and Canny
 * @param encodeNanos tokenizing and the text encoder (both prompts)
 * @param denoiseNanos the DDIM loop (ControlNet, U-Net, steps)
 * @param decodeNanos the VAE decode and the conversion to 8 bits
 */
public record Colorization(Image image, Image control, long seed, long annotateNanos, long encodeNanos,
        long denoiseNanos, long decodeNanos) implements AutoCloseable {
    /** Closes both images. */
    @Override
    public void close() {
        try (control) {
            image.close();
        }
    }
}
