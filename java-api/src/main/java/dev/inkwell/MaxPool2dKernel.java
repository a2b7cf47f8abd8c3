package dev.inkwell;

import dev.inkwell.bindings.InkwellNative;
import dev.inkwell.bindings.inkwell_max_pool2d_params;
import java.lang.foreign.MemorySegment;

/** {@link TensorOps#maxPool2d}: window checks as PyTorch makes them, and the call to inkwell_max_pool2d_f32. */
final class MaxPool2dKernel {
    private MaxPool2dKernel() {}

    /** [batch, channels, out_height, out_width], out = (in + 2 pad - kernel) / stride + 1 per axis. */
    static long[] outputShape(Tensor x, int kh, int kw, int sh, int sw, int ph, int pw) {
        ShapeChecks.rank(x, 4, "x", "[batch, channels, height, width]");
        ShapeChecks.float32("maxPool2d", "x", x);
        return new long[] {x.dim(0), x.dim(1), outputSize("height", x.dim(2), kh, sh, ph),
            outputSize("width", x.dim(3), kw, sw, pw)};
    }

    private static long outputSize(String axis, long in, int kernel, int stride, int pad) {
        if (kernel < 1) {
            throw new IllegalArgumentException("maxPool2d: kernel " + axis + " must be >= 1, got " + kernel);
        }
        if (stride < 1) {
            throw new IllegalArgumentException("maxPool2d: stride along the " + axis + " must be >= 1, got " + stride);
        }
        if (pad < 0 || pad > kernel / 2) { // PyTorch: "pad should be at most half of effective kernel size"
            throw new IllegalArgumentException("maxPool2d: padding along the " + axis + " must be 0.." + kernel / 2
                    + " (at most half the kernel " + axis + " " + kernel + "), got " + pad);
        }
        long padded = in + 2L * pad;
        if (padded < kernel) {
            throw new IllegalArgumentException("maxPool2d: the kernel " + axis + " " + kernel
                    + " is larger than the padded input " + axis + " " + padded);
        }
        return (padded - kernel) / stride + 1;
    }

    static void run(Inkwell inkwell, Tensor x, int kh, int kw, int sh, int sw, int ph, int pw, Tensor out) {
        long[] outShape = outputShape(x, kh, kw, sh, sw, ph, pw);
        ShapeChecks.shape(out, outShape, "out");
        ShapeChecks.float32("maxPool2d", "out", out);
        ShapeChecks.noOverlap("maxPool2d", out, "out", x);
        inkwell.run("maxPool2d", Inkwell.names("x", "out"), (arena, context) -> {
            MemorySegment p = inkwell_max_pool2d_params.allocate(arena);
            inkwell_max_pool2d_params.input(p, x.nativeSegment());
            inkwell_max_pool2d_params.output(p, out.nativeSegment());
            inkwell_max_pool2d_params.batch(p, x.dim(0));
            inkwell_max_pool2d_params.channels(p, x.dim(1));
            inkwell_max_pool2d_params.in_height(p, x.dim(2));
            inkwell_max_pool2d_params.in_width(p, x.dim(3));
            inkwell_max_pool2d_params.kernel_h(p, kh);
            inkwell_max_pool2d_params.kernel_w(p, kw);
            inkwell_max_pool2d_params.stride_h(p, sh);
            inkwell_max_pool2d_params.stride_w(p, sw);
            inkwell_max_pool2d_params.pad_h(p, ph);
            inkwell_max_pool2d_params.pad_w(p, pw);
            inkwell_max_pool2d_params.out_height(p, outShape[2]);
            inkwell_max_pool2d_params.out_width(p, outShape[3]);
            return InkwellNative.inkwell_max_pool2d_f32(context, p);
        }, x, out);
    }
}
