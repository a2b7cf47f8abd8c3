package dev.inkwell;

import java.util.Objects;

/**
 * Parameters of {@link Inkwell#conv2d}, as in {@code torch.nn.functional.conv2d}: per-axis
 * stride, zero padding and dilation, groups, and an optional fused activation. The output
 * size along an axis is {@code (in + 2 pad - dilation (k - 1) - 1) / stride + 1}.
 *
 * @param strideH stride along the height, at least 1
 * @param strideW stride along the width, at least 1
 * @param padH zero padding above and below, at least 0
 * @param padW zero padding left and right, at least 0
 * @param dilationH dilation along the height, at least 1
 * @param dilationW dilation along the width, at least 1
 * @param groups groups, at least 1; must divide the input and output channels (checked by
 *     the call)
 * @param activation fused after the bias: {@link Activation#NONE} or {@link Activation#SILU}
 */
public record Conv2dOptions(
        int strideH, int strideW, int padH, int padW, int dilationH, int dilationW, int groups, Activation activation) {

    private static final Conv2dOptions DEFAULTS = new Conv2dOptions(1, 1, 0, 0, 1, 1, 1, Activation.NONE);

    /**
     * Checks the parameters.
     *
     * @throws IllegalArgumentException if a stride, dilation or groups is below 1, a padding
     *     below 0, or the activation is neither NONE nor SILU
     * @throws NullPointerException if {@code activation} is null
     */
    public Conv2dOptions {
        positive("stride", strideH);
        positive("stride", strideW);
        positive("dilation", dilationH);
        positive("dilation", dilationW);
        positive("groups", groups);
        if (padH < 0 || padW < 0) {
            throw new IllegalArgumentException("padding must be >= 0, got (" + padH + ", " + padW + ")");
        }
        checkActivation(activation);
    }

    /**
     * Stride 1, no padding, dilation 1, one group, no activation.
     *
     * @return the default options
     */
    public static Conv2dOptions defaults() {
        return DEFAULTS;
    }

    /**
     * The same stride along both axes.
     *
     * @param stride at least 1
     * @return a copy of these options with that stride
     * @throws IllegalArgumentException if {@code stride} is below 1
     */
    public Conv2dOptions withStride(int stride) {
        return withStride(stride, stride);
    }

    /**
     * A stride per axis.
     *
     * @param h stride along the height, at least 1
     * @param w stride along the width, at least 1
     * @return a copy of these options with that stride
     * @throws IllegalArgumentException if either is below 1
     */
    public Conv2dOptions withStride(int h, int w) {
        return new Conv2dOptions(h, w, padH, padW, dilationH, dilationW, groups, activation);
    }

    /**
     * The same zero padding on every side.
     *
     * @param padding at least 0
     * @return a copy of these options with that padding
     * @throws IllegalArgumentException if {@code padding} is negative
     */
    public Conv2dOptions withPadding(int padding) {
        return withPadding(padding, padding);
    }

    /**
     * Zero padding per axis.
     *
     * @param h rows of zeros above and below, at least 0
     * @param w columns of zeros left and right, at least 0
     * @return a copy of these options with that padding
     * @throws IllegalArgumentException if either is negative
     */
    public Conv2dOptions withPadding(int h, int w) {
        return new Conv2dOptions(strideH, strideW, h, w, dilationH, dilationW, groups, activation);
    }

    /**
     * The same dilation along both axes.
     *
     * @param dilation at least 1
     * @return a copy of these options with that dilation
     * @throws IllegalArgumentException if {@code dilation} is below 1
     */
    public Conv2dOptions withDilation(int dilation) {
        return withDilation(dilation, dilation);
    }

    /**
     * A dilation per axis.
     *
     * @param h dilation along the height, at least 1
     * @param w dilation along the width, at least 1
     * @return a copy of these options with that dilation
     * @throws IllegalArgumentException if either is below 1
     */
    public Conv2dOptions withDilation(int h, int w) {
        return new Conv2dOptions(strideH, strideW, padH, padW, h, w, groups, activation);
    }

    /**
     * Grouped convolution, as torch's {@code groups}.
     *
     * @param g at least 1; must divide the input and output channels (checked by the call)
     * @return a copy of these options with that many groups
     * @throws IllegalArgumentException if {@code g} is below 1
     */
    public Conv2dOptions withGroups(int g) {
        return new Conv2dOptions(strideH, strideW, padH, padW, dilationH, dilationW, g, activation);
    }

    /**
     * A fused activation applied after the bias.
     *
     * @param a {@link Activation#NONE} or {@link Activation#SILU}
     * @return a copy of these options with that activation
     * @throws NullPointerException if {@code a} is null
     * @throws IllegalArgumentException for any other activation (the layers of {@link Layers}
     *     take them; run {@link Layers#activation} after conv2d)
     */
    public Conv2dOptions withActivation(Activation a) {
        return new Conv2dOptions(strideH, strideW, padH, padW, dilationH, dilationW, groups, a);
    }

    /**
     * The output height of a conv2d with these options.
     *
     * @param inHeight the input height
     * @param kernelH the kernel height
     * @return the output height, at least 1
     * @throws IllegalArgumentException if the dilated kernel is taller than the padded input
     */
    public long outputHeight(long inHeight, long kernelH) {
        return outputSize("height", inHeight, kernelH, padH, dilationH, strideH);
    }

    /**
     * The output width of a conv2d with these options.
     *
     * @param inWidth the input width
     * @param kernelW the kernel width
     * @return the output width, at least 1
     * @throws IllegalArgumentException if the dilated kernel is wider than the padded input
     */
    public long outputWidth(long inWidth, long kernelW) {
        return outputSize("width", inWidth, kernelW, padW, dilationW, strideW);
    }

    private static long outputSize(String axis, long in, long k, long pad, long dilation, long stride) {
        long span = dilation * (k - 1) + 1;
        long padded = in + 2 * pad;
        if (padded < span) {
            throw new IllegalArgumentException("conv2d: the dilated kernel " + axis + " " + span + " is larger than the padded input "
                    + axis + " " + padded);
        }
        return (padded - span) / stride + 1;
    }

    /** conv2d fuses NONE and SILU only; the native epilogue has no other. */
    static void checkActivation(Activation a) {
        Objects.requireNonNull(a, "activation");
        if (a != Activation.NONE && a != Activation.SILU) {
            throw new IllegalArgumentException("conv2d: activation " + a + " is not supported (NONE or SILU only);"
                    + " apply it afterwards with Layers.activation");
        }
    }

    private static void positive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be >= 1, got " + value);
        }
    }
}
