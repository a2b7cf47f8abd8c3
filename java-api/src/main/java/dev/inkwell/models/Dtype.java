package dev.inkwell.models;

import dev.inkwell.ElementType;
import java.util.HashMap;
import java.util.Map;

/**
 * The dtypes a safetensors header may name (as the reference implementation spells them),
 * with their width in bits and, for the three Inkwell computes in, the {@link ElementType}.
 * The others are known so that a file holding them (CLIP's {@code position_ids} is I64) opens
 * and lists them; loading one is refused by name.
 */
enum Dtype {
    BOOL(8), U8(8), I8(8), F8_E5M2(8), F8_E4M3(8), F8_E8M0(8),
    F4(4), F6_E2M3(6), F6_E3M2(6),
    I16(16), U16(16), F16(16, ElementType.FLOAT16), BF16(16, ElementType.BFLOAT16),
    I32(32), U32(32), F32(32, ElementType.FLOAT32),
    I64(64), U64(64), F64(64), C64(64);

    private static final Map<String, Dtype> BY_NAME = new HashMap<>();

    static {
        for (Dtype d : values()) {
            BY_NAME.put(d.name(), d);
        }
    }

    final int bits;
    /** Null for a dtype Inkwell does not load. */
    final ElementType elementType;

    Dtype(int bits) {
        this(bits, null);
    }

    Dtype(int bits, ElementType elementType) {
        this.bits = bits;
        this.elementType = elementType;
    }

    /** The dtype spelled {@code name} exactly, or null. */
    static Dtype byName(String name) {
        return BY_NAME.get(name);
    }
}
