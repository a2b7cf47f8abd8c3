package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.internal.HalfFloats;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The float16/bfloat16 conversions against independent references (the JDK's
 * Float.floatToFloat16 for float16; exact nearest-value selection in double for bfloat16),
 * and the 16-bit Tensor API: storage size, rounding on write, widening on read, conversion.
 */
class ElementTypeTest {
    /** bfloat16 by definition: of the two neighbours (truncated and next), the nearer; ties to the even one. */
    private static short bfloat16Reference(float f) {
        int x = Float.floatToRawIntBits(f);
        int down = x >>> 16, up = down + 1;
        double dDown = Math.abs((double) Float.intBitsToFloat(down << 16) - f);
        double upValue = (up & 0x7FFF) == 0x7F80 ? Math.copySign(0x1p128, f) : Float.intBitsToFloat(up << 16);
        double dUp = Math.abs(upValue - f);
        int chosen = dDown < dUp ? down : dUp < dDown ? up : ((down & 1) == 0 ? down : up);
        return (short) chosen;
    }

    private static void checkFloat16(float f) {
        short mine = HalfFloats.floatToFloat16(f), jdk = Float.floatToFloat16(f);
        assertEquals(jdk, mine, () -> "float16 of " + f + " (bits " + Integer.toHexString(Float.floatToRawIntBits(f)) + ")");
    }

    private static void checkBfloat16(float f) {
        short mine = HalfFloats.floatToBfloat16(f), want = bfloat16Reference(f);
        assertEquals(want, mine, () -> "bfloat16 of " + f + " (bits " + Integer.toHexString(Float.floatToRawIntBits(f)) + ")");
    }

    @Test
    void float16WideningIsExactForEveryValue() {
        for (int h = 0; h < 0x10000; h++) {
            float mine = HalfFloats.float16ToFloat((short) h), jdk = Float.float16ToFloat((short) h);
            if (Float.isNaN(jdk)) {
                assertTrue(Float.isNaN(mine), "NaN " + Integer.toHexString(h));
            } else {
                assertEquals(Float.floatToRawIntBits(jdk), Float.floatToRawIntBits(mine), "float16 " + Integer.toHexString(h));
            }
        }
    }

    @Test
    void float16NarrowingRoundsToNearestEven() {
        // Every float16 value and the floats around it, including the exact ties halfway to
        // the next value (half an f16 ulp is 2^12 float ulps for normal values).
        for (int h = 0; h < 0x7C00; h++) {
            int bits = Float.floatToRawIntBits(HalfFloats.float16ToFloat((short) h));
            for (int d : new int[] {-4097, -4096, -4095, -1, 0, 1, 4095, 4096, 4097}) {
                checkFloat16(Float.intBitsToFloat(bits + d));
                checkFloat16(-Float.intBitsToFloat(bits + d));
            }
        }
        Random rnd = new Random(5);
        for (int i = 0; i < 1_000_000; i++) {
            float f = Float.intBitsToFloat(rnd.nextInt());
            if (!Float.isNaN(f)) {
                checkFloat16(f);
            }
        }
        assertEquals(0x7BFF, HalfFloats.floatToFloat16(65519.99f) & 0xFFFF, "largest finite");
        assertEquals(0x7C00, HalfFloats.floatToFloat16(65520f) & 0xFFFF, "the tie above 65504 rounds to infinity");
        assertEquals(0x0001, HalfFloats.floatToFloat16(0x1.0p-24f) & 0xFFFF, "smallest subnormal");
        assertEquals(0x0000, HalfFloats.floatToFloat16(0x1.0p-25f) & 0xFFFF, "tie to the even zero");
        assertEquals(0x8000, HalfFloats.floatToFloat16(-0f) & 0xFFFF, "negative zero");
    }

    @Test
    void bfloat16RoundsToNearestEven() {
        for (int hi = 0; hi < 0x10000; hi++) {
            if ((hi & 0x7FFF) >= 0x7F80) {
                continue; // infinities and NaNs below
            }
            for (int lo : new int[] {0, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFF}) {
                checkBfloat16(Float.intBitsToFloat(hi << 16 | lo));
            }
        }
        Random rnd = new Random(6);
        for (int i = 0; i < 1_000_000; i++) {
            float f = Float.intBitsToFloat(rnd.nextInt());
            if (!Float.isNaN(f)) {
                checkBfloat16(f);
            }
        }
        assertEquals(0x0000, HalfFloats.floatToBfloat16(Float.MIN_VALUE) & 0xFFFF, "tiny subnormal to zero");
        assertEquals(0x8000, HalfFloats.floatToBfloat16(-0f) & 0xFFFF, "negative zero");
        assertEquals(0x7F80, HalfFloats.floatToBfloat16(Float.MAX_VALUE) & 0xFFFF, "past the midpoint: infinity");
        assertEquals(0xFF80, HalfFloats.floatToBfloat16(Float.NEGATIVE_INFINITY) & 0xFFFF, "infinity");
    }

