package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Bad input from Java gets an exception that names the bad value; nothing reaches native code unchecked. */
class BadInputTest {

    private static <T extends Throwable> void throwsWith(Class<T> type, String fragment, Executable call) {
        T e = assertThrows(type, call);
        assertTrue(e.getMessage() != null && e.getMessage().contains(fragment),
                "message '" + e.getMessage() + "' should contain '" + fragment + "'");
    }

    @Test
    void nullArguments() {
        try (Inkwell inkwell = Inkwell.create(); Image img = Image.allocate(4, 4, 1)) {
            throwsWith(NullPointerException.class, "src", () -> inkwell.canny(null));
            throwsWith(NullPointerException.class, "dst", () -> inkwell.canny(img, null, CannyOptions.defaults()));
            throwsWith(NullPointerException.class, "options", () -> inkwell.canny(img, img, null));
            throwsWith(NullPointerException.class, "blur", () -> inkwell.gaussianBlur(img, null));
            throwsWith(NullPointerException.class, "segment", () -> Image.wrap(null, 1, 1, 1));
            throwsWith(NullPointerException.class, "arena", () -> Image.allocate((Arena) null, 1, 1, 1));
            throwsWith(NullPointerException.class, "context", () -> Image.allocate((Inkwell) null, 1, 1, 1));
            throwsWith(NullPointerException.class, "context", () -> Tensor.allocate((Inkwell) null, 4));
            throwsWith(NullPointerException.class, "pixels", () -> Image.fromBytes(null, 1, 1, 1));
            throwsWith(NullPointerException.class, "path", () -> Image.read(null));
        }
    }

    @Test
    void zeroNegativeAndOversizedShapes() {
        throwsWith(IllegalArgumentException.class, "height must be 1..1048576, got 0", () -> Image.allocate(0, 5, 1));
        throwsWith(IllegalArgumentException.class, "width must be 1..1048576, got -3", () -> Image.allocate(5, -3, 1));
        throwsWith(IllegalArgumentException.class, "got 1048577", () -> Image.allocate(1 << 20 | 1, 1, 1));
        throwsWith(IllegalArgumentException.class, "channels must be 1..4, got 0", () -> Image.allocate(2, 2, 0));
        throwsWith(IllegalArgumentException.class, "channels must be 1..4, got 5", () -> Image.allocate(2, 2, 5));
        // 2^20 x 2^20 x 4 bytes with a huge stride: overflow is caught before allocating
        throwsWith(IllegalArgumentException.class, "exceeds 2^40 bytes",
                () -> Image.wrap(MemorySegment.NULL, 1 << 20, 1 << 20, 4, 1L << 22));
        throwsWith(IllegalArgumentException.class, "pixels has 5 bytes", () -> Image.fromBytes(new byte[5], 2, 2, 1));
    }

