package dev.inkwell.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.cli.bench.TestAnchors;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code inkwell bench} on the tiny case set: a progress line per case, a table or JSON with
 * every case, the machine and every anchor (absent here: the test class path has no anchor
 * jars), and usage errors. Times are printed, never asserted.
 */
class BenchCommandTest {
    record Run(int status, String out, String err) {}

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void tableHasEveryCaseTheMachineAndTheAbsentAnchors() {
        Run r = run("bench", "--tiny", "--runs", "1", "--warmup", "0", "--threads", "2");
        assertEquals(0, r.status(), r.err());
        String[] expected = {"canny 64x48 gray", "canny 64x48 RGB", "gaussian_blur 64x48 RGB 5x5", "conv2d [1,8,16,16] 3x3 -> 8",
            "attention self B1 H2 L64 D40", "linear [2,16,24] -> 40", "geglu [2,16,24] -> 2x32 -> 32",
            "group_norm [2,64,8,8] G32", "layer_norm [2,16,40]", "ddim step + guidance [2, 4, 8, 8]", "resnet block [2,64,8,8] temb 32 G32",
            "transformer block [2,16,16] H2 D8 context [2,7,24]", "ffm noop call"};
        for (int i = 0; i < expected.length; i++) {
            assertTrue(r.err().contains("[" + (i + 1) + "/" + expected.length + "] " + expected[i] + ": inkwell "), r.err());
            assertTrue(r.out().contains(expected[i]), r.out());
        }
        assertTrue(r.out().contains("machine: ") && r.out().contains("SIMD ") && r.out().contains("GPU: none"), r.out());
        assertTrue(r.out().contains("threads: 2 for every library"), r.out());
        assertTrue(r.out().contains("OpenCV, BoofCV, libtorch, JNI: absent (./inkwell bench --anchors builds them"), r.out());
        assertTrue(r.out().contains("GFLOP/s") && r.out().contains("GB/s"), r.out());
        assertTrue(r.out().contains("FMA peak: absent"), r.out()); // the JNI anchor measures it
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("case ") && l.contains("inkwell") && l.contains("libtorch")),
                r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("canny 64x48 gray") && l.contains("absent")), r.out());
        // the memory-bound rows read as a fraction of the built-in copy's bandwidth; the GEMMs do not
        for (String memoryBound : new String[] {"group_norm", "layer_norm", "ddim"}) {
            assertTrue(r.out().lines().anyMatch(l -> l.startsWith(memoryBound) && l.contains("GB/s (")
                    && l.contains("% of copy)")), r.out());
        }
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("geglu") && l.contains("GFLOP/s") && !l.contains("of copy")),
                r.out());
    }

    /**
     * The test class path has three anchors of its own (TestAnchors, via META-INF/services):
     * one that cannot load, one that throws on conv2d, one whose inputs must be freed. None
     * of them stops the run; the table says what happened to each.
     */
    @Test
    void anchorsThatFailAreReportedNotFatal() {
        int openBefore = TestAnchors.OPEN.get();
        Run r = run("bench", "--tiny", "--runs", "1", "--warmup", "0", "--filter", "canny 64x48 gray|conv2d|ddim");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("test-broken: could not load: UnsatisfiedLinkError: no libtest-broken.so"), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("conv2d") && l.contains("failed to load")
                && l.contains("failed [1]")), r.out());
        assertTrue(r.out().contains("[1] test-flaky on conv2d [1,8,16,16] 3x3 -> 8: IllegalStateException: conv2d is not"
                + " supported by test-flaky"), r.out());
        assertTrue(!r.out().contains("second line"), r.out()); // one line per failure
        assertTrue(r.err().contains("test-flaky failed: IllegalStateException"), r.err());
        assertTrue(r.err().lines().anyMatch(l -> l.startsWith("[3/3] ddim") && l.contains("test-flaky ")), r.err());
        assertTrue(r.err().lines().anyMatch(l -> l.startsWith("[1/3] canny") && l.contains("test-plain ")), r.err());
        assertEquals(openBefore, TestAnchors.OPEN.get(), "every prepared anchor run is closed after timing");

        Run json = run("bench", "--tiny", "--runs", "1", "--warmup", "0", "--filter", "conv2d", "--json");
        assertEquals(0, json.status(), json.err());
        Map<?, ?> results = (Map<?, ?>) ((Map<?, ?>) ((List<?>) ((Map<?, ?>) Json.parse(json.out())).get("cases")).get(0))
                .get("results");
        Map<?, ?> flaky = (Map<?, ?>) results.get("test-flaky");
        assertEquals("failed", flaky.get("status"), results.toString());
        assertTrue(((String) flaky.get("error")).startsWith("IllegalStateException: conv2d is not supported"), flaky.toString());
        assertEquals("failed to load", ((Map<?, ?>) results.get("test-broken")).get("status"), results.toString());
        assertEquals("n/a", ((Map<?, ?>) results.get("test-plain")).get("status"), results.toString());
    }

    @Test
    void jsonParsesAndCarriesTheResults() {
        Run r = run("bench", "--tiny", "--runs", "2", "--warmup", "0", "--filter", "canny|ddim", "--json");
        assertEquals(0, r.status(), r.err());
        Map<?, ?> doc = (Map<?, ?>) Json.parse(r.out());
        Map<?, ?> machine = (Map<?, ?>) doc.get("machine");
        assertTrue(((Double) machine.get("hardware_threads")) >= 1, machine.toString());
        assertTrue(((Double) machine.get("simd_bits")) >= 32, machine.toString());
        assertTrue(machine.get("cpu") instanceof String && machine.get("simd") instanceof String, machine.toString());
        assertEquals("none (CPU backend)", machine.get("gpu"), machine.toString());
        assertTrue(doc.containsKey("fma_peak_gflops") && doc.get("fma_peak_gflops") == null, doc.toString());
        List<?> cases = (List<?>) doc.get("cases");
        assertEquals(3, cases.size(), r.out()); // two Canny cases and the DDIM step
        for (Object o : cases) {
            Map<?, ?> results = (Map<?, ?>) ((Map<?, ?>) o).get("results");
            Map<?, ?> inkwell = (Map<?, ?>) results.get("inkwell");
            assertTrue((Double) inkwell.get("median_ms") > 0 && (Double) inkwell.get("min_ms") > 0, inkwell.toString());
            assertTrue((Double) inkwell.get("min_ms") <= (Double) inkwell.get("median_ms"), inkwell.toString());
            assertEquals("absent", ((Map<?, ?>) results.get("libtorch")).get("status"), results.toString());
        }
        Map<?, ?> ddim = (Map<?, ?>) cases.get(2);
        Map<?, ?> memcpy = (Map<?, ?>) ((Map<?, ?>) ddim.get("results")).get("memcpy");
        assertTrue((Double) memcpy.get("ratio") > 0, memcpy.toString()); // the built-in anchor always runs
        assertTrue(((List<?>) doc.get("anchors")).size() >= 5, doc.get("anchors").toString());
    }

    @Test
    void badOptionsAreUsageErrors() {
        assertEquals(2, run("bench", "--runs", "0").status());
        assertEquals(2, run("bench", "--bogus").status());
        assertEquals(2, run("bench", "--filter", "(").status());
        assertEquals(2, run("bench", "extra").status());
        Run none = run("bench", "--tiny", "--filter", "no such case");
        assertEquals(2, none.status());
        assertTrue(none.err().contains("no case matches"), none.err());
    }
}
