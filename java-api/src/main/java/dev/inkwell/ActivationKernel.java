package dev.inkwell;

import dev.inkwell.bindings.InkwellNative;
import dev.inkwell.bindings.inkwell_activation_params;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/** {@link Layers#activation}: checks (in place allowed), and the call to inkwell_activation_f32, _f16 or _bf16. */
final class ActivationKernel {
    private ActivationKernel() {}

    /** Checks x and the activation (NONE is refused: there is nothing to run). */
    static void checkInput(Tensor x, Activation activation) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(activation, "activation");
        if (activation == Activation.NONE) {
            throw new IllegalArgumentException("activation: activation NONE is not a kernel; pass SILU, GELU, GELU_TANH,"
                    + " QUICK_GELU or RELU");
        }
    }

    static void run(Inkwell inkwell, Tensor x, Activation activation, Tensor out) {
        checkInput(x, activation);
        ShapeChecks.shape(out, x.shape(), "out");
        ShapeChecks.sameElementType("activation", x, "x", out, "out");
        ShapeChecks.sameOrNoOverlap("activation", out, "out", x, "x");
        ElementType type = x.elementType();
        inkwell.run("activation", Inkwell.names("x", "out"), (arena, context) -> {
            MemorySegment p = inkwell_activation_params.allocate(arena);
            inkwell_activation_params.input(p, x.nativeSegment());
            inkwell_activation_params.output(p, out.nativeSegment());
            inkwell_activation_params.count(p, x.elementCount());
            inkwell_activation_params.activation(p, activation.code());
            return switch (type) {
                case FLOAT32 -> InkwellNative.inkwell_activation_f32(context, p);
                case FLOAT16 -> InkwellNative.inkwell_activation_f16(context, p);
                case BFLOAT16 -> InkwellNative.inkwell_activation_bf16(context, p);
            };
        }, x, out);
    }
}