    @Test
    void nanStaysNaNWithItsSign() {
        for (int bits : new int[] {0x7FC0_0000, 0xFFC0_0000, 0x7F80_0001, 0xFF80_0001, 0x7FFF_FFFF}) {
            float nan = Float.intBitsToFloat(bits);
            short h = HalfFloats.floatToFloat16(nan), b = HalfFloats.floatToBfloat16(nan);
            assertTrue(Float.isNaN(HalfFloats.float16ToFloat(h)), "float16 NaN " + Integer.toHexString(bits));
            assertTrue(Float.isNaN(HalfFloats.bfloat16ToFloat(b)), "bfloat16 NaN " + Integer.toHexString(bits));
            assertEquals(bits < 0, h < 0, "float16 NaN sign");
            assertEquals(bits < 0, b < 0, "bfloat16 NaN sign");
            assertEquals(0x0200, h & 0x0200, "float16 NaN is quiet");
            assertEquals(0x0040, b & 0x0040, "bfloat16 NaN is quiet");
        }
    }

    @Test
    void sixteenBitTensorsStoreTwoBytesAndRoundOnWrite() {
        float[] values = {1f, 1.0009765625f, 1.00048828125f, 3.14159265f, 70000f, -1e-8f, 0.1f};
        for (ElementType type : new ElementType[] {ElementType.FLOAT16, ElementType.BFLOAT16}) {
            try (Tensor t = Tensor.fromArray(values, type, values.length)) {
                assertEquals(type, t.elementType());
                assertEquals(2L * values.length, t.segment().byteSize(), "two bytes per element");
                float[] want = new float[values.length];
                for (int i = 0; i < values.length; i++) {
                    want[i] = type.round(values[i]);
                    assertEquals(type.encode(values[i]), t.segment().getAtIndex(ValueLayout.JAVA_SHORT, i), "bits " + i);
                }
                assertArrayEquals(want, t.toArray(), type + " toArray");
                assertEquals(want[3], t.get(3));
                t.set(2.5f, 3);
                assertEquals(2.5f, t.get(3));
                t.copyFrom(new float[] {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f});
                assertEquals(type.round(0.7f), t.get(6));
                assertTrue(t.toString().contains(type.name()), t.toString());
                try (Tensor wide = t.to(ElementType.FLOAT32); Tensor back = wide.to(type)) {
                    assertEquals(ElementType.FLOAT32, wide.elementType());
                    assertArrayEquals(t.toArray(), wide.toArray(), "widening is exact");
                    assertArrayEquals(t.toArray(), back.toArray(), "and narrowing it back is the identity");
                }
            }
        }
        assertEquals(65504f, ElementType.FLOAT16.round(65504f));
        assertEquals(Float.POSITIVE_INFINITY, ElementType.FLOAT16.round(65520f));
        assertEquals(1f, ElementType.BFLOAT16.round(1.00390625f), "tie to even");
        assertEquals(0.1f, ElementType.FLOAT32.round(0.1f));
    }

    @Test
    void wrapChecksTheElementSizeAndAlignment() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocate(64, 8);
            try (Tensor t = Tensor.wrap(m, ElementType.FLOAT16, 4, 8)) {
                assertEquals(64, t.segment().byteSize());
            }
            assertThrows(IllegalArgumentException.class, () -> Tensor.wrap(m, ElementType.BFLOAT16, 4, 9),
                    "72 bytes do not fit 64");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Tensor.wrap(m.asSlice(1), ElementType.FLOAT16, 2));
            assertTrue(e.getMessage().contains("2-byte aligned"), e.getMessage());
            try (Tensor t = Tensor.wrap(m.asSlice(2), ElementType.FLOAT16, 2)) {
                assertEquals(ElementType.FLOAT16, t.elementType());
            }
            try (Tensor t = Tensor.allocate(arena, ElementType.BFLOAT16, 3, 3)) {
                assertEquals(18, t.segment().byteSize());
            }
        }
    }

    @Test
    void npyFilesKeepFloat16AndWidenBfloat16(@TempDir Path dir) throws Exception {
        float[] values = {0.1f, -2.5f, 65504f, 6e-8f, 1e-3f, 3.14159f};
        try (Tensor h = Tensor.fromArray(values, ElementType.FLOAT16, 2, 3);
                Tensor b = Tensor.fromArray(values, ElementType.BFLOAT16, 3, 2)) {
            Path hf = dir.resolve("h.npy"), bf = dir.resolve("b.npy");
            h.writeNpy(hf);
            b.writeNpy(bf);
            String hHeader = new String(Files.readAllBytes(hf), 0, 128, StandardCharsets.ISO_8859_1);
            assertTrue(hHeader.contains("'descr': '<f2'") && hHeader.contains("(2, 3)"), hHeader);
            assertEquals(128 + 2 * values.length, Files.size(hf), "64-byte aligned header, 2 bytes per element");
            try (Tensor h2 = Tensor.readNpy(hf); Tensor b2 = Tensor.readNpy(bf)) {
                assertEquals(ElementType.FLOAT16, h2.elementType());
                assertArrayEquals(new long[] {2, 3}, h2.shape());
                assertArrayEquals(h.toArray(), h2.toArray(), "float16 round trip");
                assertEquals(ElementType.FLOAT32, b2.elementType(), "NumPy has no bfloat16: written as float32");
                assertArrayEquals(b.toArray(), b2.toArray(), "widened exactly");
            }
        }
    }
}
