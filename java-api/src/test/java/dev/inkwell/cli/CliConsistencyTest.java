package dev.inkwell.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.Image;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line says the same thing everywhere: the default job is the one help names,
 * every usage line lists the options its command takes (--threads, --device), sizes are
 * W x H, and timings say what they measured.
 */
class CliConsistencyTest {
    @TempDir
    Path tmp;

    record Run(int status, String out, String err) {}

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static final String[] COMMANDS = {"demo", "canny", "blur", "annotate", "colorize", "lpips", "verify", "crosscheck",
        "bench", "unet-bench", "version"};

    @Test
    void noArgumentsRunsTheCommandHelpCallsTheDefault() {
        assertInstanceOf(DemoCommand.class, Main.command(Main.DEFAULT_COMMAND));
        assertTrue(Main.USAGE.contains("'inkwell' with no command runs the demo"), Main.USAGE);
        assertTrue(new DemoCommand().help().contains("What 'inkwell' with no command runs"));
        assertEquals(0, run("--help").status(), "help is an answer, not an error");
    }

    @Test
    void everyOptionACommandTakesIsInItsUsageLine() {
        for (String c : COMMANDS) {
            String usage = Main.command(c).help().lines().findFirst().orElseThrow();
            for (String option : new String[] {"--threads", "--device"}) {
                // A command takes an option when the parser does not call it unknown.
                Run r = run(c, option, "1", "--no-such-option");
                boolean accepted = !r.err().contains("unknown option " + option);
                assertTrue(r.err().contains("unknown option"), c + ": " + r.err());
                assertEquals(accepted, usage.contains("[" + option + " "), c + " takes " + option + " = " + accepted
                        + " but its usage line says: " + usage);
            }
        }
    }

    private Path png(String name, int w, int h, int channels) throws IOException {
        byte[] pixels = new byte[w * h * channels];
        new Random(w * 31 + h).nextBytes(pixels);
        Path file = tmp.resolve(name);
        try (Image img = Image.fromBytes(pixels, h, w, channels)) {
            img.write(file);
        }
        return file;
    }

    @Test
    void sizesAreWidthByHeight() throws IOException {
        Path in = png("wide.png", 70, 50, 3); // 70 wide, 50 high
        Run canny = run("canny", in.toString(), tmp.resolve("e.png").toString(), "--threads", "1");
        assertEquals(0, canny.status(), canny.err());
        assertTrue(canny.out().contains("70x50 RGB"), canny.out());
        assertFalse(canny.out().contains("50x70"), canny.out());
        Run blur = run("blur", in.toString(), tmp.resolve("b.png").toString());
        assertEquals(0, blur.status(), blur.err());
        assertTrue(blur.out().contains("70x50 RGB"), blur.out());
        Run demo = run("demo", "--out", tmp.toString(), "--width", "64", "--height", "32", "--runs", "1");
        assertEquals(0, demo.status(), demo.err());
        assertTrue(demo.out().contains("64x32 RGB"), demo.out());
        assertTrue(Main.USAGE.contains("W x H"), Main.USAGE);
        assertFalse(demo.out().contains("32x64"), demo.out());
    }

    @Test
    void timingsSayWhatTheyMeasured() throws IOException {
        Path in = png("t.png", 40, 30, 1);
        Run canny = run("canny", in.toString(), tmp.resolve("e.png").toString(), "--runs", "3");
        assertEquals(0, canny.status(), canny.err());
        assertTrue(Pattern.compile("canny: median \\d+\\.\\d\\d ms of 3 warm calls, first call \\d+\\.\\d\\d ms \\(CPU, \\d+ threads\\)")
                .matcher(canny.out()).find(), canny.out());
        Run cold = run("canny", in.toString(), tmp.resolve("e.png").toString(), "--runs", "0");
        assertTrue(cold.out().contains("first call") && cold.out().contains("cold"), cold.out());
        Run bad = run("canny", in.toString(), tmp.resolve("e.png").toString(), "--runs", "-1");
        assertEquals(2, bad.status());
        assertTrue(bad.err().contains("--runs must be 0..10000, got -1"), bad.err());
        Run demo = run("demo", "--out", tmp.toString(), "--width", "64", "--height", "32", "--runs", "2");
        assertTrue(demo.out().contains("median") && demo.out().contains("of 2 warm calls (kernel only)"), demo.out());
    }
}
