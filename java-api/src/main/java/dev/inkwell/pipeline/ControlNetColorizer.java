package dev.inkwell.pipeline;

import dev.inkwell.ClipTokenizer;
import dev.inkwell.ControlNetAnnotator;
import dev.inkwell.Device;
import dev.inkwell.ElementType;
import dev.inkwell.Image;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import dev.inkwell.Workspace;
import dev.inkwell.models.ClipTextModel;
import dev.inkwell.models.SafeTensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * ControlNet line-art colorization in one call: ControlNet's Canny annotator on the drawing,
 * the prompts through CLIP, DDIM with classifier-free guidance over Stable Diffusion's U-Net
 * steered by ControlNet, and the VAE to an 8-bit picture. It repeats diffusers'
 * {@code StableDiffusionControlNetPipeline} (v0.21.4) with a {@code DDIMScheduler} and
 * ControlNet's {@code gradio_canny2image.py} demo for the control map and the prompt:
 *
 * <pre>{@code
 * try (Inkwell inkwell = Inkwell.create();
 *      ControlNetColorizer colorizer = ControlNetColorizer.open(sd15, controlnetCanny, inkwell);
 *      Image drawing = Image.read(Path.of("drawing.png"));
 *      Colorization c = colorizer.colorize(drawing, ColorizeOptions.builder("a red bird").seed(42).build(),
 *              null, null, null)) {
 *     c.image().write(Path.of("colored.png"));
 * }
 * }</pre>
 *
 * <p><b>Differences from diffusers.</b> Start latents from a seed come from Inkwell's noise
 * stream ({@link Inkwell#randn}), not PyTorch's generator: the same seed gives other pictures
 * than diffusers; pass the latents ({@code .npy}) to get diffusers' picture. Under eta &gt; 0
 * the variance noise comes from the same stream (after the start latents' elements). Everything
 * computes in float32.
 *
 * <p><b>Threads and memory.</b> The models' weights are owned by the colorizer and freed by
 * {@link #close()}. A colorization's activations live in a {@link Workspace} of its own (blocks
 * reused from step to step, so that steps after the first allocate nothing), freed when it
 * returns. Calls only read the
 * weights, so several threads may colorize at once as far as the context may be shared; the
 * result's bits do not depend on the context's thread count. {@link #close()} must not run
 * during a call. Cancellation ({@code cancelled} returning true, or the thread interrupted) is
 * checked between steps and throws {@link CancellationException}; nothing is returned then.
 */
public final class ControlNetColorizer implements AutoCloseable {
    private final Inkwell inkwell;
    private final ModelFolders folders;
    private final ClipTokenizer tokenizer;
    private final ClipTextModel textEncoder;
    private final ControlNetDenoiser denoiser;
    private volatile boolean closed;

    private ControlNetColorizer(Inkwell inkwell, ModelFolders folders, ClipTokenizer tokenizer,
            ClipTextModel textEncoder, ControlNetDenoiser denoiser) {
        this.inkwell = inkwell;
        this.folders = folders;
        this.tokenizer = tokenizer;
        this.textEncoder = textEncoder;
        this.denoiser = denoiser;
    }

    /**
     * Opens a Stable Diffusion folder and a ControlNet folder (diffusers layout, see
     * {@link ModelFolders}): checks that they are complete and fit together from their JSON
     * files before reading any weight, then loads the tokenizer, the text encoder, the VAE, the
     * U-Net and ControlNet in float32 (weights stored as float16 or bfloat16, or only as the
     * {@code fp16} variant, are widened once).
     *
     * @param stableDiffusion the Stable Diffusion 1.x folder ({@code model_index.json}, unet/, vae/,
     *     text_encoder/, tokenizer/, scheduler/)
     * @param controlnet the ControlNet folder ({@code config.json} and weights)
     * @param inkwell the context the models live and run on; it must outlive the colorizer
     * @return the colorizer, which the caller closes
     * @throws IOException naming the file and field if a folder is incomplete, the models do
     *     not fit together (every problem one line), or a weight is missing or misshaped
     * @throws NullPointerException if an argument is null
     * @throws IllegalStateException if the context is closed
     */
    public static ControlNetColorizer open(Path stableDiffusion, Path controlnet, Inkwell inkwell)
            throws IOException {
        Objects.requireNonNull(inkwell, "inkwell");
        ModelFolders folders = ModelFolders.check(stableDiffusion, controlnet);
        ClipTokenizer tokenizer = ClipTokenizer.load(stableDiffusion.resolve("tokenizer"));
        Path textDir = stableDiffusion.resolve("text_encoder");
        ClipTextModel text;
        try (SafeTensors weights = SafeTensors.open(textDir, ModelFolders.variant(textDir))) {
            text = ClipTextModel.load(folders.textEncoder(), weights, inkwell, ElementType.FLOAT32);
        }
        try {
            ControlNetDenoiser denoiser = ControlNetDenoiser.load(stableDiffusion.resolve("unet"), controlnet,
                    stableDiffusion.resolve("vae"), folders.scheduler().scheduler(), inkwell);
            return new ControlNetColorizer(inkwell, folders, tokenizer, text, denoiser);
        } catch (IOException | RuntimeException | Error e) {
            text.close();
            throw e;
        }
    }

    /**
     * The checked model folders (scheduler, configurations, notes).
     *
     * @return the folders
     */
    public ModelFolders folders() {
        return folders;
    }

    /**
     * Colorizes a drawing: the Canny control map of ControlNet's demo (HWC3, resize_image to
     * the resolution, Canny), the prompt ({@link ColorizeOptions#fullPrompt()}) and the
     * negative prompt through the text encoder, the DDIM loop, and the VAE.
     *
     * @param drawing the line drawing (1, 3 or 4 channels; alpha composited over white), host
     *     or the context's memory
     * @param options the knobs
     * @param latents the start latents [1, latent_channels, H / 8, W / 8] float32 for the
     *     control map's H x W, or null to draw them from {@link ColorizeOptions#seed()}
     * @param progress told after each step, or null
     * @param cancelled polled between steps, or null
     * @return the picture and the control map, which the caller closes
     * @throws NullPointerException if the drawing or the options are null
     * @throws IllegalArgumentException if the latents do not fit the control map's size
     * @throws CancellationException if cancelled between steps
     * @throws IllegalStateException if the colorizer, the context or an argument is closed
     */
    public Colorization colorize(Image drawing, ColorizeOptions options, Tensor latents, ColorizeProgress progress,
            BooleanSupplier cancelled) {
        Objects.requireNonNull(drawing, "drawing");
        Objects.requireNonNull(options, "options");
        checkOpen();
        long t0 = System.nanoTime();
        Image control;
        try (Image map = new ControlNetAnnotator(inkwell).canny(drawing, options.resolution(), options.lowThreshold(),
                options.highThreshold())) {
            control = ControlNetAnnotator.hwc3(map); // the demo's HWC3(detected_map): 3 equal channels, host memory
        }
        // One workspace for the text encoder, the loop and the decode: each reuses the blocks the
        // one before freed where the sizes match, and the loop's steps after the first allocate nothing.
        try (Workspace ws = Workspace.create(inkwell)) {
            long t1 = System.nanoTime();
            return ws.call(() -> {
                try (Tensor controlImage = controlTensor(control);
                        Tensor cond = encodePrompt(options.fullPrompt());
                        Tensor uncond = options.classifierFreeGuidance() ? encodePrompt(options.negativePrompt())
                                : null) {
                    long t2 = System.nanoTime();
                    ControlNetDenoiser.Result r = denoiser.run(cond, uncond, controlImage, latents, options, progress,
                            cancelled, ws);
                    try (Tensor pixels = r.image()) {
                        Image image = toImage(pixels);
                        return new Colorization(image, control, options.seed(), t1 - t0, t2 - t1, r.denoiseNanos(),
                                r.decodeNanos());
                    }
                }
            });
        } catch (RuntimeException | Error e) {
            control.close();
            throw e;
        }
    }

    /**
     * The image half of the pipeline, from prompt embeddings and a control image (what
     * diffusers' {@code prompt_embeds} path takes); see {@link ControlNetDenoiser#generate}.
     *
     * @param promptEmbeds [1, L, hidden] float32
     * @param negativePromptEmbeds [1, L, hidden] float32; may be null without guidance
     * @param controlImage [1, 3, H, W] float32 in [0, 1]
     * @param latents [1, latent_channels, H / 8, W / 8] float32, or null to draw them from the seed
     * @param options steps, guidance, eta, seed, strength, guess mode, control guidance window
     * @param progress told after each step, or null
     * @param cancelled polled between steps, or null
     * @return the picture [1, 3, H, W] float32 in [0, 1] in host memory, which the caller closes
     * @throws NullPointerException if a required argument is null
     * @throws IllegalArgumentException naming the tensor whose shape does not fit
     * @throws CancellationException if cancelled between steps
     * @throws IllegalStateException if the colorizer, the context or an argument is closed
     */
    public Tensor generate(Tensor promptEmbeds, Tensor negativePromptEmbeds, Tensor controlImage, Tensor latents,
            ColorizeOptions options, ColorizeProgress progress, BooleanSupplier cancelled) {
        checkOpen();
        return denoiser.generate(promptEmbeds, negativePromptEmbeds, controlImage, latents, options, progress,
                cancelled);
    }

    /**
     * A picture [1, 3, H, W] in [0, 1] as an 8-bit RGB image, as diffusers' {@code numpy_to_pil}:
     * {@code (x * 255).round()} in float32, half to even.
     *
     * @param pixels [1, 3, H, W] float32 in [0, 1]
     * @return a new host image that the caller closes
     * @throws IllegalArgumentException if the shape is not [1, 3, H, W] or a value is NaN
     */
    public static Image toImage(Tensor pixels) {
        long[] s = pixels.shape();
        if (s.length != 4 || s[0] != 1 || s[1] != 3) {
            throw new IllegalArgumentException("pixels must be [1, 3, H, W], got " + Arrays.toString(s));
        }
        int h = Math.toIntExact(s[2]), w = Math.toIntExact(s[3]);
        float[] v = pixels.toArray();
        byte[] out = new byte[h * w * 3];
        int plane = h * w;
        for (int ch = 0; ch < 3; ch++) {
            for (int i = 0; i < plane; i++) {
                float x = v[ch * plane + i];
                if (Float.isNaN(x)) {
                    throw new IllegalArgumentException("pixel " + i + " of channel " + ch + " is NaN (the model "
                            + "diverged)");
                }
                float r = (float) Math.rint(x * 255f);
                out[i * 3 + ch] = (byte) Math.max(0, Math.min(255, (int) r));
            }
        }
        return Image.fromBytes(out, h, w, 3);
    }

    /**
     * The control image ControlNet sees: an 8-bit map as [1, 3, H, W] float32 / 255, in the
     * context's memory (what diffusers' control image processor makes of a PIL image).
     *
     * @param control an 8-bit image with 3 channels (ControlNetAnnotator.hwc3 of a Canny map)
     * @return a new tensor that the caller closes
     * @throws IllegalArgumentException unless the image has 3 channels
     */
    public Tensor controlTensor(Image control) {
        Objects.requireNonNull(control, "control");
        if (control.channels() != 3) {
            throw new IllegalArgumentException("control image must have 3 channels, got " + control.channels());
        }
        int h = control.height(), w = control.width(), plane = h * w;
        float[] v = new float[3 * plane];
        try (Image host = control.device() == Device.CPU ? null : inkwell.copyToHost(control)) {
            byte[] px = (host == null ? control : host).toByteArray();
            for (int i = 0; i < plane; i++) {
                for (int ch = 0; ch < 3; ch++) {
                    v[ch * plane + i] = (px[i * 3 + ch] & 0xFF) / 255f;
                }
            }
        }
        try (Tensor t = Tensor.fromArray(v, 1, 3, h, w)) {
            return inkwell.copyToDevice(t);
        }
    }

    /**
     * A prompt's embeddings: CLIP tokens (padded to 77) through the text encoder, its last
     * hidden state, as diffusers' {@code _encode_prompt} for one prompt.
     *
     * @param text the prompt
     * @return [1, 77, hidden] float32 in the context's memory, which the caller closes
     * @throws NullPointerException if {@code text} is null
     */
    public Tensor encodePrompt(String text) {
        Objects.requireNonNull(text, "text");
        checkOpen();
        return textEncoder.forward(new int[][] {tokenizer.encode(text)});
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the colorizer is closed");
        }
    }

    /** Frees every model's weights. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try (textEncoder) {
            denoiser.close();
        }
    }
}
