package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link Inkwell#upsampleNearest2d} against a plain Java reference of PyTorch's
 * upsample_nearest2d ({@code F.interpolate(size=..., mode="nearest")}) on odd sizes, up and
 * down, 1xN and Nx1, with NaN and infinities; the same bits at 1 and 4 threads; the into-output
 * form; float16 and bfloat16; bad arguments. (The reference's formula was checked against torch 1.13 on every pair of
 * sizes in 1..89 x 1..129; see native/tests/test_resample.cpp for index lists torch gives.)
 */
class UpsampleNearest2dTest {
    private static Inkwell one, four;

    @BeforeAll
    static void open() {
        one = Inkwell.builder().threads(1).build();
        four = Inkwell.builder().threads(4).build();
    }

    @AfterAll
    static void close() {
        one.close();
        four.close();
    }

    /** aten's nearest_idx: equal size copies, 2x halves, else min(floor(dst * (float) in / out), in - 1) in float. */
    static long sourceIndex(long dst, long in, long out) {
        if (out == in) {
            return dst;
        }
        if (out == 2 * in) {
            return dst >> 1;
        }
        float scale = (float) in / (float) out;
        return Math.min((long) Math.floor((float) dst * scale), in - 1);
    }

    static float[] reference(float[] x, int n, int c, int h, int w, int oh, int ow) {
        float[] out = new float[n * c * oh * ow];
        for (int p = 0; p < n * c; p++) {
            for (int y = 0; y < oh; y++) {
                for (int xx = 0; xx < ow; xx++) {
                    out[(p * oh + y) * ow + xx] = x[(int) ((p * h + sourceIndex(y, h, oh)) * w
                            + sourceIndex(xx, w, ow))];
                }
            }
        }
        return out;
    }

