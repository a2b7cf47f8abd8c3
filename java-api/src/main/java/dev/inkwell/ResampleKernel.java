package dev.inkwell;

import dev.inkwell.bindings.InkwellNative;
import dev.inkwell.bindings.inkwell_resample_params;
import dev.inkwell.bindings.inkwell_upsample_nearest2d_params;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * {@link Inkwell#resample} and {@link Inkwell#upsampleNearest2d}: shape checks and the calls to
 * inkwell_resample_f32 and inkwell_upsample_nearest2d_f32, _f16, _bf16.
 */
final class ResampleKernel {
    private ResampleKernel() {}

    static void run(Inkwell inkwell, Tensor input, Tensor output, ResampleMode mode) {
        Objects.requireNonNull(mode, "mode");
        ShapeChecks.rank(input, 4, "input", "[batch, channels, height, width]");
        long[] outShape = mode.outputShape(input.shape());
        ShapeChecks.shape(output, outShape, "output");
        ShapeChecks.float32("resample", "input", input);
        ShapeChecks.float32("resample", "output", output);
        ShapeChecks.noOverlap("resample", output, "output", input);
        inkwell.run("resample", Inkwell.names("input", "output"), (arena, context) -> {
            MemorySegment p = inkwell_resample_params.allocate(arena);
            inkwell_resample_params.input(p, input.nativeSegment());
            inkwell_resample_params.output(p, output.nativeSegment());
            inkwell_resample_params.batch(p, input.dim(0));
            inkwell_resample_params.channels(p, input.dim(1));
            inkwell_resample_params.in_height(p, input.dim(2));
            inkwell_resample_params.in_width(p, input.dim(3));
            inkwell_resample_params.mode(p, mode.code());
            return InkwellNative.inkwell_resample_f32(context, p);
        }, input, output);
    }

    /** Output sides are 1..2^40 (the native check names the side; here only the sign, before allocating). */
    static long[] nearestOutputShape(Tensor input, long outHeight, long outWidth) {
        ShapeChecks.rank(input, 4, "input", "[batch, channels, height, width]");
        if (outHeight < 1 || outWidth < 1) {
            throw new IllegalArgumentException("upsample_nearest2d: output size must be at least 1x1, got " + outHeight
                    + "x" + outWidth);
        }
        return new long[] {input.dim(0), input.dim(1), outHeight, outWidth};
    }

    static void upsampleNearest2d(Inkwell inkwell, Tensor input, Tensor output) {
        ShapeChecks.rank(output, 4, "output", "[batch, channels, out_height, out_width]");
        ShapeChecks.shape(output, nearestOutputShape(input, output.dim(2), output.dim(3)), "output");
        ShapeChecks.sameElementType("upsample_nearest2d", input, "input", output, "output");
        ShapeChecks.noOverlap("upsample_nearest2d", output, "output", input);
        ElementType type = input.elementType();
        inkwell.run("upsample_nearest2d", Inkwell.names("input", "output"), (arena, context) -> {
            MemorySegment p = inkwell_upsample_nearest2d_params.allocate(arena);
            inkwell_upsample_nearest2d_params.input(p, input.nativeSegment());
            inkwell_upsample_nearest2d_params.output(p, output.nativeSegment());
            inkwell_upsample_nearest2d_params.batch(p, input.dim(0));
            inkwell_upsample_nearest2d_params.channels(p, input.dim(1));
            inkwell_upsample_nearest2d_params.in_height(p, input.dim(2));
            inkwell_upsample_nearest2d_params.in_width(p, input.dim(3));
            inkwell_upsample_nearest2d_params.out_height(p, output.dim(2));
            inkwell_upsample_nearest2d_params.out_width(p, output.dim(3));
            return switch (type) {
                case FLOAT32 -> InkwellNative.inkwell_upsample_nearest2d_f32(context, p);
                case FLOAT16 -> InkwellNative.inkwell_upsample_nearest2d_f16(context, p);
                case BFLOAT16 -> InkwellNative.inkwell_upsample_nearest2d_bf16(context, p);
            };
        }, input, output);
    }
}
