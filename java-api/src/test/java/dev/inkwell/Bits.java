package dev.inkwell;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Kernel outputs as comparable values: arrays by content, doubles by their exact bits. */
final class Bits {
    private Bits() {}

    static List<Object> of(List<Object> outputs) {
        List<Object> bits = new ArrayList<>();
        for (Object o : outputs) {
            bits.add(switch (o) {
                case byte[] b -> new String(b, StandardCharsets.ISO_8859_1); // one char per byte, exact
                case float[] f -> floatBits(f);
                case Double d -> Double.doubleToRawLongBits(d);
                default -> throw new IllegalArgumentException("unexpected output " + o);
            });
        }
        return bits;
    }

    private static List<Integer> floatBits(float[] f) {
        List<Integer> bits = new ArrayList<>(f.length);
        for (float v : f) {
            bits.add(Float.floatToRawIntBits(v));
        }
        return bits;
    }
}
