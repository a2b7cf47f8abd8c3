package dev.inkwell.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
        String[] expected = {"canny 64x48 gray", "canny 64x48 RGB", "conv2d [1,8,16,16] 3x3 -> 8",
            "attention self B1 H2 L64 D40", "ddim step + guidance [2, 4, 8, 8]", "ffm noop call"};
        for (int i = 0; i < expected.length; i++) {
            assertTrue(r.err().contains("[" + (i + 1) + "/6] " + expected[i] + ": inkwell "), r.err());
            assertTrue(r.out().contains(expected[i]), r.out());
        }
        assertTrue(r.out().contains("machine: ") && r.out().contains("SIMD ") && r.out().contains("GPU: none"), r.out());
        assertTrue(r.out().contains("threads: 2 for every library"), r.out());
        for (String anchor : new String[] {"OpenCV", "BoofCV", "libtorch", "JNI"}) {
            assertTrue(r.out().contains(anchor + ": absent: its jar is not on the class path"), r.out());
        }
        assertTrue(r.out().contains("GFLOP/s") && r.out().contains("GB/s"), r.out());
    }

    @Test
    void jsonParsesAndCarriesTheResults() {
        Run r = run("bench", "--tiny", "--runs", "2", "--warmup", "0", "--filter", "canny|ddim", "--json");
        assertEquals(0, r.status(), r.err());
        Map<?, ?> doc = (Map<?, ?>) Json.parse(r.out());
        Map<?, ?> machine = (Map<?, ?>) doc.get("machine");
        assertTrue(((Double) machine.get("hardware_threads")) >= 1, machine.toString());
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
