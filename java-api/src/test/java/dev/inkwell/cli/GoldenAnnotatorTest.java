package dev.inkwell.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.Golden;
import dev.inkwell.Image;
import dev.inkwell.Inkwell;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every case of the annotator manifest (golden/annotator: ControlNet's Canny annotator run
 * with OpenCV 4.6 on photographs, a gray image, an RGBA line drawing, a 37x53 image blown
 * up to 512x704, a 1080p image shrunk) through the public Java API as {@code inkwell verify}
 * runs them, the resized image and the control map every pixel; and {@code inkwell annotate}
 * on the command line.
 */
class GoldenAnnotatorTest {
    @TempDir
    Path tmp;

    private static Inkwell inkwell;

    @BeforeAll
    static void open() {
        inkwell = Inkwell.builder().threads(2).build();
    }

    @AfterAll
    static void close() {
        inkwell.close();
    }

    private static Path dir() {
        Path dir = Golden.dir().resolve("annotator");
        assertTrue(Files.isRegularFile(dir.resolve("manifest.json")), dir + "/manifest.json is missing");
        return dir;
    }

    private static Map<?, ?> manifest() throws IOException {
        return (Map<?, ?>) Json.parse(Files.readString(dir().resolve("manifest.json")));
    }

    @TestFactory
    Stream<DynamicTest> everyAnnotatorCasePasses() throws IOException {
        Map<?, ?> manifest = manifest();
        List<?> listed = (List<?>) manifest.get("cases");
        GoldenCases cases = new GoldenCases(inkwell, dir(), null);
        List<DynamicTest> tests = new ArrayList<>();
        for (Map.Entry<?, ?> kind : manifest.entrySet()) {
            String name = String.valueOf(kind.getKey());
            if (name.equals("generated_with")) {
                continue;
            }
            assertTrue(GoldenCases.SUPPORTED.contains(name), "manifest kind '" + name + "' is not supported");
            for (GoldenCases.Case c : cases.expand(name, kind.getValue())) {
                tests.add(DynamicTest.dynamicTest(c.name(), () -> {
                    GoldenCases.Result r = c.run();
                    assertTrue(r.passed(), r.line());
                }));
            }
        }
        assertEquals(listed.size(), tests.size(), "every listed case runs");
        assertTrue(tests.size() >= 7, "expected the whole annotator manifest, got " + tests.size());
        return tests.stream();
    }

    record Run(int status, String out, String err) {}

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void verifyRunsTheAnnotatorManifest() {
        Run r = run("verify", "--golden", dir().toString(), "--threads", "1");
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().contains("verify: 7 passed, 0 failed, 0 skipped"), r.out());
    }

    @Test
    void annotateWritesTheGoldenControlMapAndResizedImage() throws IOException {
        Path control = tmp.resolve("control.png"), resized = tmp.resolve("resized.png");
        Run r = run("annotate", dir().resolve("lineart_rgba_333x250.png").toString(), control.toString(), "--save-resized",
                resized.toString(), "--threads", "2");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("512x704 control map of 250x333 RGBA (resized with LANCZOS4)"), r.out());
        assertTrue(r.out().matches("(?s).*annotate: \\d+\\.\\d\\d ms \\(CPU, 2 threads\\).*"), r.out());
        assertSameImage(dir().resolve("lineart_rgba_333x250_r512_100_200_control.png"), control);
        assertSameImage(dir().resolve("lineart_rgba_333x250_r512_100_200_resized.png"), resized);
        Run down = run("annotate", dir().resolve("astronaut_512.png").toString(), control.toString(), "--resolution", "256");
        assertEquals(0, down.status(), down.err());
        assertSameImage(dir().resolve("astronaut_512_r256_100_200_control.png"), control);
    }

    private static void assertSameImage(Path want, Path got) throws IOException {
        try (Image a = Image.read(want); Image b = Image.read(got)) {
            assertEquals(a.toString(), b.toString());
            assertArrayEquals(a.toByteArray(), b.toByteArray(), got + " differs from " + want);
        }
    }

    @Test
    void annotateRefusesBadInputInOneLine() throws IOException {
        Path in = dir().resolve("tiny_37x53_rgb.png"), out = tmp.resolve("c.png");
        Run low = run("annotate", in.toString(), out.toString(), "--resolution", "32");
        assertEquals(2, low.status());
        assertTrue(low.err().contains("inkwell annotate: --resolution must be at least 64, got 32"), low.err());
        Run jpg = run("annotate", in.toString(), tmp.resolve("c.jpg").toString());
        assertEquals(2, jpg.status());
        assertTrue(jpg.err().contains("OUT must be a .png file"), jpg.err());
        Run missing = run("annotate", tmp.resolve("nope.png").toString(), out.toString());
        assertEquals(2, missing.status());
        assertTrue(missing.err().contains("nope.png: no such file"), missing.err());
        Run threshold = run("annotate", in.toString(), out.toString(), "--low", "-5");
        assertEquals(2, threshold.status());
        assertTrue(threshold.err().contains("low threshold"), threshold.err());
        assertTrue(Files.notExists(out), "no output after a refusal");
        Files.writeString(tmp.resolve("bad.png"), "not a png");
        Run corrupt = run("annotate", tmp.resolve("bad.png").toString(), out.toString());
        assertEquals(2, corrupt.status(), corrupt.err());
        assertEquals(1, corrupt.err().lines().count(), corrupt.err());
    }
}
