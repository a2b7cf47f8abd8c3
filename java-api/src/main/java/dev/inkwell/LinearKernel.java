package dev.inkwell;

import dev.inkwell.bindings.InkwellNative;
import dev.inkwell.bindings.inkwell_geglu_params;
import dev.inkwell.bindings.inkwell_linear_params;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;

/**
 * {@link Layers#linear} and {@link Layers#geglu}: shape checks, and the calls to
 * inkwell_linear_* and inkwell_geglu_* (f32, f16, bf16). Leading dimensions of x are
 * flattened into rows.
 */
final class LinearKernel {
    private LinearKernel() {}

    /** x [..., in_features] with weight [out_features, in_features] gives [..., out_features]. */
    static long[] linearShape(Tensor x, Tensor weight, Tensor bias, Activation activation) {
        Objects.requireNonNull(activation, "activation");
        long outFeatures = checkWeight("linear", x, weight, "[out_features, in_features]");
        ShapeChecks.optionalVector(bias, outFeatures, "bias");
        return withLastDim(x, outFeatures);
    }

    /** x [..., in_features] with weight [2 * inner, in_features] gives [..., inner]. */
    static long[] gegluShape(Tensor x, Tensor weight, Tensor bias) {
        long twice = checkWeight("geglu", x, weight, "[2 * inner_dim, in_features]");
        if (twice % 2 != 0) {
            throw new IllegalArgumentException("geglu: weight dim 0 is " + twice
                    + ", which is not even (2 * inner_dim: the value half, then the gate half)");
        }
        ShapeChecks.optionalVector(bias, twice, "bias");
        return withLastDim(x, twice / 2);
    }

    /** Checks x's and weight's ranks and in_features; returns weight's dim 0. */
    private static long checkWeight(String operation, Tensor x, Tensor weight, String weightLayout) {
        ShapeChecks.minRank(x, 1, "x", "[..., in_features]");
        ShapeChecks.rank(weight, 2, "weight", weightLayout);
        long inFeatures = x.dim(x.rank() - 1);
        if (weight.dim(1) != inFeatures) {
            throw new IllegalArgumentException(operation + ": weight " + Arrays.toString(weight.shape())
                    + " has in_features " + weight.dim(1) + " but x " + Arrays.toString(x.shape()) + " has " + inFeatures);
        }
        return weight.dim(0);
    }

    private static long[] withLastDim(Tensor x, long last) {
        long[] s = x.shape();
        s[s.length - 1] = last;
        return s;
    }

    private static void checkTypesAndOverlap(String operation, Tensor x, Tensor weight, Tensor bias, Tensor out) {
        ShapeChecks.sameElementType(operation, x, "x", weight, "weight");
        ShapeChecks.sameElementType(operation, x, "x", bias, "bias");
        ShapeChecks.sameElementType(operation, x, "x", out, "out");
        ShapeChecks.noOverlap(operation, out, "out", x, weight, bias);
    }

    static void linear(Inkwell inkwell, Tensor x, Tensor weight, Tensor bias, Activation activation, Tensor out) {
        ShapeChecks.shape(out, linearShape(x, weight, bias, activation), "out");
        checkTypesAndOverlap("linear", x, weight, bias, out);
        long inFeatures = weight.dim(1);
        ElementType type = x.elementType();
        inkwell.run("linear", Inkwell.names("x", "weight", "bias", "out"), (arena, context) -> {
            MemorySegment p = inkwell_linear_params.allocate(arena);
            inkwell_linear_params.input(p, x.nativeSegment());
            inkwell_linear_params.weight(p, weight.nativeSegment());
            inkwell_linear_params.bias(p, bias == null ? MemorySegment.NULL : bias.nativeSegment());
            inkwell_linear_params.output(p, out.nativeSegment());
            inkwell_linear_params.rows(p, x.elementCount() / inFeatures);
            inkwell_linear_params.in_features(p, inFeatures);
            inkwell_linear_params.out_features(p, weight.dim(0));
            inkwell_linear_params.activation(p, activation.code());
            return switch (type) {
                case FLOAT32 -> InkwellNative.inkwell_linear_f32(context, p);
                case FLOAT16 -> InkwellNative.inkwell_linear_f16(context, p);
                case BFLOAT16 -> InkwellNative.inkwell_linear_bf16(context, p);
            };
        }, x, weight, bias, out);
    }

    static void geglu(Inkwell inkwell, Tensor x, Tensor weight, Tensor bias, Tensor out) {
        ShapeChecks.shape(out, gegluShape(x, weight, bias), "out");
        checkTypesAndOverlap("geglu", x, weight, bias, out);
        long inFeatures = weight.dim(1);
        ElementType type = x.elementType();
        inkwell.run("geglu", Inkwell.names("x", "weight", "bias", "out"), (arena, context) -> {
            MemorySegment p = inkwell_geglu_params.allocate(arena);
            inkwell_geglu_params.input(p, x.nativeSegment());
            inkwell_geglu_params.weight(p, weight.nativeSegment());
            inkwell_geglu_params.bias(p, bias == null ? MemorySegment.NULL : bias.nativeSegment());
            inkwell_geglu_params.output(p, out.nativeSegment());
            inkwell_geglu_params.rows(p, x.elementCount() / inFeatures);
            inkwell_geglu_params.in_features(p, inFeatures);
            inkwell_geglu_params.inner_dim(p, weight.dim(0) / 2);
            return switch (type) {
                case FLOAT32 -> InkwellNative.inkwell_geglu_f32(context, p);
                case FLOAT16 -> InkwellNative.inkwell_geglu_f16(context, p);
                case BFLOAT16 -> InkwellNative.inkwell_geglu_bf16(context, p);
            };
        }, x, weight, bias, out);
    }
}
