package dev.inkwell;

import dev.inkwell.internal.HalfFloats;

/**
 * The element type of a {@link Tensor}, as PyTorch's {@code torch.float32},
 * {@code torch.float16} and {@code torch.bfloat16}.
 *
 * <p>Every kernel takes {@link #FLOAT32}. {@link Inkwell#conv2d}, {@link Inkwell#attention}
 * and the layers of {@link Layers} but {@link Layers#timestepEmbedding} also take
 * {@link #FLOAT16} and {@link #BFLOAT16} (all tensors of one call of one type): they compute
 * in float32 (inputs widened exactly, sums in float32, bias and activation in float32) and
 * round each output once, to nearest even; on a CUDA context on tensor cores.
 * {@link Inkwell#upsampleNearest2d} takes all three too (it copies elements). The DDIM
 * kernels, {@link Inkwell#resample}, {@link TensorOps} and the timestep embedding take
 * float32 only (convert with {@link Tensor#to(ElementType)}).
 * Converting to a 16-bit type rounds to nearest even, overflows to infinity and keeps NaN a
 * NaN, as {@code tensor.half()} and {@code tensor.bfloat16()} do.
 */
public enum ElementType {
    /** IEEE 754 binary32. */
    FLOAT32(4, 0),
    /** IEEE 754 binary16: 11 significant bits, largest finite value 65504. */
    FLOAT16(2, 1),
    /** bfloat16: the upper half of a float32 (8 significant bits, float32's range). */
    BFLOAT16(2, 2);

    private final int byteSize;
    private final int code;

    ElementType(int byteSize, int code) {
        this.byteSize = byteSize;
        this.code = code;
    }

    /**
     * Bytes per element.
     *
     * @return 4 or 2
     */
    public int byteSize() {
        return byteSize;
    }

    /**
     * {@code value} rounded to this type and widened back to float: the value a tensor of
     * this type stores for it (the identity for {@link #FLOAT32}).
     *
     * @param value any float, NaN and infinities included
     * @return the value rounded to nearest even in this type (infinite on overflow)
     */
    public float round(float value) {
        return switch (this) {
            case FLOAT32 -> value;
            case FLOAT16 -> HalfFloats.float16ToFloat(HalfFloats.floatToFloat16(value));
            case BFLOAT16 -> HalfFloats.bfloat16ToFloat(HalfFloats.floatToBfloat16(value));
        };
    }

    /** The native inkwell_element_type. */
    int code() {
        return code;
    }

    /** 16-bit bits of {@code value} (FLOAT16 or BFLOAT16 only). */
    short encode(float value) {
        return this == FLOAT16 ? HalfFloats.floatToFloat16(value) : HalfFloats.floatToBfloat16(value);
    }

    /** The float that 16-bit {@code bits} hold (FLOAT16 or BFLOAT16 only). */
    float decode(short bits) {
        return this == FLOAT16 ? HalfFloats.float16ToFloat(bits) : HalfFloats.bfloat16ToFloat(bits);
    }
}
