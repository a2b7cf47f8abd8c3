package dev.inkwell;

/** An activation fused into a kernel's epilogue. */
public enum Activation {
    NONE(0),
    /** x * sigmoid(x), as torch.nn.functional.silu. */
    SILU(1);

    private final int code;

    Activation(int code) {
        this.code = code;
    }

    int code() {
        return code;
    }
}
