package dev.inkwell;

/**
 * An activation fused into a kernel's epilogue (applied after the bias or the affine step),
 * or run on its own with {@link Layers#activation}. The formulas are PyTorch's, evaluated in
 * float32. {@link Inkwell#conv2d} takes {@link #NONE} and {@link #SILU} only; the
 * {@link Layers} take every value.
 */
public enum Activation {
    /** The identity. */
    NONE(0),
    /** x * sigmoid(x), as {@code torch.nn.functional.silu}. */
    SILU(1),
    /** x (1 + erf(x / sqrt 2)) / 2, as {@code torch.nn.functional.gelu} (the exact, erf form). */
    GELU(2),
    /**
     * x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) / 2, as
     * {@code torch.nn.functional.gelu(x, approximate="tanh")}.
     */
    GELU_TANH(3),
    /** x * sigmoid(1.702 x), CLIP's {@code quick_gelu} (transformers' {@code QuickGELUActivation}). */
    QUICK_GELU(4),
    /** max(x, 0), NaN kept, as {@code torch.nn.functional.relu}. */
    RELU(5);

    private final int code;

    Activation(int code) {
        this.code = code;
    }

    /** The value of the native {@code inkwell_activation} enum. */
    int code() {
        return code;
    }
}