    @Test
    void matchesTheReferenceOnOddSizesUpAndDown() {
        Random rnd = new Random(3);
        int[][] cases = {{1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 3, 5}, {2, 3, 4, 5, 7, 9}, {1, 2, 7, 9, 3, 4},
            {1, 1, 1, 9, 1, 17}, {1, 1, 9, 1, 17, 1}, {1, 1, 1, 13, 1, 5}, {2, 2, 6, 10, 12, 20},
            {1, 1, 14, 26, 46, 22}, {1, 4, 33, 31, 65, 61}, {2, 8, 4, 5, 4, 5}, {1, 3, 25, 7, 12, 30}};
        for (int[] k : cases) {
            float[] x = new float[k[0] * k[1] * k[2] * k[3]];
            for (int i = 0; i < x.length; i++) {
                x[i] = i % 11 == 5 ? Float.NaN : i % 13 == 7 ? Float.NEGATIVE_INFINITY : (float) rnd.nextGaussian();
            }
            float[] want = reference(x, k[0], k[1], k[2], k[3], k[4], k[5]);
            try (Tensor in = Tensor.fromArray(x, k[0], k[1], k[2], k[3]);
                    Tensor a = one.upsampleNearest2d(in, k[4], k[5]);
                    Tensor b = four.upsampleNearest2d(in, k[4], k[5])) {
                String what = java.util.Arrays.toString(k);
                assertArrayEquals(new long[] {k[0], k[1], k[4], k[5]}, a.shape(), what);
                float[] got = a.toArray();
                for (int i = 0; i < want.length; i++) {
                    assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]), what + " at " + i);
                }
                assertArrayEquals(got, b.toArray(), what + ": 1 and 4 threads");
            }
        }
    }

    /** 300 random shapes and sizes (1..40 in, 1..90 out per side), either form, against the reference. */
    @Test
    void randomSizesMatchTheReference() {
        Random rnd = new Random(12);
        for (int trial = 0; trial < 300; trial++) {
            int n = 1 + rnd.nextInt(2), c = 1 + rnd.nextInt(3), h = 1 + rnd.nextInt(40), w = 1 + rnd.nextInt(40);
            int oh = 1 + rnd.nextInt(90), ow = 1 + rnd.nextInt(90);
            float[] x = new float[n * c * h * w];
            for (int i = 0; i < x.length; i++) {
                x[i] = i; // distinct values: a wrong index shows
            }
            String what = n + "x" + c + "x" + h + "x" + w + " -> " + oh + "x" + ow;
            try (Tensor in = Tensor.fromArray(x, n, c, h, w); Tensor out = Tensor.allocate(n, c, oh, ow)) {
                if (rnd.nextBoolean()) {
                    four.upsampleNearest2d(in, out);
                    assertArrayEquals(reference(x, n, c, h, w, oh, ow), out.toArray(), what);
                } else {
                    try (Tensor y = four.upsampleNearest2d(in, oh, ow)) {
                        assertArrayEquals(reference(x, n, c, h, w, oh, ow), y.toArray(), what);
                    }
                }
            }
        }
    }

    /** float16 and bfloat16 copy the same elements as float32 (exact conversions: the values round-trip). */
    @Test
    void halfTypesCopyTheSameElements() {
        Random rnd = new Random(13);
        float[] x = new float[2 * 3 * 7 * 9];
        for (int i = 0; i < x.length; i++) {
            x[i] = i % 17 == 3 ? Float.NaN : (float) rnd.nextGaussian();
        }
        for (ElementType type : new ElementType[] {ElementType.FLOAT16, ElementType.BFLOAT16}) {
            try (Tensor in = Tensor.fromArray(x, type, 2, 3, 7, 9);
                    Tensor wide = in.to(ElementType.FLOAT32);
                    Tensor down = four.upsampleNearest2d(in, 4, 5);
                    Tensor up = one.upsampleNearest2d(in, 10, 20);
                    Tensor into = Tensor.allocate(type, 2, 3, 10, 20)) {
                assertEquals(type, down.elementType());
                float[] w = wide.toArray();
                assertArrayEquals(reference(w, 2, 3, 7, 9, 4, 5), down.toArray(), type.toString());
                assertArrayEquals(reference(w, 2, 3, 7, 9, 10, 20), up.toArray(), type.toString());
                four.upsampleNearest2d(in, into);
                assertArrayEquals(up.toArray(), into.toArray(), type + ": into-output form");
            }
        }
    }

    /** Twice the size is the same as the 2x resample; the same size is a copy. */
    @Test
    void agreesWithTheTwoTimesResampleAndCopies() {
        Random rnd = new Random(4);
        float[] x = new float[2 * 3 * 5 * 7];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        try (Tensor in = Tensor.fromArray(x, 2, 3, 5, 7);
                Tensor two = one.resample(in, ResampleMode.UPSAMPLE_NEAREST_2X);
                Tensor sized = one.upsampleNearest2d(in, 10, 14);
                Tensor same = one.upsampleNearest2d(in, 5, 7)) {
            assertArrayEquals(two.toArray(), sized.toArray());
            assertArrayEquals(x, same.toArray());
        }
    }

    @Test
    void intoAPreallocatedOutput() {
        float[] x = {1, 2, 3, 4, 5, 6}; // [1, 1, 2, 3]
        try (Tensor in = Tensor.fromArray(x, 1, 1, 2, 3); Tensor out = Tensor.allocate(1, 1, 3, 2)) {
            one.upsampleNearest2d(in, out);
            // rows: 2/3 -> 0, 0, 1; columns 3/2 -> 0, 1
            assertArrayEquals(new float[] {1, 2, 1, 2, 4, 5}, out.toArray());
        }
    }

    @Test
    void refusesBadArgumentsNamingThem() {
        try (Tensor in = Tensor.allocate(1, 2, 3, 4); Tensor flat = Tensor.allocate(2, 3, 4);
                Tensor half = Tensor.allocate(ElementType.FLOAT16, 1, 2, 3, 4);
                Tensor otherChannels = Tensor.allocate(1, 3, 5, 5)) {
            assertThrows(NullPointerException.class, () -> one.upsampleNearest2d(null, 2, 2));
            assertThrows(NullPointerException.class, () -> one.upsampleNearest2d(in, null));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> one.upsampleNearest2d(in, 0, 5));
            assertTrue(e.getMessage().contains("at least 1x1, got 0x5"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> one.upsampleNearest2d(flat, 2, 2));
            assertTrue(e.getMessage().contains("input must have rank 4"), e.getMessage());
            try (Tensor out = Tensor.allocate(1, 2, 2, 2)) {
                e = assertThrows(IllegalArgumentException.class, () -> one.upsampleNearest2d(half, out));
                assertTrue(e.getMessage().contains("upsample_nearest2d: output is FLOAT32 but input is FLOAT16"),
                        e.getMessage());
            }
            e = assertThrows(IllegalArgumentException.class, () -> one.upsampleNearest2d(in, otherChannels));
            assertTrue(e.getMessage().contains("output must have shape [1, 2, 5, 5]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> one.upsampleNearest2d(in, in));
            assertTrue(e.getMessage().contains("upsample_nearest2d: output overlaps"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> one.upsampleNearest2d(in, 1L << 20, 1L << 20));
            assertTrue(e.getMessage().contains("elements, more than"), e.getMessage());
            Tensor closed = Tensor.allocate(1, 1, 2, 2);
            closed.close();
            IllegalStateException s = assertThrows(IllegalStateException.class,
                    () -> one.upsampleNearest2d(closed, 3, 3));
            assertTrue(s.getMessage().contains("upsample_nearest2d: input is closed"), s.getMessage());
            Tensor closedOut = Tensor.allocate(1, 2, 5, 5);
            closedOut.close();
            s = assertThrows(IllegalStateException.class, () -> one.upsampleNearest2d(in, closedOut));
            assertTrue(s.getMessage().contains("upsample_nearest2d: output is closed"), s.getMessage());
        }
    }
}
