package dev.inkwell;

import dev.inkwell.bindings.InkwellNative;
import dev.inkwell.bindings.inkwell_resample_params;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/** {@link Inkwell#resample}: shape checks and the call to inkwell_resample_f32. */
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
}
