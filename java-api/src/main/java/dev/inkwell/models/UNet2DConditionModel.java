package dev.inkwell.models;

import dev.inkwell.Activation;
import dev.inkwell.Conv2dOptions;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * diffusers' {@code UNet2DConditionModel} (v0.21.4, unet_2d_condition.py), the Stable Diffusion
 * noise predictor, on Inkwell's layers, optionally with a ControlNet's residuals. Loaded from a
 * Hugging Face {@code unet} folder ({@code config.json} and
 * {@code diffusion_pytorch_model.safetensors}, a sharded index, or a variant such as
 * {@code diffusion_pytorch_model.fp16.safetensors}) with diffusers' key names
 * ({@code down_blocks.0.attentions.1.transformer_blocks.0.attn2.to_k.weight}, ...).
 *
 * <pre>{@code
 * try (UNet2DConditionModel unet = UNet2DConditionModel.load(sd15.resolve("unet"), inkwell);
 *      ControlNetModel.Output control = controlnet.forward(latents, t, text, canny, 1.0, false);
 *      Tensor noise = unet.forward(latents, t, text, control.downBlockResSamples(),
 *              control.midBlockResSample())) {
 *     ...
 * }
 * }</pre>
 *
 * <p>The modules are diffusers', named alike: {@code time_proj} (Timesteps) and
 * {@code time_embedding} (TimestepEmbedding), {@code conv_in}, {@code down_blocks}
 * (CrossAttnDownBlock2D / DownBlock2D of ResnetBlock2D, Transformer2DModel of
 * BasicTransformerBlock, Downsample2D), {@code mid_block} (UNetMidBlock2DCrossAttn),
 * {@code up_blocks} (CrossAttnUpBlock2D / UpBlock2D, with the skip connections concatenated and
 * Upsample2D), {@code conv_norm_out} + SiLU and {@code conv_out}. Which configurations load is
 * described by {@link UNet2DConditionModelConfig}.
 *
 * <p><b>Element types.</b> Weights stored as float32, float16 or bfloat16 are converted to
 * float32 once on load; everything computes in float32.
 *
 * <p><b>Memory and threads.</b> The weights are owned by the model (one {@code ModuleWeights})
 * and freed by {@link #close()}. {@link #forward} allocates its activations per call, frees each
 * as soon as it is used, and only reads the weights: several threads may call it at once, as far
 * as the context may be shared between threads. {@link #close()} must not run during a call.
 */
public final class UNet2DConditionModel implements AutoCloseable {
    private static final Conv2dOptions CONV3 = Conv2dOptions.defaults().withPadding(1);

    private final UNet2DConditionModelConfig config;
    private final Inkwell context;
    private final ModuleWeights weights;
    private final UNetEncoder encoder;
    private final List<UNetUpBlock> upBlocks;
    private final Tensor convNormOutWeight, convNormOutBias, convOutWeight, convOutBias;
    private volatile boolean closed;

    private UNet2DConditionModel(UNet2DConditionModelConfig config, Inkwell context, ModuleWeights weights,
            UNetEncoder encoder, List<UNetUpBlock> upBlocks, Tensor[] out) {
        this.config = config;
        this.context = context;
        this.weights = weights;
        this.encoder = encoder;
        this.upBlocks = upBlocks;
        this.convNormOutWeight = out[0];
        this.convNormOutBias = out[1];
        this.convOutWeight = out[2];
        this.convOutBias = out[3];
    }

    /**
     * Loads a model from a {@code unet} folder (its {@code config.json} and the weights file
     * {@link SafeTensors#open(Path)} finds there).
     *
     * @param dir the folder
     * @param context where the weights live and the passes run
     * @return the model, which the caller closes
     * @throws IOException naming the file and field or tensor if the config is invalid or
     *     unsupported, or a weight is missing, of an unsupported dtype or misshaped
     * @throws IllegalStateException if the context is closed
     */
    public static UNet2DConditionModel load(Path dir, Inkwell context) throws IOException {
        return load(dir, null, context);
    }

    /**
     * Loads a model from a {@code unet} folder with a weights variant.
     *
     * @param dir the folder
     * @param variant null, or a variant such as {@code "fp16"}
     *     ({@code diffusion_pytorch_model.fp16.safetensors})
     * @param context where the weights live and the passes run
     * @return the model, which the caller closes
     * @throws IOException naming the file and field or tensor if the config is invalid or
     *     unsupported, or a weight is missing, of an unsupported dtype or misshaped
     * @throws IllegalArgumentException if the variant has characters other than letters,
     *     digits, '_' and '-'
     * @throws IllegalStateException if the context is closed
     */
    public static UNet2DConditionModel load(Path dir, String variant, Inkwell context) throws IOException {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(context, "context");
        UNet2DConditionModelConfig config = UNet2DConditionModelConfig.read(dir.resolve("config.json"));
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
    public static UNet2DConditionModel load(UNet2DConditionModelConfig config, SafeTensors checkpoint,
            Inkwell context) throws IOException {
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
    public static UNet2DConditionModel random(UNet2DConditionModelConfig config, long seed, Inkwell context) {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(context, "context");
        return ModuleWeights.random(seed, context, w -> build(config, w, context));
    }

    /**
     * The modules on weights from {@code w}, which the model owns from then on (ModuleWeights frees
     * them if this throws).
     */
    private static UNet2DConditionModel build(UNet2DConditionModelConfig config, ModuleWeights w, Inkwell context)
            throws IOException {
        UNetSpec s = config.spec();
        UNetEncoder encoder = UNetEncoder.load(w, s);
        List<UNetUpBlock> up = upBlocks(w, config, s);
        int first = config.blockOutChannels().get(0);
        Tensor[] out = {w.get("conv_norm_out.weight", first), w.get("conv_norm_out.bias", first),
            w.get("conv_out.weight", config.outChannels(), first, 3, 3), w.get("conv_out.bias",
                    config.outChannels())};
        return new UNet2DConditionModel(config, context, w, encoder, up, out);
    }

    /** diffusers' up-block loop: reversed channels, heads and layer counts; up_blocks.i. */
    private static List<UNetUpBlock> upBlocks(ModuleWeights w, UNet2DConditionModelConfig c, UNetSpec s)
            throws IOException {
        List<Integer> ch = UNet2DConditionModelConfig.reversed(c.blockOutChannels());
        List<Integer> heads = UNet2DConditionModelConfig.reversed(s.heads());
        List<Integer> layers = UNet2DConditionModelConfig.reversed(c.layersPerBlock());
        List<Integer> transformerLayers = UNet2DConditionModelConfig.reversed(c.transformerLayersPerBlock());
        int levels = ch.size();
        List<UNetUpBlock> blocks = new ArrayList<>();
        int out = ch.get(0);
        for (int i = 0; i < levels; i++) {
            int prevOut = out;
            out = ch.get(i);
            int in = ch.get(Math.min(i + 1, levels - 1));
            boolean addUpsample = i < levels - 1;
            String prefix = "up_blocks." + i + ".";
            blocks.add(c.upBlockTypes().get(i).equals(UNet2DConditionModelConfig.CROSS_UP)
                    ? CrossAttnUpBlock2D.load(w, prefix, layers.get(i) + 1, in, prevOut, out, heads.get(i),
                            transformerLayers.get(i), s, addUpsample)
                    : UpBlock2D.load(w, prefix, layers.get(i) + 1, in, prevOut, out, s, addUpsample));
        }
        return List.copyOf(blocks);
    }

    /**
     * The configuration.
     *
     * @return the config the model was built with
     */
    public UNet2DConditionModelConfig config() {
        return config;
    }

    /**
     * {@code unet(sample, timestep, encoder_hidden_states,
     * down_block_additional_residuals=..., mid_block_additional_residual=...).sample}: the
     * model's prediction (the noise, for SD's epsilon models). With a ControlNet's residuals,
     * each is added to the matching down-block output state (the skip connections) after the
     * down blocks, and the mid residual to the mid block's output, as diffusers does.
     *
     * @param sample float32 [N, in_channels, H, W] in the context's memory (the latents), any
     *     H, W &gt;= 1; when one is not a multiple of
     *     {@link UNet2DConditionModelConfig#downsampleFactor()}, each upsampler interpolates to
     *     the matching skip's size ({@code F.interpolate(size=...)}, nearest), as diffusers does
     * @param timestep the diffusion timestep for the whole batch, finite (fractional allowed;
     *     rounded to float32 as diffusers does)
     * @param encoderHiddenStates float32 [N, L, cross_attention_dim] (the text encoder's
     *     last_hidden_state), L &gt;= 1
     * @param downBlockAdditionalResiduals null, or one float32 tensor per down-block output state
     *     (12 for SD: 1 + layers_per_block * levels + levels - 1), each of that state's shape
     *     [N, C, h, w] or [N, C, 1, 1] (a ControlNet with global_pool_conditions); given iff
     *     midBlockAdditionalResidual is
     * @param midBlockAdditionalResidual null, or float32 [N, C_last, h_last, w_last] or
     *     [N, C_last, 1, 1]
     * @return a new float32 tensor [N, out_channels, H, W] in the context's memory, which the
     *     caller closes
     * @throws NullPointerException if sample or encoderHiddenStates is null, or an entry of
     *     downBlockAdditionalResiduals
     * @throws IllegalArgumentException naming the argument and its shape if a tensor has the
     *     wrong shape or element type, the timestep is not finite, only one kind of residual is
     *     given (diffusers would take the down residuals alone for a T2I-Adapter's, which is not
     *     supported), their count is wrong, or a tensor is in another device's memory
     * @throws IllegalStateException if the model, an input or the context is closed
     */
    public Tensor forward(Tensor sample, double timestep, Tensor encoderHiddenStates,
            List<Tensor> downBlockAdditionalResiduals, Tensor midBlockAdditionalResidual) {
        Objects.requireNonNull(sample, "sample");
        Objects.requireNonNull(encoderHiddenStates, "encoderHiddenStates");
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
        UNetInputs.checkSample(sample, config.inChannels(), "in_channels");
        UNetInputs.checkEncoderHiddenStates(encoderHiddenStates, sample.dim(0), config.crossAttentionDim());
        UNetInputs.checkTimestep(timestep);
        if ((downBlockAdditionalResiduals == null) != (midBlockAdditionalResidual == null)) {
            throw new IllegalArgumentException("downBlockAdditionalResiduals and midBlockAdditionalResidual are given "
                    + "together (a ControlNet's) or not at all; down residuals alone (a T2I-Adapter's) are not "
                    + "supported");
        }
        List<long[]> shapes = encoder.stateShapes(sample.dim(0), sample.dim(2), sample.dim(3));
        if (downBlockAdditionalResiduals != null) {
            UNetInputs.checkResiduals(downBlockAdditionalResiduals, midBlockAdditionalResidual, shapes);
        }
        Inkwell ctx = context;
        List<Tensor> states = new ArrayList<>();
        Tensor temb = null;
        try {
            temb = encoder.timeEmbedding(ctx, timestep, sample.dim(0));
            states.add(encoder.convIn(ctx, sample));
            encoder.down(ctx, temb, encoderHiddenStates, states);
            // the mid block reads the last state before the residuals are added to it, as in diffusers
            Tensor h = encoder.mid(ctx, states.getLast(), temb, encoderHiddenStates);
            try {
                if (downBlockAdditionalResiduals != null) {
                    for (int i = 0; i < states.size(); i++) {
                        ctx.ops().add(states.get(i), downBlockAdditionalResiduals.get(i), states.get(i));
                    }
                    ctx.ops().add(h, midBlockAdditionalResidual, h);
                }
            } catch (RuntimeException | Error e) {
                h.close();
                throw e;
            }
            // diffusers: when H or W is not a multiple of 2^num_upsamplers, every upsampler but the
            // last level's (which has none) interpolates to the size of the state that remains
            // last once the block has popped its skips (the one the next block concatenates first)
            int factor = config.downsampleFactor();
            boolean forwardUpsampleSize = sample.dim(2) % factor != 0 || sample.dim(3) % factor != 0;
            for (int i = 0; i < upBlocks.size(); i++) {
                UNetUpBlock b = upBlocks.get(i);
                long[] upsampleSize = null;
                if (forwardUpsampleSize && i < upBlocks.size() - 1) {
                    Tensor next = states.get(states.size() - b.resnetCount() - 1);
                    upsampleSize = new long[] {next.dim(2), next.dim(3)};
                }
                Tensor t0 = temb;
                long[] size = upsampleSize;
                h = Forward.then(h, true, t -> b.forward(ctx, t, t0, encoderHiddenStates, states, size));
            }
            h = Forward.then(h, true, t -> ctx.layers().groupNorm(t, config.normNumGroups(), convNormOutWeight,
                    convNormOutBias, config.normEps(), Activation.SILU));
            return Forward.then(h, true, t -> ctx.conv2d(t, convOutWeight, convOutBias, CONV3));
        } finally {
            states.forEach(Tensor::close);
            if (temb != null) {
                temb.close();
            }
        }
    }

    /**
     * {@link #forward(Tensor, double, Tensor, List, Tensor)} without ControlNet residuals.
     *
     * @param sample float32 [N, in_channels, H, W]
     * @param timestep finite
     * @param encoderHiddenStates float32 [N, L, cross_attention_dim]
     * @return a new float32 tensor [N, out_channels, H, W], which the caller closes
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException as the full form
     * @throws IllegalStateException if the model, an input or the context is closed
     */
    public Tensor forward(Tensor sample, double timestep, Tensor encoderHiddenStates) {
        return forward(sample, timestep, encoderHiddenStates, null, null);
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
        return "UNet2DConditionModel[block_out_channels " + config.blockOutChannels() + ", layers_per_block "
                + config.layersPerBlock() + ", cross_attention_dim " + config.crossAttentionDim() + ", "
                + context.device() + "]";
    }
}
