package dev.inkwell;

import dev.inkwell.bindings.InkwellNative;
import dev.inkwell.bindings.inkwell_group_norm_params;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/** {@link Layers#groupNorm}: shape, group and eps checks, and the call to inkwell_group_norm_f32, _f16 or _bf16. */
final class GroupNormKernel {
    private GroupNormKernel() {}

    /** Checks the input side; the output is shaped like {@code x}. */
    static void checkInput(Tensor x, int groups, Tensor weight, Tensor bias, double eps, Activation activation) {
        ShapeChecks.minRank(x, 2, "x", "[batch, channels, *]");
        Objects.requireNonNull(activation, "activation");
        long channels = x.dim(1);
        if (groups < 1) {
            throw new IllegalArgumentException("groupNorm: groups must be >= 1, got " + groups);
        }
        if (channels % groups != 0) {
            throw new IllegalArgumentException("groupNorm: groups " + groups + " does not divide channels " + channels);
        }
        ShapeChecks.optionalVector(weight, channels, "weight");
        ShapeChecks.optionalVector(bias, channels, "bias");
        ShapeChecks.eps("groupNorm", eps);
    }

    static void run(Inkwell inkwell, Tensor x, int groups, Tensor weight, Tensor bias, double eps, Activation activation,
            Tensor out) {
        checkInput(x, groups, weight, bias, eps, activation);
        ShapeChecks.shape(out, x.shape(), "out");
        ShapeChecks.sameElementType("groupNorm", x, "x", weight, "weight");
        ShapeChecks.sameElementType("groupNorm", x, "x", bias, "bias");
        ShapeChecks.sameElementType("groupNorm", x, "x", out, "out");
        ShapeChecks.noOverlap("groupNorm", out, "out", x, weight, bias);
        long[] s = x.shape();
        ElementType type = x.elementType();
        inkwell.run("groupNorm", Inkwell.names("x", "weight", "bias", "out"), (arena, context) -> {
            MemorySegment p = inkwell_group_norm_params.allocate(arena);
            inkwell_group_norm_params.input(p, x.nativeSegment());
            inkwell_group_norm_params.weight(p, weight == null ? MemorySegment.NULL : weight.nativeSegment());
            inkwell_group_norm_params.bias(p, bias == null ? MemorySegment.NULL : bias.nativeSegment());
            inkwell_group_norm_params.output(p, out.nativeSegment());
            inkwell_group_norm_params.batch(p, s[0]);
            inkwell_group_norm_params.channels(p, s[1]);
            inkwell_group_norm_params.spatial(p, ShapeChecks.product(s, 2, s.length));
            inkwell_group_norm_params.groups(p, groups);
            inkwell_group_norm_params.eps(p, eps);
            inkwell_group_norm_params.activation(p, activation.code());
            return switch (type) {
                case FLOAT32 -> InkwellNative.inkwell_group_norm_f32(context, p);
                case FLOAT16 -> InkwellNative.inkwell_group_norm_f16(context, p);
                case BFLOAT16 -> InkwellNative.inkwell_group_norm_bf16(context, p);
            };
        }, x, weight, bias, out);
    }
}