    @Test
    void strideAndSegmentSize() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(100);
            throwsWith(IllegalArgumentException.class, "row stride 9 is less than width * channels = 10",
                    () -> Image.wrap(seg, 2, 10, 1, 9));
            throwsWith(IllegalArgumentException.class, "segment has 100 bytes but a 10x10x3 image", () -> Image.wrap(seg, 10, 10, 3));
            // exactly enough: the last row needs no padding after it
            Image ok = Image.wrap(seg, 2, 10, 1, 90);
            assertEquals(2, ok.height());
            throwsWith(IllegalArgumentException.class, "heap segment",
                    () -> Image.wrap(MemorySegment.ofArray(new byte[16]), 4, 4, 1));
            throwsWith(IllegalArgumentException.class, "read-only", () -> Image.wrap(seg.asReadOnly(), 1, 1, 1));
        }
        Arena closed = Arena.ofConfined();
        MemorySegment dead = closed.allocate(16);
        closed.close();
        throwsWith(IllegalStateException.class, "already closed", () -> Image.wrap(dead, 4, 4, 1));
    }

    @Test
    void closedContextAndImages() {
        Inkwell inkwell = Inkwell.create();
        Image img = Image.allocate(8, 8, 1);
        inkwell.close();
        inkwell.close(); // idempotent
        throwsWith(IllegalStateException.class, "Inkwell context is closed", () -> inkwell.canny(img));
        try (Inkwell open = Inkwell.create()) {
            img.close();
            throwsWith(IllegalStateException.class, "canny: src is closed", () -> open.canny(img));
            throwsWith(IllegalStateException.class, "image is closed", () -> img.get(0, 0, 0));
            throwsWith(IllegalStateException.class, "image is closed", img::toByteArray);
            try (Image src = Image.allocate(8, 8, 1)) {
                throwsWith(IllegalStateException.class, "canny: dst is closed", () -> open.canny(src, img, CannyOptions.defaults()));
            }
        }
        // an image borrowed from a closed arena
        Arena arena = Arena.ofShared();
        Image borrowed = Image.allocate(arena, 4, 4, 1);
        arena.close();
        try (Inkwell open = Inkwell.create()) {
            assertThrows(IllegalStateException.class, () -> open.canny(borrowed));
        }
    }

    @Test
    void thresholdsAndAperture() {
        CannyOptions d = CannyOptions.defaults();
        throwsWith(IllegalArgumentException.class, "low threshold must be finite and >= 0, got NaN",
                () -> d.withThresholds(Double.NaN, 10));
        throwsWith(IllegalArgumentException.class, "high threshold must be finite and >= 0, got -1.0",
                () -> d.withThresholds(1, -1));
        throwsWith(IllegalArgumentException.class, "got Infinity", () -> d.withThresholds(Double.POSITIVE_INFINITY, 1));
        throwsWith(IllegalArgumentException.class, "aperture size must be 3, 5 or 7, got 4", () -> d.withApertureSize(4));
        throwsWith(IllegalArgumentException.class, "got 9", () -> d.withApertureSize(9));
        throwsWith(IllegalArgumentException.class, "got 1", () -> d.withApertureSize(1));
        throwsWith(IllegalArgumentException.class, "kernel size must be odd", () -> BlurOptions.of(4, 1));
        throwsWith(IllegalArgumentException.class, "both 0", () -> BlurOptions.of(0, 0));
        throwsWith(IllegalArgumentException.class, "sigma must be finite", () -> BlurOptions.of(3, Double.NaN));
        throwsWith(IllegalArgumentException.class, "got -2", () -> Inkwell.builder().threads(-2));
        // defaults are ControlNet's
        assertEquals(new CannyOptions(100, 200, 3, false, null), d);
    }

    @Test
    void channelCountsAndShapes() {
        try (Inkwell inkwell = Inkwell.create();
                Image two = Image.allocate(4, 4, 2);
                Image four = Image.allocate(4, 4, 4);
                Image gray = Image.allocate(4, 4, 1);
                Image rgb = Image.allocate(4, 4, 3);
                Image small = Image.allocate(3, 4, 1)) {
            throwsWith(IllegalArgumentException.class, "1- or 3-channel images, got 2 channels", () -> inkwell.canny(two));
            throwsWith(IllegalArgumentException.class, "got 4 channels", () -> inkwell.canny(four));
            throwsWith(IllegalArgumentException.class, "dst has 3 channels",
                    () -> inkwell.canny(gray, rgb, CannyOptions.defaults()));
            throwsWith(IllegalArgumentException.class, "dst is 3x4 but src is 4x4",
                    () -> inkwell.canny(gray, small, CannyOptions.defaults()));
            throwsWith(IllegalArgumentException.class, "dst overlaps src", () -> inkwell.canny(gray, gray, CannyOptions.defaults()));
            throwsWith(IllegalArgumentException.class, "dst has 1 channels but src has 3",
                    () -> inkwell.gaussianBlur(rgb, gray, BlurOptions.of(3, 0)));
            throwsWith(IndexOutOfBoundsException.class, "(4, 0, 0) is outside 4x4x1", () -> gray.get(4, 0, 0));
            throwsWith(IllegalArgumentException.class, "0..255, got 256", () -> gray.set(0, 0, 0, 256));
        }
    }

    @Test
    void unavailableDeviceIsAClearException() {
        InkwellException e = assertThrows(InkwellException.class, () -> Inkwell.builder().device(Device.CUDA).build());
        assertEquals(Status.UNSUPPORTED, e.status());
        assertTrue(e.getMessage().contains("CUDA"), e.getMessage());
        try (Inkwell cpu = Inkwell.create(); Image img = Image.allocate(3, 3, 1); Image edges = cpu.canny(img)) {
            assertEquals(0, edges.get(1, 1, 0)); // the CPU backend keeps working
        }
    }
}
