package dev.inkwell;

import java.util.Objects;

/**
 * The layers of Stable Diffusion's U-Net, VAE and text encoder that are not convolutions
 * or attention: group and layer normalisation, linear (and diffusers' GEGLU), activations,
 * and the sinusoidal timestep embedding. Get one with {@link Inkwell#layers()}; it is bound
 * to that context, holds nothing else, and is cheap enough to get per call.
 *
 * <pre>{@code
 * Layers layers = inkwell.layers();
 * try (Tensor h = layers.groupNorm(x, 32, gamma, beta, 1e-5, Activation.SILU);   // GroupNorm + SiLU
 *      Tensor t = layers.timestepEmbedding(timesteps, 320)) {                   // [batch, 320]
 *     ...
 * }
 * }</pre>
 *
 * <p>Rules, as for the context's own kernels:
 * <ul>
 *   <li><b>Element types.</b> Every layer but {@link #timestepEmbedding} takes float32,
 *       float16 or bfloat16 tensors, one type per call (weight, bias and output included),
 *       and returns that type. 16-bit calls compute in float32 and round each output once
 *       (on the CPU: the float32 kernel on the exactly widened inputs, bit for bit).</li>
 *   <li><b>Ownership.</b> The forms returning a {@link Tensor} allocate it in the context's
 *       memory (host memory for a CPU context); the caller closes it. The forms taking an
 *       {@code out} tensor write into it; it may not overlap an input unless the method says
 *       so.</li>
 *   <li><b>Devices.</b> Every tensor must be in the context's memory; results come back
 *       there. Calls return when the work is done.</li>
 *   <li><b>Errors.</b> Arguments are checked in Java before the native call; the exception
 *       names the argument and its value: {@link NullPointerException} for a null required
 *       tensor or activation, {@link IllegalArgumentException} for shapes, element types,
 *       parameters, overlap or a tensor of another device, {@link IllegalStateException}
 *       for a closed tensor or context. {@link InkwellException} carries what only the
 *       native side can know.</li>
 *   <li><b>Threads.</b> A {@code Layers} may be shared between threads as its context
 *       may.</li>
 * </ul>
 */
public final class Layers {
    private final Inkwell inkwell;

    Layers(Inkwell inkwell) {
        this.inkwell = Objects.requireNonNull(inkwell, "inkwell");
    }

    /**
     * The context these layers run on.
     *
     * @return the context this object was obtained from
     */
    public Inkwell context() {
        return inkwell;
    }

    // ---- group norm ---------------------------------------------------------------------

    /**
     * Group normalisation, as {@code torch.nn.functional.group_norm(x, groups, weight, bias,
     * eps)} ({@code torch.nn.GroupNorm}): the channels are split into {@code groups} groups of
     * channels / groups consecutive channels; per sample and group, over those channels and
     * every trailing position, y = (x - mean) / sqrt(var + eps) * weight[c] + bias[c], var the
     * biased (population) variance.
     *
     * @param x [batch, channels, *] (NCHW for the U-Net and VAE; rank >= 2)
     * @param groups 1..channels, dividing channels (32 in Stable Diffusion)
     * @param weight [channels], or null for 1
     * @param bias [channels], or null for 0
     * @param eps added to the variance, finite and >= 0 (1e-5 in the U-Net, 1e-6 in the VAE)
     * @return a new tensor shaped like x, of x's element type
     * @throws NullPointerException if x is null
     * @throws IllegalArgumentException if x has rank &lt; 2, groups is &lt; 1 or does not
     *     divide channels, weight or bias is not [channels], eps is NaN, infinite or negative,
     *     the element types differ, or a tensor is in another device's memory
     * @throws IllegalStateException if a tensor or the context is closed
     */
    public Tensor groupNorm(Tensor x, int groups, Tensor weight, Tensor bias, double eps) {
        return groupNorm(x, groups, weight, bias, eps, Activation.NONE);
    }

    /**
     * Group normalisation followed by an activation, fused: diffusers' ResnetBlock2D's
     * {@code nonlinearity(norm(x))} with {@link Activation#SILU}. Otherwise as
     * {@link #groupNorm(Tensor, int, Tensor, Tensor, double)}.
     *
     * @param x [batch, channels, *]
     * @param groups 1..channels, dividing channels
     * @param weight [channels], or null for 1
     * @param bias [channels], or null for 0
     * @param eps finite and >= 0
     * @param activation applied after the affine step; {@link Activation#NONE} for none
     * @return a new tensor shaped like x, of x's element type
     * @throws NullPointerException if x or activation is null
     * @throws IllegalArgumentException as {@link #groupNorm(Tensor, int, Tensor, Tensor, double)}
     * @throws IllegalStateException if a tensor or the context is closed
     */
    public Tensor groupNorm(Tensor x, int groups, Tensor weight, Tensor bias, double eps, Activation activation) {
        GroupNormKernel.checkInput(x, groups, weight, bias, eps, activation);
        Tensor out = inkwell.newTensor(x.elementType(), x.shape());
        return Inkwell.closingOnFailure(out, () -> groupNorm(x, groups, weight, bias, eps, activation, out));
    }

