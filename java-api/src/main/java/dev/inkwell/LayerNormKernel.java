package dev.inkwell;

import dev.inkwell.bindings.InkwellNative;
import dev.inkwell.bindings.inkwell_layer_norm_params;
import java.lang.foreign.MemorySegment;

/** {@link Layers#layerNorm}: shape and eps checks, and the call to inkwell_layer_norm_f32, _f16 or _bf16. */
final class LayerNormKernel {
    private LayerNormKernel() {}

    /** Checks the input side; the output is shaped like {@code x}. */
    static void checkInput(Tensor x, Tensor weight, Tensor bias, double eps) {
        ShapeChecks.minRank(x, 1, "x", "[..., dim]");
        long dim = x.dim(x.rank() - 1);
        ShapeChecks.optionalVector(weight, dim, "weight");
        ShapeChecks.optionalVector(bias, dim, "bias");
        ShapeChecks.eps("layerNorm", eps);
    }

    static void run(Inkwell inkwell, Tensor x, Tensor weight, Tensor bias, double eps, Tensor out) {
        checkInput(x, weight, bias, eps);
        ShapeChecks.shape(out, x.shape(), "out");
        ShapeChecks.sameElementType("layerNorm", x, "x", weight, "weight");
        ShapeChecks.sameElementType("layerNorm", x, "x", bias, "bias");
        ShapeChecks.sameElementType("layerNorm", x, "x", out, "out");
        ShapeChecks.noOverlap("layerNorm", out, "out", x, weight, bias);
        long dim = x.dim(x.rank() - 1);
        ElementType type = x.elementType();
        inkwell.run("layerNorm", Inkwell.names("x", "weight", "bias", "out"), (arena, context) -> {
            MemorySegment p = inkwell_layer_norm_params.allocate(arena);
            inkwell_layer_norm_params.input(p, x.nativeSegment());
            inkwell_layer_norm_params.weight(p, weight == null ? MemorySegment.NULL : weight.nativeSegment());
            inkwell_layer_norm_params.bias(p, bias == null ? MemorySegment.NULL : bias.nativeSegment());
            inkwell_layer_norm_params.output(p, out.nativeSegment());
            inkwell_layer_norm_params.rows(p, x.elementCount() / dim);
            inkwell_layer_norm_params.dim(p, dim);
            inkwell_layer_norm_params.eps(p, eps);
            return switch (type) {
                case FLOAT32 -> InkwellNative.inkwell_layer_norm_f32(context, p);
                case FLOAT16 -> InkwellNative.inkwell_layer_norm_f16(context, p);
                case BFLOAT16 -> InkwellNative.inkwell_layer_norm_bf16(context, p);
            };
        }, x, weight, bias, out);
    }
}
