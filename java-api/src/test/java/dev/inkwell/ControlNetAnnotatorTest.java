package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ControlNet's annotator pieces: resize_image's size rule (NumPy's round half to even),
 * HWC3 (values computed by NumPy), the pipeline as the composition of its parts, and the
 * refusals of bad input. The golden cases are in cli.GoldenAnnotatorTest.
 */
class ControlNetAnnotatorTest {
    @TempDir
    Path tmp;

    @Test
    void planRoundsSidesToMultiplesOf64HalfToEven() {
        // k = 1: 96 / 64 = 1.5 -> 2, 160 / 64 = 2.5 -> 2 (even), 224 / 64 = 3.5 -> 4
        assertEquals(new ControlNetAnnotator.ResizePlan(128, 128, Interpolation.AREA), ControlNetAnnotator.plan(96, 160, 96));
        assertEquals(new ControlNetAnnotator.ResizePlan(128, 256, Interpolation.AREA), ControlNetAnnotator.plan(96, 224, 96));
        // the golden annotator's sizes
        assertEquals(new ControlNetAnnotator.ResizePlan(512, 896, Interpolation.AREA), ControlNetAnnotator.plan(1080, 1920, 512));
        assertEquals(new ControlNetAnnotator.ResizePlan(704, 512, Interpolation.LANCZOS4), ControlNetAnnotator.plan(333, 250, 512));
        assertEquals(new ControlNetAnnotator.ResizePlan(512, 704, Interpolation.LANCZOS4), ControlNetAnnotator.plan(37, 53, 512));
        assertEquals(new ControlNetAnnotator.ResizePlan(512, 512, Interpolation.AREA), ControlNetAnnotator.plan(512, 512, 512));
        // k <= 1 is AREA even when the rounding grows a side (cv2 then emulates bilinear)
        assertEquals(new ControlNetAnnotator.ResizePlan(512, 576, Interpolation.AREA), ControlNetAnnotator.plan(520, 560, 512));
    }

    @Test
    void hwc3AsNumPyComputesIt() {
        byte[] rgba = {(byte) 200, 100, 0, (byte) 128, (byte) 255, (byte) 255, (byte) 255, 0, 0, 0, 0, (byte) 255, 10, 20,
                30, 1, 77, (byte) 150, (byte) 254, (byte) 254};
        // NumPy: (color * (a / 255) + 255 * (1 - a / 255)) in float32, clipped, astype(uint8)
        int[] want = {227, 177, 126, 255, 255, 255, 0, 0, 0, 254, 254, 254, 77, 150, 254};
        try (Image src = Image.fromBytes(rgba, 1, 5, 4); Image out = ControlNetAnnotator.hwc3(src)) {
            assertEquals(3, out.channels());
            byte[] got = out.toByteArray();
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], Byte.toUnsignedInt(got[i]), "sample " + i);
            }
        }
        try (Image gray = Image.fromBytes(new byte[] {5, 6}, 1, 2, 1); Image out = ControlNetAnnotator.hwc3(gray)) {
            assertArrayEquals(new byte[] {5, 5, 5, 6, 6, 6}, out.toByteArray());
        }
        try (Image two = Image.allocate(1, 1, 2)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ControlNetAnnotator.hwc3(two));
            assertTrue(e.getMessage().contains("HWC3 takes 1, 3 or 4 channels, got 2"), e.getMessage());
        }
    }

    @Test
    void hwc3OfAKeptAlphaEqualsTheDefaultRead() throws IOException {
        Random rnd = new Random(3);
        byte[] rgba = new byte[23 * 17 * 4];
        rnd.nextBytes(rgba);
        Path file = tmp.resolve("rgba.png");
        try (Image img = Image.fromBytes(rgba, 17, 23, 4)) {
            img.write(file);
        }
        try (Image kept = Image.read(file, AlphaMode.KEEP); Image composited = ControlNetAnnotator.hwc3(kept);
                Image read = Image.read(file)) {
            assertArrayEquals(read.toByteArray(), composited.toByteArray());
        }
    }

    @Test
    void cannyIsCannyOfTheResizedHwc3() {
        Random rnd = new Random(5);
        try (Inkwell inkwell = Inkwell.builder().threads(2).build()) {
            ControlNetAnnotator annotator = new ControlNetAnnotator(inkwell);
            for (int[] hwc : new int[][] {{37, 53, 3}, {130, 90, 1}, {70, 70, 4}, {300, 200, 3}}) {
                byte[] img = CannyTest.randomImage(rnd, hwc[0], hwc[1], hwc[2]);
                for (int resolution : new int[] {64, 128, 200}) {
                    ControlNetAnnotator.ResizePlan p = ControlNetAnnotator.plan(hwc[0], hwc[1], resolution);
                    try (Image src = Image.fromBytes(img, hwc[0], hwc[1], hwc[2]); Image rgb = ControlNetAnnotator.hwc3(src);
                            Image resized = annotator.resizeImage(rgb, resolution);
                            Image want = inkwell.canny(resized, CannyOptions.defaults().withThresholds(50, 120));
                            Image got = annotator.canny(src, resolution, 50, 120)) {
                        assertEquals(p.height(), got.height());
                        assertEquals(p.width(), got.width());
                        assertEquals(1, got.channels());
                        byte[] r = ResizeReference.resize(rgb.toByteArray(), hwc[0], hwc[1], 3, p.height(), p.width(),
                                p.interpolation());
                        assertArrayEquals(r, resized.toByteArray());
                        assertArrayEquals(want.toByteArray(), got.toByteArray());
                    }
                }
            }
        }
    }

    @Test
    void badInputIsRefusedByName() {
        try (Inkwell inkwell = Inkwell.create(); Image img = Image.allocate(40, 30, 3)) {
            ControlNetAnnotator annotator = new ControlNetAnnotator(inkwell);
            assertMessage("resolution must be at least 64, got 63", () -> annotator.canny(img, 63, 100, 200));
            assertMessage("resolution must be at least 64, got 0", () -> annotator.resizeImage(img, 0));
            assertMessage("more than 1048576 per side", () -> annotator.canny(img, 1 << 20, 100, 200));
            assertMessage("low threshold", () -> annotator.canny(img, 64, -1, 200));
            assertMessage("high threshold", () -> annotator.canny(img, 64, 100, Double.NaN));
            assertThrows(NullPointerException.class, () -> annotator.canny(null));
            assertThrows(NullPointerException.class, () -> new ControlNetAnnotator(null));
        }
    }

    private static void assertMessage(String fragment, org.junit.jupiter.api.function.Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' should contain '" + fragment + "'");
    }
}
