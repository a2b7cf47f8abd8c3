package dev.inkwell.models;

import dev.inkwell.Conv2dOptions;
import dev.inkwell.Device;
import dev.inkwell.ElementType;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * diffusers' {@code ControlNetModel} (v0.21.4, controlnet.py) on Inkwell's layers: the encoder
 * half of a U-Net that also reads a control image (a Canny edge map, say) and returns the
 * residuals a {@link UNet2DConditionModel} adds to its skip connections and mid block. Loaded
 * from a Hugging Face ControlNet folder ({@code config.json} and
 * {@code diffusion_pytorch_model.safetensors}, sharded or a variant) with diffusers' key names.
 *
 * <p>The modules are diffusers', named alike: {@code time_proj} / {@code time_embedding},
 * {@code conv_in}, {@code controlnet_cond_embedding} (ControlNetConditioningEmbedding),
 * {@code down_blocks} and {@code mid_block} as in the U-Net, and the zero convolutions
 * {@code controlnet_down_blocks.i} (one 1x1 convolution per down-block output state) and
 * {@code controlnet_mid_block}. Which configurations load is described by
 * {@link ControlNetModelConfig}.
 *
 * <p><b>Element types.</b> Weights stored as float32, float16 or bfloat16 are converted to
 * float32 once on load; everything computes in float32.
 *
 * <p><b>Memory and threads.</b> The weights are owned by the model and freed by
 * {@link #close()}. {@link #forward} allocates its activations per call, frees each as soon as
 * it is used, and only reads the weights: several threads may call it at once, as far as the
 * context may be shared between threads. {@link #close()} must not run during a call.
 */
public final class ControlNetModel implements AutoCloseable {
    private static final Conv2dOptions CONV1 = Conv2dOptions.defaults();

    /**
     * {@code ControlNetOutput}: the residuals for the U-Net, new float32 tensors in the context's
     * memory. Closing it closes every tensor.
     *
     * @param downBlockResSamples one per U-Net down-block output state (12 for SD), each of that
     *     state's shape [N, C, h, w] ([N, C, 1, 1] with global_pool_conditions)
     * @param midBlockResSample [N, C_last, h_last, w_last] ([N, C_last, 1, 1] pooled)
     */
    public record Output(List<Tensor> downBlockResSamples, Tensor midBlockResSample) implements AutoCloseable {
        /**
         * Keeps an unmodifiable copy of the list.
         *
         * @param downBlockResSamples the down residuals, none null
         * @param midBlockResSample the mid residual
         * @throws NullPointerException if a tensor or the list is null
         */
        public Output {
            downBlockResSamples = List.copyOf(downBlockResSamples);
            Objects.requireNonNull(midBlockResSample, "midBlockResSample");
        }

        /** Closes every tensor. */
        @Override
        public void close() {
            closeAll(downBlockResSamples);
            midBlockResSample.close();
        }
    }

    private final ControlNetModelConfig config;
    private final Inkwell context;
    private final ModuleWeights weights;
    private final UNetEncoder encoder;
    private final ControlNetConditioningEmbedding condEmbedding;
    private final List<Tensor> zeroWeights, zeroBiases; // controlnet_down_blocks.i
    private final Tensor midZeroWeight, midZeroBias;    // controlnet_mid_block
    private volatile boolean closed;

    private ControlNetModel(ControlNetModelConfig config, Inkwell context, ModuleWeights weights, UNetEncoder encoder,
            ControlNetConditioningEmbedding condEmbedding, List<Tensor> zeroWeights, List<Tensor> zeroBiases,
            Tensor midZeroWeight, Tensor midZeroBias) {
        this.config = config;
        this.context = context;
        this.weights = weights;
        this.encoder = encoder;
        this.condEmbedding = condEmbedding;
        this.zeroWeights = zeroWeights;
        this.zeroBiases = zeroBiases;
        this.midZeroWeight = midZeroWeight;
        this.midZeroBias = midZeroBias;
    }

    /**
     * Loads a model from a ControlNet folder (its {@code config.json} and the weights file
     * {@link SafeTensors#open(Path)} finds there).
     *
     * @param dir the folder
     * @param context where the weights live and the passes run
     * @return the model, which the caller closes
     * @throws IOException naming the file and field or tensor if the config is invalid or
     *     unsupported, or a weight is missing, of an unsupported dtype or misshaped
     * @throws IllegalStateException if the context is closed
     */
    public static ControlNetModel load(Path dir, Inkwell context) throws IOException {
        return load(dir, null, context);
    }

    /**
     * Loads a model from a ControlNet folder with a weights variant.
     *
     * @param dir the folder
     * @param variant null, or a variant such as {@code "fp16"}
     * @param context where the weights live and the passes run
     * @return the model, which the caller closes
     * @throws IOException naming the file and field or tensor if the config is invalid or
     *     unsupported, or a weight is missing, of an unsupported dtype or misshaped
     * @throws IllegalArgumentException if the variant has characters other than letters,
     *     digits, '_' and '-'
     * @throws IllegalStateException if the context is closed
     */
    public static ControlNetModel load(Path dir, String variant, Inkwell context) throws IOException {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(context, "context");
        ControlNetModelConfig config = ControlNetModelConfig.read(dir.resolve("config.json"));
        try (SafeTensors checkpoint = SafeTensors.open(dir, variant)) {
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
    public static ControlNetModel load(ControlNetModelConfig config, SafeTensors checkpoint, Inkwell context)
            throws IOException {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(checkpoint, "checkpoint");
        Objects.requireNonNull(context, "context");
        return ModuleWeights.load(checkpoint, context, w -> build(config, w, context));
    }

    /**
     * A model of {@code config} with weights made up in memory (no file): the same tensors,
     * shapes and work per pass as a real checkpoint of that configuration, for benchmarks and
     * tests. Each tensor depends only on the seed and its name: matrices and convolution kernels
     * uniform with standard deviation 1/sqrt(fan_in), norm weights 1, biases in [-0.01, 0.01].
     * Its outputs mean nothing.
     *
     * @param config the configuration
     * @param seed the weights' seed
     * @param context where the weights live and the passes run
     * @return the model, which the caller closes
     * @throws NullPointerException if config or context is null
     * @throws IllegalStateException if the context is closed
     */
    public static ControlNetModel random(ControlNetModelConfig config, long seed, Inkwell context) {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(context, "context");
        return ModuleWeights.random(seed, context, w -> build(config, w, context));
    }

    /**
     * The modules on weights from {@code w}, which the model owns from then on (ModuleWeights frees
     * them if this throws).
     */
    private static ControlNetModel build(ControlNetModelConfig config, ModuleWeights w, Inkwell context)
            throws IOException {
        UNetSpec s = config.spec();
        UNetEncoder encoder = UNetEncoder.load(w, s);
        int first = config.blockOutChannels().get(0);
        ControlNetConditioningEmbedding cond = ControlNetConditioningEmbedding.load(w,
                "controlnet_cond_embedding.", config.conditioningChannels(),
                config.conditioningEmbeddingOutChannels(), first);
        // one zero conv per down-block output state, at that state's channels
        List<Tensor> zw = new ArrayList<>(), zb = new ArrayList<>();
        List<long[]> states = encoder.stateShapes(1, 1, 1);
        for (int i = 0; i < states.size(); i++) {
            long c = states.get(i)[1];
            zw.add(w.get("controlnet_down_blocks." + i + ".weight", c, c, 1, 1));
            zb.add(w.get("controlnet_down_blocks." + i + ".bias", c));
        }
        int last = config.blockOutChannels().getLast();
        Tensor midW = w.get("controlnet_mid_block.weight", last, last, 1, 1);
        Tensor midB = w.get("controlnet_mid_block.bias", last);
        return new ControlNetModel(config, context, w, encoder, cond, List.copyOf(zw), List.copyOf(zb), midW,
                midB);
    }

    /**
     * The configuration.
     *
     * @return the config the model was built with
     */
    public ControlNetModelConfig config() {
        return config;
    }

    /**
     * {@code controlnet(sample, timestep, encoder_hidden_states, controlnet_cond,
     * conditioning_scale, guess_mode)}: the residuals for the U-Net. The control image is
     * embedded (after flipping its channels if controlnet_conditioning_channel_order is "bgr")
     * and added to conv_in's output; the down blocks' output states and the mid block's output go
     * through their zero convolutions and are scaled: by conditioning_scale, or, in guess mode
     * (without global_pool_conditions), state i of n by {@code logspace(-1, 0, n + 1)[i] *
     * conditioning_scale} and the mid one by {@code conditioning_scale} (logspace's last entry,
     * 1); with global_pool_conditions each is then averaged over H and W, as diffusers does.
     *
     * @param sample float32 [N, in_channels, H, W] (the latents), any H, W &gt;= 1: its down
     *     states have the shapes the U-Net's have for the same sample, also when H or W is not
     *     a multiple of 2^(levels - 1)
     * @param timestep the diffusion timestep for the whole batch, finite
     * @param encoderHiddenStates float32 [N, L, cross_attention_dim]
     * @param controlnetCond float32 [N, conditioning_channels, f H, f W] (f =
     *     {@link ControlNetModelConfig#conditioningFactor()}, 8 for SD), values in [0, 1] as the
     *     pipelines prepare it (not checked)
     * @param conditioningScale finite multiplier of every residual (1.0 by default in diffusers)
     * @param guessMode diffusers' guess_mode scaling (see above)
     * @return the residuals, new tensors the caller closes
     * @throws NullPointerException if a tensor is null
     * @throws IllegalArgumentException naming the argument and its shape if a tensor has the
     *     wrong shape or element type, timestep or conditioningScale is not finite, or a tensor
     *     is in another device's memory
     * @throws IllegalStateException if the model, an input or the context is closed
     */
    public Output forward(Tensor sample, double timestep, Tensor encoderHiddenStates, Tensor controlnetCond,
            double conditioningScale, boolean guessMode) {
        Objects.requireNonNull(sample, "sample");
        Objects.requireNonNull(encoderHiddenStates, "encoderHiddenStates");
        Objects.requireNonNull(controlnetCond, "controlnetCond");
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
        // no upsampling here: any size works as in diffusers (each Downsample2D halves it)
        UNetInputs.checkSample(sample, config.inChannels(), "in_channels");
        UNetInputs.checkEncoderHiddenStates(encoderHiddenStates, sample.dim(0), config.crossAttentionDim());
        UNetInputs.checkTimestep(timestep);
        checkCond(controlnetCond, sample);
        if (!Double.isFinite(conditioningScale)) {
            throw new IllegalArgumentException("conditioningScale " + conditioningScale + " is not finite");
        }
        Inkwell ctx = context;
        List<Tensor> states = new ArrayList<>();
        List<Tensor> outs = new ArrayList<>();
        Tensor temb = null, mid = null;
        try {
            temb = encoder.timeEmbedding(ctx, timestep, sample.dim(0));
            Tensor h = encoder.convIn(ctx, sample);
            states.add(h);
            Tensor cond = config.controlnetConditioningChannelOrder().equals("bgr") ? flipChannels(controlnetCond)
                    : controlnetCond;
            try (Tensor embedded = Forward.then(cond, cond != controlnetCond, t -> condEmbedding.forward(ctx, t))) {
                ctx.ops().add(h, embedded, h); // sample = sample + controlnet_cond
            }
            encoder.down(ctx, temb, encoderHiddenStates, states);
            mid = encoder.mid(ctx, states.getLast(), temb, encoderHiddenStates);
            int n = states.size();
            float[] scales = scales(n, conditioningScale, guessMode && !config.globalPoolConditions());
            for (int i = 0; i < n; i++) {
                Tensor state = states.set(i, null);
                Tensor weight = zeroWeights.get(i), bias = zeroBiases.get(i);
                outs.add(finish(Forward.then(state, true, t -> ctx.conv2d(t, weight, bias, CONV1)), scales[i]));
            }
            Tensor m = mid;
            mid = null;
            Tensor midOut = finish(Forward.then(m, true, t -> ctx.conv2d(t, midZeroWeight, midZeroBias, CONV1)),
                    scales[n]);
            return new Output(outs, midOut);
        } catch (RuntimeException | Error e) {
            closeAll(outs);
            throw e;
        } finally {
            closeAll(states);
            if (mid != null) {
                mid.close();
            }
            if (temb != null) {
                temb.close();
            }
        }
    }

    /**
     * The n + 1 factors (n down residuals, then the mid one): conditioning_scale each, or in guess
     * mode {@code torch.logspace(-1, 0, n + 1) * conditioning_scale} in float32 (logspace as
     * PyTorch's CPU kernel computes it: 10^(start + step i) for the first half, 10^(end - step
     * (steps - 1 - i)) for the rest).
     */
    static float[] scales(int n, double conditioningScale, boolean guess) {
        float[] s = new float[n + 1];
        int steps = n + 1, halfway = steps / 2;
        double step = 1.0 / (steps - 1);
        for (int i = 0; i < steps; i++) {
            if (!guess) {
                s[i] = (float) conditioningScale;
                continue;
            }
            double exponent = i < halfway ? -1 + step * i : 0 - step * (steps - 1 - i);
            s[i] = (float) Math.pow(10, exponent) * (float) conditioningScale;
        }
        return s;
    }

    /** x * scale (skipped when the factor is exactly 1), then the global pool if configured. */
    private Tensor finish(Tensor x, float scale) {
        Tensor h = scale == 1f ? x : Forward.then(x, true, t -> Scale.multiply(context, t, scale));
        return config.globalPoolConditions() ? Forward.then(h, true, this::meanOverSpace) : h;
    }

    /** torch.mean(x, dim=(2, 3), keepdim=True), summed in double on the host, rounded once. */
    private Tensor meanOverSpace(Tensor x) {
        long n = x.dim(0), c = x.dim(1), plane = x.dim(2) * x.dim(3);
        float[] all;
        try (Tensor host = x.device() == Device.CPU ? null : context.copyToHost(x)) {
            all = (host == null ? x : host).toArray();
        }
        float[] mean = new float[Math.toIntExact(n * c)];
        for (int i = 0; i < mean.length; i++) {
            double sum = 0;
            for (int j = 0; j < plane; j++) {
                sum += all[Math.toIntExact(i * plane + j)];
            }
            mean[i] = (float) (sum / plane);
        }
        return toContext(Tensor.fromArray(mean, n, c, 1, 1));
    }

    /** torch.flip(cond, dims=[1]) (BGR to RGB), on the host. */
    private Tensor flipChannels(Tensor cond) {
        long n = cond.dim(0), c = cond.dim(1), plane = cond.dim(2) * cond.dim(3);
        float[] all;
        try (Tensor host = cond.device() == Device.CPU ? null : context.copyToHost(cond)) {
            all = (host == null ? cond : host).toArray();
        }
        float[] flipped = new float[all.length];
        int p = Math.toIntExact(plane);
        for (int b = 0; b < n; b++) {
            for (int ch = 0; ch < c; ch++) {
                System.arraycopy(all, Math.toIntExact((b * c + ch) * plane), flipped,
                        Math.toIntExact((b * c + (c - 1 - ch)) * plane), p);
            }
        }
        return toContext(Tensor.fromArray(flipped, cond.shape()));
    }

    private Tensor toContext(Tensor host) {
        if (context.device() == Device.CPU) {
            return host;
        }
        try (host) {
            return context.copyToDevice(host);
        }
    }

    /** controlnet_cond: float32 [N, conditioning_channels, h, w] whose embedding has the sample's size. */
    private void checkCond(Tensor cond, Tensor sample) {
        int levels = config.conditioningEmbeddingOutChannels().size();
        long h = cond.rank() == 4 ? cond.dim(2) : 0, w = cond.rank() == 4 ? cond.dim(3) : 0;
        for (int i = 1; i < levels; i++) { // each stride-2, padding-1 conv: ceil(size / 2)
            h = (h + 1) / 2;
            w = (w + 1) / 2;
        }
        if (cond.rank() != 4 || cond.dim(0) != sample.dim(0) || cond.dim(1) != config.conditioningChannels()
                || cond.elementType() != ElementType.FLOAT32 || h != sample.dim(2) || w != sample.dim(3)) {
            int f = config.conditioningFactor();
            throw new IllegalArgumentException("controlnetCond is " + UNetInputs.describe(cond) + ", expected float32 ["
                    + sample.dim(0) + ", " + config.conditioningChannels() + ", " + f * sample.dim(2) + ", "
                    + f * sample.dim(3) + "] (the sample's batch, conditioning_channels, " + f
                    + " x the sample's size)");
        }
    }

    private static void closeAll(List<Tensor> tensors) {
        for (Tensor t : tensors) {
            if (t != null) {
                t.close();
            }
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
        return "ControlNetModel[block_out_channels " + config.blockOutChannels() + ", layers_per_block "
                + config.layersPerBlock() + ", conditioning_embedding_out_channels "
                + config.conditioningEmbeddingOutChannels() + ", " + context.device() + "]";
    }
}
