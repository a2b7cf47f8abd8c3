package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** Every canny and gaussian_blur case of the golden manifest, through the public API. */
class GoldenTest {
    private static Inkwell inkwell;

    @BeforeAll
    static void open() {
        inkwell = Inkwell.create();
    }

    @AfterAll
    static void close() {
        inkwell.close();
    }

    @TestFactory
    Stream<DynamicTest> cannyMatchesOpenCvEveryPixel() {
        Path dir = Golden.dir();
        return Golden.cases("canny").stream().map(o -> (Map<?, ?>) o).map(c -> DynamicTest.dynamicTest(
                (String) c.get("expected"), () -> {
                    assertEquals("exact", c.get("match"));
                    CannyOptions options = new CannyOptions((Double) c.get("low"), (Double) c.get("high"),
                            ((Double) c.get("aperture")).intValue(), (Boolean) c.get("l2gradient"), null);
                    try (Image src = Image.read(dir.resolve((String) c.get("input")));
                            Image want = Image.read(dir.resolve((String) c.get("expected")));
                            Image got = inkwell.canny(src, options)) {
                        assertEquals(((Double) c.get("channels")).intValue(), src.channels());
                        assertEquals(((Double) c.get("height")).intValue(), src.height());
                        assertEquals(((Double) c.get("width")).intValue(), src.width());
                        assertPixels(want.toByteArray(), got.toByteArray(), src.width(), 0);
                    }
                }));
    }

    @TestFactory
    Stream<DynamicTest> gaussianBlurWithinTolerance() {
        Path dir = Golden.dir();
        return Golden.cases("gaussian_blur").stream().map(o -> (Map<?, ?>) o).map(c -> DynamicTest.dynamicTest(
                (String) c.get("expected"), () -> {
                    assertEquals("reflect101", c.get("border"));
                    BlurOptions blur = new BlurOptions(((Double) c.get("ksize")).intValue(), (Double) c.get("sigma"));
                    try (Image src = Image.read(dir.resolve((String) c.get("input")));
                            Image want = Image.read(dir.resolve((String) c.get("expected")));
                            Image got = inkwell.gaussianBlur(src, blur)) {
                        assertPixels(want.toByteArray(), got.toByteArray(), src.width() * src.channels(),
                                ((Double) c.get("max_abs_diff")).intValue());
                    }
                }));
    }

    /** Fails listing the first ten samples off by more than the tolerance. */
    static void assertPixels(byte[] want, byte[] got, int rowLength, int tolerance) {
        assertEquals(want.length, got.length, "sample count");
        List<String> bad = new ArrayList<>();
        long count = 0;
        for (int i = 0; i < want.length; i++) {
            int d = Math.abs((want[i] & 0xFF) - (got[i] & 0xFF));
            if (d > tolerance) {
                count++;
                if (bad.size() < 10) {
                    bad.add("(" + i / rowLength + "," + i % rowLength + ") want " + (want[i] & 0xFF) + " got " + (got[i] & 0xFF));
                }
            }
        }
        assertTrue(count == 0, count + " samples differ by more than " + tolerance + ", first: " + bad);
    }
}
