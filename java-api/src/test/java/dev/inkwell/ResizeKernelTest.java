package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * {@link Inkwell#resize} against the plain Java {@link ResizeReference} on random sizes
 * (every method cv2.resize picks, awkward sides), channels and thread counts; known values
 * of OpenCV's rounding; and the refusals of bad arguments.
 */
class ResizeKernelTest {
    private static final int[] SIDES = {1, 2, 3, 5, 7, 8, 13, 16, 31, 64, 97, 257};

    @Test
    void matchesTheJavaReferenceOnRandomSizes() {
        Random rnd = new Random(7);
        try (Inkwell inkwell = Inkwell.builder().threads(3).build()) {
            for (int trial = 0; trial < 240; trial++) {
                int h = SIDES[rnd.nextInt(SIDES.length)], w = SIDES[rnd.nextInt(SIDES.length)];
                int dh = rnd.nextBoolean() ? SIDES[rnd.nextInt(SIDES.length)] : Math.max(1, h / (1 + rnd.nextInt(3)));
                int dw = rnd.nextBoolean() ? SIDES[rnd.nextInt(SIDES.length)] : Math.max(1, w / (1 + rnd.nextInt(3)));
                int cn = 1 + trial % 4;
                Interpolation interpolation = trial % 2 == 0 ? Interpolation.AREA : Interpolation.LANCZOS4;
                byte[] img = CannyTest.randomImage(rnd, h, w, cn);
                byte[] want = ResizeReference.resize(img, h, w, cn, dh, dw, interpolation);
                try (Image src = Image.fromBytes(img, h, w, cn); Image got = inkwell.resize(src, dw, dh, interpolation)) {
                    assertEquals(dh, got.height());
                    assertEquals(dw, got.width());
                    assertEquals(cn, got.channels());
                    assertArrayEquals(want, got.toByteArray(),
                            h + "x" + w + "x" + cn + " -> " + dh + "x" + dw + " " + interpolation);
                }
            }
        }
    }

    @Test
    void sameBitsForAnyThreadCountAndIntoAPaddedImage() {
        Random rnd = new Random(11);
        byte[] img = CannyTest.randomImage(rnd, 331, 257, 3);
        for (Interpolation interpolation : Interpolation.values()) {
            for (int[] size : new int[][] {{512, 400}, {100, 77}, {331, 128}}) { // (w, h): up, down, one side each way
                byte[] one;
                try (Inkwell single = Inkwell.builder().threads(1).build(); Image src = Image.fromBytes(img, 331, 257, 3);
                        Image got = single.resize(src, size[0], size[1], interpolation)) {
                    one = got.toByteArray();
                }
                try (Inkwell many = Inkwell.builder().threads(4).build(); Arena arena = Arena.ofConfined();
                        Image src = Image.fromBytes(img, 331, 257, 3)) {
                    long stride = size[0] * 3L + 5;
                    MemorySegment seg = arena.allocate(stride * size[1]);
                    seg.fill((byte) 0x5a);
                    Image dst = Image.wrap(seg, size[1], size[0], 3, stride);
                    many.resize(src, dst, interpolation);
                    assertArrayEquals(one, dst.toByteArray(), interpolation + " " + Arrays.toString(size));
                    for (int y = 0; y < size[1] - 1; y++) { // the row padding is not written
                        for (long i = size[0] * 3L; i < stride; i++) {
                            assertEquals((byte) 0x5a, seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, y * stride + i));
                        }
                    }
                }
            }
        }
    }

    @Test
    void openCvRounding() {
        try (Inkwell inkwell = Inkwell.create()) {
            // 2x2 area rounds half up ((sum + 2) >> 2): 2 -> 1, 6 -> 2
            assertArrayEquals(new byte[] {1, 2}, resize(inkwell, new byte[] {1, 1, 3, 3, 0, 0, 0, 0}, 2, 4, 1, 2, 1,
                    Interpolation.AREA));
            // 2 channels take the float path: round half to even, 0.5 -> 0 and 1.5 -> 2
            assertArrayEquals(new byte[] {0, 2}, resize(inkwell, new byte[] {1, 3, 1, 3, 0, 0, 0, 0}, 2, 2, 2, 1, 1,
                    Interpolation.AREA));
            // same size: a copy, whatever the interpolation
            byte[] px = {9, 8, 7, 6, 5, 4};
            assertArrayEquals(px, resize(inkwell, px, 2, 3, 1, 3, 2, Interpolation.LANCZOS4));
            // a flat image stays flat through every method
            byte[] flat = new byte[9 * 10 * 3];
            Arrays.fill(flat, (byte) 201);
            for (Interpolation interpolation : Interpolation.values()) {
                for (int[] size : new int[][] {{12, 6}, {5, 3}, {20, 9}, {2, 4}}) {
                    byte[] out = resize(inkwell, flat, 9, 10, 3, size[0], size[1], interpolation);
                    for (byte b : out) {
                        assertEquals((byte) 201, b, interpolation + " " + Arrays.toString(size));
                    }
                }
            }
        }
    }

    private static byte[] resize(Inkwell inkwell, byte[] img, int h, int w, int cn, int dw, int dh, Interpolation i) {
        try (Image src = Image.fromBytes(img, h, w, cn); Image got = inkwell.resize(src, dw, dh, i)) {
            return got.toByteArray();
        }
    }

    private static <T extends Throwable> void throwsWith(Class<T> type, String fragment, Executable call) {
        T e = assertThrows(type, call);
        assertTrue(e.getMessage() != null && e.getMessage().contains(fragment),
                "message '" + e.getMessage() + "' should contain '" + fragment + "'");
    }

    @Test
    void badArgumentsAreRefusedByName() {
        try (Inkwell inkwell = Inkwell.create(); Image src = Image.allocate(6, 8, 3); Image gray = Image.allocate(3, 4, 1);
                Arena arena = Arena.ofConfined()) {
            throwsWith(NullPointerException.class, "src", () -> inkwell.resize(null, 4, 4, Interpolation.AREA));
            throwsWith(NullPointerException.class, "interpolation", () -> inkwell.resize(src, 4, 4, null));
            throwsWith(NullPointerException.class, "dst", () -> inkwell.resize(src, null, Interpolation.AREA));
            throwsWith(IllegalArgumentException.class, "resize: width must be 1..1048576, got 0",
                    () -> inkwell.resize(src, 0, 4, Interpolation.AREA));
            throwsWith(IllegalArgumentException.class, "resize: height must be 1..1048576, got 1048577",
                    () -> inkwell.resize(src, 4, (1 << 20) + 1, Interpolation.LANCZOS4));
            throwsWith(IllegalArgumentException.class, "resize: dst has 1 channels but src has 3",
                    () -> inkwell.resize(src, gray, Interpolation.AREA));
            MemorySegment seg = arena.allocate(6 * 8 * 3);
            Image whole = Image.wrap(seg, 6, 8, 3), part = Image.wrap(seg.asSlice(24), 2, 2, 3);
            throwsWith(IllegalArgumentException.class, "resize: dst overlaps src",
                    () -> inkwell.resize(whole, part, Interpolation.LANCZOS4));
            Image closed = Image.allocate(2, 2, 3);
            closed.close();
            throwsWith(IllegalStateException.class, "resize: src is closed", () -> inkwell.resize(closed, 4, 4, Interpolation.AREA));
            throwsWith(IllegalStateException.class, "resize: dst is closed", () -> inkwell.resize(src, closed, Interpolation.AREA));
        }
    }
}
