package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The inkwell command line: results, help, and one-line errors with a non-zero exit. */
class CliTest {
    @TempDir
    Path tmp;

    record Run(int status, String out, String err) {}

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private Path writeRandomPng(String name, int h, int w, int cn) throws IOException {
        Path file = tmp.resolve(name);
        try (Image img = Image.fromBytes(CannyTest.randomImage(new Random(h * w), h, w, cn), h, w, cn)) {
            img.write(file);
        }
        return file;
    }

    @Test
    void cannyWritesTheSameEdgesAsTheApi() throws IOException {
        Path in = writeRandomPng("in.png", 50, 70, 3);
        Path out = tmp.resolve("sub/edges.png");
        Run r = run("canny", in.toString(), out.toString(), "--low", "40", "--high=120", "--aperture", "5", "--l2", "--blur", "3,0.8");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("wrote"), r.out());
        try (Inkwell inkwell = Inkwell.create();
                Image src = Image.read(in);
                Image want = inkwell.canny(src, new CannyOptions(40, 120, 5, true, BlurOptions.of(3, 0.8)));
                Image got = Image.read(out)) {
            assertEquals(1, got.channels());
            assertTrue(Arrays.equals(want.toByteArray(), got.toByteArray()));
        }
    }

    @Test
    void helpOnEveryCommand() {
        for (String c : new String[] {"demo", "canny", "blur", "annotate", "colorize", "lpips", "verify", "version", "bench",
            "unet-bench", "crosscheck"}) {
            Run r = run(c, "--help");
            assertEquals(0, r.status(), c);
            assertTrue(r.out().startsWith("usage: inkwell " + c), r.out());
        }
        assertEquals(0, run("--help").status());
        // No arguments runs the demo (CliConsistencyTest checks the dispatch without writing out/demo here).
    }

    @Test
    void errorsAreOneLineWithNonZeroExit() throws IOException {
        Path in = writeRandomPng("ok.png", 8, 8, 1);
        Path corrupt = tmp.resolve("corrupt.png");
        Files.write(corrupt, Arrays.copyOf(Files.readAllBytes(in), 40));
        Path notImage = tmp.resolve("notes.png");
        Files.writeString(notImage, "hello");
        String out = tmp.resolve("o.png").toString();
        String[][] cases = {
            {"missing.png: no such file", "canny", tmp.resolve("missing.png").toString(), out},
            {"corrupt or truncated", "canny", corrupt.toString(), out},
            {"not a PNG or JPEG image", "canny", notImage.toString(), out},
            {"--low expects a number, got 'abc'", "canny", in.toString(), out, "--low", "abc"},
            {"low threshold must be finite and >= 0, got NaN", "canny", in.toString(), out, "--low", "NaN"},
            {"aperture size must be 3, 5 or 7, got 4", "canny", in.toString(), out, "--aperture", "4"},
            {"unknown option --bogus", "canny", in.toString(), out, "--bogus"},
            {"expected IN OUT, got 1 argument", "canny", in.toString()},
            {"--blur expects K,SIGMA", "canny", in.toString(), out, "--blur", "5"},
            {"--device must be cpu or cuda", "canny", in.toString(), out, "--device", "tpu"},
            {"unknown command 'paint'", "paint"},
            {"--golden DIR is required", "verify"},
            {"manifest.json: no such file", "verify", "--golden", tmp.toString()},
        };
        for (String[] c : cases) {
            Run r = run(Arrays.copyOfRange(c, 1, c.length));
            assertTrue(r.status() != 0, "exit status for " + Arrays.toString(c));
            assertTrue(r.err().contains(c[0]), "stderr '" + r.err() + "' should contain '" + c[0] + "'");
            assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
            assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        }
        Run cuda = run("canny", in.toString(), out, "--device", "cuda");
        assertEquals(1, cuda.status());
        assertTrue(cuda.err().contains("CUDA"), cuda.err());
    }

    @Test
    void verifyPassesEveryGoldenCaseAndSavesOutputs() throws IOException {
        Path golden = Golden.dir();
        Path save = tmp.resolve("saved");
        Run r = run("verify", "--golden", golden.toString(), "--save", save.toString());
        assertEquals(0, r.status(), r.out() + r.err());
        long passed = r.out().lines().filter(l -> l.startsWith("PASS ")).count();
        assertTrue(passed > Golden.cases("canny").size() + Golden.cases("conv2d").size(), r.out());
        assertTrue(r.out().contains("verify: " + passed + " passed, 0 failed, 0 skipped"), r.out());
        assertTrue(Files.isRegularFile(save.resolve("canny/camera__100_200_a3_l1.png")));
        assertTrue(Files.isRegularFile(save.resolve("blur/horse__k5_s1.4.png")));
        assertTrue(Files.isRegularFile(save.resolve((String) ((java.util.Map<?, ?>) Golden.cases("conv2d").get(0)).get("expected"))));
    }

    @Test
    void verifyFailsOnAWrongExpectedFile() throws IOException {
        // A copy of one canny case whose expected image is replaced by a blank one must fail.
        Path golden = Golden.dir();
        Path fake = tmp.resolve("golden");
        Files.createDirectories(fake.resolve("images"));
        Files.createDirectories(fake.resolve("canny"));
        Files.copy(golden.resolve("images/camera.png"), fake.resolve("images/camera.png"));
        try (Image blank = Image.allocate(512, 512, 1)) {
            blank.write(fake.resolve("canny/blank.png"));
        }
        Files.writeString(fake.resolve("manifest.json"), """
                {"canny": [{"input": "images/camera.png", "expected": "canny/blank.png", "channels": 1, "height": 512,
                  "width": 512, "low": 100, "high": 200, "aperture": 3, "l2gradient": false, "match": "exact"}],
                 "a_future_kind": [{}, {}]}""");
        Run r = run("verify", "--golden", fake.toString());
        assertEquals(1, r.status(), r.out());
        assertTrue(r.out().contains("FAIL canny"), r.out());
        assertTrue(r.out().contains("verify: 0 passed, 1 failed, 2 skipped (not supported by this version: a_future_kind 2)"), r.out());
    }

    @Test
    void demoWritesItsImages() {
        Run r = run("demo", "--out", tmp.toString(), "--width", "320", "--height", "200", "--runs", "3");
        assertEquals(0, r.status(), r.err());
        assertTrue(Files.isRegularFile(tmp.resolve("control.png")));
        assertTrue(r.out().contains("median"), r.out());
    }
}