    /**
     * Group normalisation (then an activation) into {@code out}.
     *
     * @param x [batch, channels, *]
     * @param groups 1..channels, dividing channels
     * @param weight [channels], or null for 1
     * @param bias [channels], or null for 0
     * @param eps finite and >= 0
     * @param activation applied after the affine step; {@link Activation#NONE} for none
     * @param out shaped like x, of x's element type, not overlapping x, weight or bias
     * @throws NullPointerException if x, activation or out is null
     * @throws IllegalArgumentException as {@link #groupNorm(Tensor, int, Tensor, Tensor, double)},
     *     or if out has another shape or element type or overlaps an input
     * @throws IllegalStateException if a tensor or the context is closed
     */
    public void groupNorm(Tensor x, int groups, Tensor weight, Tensor bias, double eps, Activation activation,
            Tensor out) {
        GroupNormKernel.run(inkwell, x, groups, weight, bias, eps, activation, out);
    }

    // ---- layer norm ---------------------------------------------------------------------

    /**
     * Layer normalisation over the last dimension, as {@code torch.nn.functional.layer_norm(x,
     * (dim,), weight, bias, eps)} ({@code torch.nn.LayerNorm(dim)}): per row of dim elements,
     * y = (x - mean) / sqrt(var + eps) * weight + bias, var the biased variance.
     *
     * @param x [..., dim] (rank >= 1; e.g. [batch, tokens, channels])
     * @param weight [dim], or null for 1
     * @param bias [dim], or null for 0
     * @param eps finite and >= 0 (1e-5 in the U-Net's transformer blocks and CLIP)
     * @return a new tensor shaped like x, of x's element type
     * @throws NullPointerException if x is null
     * @throws IllegalArgumentException if weight or bias is not [dim], eps is NaN, infinite
     *     or negative, the element types differ, or a tensor is in another device's memory
     * @throws IllegalStateException if a tensor or the context is closed
     */
    public Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, double eps) {
        LayerNormKernel.checkInput(x, weight, bias, eps);
        Tensor out = inkwell.newTensor(x.elementType(), x.shape());
        return Inkwell.closingOnFailure(out, () -> layerNorm(x, weight, bias, eps, out));
    }

    /**
     * Layer normalisation over the last dimension into {@code out}.
     *
     * @param x [..., dim]
     * @param weight [dim], or null for 1
     * @param bias [dim], or null for 0
     * @param eps finite and >= 0
     * @param out shaped like x, of x's element type, not overlapping x, weight or bias
     * @throws NullPointerException if x or out is null
     * @throws IllegalArgumentException as {@link #layerNorm(Tensor, Tensor, Tensor, double)},
     *     or if out has another shape or element type or overlaps an input
     * @throws IllegalStateException if a tensor or the context is closed
     */
    public void layerNorm(Tensor x, Tensor weight, Tensor bias, double eps, Tensor out) {
        LayerNormKernel.run(inkwell, x, weight, bias, eps, out);
    }

    // ---- linear and GEGLU ---------------------------------------------------------------

    /**
     * A linear layer, as {@code torch.nn.functional.linear(x, weight, bias)}: y = x W^T + b
     * over the last dimension, any leading dimensions kept. Products are summed in float32.
     *
     * @param x [..., in_features] (rank >= 1)
     * @param weight [out_features, in_features], {@code torch.nn.Linear}'s layout
     * @param bias [out_features], or null for none
     * @return a new tensor [..., out_features] of x's element type
     * @throws NullPointerException if x or weight is null
     * @throws IllegalArgumentException if weight is not rank 2 or its in_features differs
     *     from x's last dimension, bias is not [out_features], the element types differ, or
     *     a tensor is in another device's memory
     * @throws IllegalStateException if a tensor or the context is closed
     */
    public Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        return linear(x, weight, bias, Activation.NONE);
    }

    /**
     * A linear layer followed by an activation, fused (e.g. {@link Activation#SILU} for the
     * U-Net's time embedding MLP, {@link Activation#QUICK_GELU} for CLIP's MLP, as
     * {@code act(F.linear(x, weight, bias))}).
     *
     * @param x [..., in_features]
     * @param weight [out_features, in_features]
     * @param bias [out_features], or null for none
     * @param activation applied after the bias; {@link Activation#NONE} for none
     * @return a new tensor [..., out_features] of x's element type
     * @throws NullPointerException if x, weight or activation is null
     * @throws IllegalArgumentException as {@link #linear(Tensor, Tensor, Tensor)}
     * @throws IllegalStateException if a tensor or the context is closed
     */
    public Tensor linear(Tensor x, Tensor weight, Tensor bias, Activation activation) {
        long[] shape = LinearKernel.linearShape(x, weight, bias, activation);
        Tensor out = inkwell.newTensor(x.elementType(), shape);
        return Inkwell.closingOnFailure(out, () -> linear(x, weight, bias, activation, out));
    }

    /**
     * A linear layer (then an activation) into {@code out}.
     *
     * @param x [..., in_features]
     * @param weight [out_features, in_features]
     * @param bias [out_features], or null for none
     * @param activation applied after the bias; {@link Activation#NONE} for none
     * @param out [..., out_features] of x's element type, not overlapping x, weight or bias
     * @throws NullPointerException if x, weight, activation or out is null
     * @throws IllegalArgumentException as {@link #linear(Tensor, Tensor, Tensor)}, or if out
     *     has another shape or element type or overlaps an input
     * @throws IllegalStateException if a tensor or the context is closed
     */
    public void linear(Tensor x, Tensor weight, Tensor bias, Activation activation, Tensor out) {
        LinearKernel.linear(inkwell, x, weight, bias, activation, out);
    }

    /**
     * diffusers' {@code GEGLU} (the feed-forward of the U-Net's transformer blocks), fused:
     * h = {@code F.linear(x, weight, bias)}, split in half along the last dimension into a
     * value and a gate, y = value * gelu(gate) (erf form), as {@code hidden, gate =
     * proj(x).chunk(2, dim=-1); hidden * F.gelu(gate)}.
     *
     * @param x [..., in_features] (rank >= 1)
     * @param weight [2 * inner_dim, in_features]: the value rows, then the gate rows
     * @param bias [2 * inner_dim], or null for none
     * @return a new tensor [..., inner_dim] of x's element type
     * @throws NullPointerException if x or weight is null
     * @throws IllegalArgumentException if weight is not rank 2, its dim 0 is odd or its
     *     in_features differs from x's last dimension, bias is not [2 * inner_dim], the
     *     element types differ, or a tensor is in another device's memory
     * @throws IllegalStateException if a tensor or the context is closed
     */
    public Tensor geglu(Tensor x, Tensor weight, Tensor bias) {
        long[] shape = LinearKernel.gegluShape(x, weight, bias);
        Tensor out = inkwell.newTensor(x.elementType(), shape);
        return Inkwell.closingOnFailure(out, () -> geglu(x, weight, bias, out));
    }

    /**
     * GEGLU into {@code out}.
     *
     * @param x [..., in_features]
     * @param weight [2 * inner_dim, in_features]
     * @param bias [2 * inner_dim], or null for none
     * @param out [..., inner_dim] of x's element type, not overlapping x, weight or bias
     * @throws NullPointerException if x, weight or out is null
     * @throws IllegalArgumentException as {@link #geglu(Tensor, Tensor, Tensor)}, or if out
     *     has another shape or element type or overlaps an input
     * @throws IllegalStateException if a tensor or the context is closed
     */
    public void geglu(Tensor x, Tensor weight, Tensor bias, Tensor out) {
        LinearKernel.geglu(inkwell, x, weight, bias, out);
    }

    // ---- activations --------------------------------------------------------------------

    /**
     * An activation element by element ({@code F.silu}, {@code F.gelu}, {@code F.gelu(x,
     * approximate="tanh")}, CLIP's quick_gelu, {@code F.relu}), in float32.
     *
     * @param x any shape
     * @param activation any value but {@link Activation#NONE}
     * @return a new tensor shaped like x, of x's element type
     * @throws NullPointerException if x or activation is null
     * @throws IllegalArgumentException if activation is NONE, or x is in another device's memory
     * @throws IllegalStateException if x or the context is closed
     */
    public Tensor activation(Tensor x, Activation activation) {
        ActivationKernel.checkInput(x, activation);
        Tensor out = inkwell.newTensor(x.elementType(), x.shape());
        return Inkwell.closingOnFailure(out, () -> activation(x, activation, out));
    }

    /**
     * An activation element by element into {@code out}, which may be x itself (in place, as
     * {@code F.silu(x, inplace=True)}).
     *
     * @param x any shape
     * @param activation any value but {@link Activation#NONE}
     * @param out shaped like x, of x's element type: x itself (the same memory), or a tensor
     *     not overlapping it
     * @throws NullPointerException if x, activation or out is null
     * @throws IllegalArgumentException if activation is NONE, out has another shape or
     *     element type or overlaps x only in part, or a tensor is in another device's memory
     * @throws IllegalStateException if a tensor or the context is closed
     */
    public void activation(Tensor x, Activation activation, Tensor out) {
        ActivationKernel.run(inkwell, x, activation, out);
    }

    // ---- timestep embedding -------------------------------------------------------------

    /**
     * Stable Diffusion's sinusoidal timestep embedding: diffusers'
     * {@code get_timestep_embedding(timesteps, dim, flip_sin_to_cos=True,
     * downscale_freq_shift=0)} (the U-Net's {@code Timesteps(320, True, 0)} for dim 320).
     *
     * @param timesteps [count] float32, finite (fractional values allowed)
     * @param dim the embedding size, >= 1 (an odd size gets a zero last column)
     * @return a new float32 tensor [count, dim]: [cos, sin] of timestep * frequency
     * @throws NullPointerException if timesteps is null
     * @throws IllegalArgumentException as
     *     {@link #timestepEmbedding(Tensor, int, boolean, double, double, double)}
     * @throws IllegalStateException if timesteps or the context is closed
     */
    public Tensor timestepEmbedding(Tensor timesteps, int dim) {
        return timestepEmbedding(timesteps, dim, true, 0, 1, 10000);
    }

    /**
     * The sinusoidal timestep embedding, as diffusers' {@code get_timestep_embedding}: with
     * half = dim / 2, frequency i = exp(-ln(maxPeriod) i / (half - downscaleFreqShift)) for i
     * in 0..half-1, arg = scale * timestep * frequency, the row is [sin(arg), cos(arg)] (or
     * [cos, sin] with flipSinToCos), an odd dim padded with a zero column. Computed in
     * double, rounded once to float32.
     *
     * @param timesteps [count] float32, finite (fractional values allowed); a non-finite
     *     value is refused by the native side ({@link InkwellException})
     * @param dim the embedding size, >= 1
     * @param flipSinToCos true: cos first (Stable Diffusion's U-Net)
     * @param downscaleFreqShift finite, with dim / 2 - downscaleFreqShift not 0 (SD: 0;
     *     diffusers' default: 1)
     * @param scale finite multiplier of the arguments (1)
     * @param maxPeriod finite and > 0 (10000)
     * @return a new float32 tensor [count, dim]
     * @throws NullPointerException if timesteps is null
     * @throws IllegalArgumentException if timesteps is not rank 1 or not float32, dim &lt; 1,
     *     a parameter is out of range, or timesteps is in another device's memory
     * @throws IllegalStateException if timesteps or the context is closed
     */
    public Tensor timestepEmbedding(Tensor timesteps, int dim, boolean flipSinToCos, double downscaleFreqShift,
            double scale, double maxPeriod) {
        long[] shape = TimestepEmbeddingKernel.outputShape(timesteps, dim, downscaleFreqShift, scale, maxPeriod);
        Tensor out = inkwell.newTensor(ElementType.FLOAT32, shape);
        return Inkwell.closingOnFailure(out,
                () -> timestepEmbedding(timesteps, dim, flipSinToCos, downscaleFreqShift, scale, maxPeriod, out));
    }

    /**
     * The sinusoidal timestep embedding into {@code out}; parameters as
     * {@link #timestepEmbedding(Tensor, int, boolean, double, double, double)}.
     *
     * @param timesteps [count] float32, finite
     * @param dim the embedding size, >= 1
     * @param flipSinToCos true: cos first
     * @param downscaleFreqShift finite, dim / 2 - downscaleFreqShift not 0
     * @param scale finite
     * @param maxPeriod finite and > 0
     * @param out [count, dim] float32, not overlapping timesteps
     * @throws NullPointerException if timesteps or out is null
     * @throws IllegalArgumentException as
     *     {@link #timestepEmbedding(Tensor, int, boolean, double, double, double)}, or if out
     *     has another shape or element type or overlaps timesteps
     * @throws IllegalStateException if a tensor or the context is closed
     */
    public void timestepEmbedding(Tensor timesteps, int dim, boolean flipSinToCos, double downscaleFreqShift,
            double scale, double maxPeriod, Tensor out) {
        TimestepEmbeddingKernel.run(inkwell, timesteps, dim, flipSinToCos, downscaleFreqShift, scale, maxPeriod, out);
    }

    @Override
    public String toString() {
        return "Layers[" + inkwell + "]";
    }
}
