package dev.inkwell.pipeline;

import dev.inkwell.DdimScheduler;
import dev.inkwell.Device;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import dev.inkwell.Workspace;
import dev.inkwell.models.AutoencoderKL;
import dev.inkwell.models.AutoencoderKLConfig;
import dev.inkwell.models.ControlNetModel;
import dev.inkwell.models.ControlNetModelConfig;
import dev.inkwell.models.SafeTensors;
import dev.inkwell.models.UNet2DConditionModel;
import dev.inkwell.models.UNet2DConditionModelConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * The image half of the ControlNet pipeline: from prompt embeddings, a control image and start
 * latents to the picture, as diffusers' {@code StableDiffusionControlNetPipeline(prompt_embeds=...,
 * negative_prompt_embeds=..., image=..., latents=..., output_type="pt")} (v0.21.4) with a
 * {@code DDIMScheduler}: the U-Net, ControlNet and the VAE, and the DDIM loop of
 * {@code DenoisingLoop}. {@link ControlNetColorizer} adds the text encoder and the annotator.
 *
 * <p>Threads and memory as {@link ControlNetColorizer}: the weights are owned and freed by
 * {@link #close()}; calls only read them; the bits do not depend on the thread count. A call's
 * activations live in a {@link Workspace} of its own, so that steps after the first allocate
 * nothing; it is freed when the call returns.
 */
public final class ControlNetDenoiser implements AutoCloseable {
    private final Inkwell inkwell;
    private final AutoencoderKLConfig vaeConfig;
    private final int crossAttentionDim;
    private final boolean globalPoolConditions;
    private final AutoencoderKL vae;
    private final DenoisingLoop loop;
    private final List<AutoCloseable> owned;
    private volatile boolean closed;

    ControlNetDenoiser(Inkwell inkwell, DdimScheduler scheduler, AutoencoderKL vae, int crossAttentionDim,
            boolean globalPoolConditions, DenoisingLoop.UNet unet, DenoisingLoop.ControlNet controlnet,
            List<AutoCloseable> owned) {
        this.inkwell = inkwell;
        this.vae = vae;
        this.vaeConfig = vae.config();
        this.crossAttentionDim = crossAttentionDim;
        this.globalPoolConditions = globalPoolConditions;
        this.loop = new DenoisingLoop(inkwell, scheduler, unet, controlnet);
        this.owned = List.copyOf(owned);
    }

    /**
     * Loads the three models (float32; float16/bfloat16 weights, or only an {@code fp16}
     * variant, widened once) after checking from their configs that they fit together.
     *
     * @param unetDir a {@code unet} folder ({@code config.json} and weights)
     * @param controlnetDir a ControlNet folder
     * @param vaeDir a {@code vae} folder
     * @param scheduler the DDIM schedule
     * @param inkwell where the weights live and the passes run; it must outlive the denoiser
     * @return the denoiser, which the caller closes
     * @throws IOException naming the file and field if a config is invalid or the models do not
     *     fit together (every problem one line), or a weight is missing or misshaped
     * @throws NullPointerException if an argument is null
     * @throws IllegalStateException if the context is closed
     */
    public static ControlNetDenoiser load(Path unetDir, Path controlnetDir, Path vaeDir, DdimScheduler scheduler,
            Inkwell inkwell) throws IOException {
        Objects.requireNonNull(unetDir, "unetDir");
        Objects.requireNonNull(controlnetDir, "controlnetDir");
        Objects.requireNonNull(vaeDir, "vaeDir");
        Objects.requireNonNull(scheduler, "scheduler");
        Objects.requireNonNull(inkwell, "inkwell");
        Path uf = unetDir.resolve("config.json"), cf = controlnetDir.resolve("config.json");
        Path vf = vaeDir.resolve("config.json");
        UNet2DConditionModelConfig unetConfig = UNet2DConditionModelConfig.read(uf);
        ControlNetModelConfig cnConfig = ControlNetModelConfig.read(cf);
        AutoencoderKLConfig vaeConfig = AutoencoderKLConfig.read(vf);
        List<String> problems = ModelFolders.fitProblems(uf, unetConfig, cf, cnConfig, vf, vaeConfig);
        if (!problems.isEmpty()) {
            throw new IOException(problems.size() == 1 ? problems.get(0)
                    : "the models do not fit together (" + problems.size() + " problems):\n  "
                            + String.join("\n  ", problems));
        }
        List<AutoCloseable> owned = new ArrayList<>();
        try {
            AutoencoderKL vae;
            try (SafeTensors weights = SafeTensors.open(vaeDir, ModelFolders.variant(vaeDir))) {
                vae = keep(owned, AutoencoderKL.load(vaeConfig, weights, inkwell));
            }
            probeDecode(vaeDir, vae, vaeConfig, inkwell);
            UNet2DConditionModel unet = keep(owned,
                    UNet2DConditionModel.load(unetDir, ModelFolders.variant(unetDir), inkwell));
            ControlNetModel cn = keep(owned,
                    ControlNetModel.load(controlnetDir, ModelFolders.variant(controlnetDir), inkwell));
            DenoisingLoop.ControlNet residuals = (sample, t, ehs, cond, scale, guess) -> {
                ControlNetModel.Output o = cn.forward(sample, t, ehs, cond, scale, guess);
                return new DenoisingLoop.Residuals(o.downBlockResSamples(), o.midBlockResSample());
            };
            return new ControlNetDenoiser(inkwell, scheduler, vae, unetConfig.crossAttentionDim(),
                    cnConfig.globalPoolConditions(), unet::forward, residuals, owned);
        } catch (IOException | RuntimeException | Error e) {
            DenoisingLoop.closeAll(owned);
            throw e;
        }
    }

    /**
     * Decodes one 1x1 latent (an 8x8 picture for SD: milliseconds) so that a VAE this version
     * cannot run fails now, naming the folder, rather than after the last denoising step.
     */
    private static void probeDecode(Path vaeDir, AutoencoderKL vae, AutoencoderKLConfig config, Inkwell inkwell)
            throws IOException {
        try (Tensor host = Tensor.allocate(1, config.latentChannels(), 1, 1);
                Tensor z = inkwell.device() == Device.CPU ? null : inkwell.copyToDevice(host);
                Tensor image = vae.decode(z == null ? host : z)) {
            image.shape(); // decoded: every layer of the decoder ran once
        } catch (IllegalArgumentException e) {
            throw new IOException(vaeDir + ": this VAE cannot decode here (" + e.getMessage() + ")", e);
        }
    }

    private static <T extends AutoCloseable> T keep(List<AutoCloseable> owned, T model) {
        owned.add(model);
        return model;
    }

    /**
     * The VAE's downsampling factor: 2^(levels - 1), 8 for Stable Diffusion.
     *
     * @return the factor between the picture's and the latents' sides
     */
    public int scaleFactor() {
        return 1 << (vaeConfig.blockOutChannels().size() - 1);
    }

    /**
     * The latent channels (the VAE's {@code latent_channels}, 4 for Stable Diffusion).
     *
     * @return the channels of the latents
     */
    public int latentChannels() {
        return vaeConfig.latentChannels();
    }

    /**
     * The picture from embeddings, a control image and start latents.
     *
     * @param promptEmbeds [1, L, cross_attention_dim] float32: the text encoder's last hidden
     *     state of the prompt
     * @param negativePromptEmbeds the same for the negative prompt; may be null when the
     *     options' guidance scale is at most 1 (no guidance)
     * @param controlImage [1, 3, H, W] float32 in [0, 1], H and W multiples of {@link #scaleFactor()}
     * @param latents [1, latent_channels, H / f, W / f] float32, or null to draw them from the
     *     options' seed (Inkwell's noise stream)
     * @param options steps, guidance, eta, seed, strength, guess mode, control guidance window
     *     (the text and Canny fields are not used)
     * @param progress told after each step, or null
     * @param cancelled polled between steps, or null
     * @return the picture [1, 3, H, W] float32 in [0, 1] ({@code (decoded / 2 + 0.5).clamp(0, 1)})
     *     in host memory, which the caller closes
     * @throws NullPointerException if a required argument is null
     * @throws IllegalArgumentException naming the tensor whose shape does not fit
     * @throws CancellationException if cancelled between steps
     * @throws IllegalStateException if the denoiser, the context or an argument is closed
     */
    public Tensor generate(Tensor promptEmbeds, Tensor negativePromptEmbeds, Tensor controlImage, Tensor latents,
            ColorizeOptions options, ColorizeProgress progress, BooleanSupplier cancelled) {
        checkOpen();
        try (Workspace ws = Workspace.create(inkwell)) {
            return run(promptEmbeds, negativePromptEmbeds, controlImage, latents, options, progress, cancelled, ws)
                    .image();
        }
    }

    /** The picture and how long the loop and the decode took. */
    record Result(Tensor image, long denoiseNanos, long decodeNanos) {}

    /**
     * {@link #generate} with the activations in {@code ws} (bound here for the loop and the
     * decode, and trimmed between them: the decode's shapes are others, so the workspace holds
     * the larger of the two peaks rather than their sum). The picture is host memory outside it.
     */
    Result run(Tensor cond, Tensor uncond, Tensor controlImage, Tensor latents, ColorizeOptions o,
            ColorizeProgress progress, BooleanSupplier cancelled, Workspace ws) {
        return ws.call(() -> runBound(cond, uncond, controlImage, latents, o, progress, cancelled, ws));
    }

    private Result runBound(Tensor cond, Tensor uncond, Tensor controlImage, Tensor latents, ColorizeOptions o,
            ColorizeProgress progress, BooleanSupplier cancelled, Workspace ws) {
        Objects.requireNonNull(cond, "promptEmbeds");
        Objects.requireNonNull(controlImage, "controlImage");
        Objects.requireNonNull(o, "options");
        checkOpen();
        boolean cfg = o.classifierFreeGuidance();
        if (cfg) {
            Objects.requireNonNull(uncond, "negativePromptEmbeds (required when the guidance scale is above 1)");
        }
        checkShape("promptEmbeds", cond, 1, -1, crossAttentionDim);
        if (cfg) {
            checkShape("negativePromptEmbeds", uncond, cond.shape());
        }
        int factor = scaleFactor();
        long[] c = controlImage.shape();
        if (c.length != 4 || c[0] != 1 || c[1] != 3 || c[2] % factor != 0 || c[3] % factor != 0) {
            throw new IllegalArgumentException("controlImage must be [1, 3, H, W] with H and W multiples of " + factor
                    + ", got " + Arrays.toString(c));
        }
        long[] latentShape = {1, latentChannels(), c[2] / factor, c[3] / factor};
        if (latents != null) {
            checkShape("latents", latents, latentShape);
        }
        List<AutoCloseable> temps = new ArrayList<>();
        try {
            Tensor dCond = device(cond, temps), dUncond = cfg ? device(uncond, temps) : null;
            Tensor dControl = device(controlImage, temps);
            Tensor start;
            if (latents != null) {
                start = latents;
            } else {
                start = Tensor.allocate(inkwell, latentShape);
                temps.add(start);
                inkwell.randn(start, o.seed()); // elements 0..n-1 of the stream; init_noise_sigma is 1 for DDIM
            }
            boolean guess = o.guessMode() || globalPoolConditions; // as diffusers
            long t0 = System.nanoTime();
            Tensor x = loop.run(start, dCond, dUncond, dControl, o, guess, progress, cancelled);
            temps.add(x);
            DenoisingLoop.checkCancelled(cancelled);
            long t1 = System.nanoTime();
            ws.trim(); // the loop's free blocks; the decode's sizes are others
            Tensor image = decode(x);
            return new Result(image, t1 - t0, System.nanoTime() - t1);
        } finally {
            DenoisingLoop.closeAll(temps);
        }
    }

    /** {@code (vae.decode(latents / scaling_factor) / 2 + 0.5).clamp(0, 1)} in float32, into host memory. */
    private Tensor decode(Tensor latents) {
        float[] z = latents.toArray();
        float s = (float) vaeConfig.scalingFactor();
        for (int i = 0; i < z.length; i++) {
            z[i] /= s;
        }
        try (Tensor host = Tensor.fromArray(z, latents.shape());
                Tensor scaled = inkwell.device() == Device.CPU ? null : inkwell.copyToDevice(host);
                Tensor decoded = vae.decode(scaled == null ? host : scaled)) {
            float[] v = decoded.toArray();
            for (int i = 0; i < v.length; i++) {
                float y = v[i] / 2f + 0.5f;
                v[i] = Float.isNaN(y) ? y : Math.min(1f, Math.max(0f, y)); // torch's clamp: NaN stays NaN
            }
            return Tensor.fromArray(v, decoded.shape());
        }
    }

    private Tensor device(Tensor t, List<AutoCloseable> temps) {
        if (t.device() == inkwell.device()) {
            return t;
        }
        Tensor d = inkwell.copyToDevice(t);
        temps.add(d);
        return d;
    }

    private static void checkShape(String name, Tensor t, long... want) {
        long[] s = t.shape();
        boolean ok = s.length == want.length;
        for (int i = 0; ok && i < s.length; i++) {
            ok = want[i] < 0 || s[i] == want[i];
        }
        if (!ok) {
            throw new IllegalArgumentException(name + " is " + Arrays.toString(s) + ", expected "
                    + Arrays.toString(want).replace("-1", "any"));
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the denoiser is closed");
        }
    }

    /** Frees the models' weights. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        DenoisingLoop.closeAll(owned);
    }
}
