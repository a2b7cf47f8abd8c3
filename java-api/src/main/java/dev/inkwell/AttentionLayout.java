package dev.inkwell;

/**
 * How {@link Inkwell#attention}'s q, k, v and out are laid out (contiguous, C order). B is
 * the batch, H the heads, L the length (q_len for q and out, kv_len for k and v), D the head
 * size.
 */
public enum AttentionLayout {
    /**
     * [B, H, L, D]: what {@code torch.nn.functional.scaled_dot_product_attention} takes (the
     * default).
     */
    BHLD(0),
    /**
     * [B, L, H, D]: a projection's output [B, L, H * D] as it is ({@link Tensor#view} it as
     * [B, L, H, D]), without diffusers' {@code view(...).transpose(1, 2)} copy; out comes back
     * in the same layout, ready for the output projection.
     */
    BLHD(1);

    private final int code;

    AttentionLayout(int code) {
        this.code = code;
    }

    /** The value of the native {@code inkwell_attention_layout} enum. */
    int code() {
        return code;
    }
}
