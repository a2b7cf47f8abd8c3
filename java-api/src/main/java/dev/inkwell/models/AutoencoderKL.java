package dev.inkwell.models;

import dev.inkwell.Conv2dOptions;
import dev.inkwell.Device;
import dev.inkwell.ElementType;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * diffusers' {@code AutoencoderKL} (the Stable Diffusion VAE) on Inkwell's layers: {@link #decode}
 * latents to images and {@link #encode} images to the posterior's mean and log-variance. Loaded
 * from a Hugging Face {@code vae} folder ({@code config.json} and
 * {@code diffusion_pytorch_model.safetensors}, or a sharded index) with diffusers' key names
 * ({@code decoder.up_blocks.0.resnets.0.conv1.weight}, ...).
 *
 * <pre>{@code
 * try (AutoencoderKL vae = AutoencoderKL.load(sd15.resolve("vae"), inkwell);
 *      Tensor z = ...latents / vae.config().scalingFactor()...;
 *      Tensor image = vae.decode(z)) {        // [N, 3, 8h, 8w], values in about [-1, 1]
 *     ...
 * }
 * }</pre>
 *
 * <p>The modules are diffusers', named alike: {@code Encoder} and {@code Decoder} (vae.py) of
 * {@code DownEncoderBlock2D} / {@code UpDecoderBlock2D} levels of {@code ResnetBlock2D}s with
 * {@code Downsample2D} / {@code Upsample2D}, and a {@code UNetMidBlock2D} with its single-head
 * group-norm self-attention; {@code quant_conv} and {@code post_quant_conv} are 1x1 convolutions.
 * As in diffusers, {@link #decode} does not divide by {@code scaling_factor}: the caller does
 * (a pipeline decodes {@code latents / scaling_factor}).
 *
 * <p><b>Element types.</b> Weights stored as float32, float16 or bfloat16 are converted to
 * float32 once on load, and everything computes in float32 (the residual adds and layout copies
 * of {@code TensorOps} are float32-only).
 *
 * <p><b>Memory and threads.</b> The weights are owned by the model and freed by {@link #close()}.
 * {@link #decode} and {@link #encode} allocate their activations per call, free each as soon as
 * it is used, and only read the weights: several threads may call them at once, as far as the
 * context may be shared between threads. {@link #close()} must not run during a call.
 */
public final class AutoencoderKL implements AutoCloseable {
    /** diffusers' DiagonalGaussianDistribution clamps the log-variance to this range. */
    private static final float LOGVAR_MIN = -30f, LOGVAR_MAX = 20f;

    /**
     * The posterior {@code vae.encode(image).latent_dist}: its mean and (clamped) log-variance,
     * each [N, latent_channels, h, w] in the context's memory. Closing it closes both.
     *
     * @param mean {@code latent_dist.mean}
     * @param logvar {@code latent_dist.logvar}, clamped to [-30, 20]
     */
    public record Posterior(Tensor mean, Tensor logvar) implements AutoCloseable {
        /** Closes both tensors. */
        @Override
        public void close() {
            try (logvar) {
                mean.close();
            }
        }
    }

    private final AutoencoderKLConfig config;
    private final Inkwell context;
    private final ModuleWeights weights;
    private final Encoder encoder;
    private final Decoder decoder;
    private final Tensor quantConvWeight, quantConvBias;         // null without use_quant_conv
    private final Tensor postQuantConvWeight, postQuantConvBias; // null without use_post_quant_conv
    private volatile boolean closed;

    private AutoencoderKL(AutoencoderKLConfig config, Inkwell context, ModuleWeights weights, Encoder encoder,
            Decoder decoder, Tensor[] quant) {
        this.config = config;
        this.context = context;
        this.weights = weights;
        this.encoder = encoder;
        this.decoder = decoder;
        this.quantConvWeight = quant[0];
        this.quantConvBias = quant[1];
        this.postQuantConvWeight = quant[2];
        this.postQuantConvBias = quant[3];
    }

    /**
     * Loads a model from a {@code vae} folder.
     *
     * @param vaeDir the folder with {@code config.json} and the weights
     * @param context where the weights live and the passes run
     * @return the model, which the caller closes
     * @throws IOException naming the file and field or tensor if the config is invalid, or a
     *     weight is missing, of an unsupported dtype or misshaped
     * @throws IllegalStateException if the context is closed
     */
    public static AutoencoderKL load(Path vaeDir, Inkwell context) throws IOException {
        Objects.requireNonNull(vaeDir, "vaeDir");
        Objects.requireNonNull(context, "context");
        AutoencoderKLConfig config = AutoencoderKLConfig.read(vaeDir.resolve("config.json"));
        try (SafeTensors checkpoint = SafeTensors.open(vaeDir)) {
            return load(config, checkpoint, context);
        }
    }

    /**
     * Builds a model from a configuration and an open checkpoint (copying what it needs: the
     * checkpoint may be closed afterwards).
     *
     * @param config the configuration
     * @param checkpoint the weights, with diffusers' key names; extra tensors are ignored
     * @param context where the weights live and the passes run
     * @return the model, which the caller closes
     * @throws IOException naming the file and tensor if a weight is missing, of an unsupported
     *     dtype or misshaped
     * @throws IllegalStateException if the context or the checkpoint is closed
     */
    public static AutoencoderKL load(AutoencoderKLConfig config, SafeTensors checkpoint, Inkwell context)
            throws IOException {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(checkpoint, "checkpoint");
        Objects.requireNonNull(context, "context");
        ModuleWeights w = new ModuleWeights(checkpoint, context, ElementType.FLOAT32);
        try {
            Encoder encoder = Encoder.load(w, config);
            Decoder decoder = Decoder.load(w, config);
            long latent = config.latentChannels(), moments = 2L * latent;
            Tensor[] quant = new Tensor[4];
            if (config.useQuantConv()) {
                quant[0] = w.get("quant_conv.weight", moments, moments, 1, 1);
                quant[1] = w.get("quant_conv.bias", moments);
            }
            if (config.usePostQuantConv()) {
                quant[2] = w.get("post_quant_conv.weight", latent, latent, 1, 1);
                quant[3] = w.get("post_quant_conv.bias", latent);
            }
            return new AutoencoderKL(config, context, w, encoder, decoder, quant);
        } catch (IOException | RuntimeException | Error e) {
            w.close();
            throw e;
        }
    }

    /**
     * The configuration.
     *
     * @return the config the model was built with
     */
    public AutoencoderKLConfig config() {
        return config;
    }

    /**
     * The spatial factor between image and latents: 2^(levels - 1) (8 for SD).
     *
     * @return the factor
     */
    public int downsampleFactor() {
        return 1 << (config.blockOutChannels().size() - 1);
    }

    /**
     * {@code vae.decode(z).sample}: post_quant_conv, then the decoder. z is not divided by
     * scaling_factor here (as in diffusers).
     *
     * @param z float32 [N, latent_channels, h, w] in the context's memory
     * @return a new float32 tensor [N, out_channels, h * f, w * f] (f = {@link #downsampleFactor()})
     *     in the context's memory, which the caller closes
     * @throws NullPointerException if z is null
     * @throws IllegalArgumentException naming the shape if z is not [N, latent_channels, h, w]
     *     float32, or is in another device's memory
     * @throws IllegalStateException if the model, z or the context is closed
     */
    public Tensor decode(Tensor z) {
        checkInput(z, "z", config.latentChannels(), "latent_channels");
        if (postQuantConvWeight == null) {
            return decoder.forward(context, z);
        }
        try (Tensor h = context.conv2d(z, postQuantConvWeight, postQuantConvBias, Conv2dOptions.defaults())) {
            return decoder.forward(context, h);
        }
    }

    /**
     * {@code vae.encode(image).latent_dist}: the encoder, then quant_conv, its 2 * latent_channels
     * channels split into mean and log-variance (clamped to [-30, 20]) as diffusers'
     * {@code DiagonalGaussianDistribution} does. The split and clamp run on the host (the
     * latents are small); the results are moved back to the context's memory.
     *
     * @param image float32 [N, in_channels, H, W] in the context's memory, values in [-1, 1];
     *     H and W multiples of {@link #downsampleFactor()} for latents of exactly H/f x W/f (other
     *     sizes work as in diffusers: each Downsample2D halves rounding down)
     * @return the posterior, which the caller closes
     * @throws NullPointerException if image is null
     * @throws IllegalArgumentException naming the shape if image is not [N, in_channels, H, W]
     *     float32, or is in another device's memory
     * @throws IllegalStateException if the model, image or the context is closed
     */
    public Posterior encode(Tensor image) {
        checkInput(image, "image", config.inChannels(), "in_channels");
        Tensor h = encoder.forward(context, image);
        Tensor moments = quantConvWeight == null ? h : Forward.then(h, true,
                t -> context.conv2d(t, quantConvWeight, quantConvBias, Conv2dOptions.defaults()));
        try (moments; Tensor host = context.device() == Device.CPU ? null : context.copyToHost(moments)) {
            return split(host == null ? moments : host);
        }
    }

    /** torch.chunk(moments, 2, dim=1) with the log-variance clamped, as two new tensors in the context. */
    private Posterior split(Tensor moments) {
        long n = moments.dim(0), c = moments.dim(1) / 2, h = moments.dim(2), w = moments.dim(3);
        int plane = Math.toIntExact(c * h * w);
        float[] all = moments.toArray();
        float[] mean = new float[Math.toIntExact(n * plane)], logvar = new float[mean.length];
        for (int b = 0; b < n; b++) {
            System.arraycopy(all, 2 * b * plane, mean, b * plane, plane);
            for (int i = 0; i < plane; i++) {
                float v = all[2 * b * plane + plane + i];
                // Math.min/max keep NaN, as torch.clamp does
                logvar[b * plane + i] = Math.max(LOGVAR_MIN, Math.min(LOGVAR_MAX, v));
            }
        }
        Tensor m = toContext(Tensor.fromArray(mean, n, c, h, w));
        try {
            return new Posterior(m, toContext(Tensor.fromArray(logvar, n, c, h, w)));
        } catch (RuntimeException | Error e) {
            m.close();
            throw e;
        }
    }

    private Tensor toContext(Tensor host) {
        if (context.device() == Device.CPU) {
            return host;
        }
        try (host) {
            return context.copyToDevice(host);
        }
    }

    private void checkInput(Tensor x, String what, int channels, String field) {
        Objects.requireNonNull(x, what);
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
        if (x.rank() != 4 || x.dim(1) != channels || x.elementType() != ElementType.FLOAT32) {
            throw new IllegalArgumentException(what + " is " + x.elementType() + " " + Arrays.toString(x.shape())
                    + ", expected float32 [N, " + channels + ", H, W] (" + field + " " + channels + ")");
        }
    }

    /**
     * Frees the weights. Idempotent; no pass may be in progress.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        weights.close();
    }

    /**
     * The configuration's sizes.
     *
     * @return a readable description
     */
    @Override
    public String toString() {
        return "AutoencoderKL[block_out_channels " + config.blockOutChannels() + ", layers_per_block "
                + config.layersPerBlock() + ", latent_channels " + config.latentChannels() + ", " + context.device()
                + "]";
    }
}
