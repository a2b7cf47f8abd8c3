package dev.inkwell;

import java.util.Objects;

/**
 * Parameters of {@link Inkwell#conv2d}, as in {@code torch.nn.functional.conv2d}: per-axis
 * stride, zero padding and dilation, groups, and an optional fused activation. The output
 * size along an axis is {@code (in + 2 pad - dilation (k - 1) - 1) / stride + 1}.
 */
public record Conv2dOptions(
        int strideH, int strideW, int padH, int padW, int dilationH, int dilationW, int groups, Activation activation) {

    private static final Conv2dOptions DEFAULTS = new Conv2dOptions(1, 1, 0, 0, 1, 1, 1, Activation.NONE);

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

    /** Stride 1, no padding, dilation 1, one group, no activation. */
    public static Conv2dOptions defaults() {
        return DEFAULTS;
    }

    public Conv2dOptions withStride(int stride) {
        return withStride(stride, stride);
    }

    public Conv2dOptions withStride(int h, int w) {
        return new Conv2dOptions(h, w, padH, padW, dilationH, dilationW, groups, activation);
    }

    public Conv2dOptions withPadding(int padding) {
        return withPadding(padding, padding);
    }

    public Conv2dOptions withPadding(int h, int w) {
        return new Conv2dOptions(strideH, strideW, h, w, dilationH, dilationW, groups, activation);
    }

    public Conv2dOptions withDilation(int dilation) {
        return withDilation(dilation, dilation);
    }

    public Conv2dOptions withDilation(int h, int w) {
        return new Conv2dOptions(strideH, strideW, padH, padW, h, w, groups, activation);
    }

    public Conv2dOptions withGroups(int g) {
        return new Conv2dOptions(strideH, strideW, padH, padW, dilationH, dilationW, g, activation);
    }

    /**
     * A fused activation applied after the bias.
     *
     * @param a {@link Activation#NONE} or {@link Activation#SILU}
     * @throws NullPointerException if {@code a} is null
     * @throws IllegalArgumentException for any other activation (the layers of {@link Layers}
     *     take them; run {@link Layers#activation} after conv2d)
     */
    public Conv2dOptions withActivation(Activation a) {
        return new Conv2dOptions(strideH, strideW, padH, padW, dilationH, dilationW, groups, a);
    }

    /** Output height for an input height and kernel height; at least 1 or an exception. */
    public long outputHeight(long inHeight, long kernelH) {
        return outputSize("height", inHeight, kernelH, padH, dilationH, strideH);
    }

    /** Output width for an input width and kernel width; at least 1 or an exception. */
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
