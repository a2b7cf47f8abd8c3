package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The library's Canny and blur against the plain Java references, on random images. */
class CannyTest {

    /** Random pixels with flat blocks, so that edges, ties and flat areas all occur. */
    static byte[] randomImage(Random rnd, int h, int w, int cn) {
        byte[] img = new byte[h * w * cn];
        int block = rnd.nextInt(256);
        for (int i = 0; i < img.length; i++) {
            int x = i / cn % w, y = i / cn / w;
            if ((x / 5 + y / 4) % 3 != 0) {
                if ((x + y) % 7 == 0) {
                    block = rnd.nextInt(256);
                }
                img[i] = (byte) block;
            } else {
                img[i] = (byte) rnd.nextInt(256);
            }
        }
        return img;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3})
    void matchesReferenceOnRandomShapesAndParameters(int channels) {
        Random rnd = new Random(42 + channels);
        int[][] sizes = {{1, 1}, {1, 9}, {9, 1}, {2, 3}, {5, 7}, {16, 16}, {17, 97}, {97, 31}, {64, 257}};
        try (Inkwell inkwell = Inkwell.builder().threads(3).build()) {
            for (int[] hw : sizes) {
                for (int aperture : new int[] {3, 5, 7}) {
                    for (boolean l2 : new boolean[] {false, true}) {
                        double scale = aperture == 3 ? 1 : 8;
                        double low = rnd.nextDouble() * 150 * scale, high = rnd.nextDouble() * 300 * scale;
                        byte[] img = randomImage(rnd, hw[0], hw[1], channels);
                        byte[] want = CannyReference.canny(img, hw[0], hw[1], channels, low, high, aperture, l2);
                        CannyOptions options = CannyOptions.defaults().withThresholds(low, high).withApertureSize(aperture)
                                .withL2Gradient(l2);
                        try (Image src = Image.fromBytes(img, hw[0], hw[1], channels);
                                Image got = inkwell.canny(src, options)) {
                            assertArrayEquals(want, got.toByteArray(), () -> hw[0] + "x" + hw[1] + " aperture " + aperture
                                    + " l2 " + l2 + " low " + low + " high " + high);
                        }
                    }
                }
            }
        }
    }

    @Test
    void stridedWrappedImagesGiveTheSameEdges() {
        Random rnd = new Random(7);
        int h = 61, w = 83, cn = 3;
        byte[] img = randomImage(rnd, h, w, cn);
        byte[] want = CannyReference.canny(img, h, w, cn, 50, 120, 3, false);
        try (Arena arena = Arena.ofConfined(); Inkwell inkwell = Inkwell.builder().threads(2).build()) {
            long srcStride = w * cn + 13, dstStride = w + 7;
            MemorySegment srcMem = arena.allocate(h * srcStride);
            for (int y = 0; y < h; y++) {
                MemorySegment.copy(img, y * w * cn, srcMem, ValueLayout.JAVA_BYTE, y * srcStride, w * cn);
            }
            MemorySegment dstMem = arena.allocate(h * dstStride);
            dstMem.fill((byte) 77); // padding must stay untouched
            Image src = Image.wrap(srcMem, h, w, cn, srcStride);
            Image dst = Image.wrap(dstMem, h, w, 1, dstStride);
            inkwell.canny(src, dst, CannyOptions.defaults().withThresholds(50, 120));
            assertArrayEquals(want, dst.toByteArray());
            for (int y = 0; y < h; y++) {
                for (long x = w; x < dstStride && y * dstStride + x < dstMem.byteSize(); x++) {
                    assertEquals(77, dstMem.get(ValueLayout.JAVA_BYTE, y * dstStride + x), "padding at row " + y);
                }
            }
        }
    }

    @Test
    void sameResultForEveryThreadCountAndRun() {
        Random rnd = new Random(3);
        int h = 300, w = 401;
        byte[] img = randomImage(rnd, h, w, 3);
        byte[] first = null;
        for (int threads : new int[] {1, 2, 4, 8}) {
            try (Inkwell inkwell = Inkwell.builder().threads(threads).build();
                    Image src = Image.fromBytes(img, h, w, 3)) {
                for (int run = 0; run < 3; run++) {
                    try (Image edges = inkwell.canny(src)) {
                        byte[] got = edges.toByteArray();
                        if (first == null) {
                            first = got;
                        }
                        assertArrayEquals(first, got, "threads " + threads + " run " + run);
                    }
                }
            }
        }
        for (byte b : first) {
            assertTrue(b == 0 || b == (byte) 255, "edge maps hold only 0 and 255");
        }
    }

    @Test
    void preBlurEqualsBlurThenCanny() {
        Random rnd = new Random(11);
        int h = 40, w = 57;
        byte[] img = randomImage(rnd, h, w, 1);
        byte[] blurred = GaussianBlurReference.blur(img, h, w, 1, 5, 1.4);
        byte[] want = CannyReference.canny(blurred, h, w, 1, 30, 90, 3, false);
        try (Inkwell inkwell = Inkwell.create();
                Image src = Image.fromBytes(img, h, w, 1);
                Image got = inkwell.canny(src, CannyOptions.defaults().withThresholds(30, 90).withBlur(BlurOptions.of(5, 1.4)))) {
            assertArrayEquals(want, got.toByteArray());
        }
    }

    @Test
    void gaussianBlurMatchesReference() {
        Random rnd = new Random(5);
        try (Inkwell inkwell = Inkwell.create()) {
            for (int cn : new int[] {1, 3, 4}) {
                for (int[] k : new int[][] {{3, 0}, {5, 1}, {7, 2}, {0, 1}, {11, 3}}) {
                    int h = 1 + rnd.nextInt(40), w = 1 + rnd.nextInt(40);
                    double sigma = k[1] == 0 ? 0 : k[1] * 0.7;
                    byte[] img = randomImage(rnd, h, w, cn);
                    byte[] want = GaussianBlurReference.blur(img, h, w, cn, k[0], sigma);
                    try (Image src = Image.fromBytes(img, h, w, cn);
                            Image got = inkwell.gaussianBlur(src, new BlurOptions(k[0], sigma))) {
                        assertArrayEquals(want, got.toByteArray(), h + "x" + w + "x" + cn + " k " + k[0] + " sigma " + sigma);
                    }
                }
            }
        }
    }
}
