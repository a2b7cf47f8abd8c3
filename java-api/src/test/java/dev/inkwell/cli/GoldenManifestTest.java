package dev.inkwell.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.Golden;
import dev.inkwell.Inkwell;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every case of every kind in the golden manifest (conv2d, attention, DDIM steps, timesteps
 * and the 20-step loop, resampling, metrics, plus Canny and blur) and in the layers manifest
 * (group_norm, layer_norm, linear, geglu, activations, timestep embedding), run through the
 * public Java API exactly as {@code inkwell verify} runs them, each within its tolerance.
 */
class GoldenManifestTest {
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
    Stream<DynamicTest> everySupportedCasePasses() throws IOException {
        List<DynamicTest> tests = cases(Golden.dir());
        assertEquals(true, tests.size() > 100, "expected the whole manifest, got " + tests.size() + " cases");
        return tests.stream();
    }

    /** The layers manifest (golden/layers/manifest.json, paths relative to that folder), as `verify --golden DIR/layers`. */
    @TestFactory
    Stream<DynamicTest> everyLayerCasePasses() throws IOException {
        Path dir = Golden.dir().resolve("layers");
        assertTrue(Files.isRegularFile(dir.resolve("manifest.json")), dir + "/manifest.json is missing");
        List<DynamicTest> tests = cases(dir);
        assertTrue(tests.size() >= 30, "expected the whole layers manifest, got " + tests.size() + " cases");
        return tests.stream();
    }

    private static List<DynamicTest> cases(Path dir) throws IOException {
        Map<?, ?> manifest = (Map<?, ?>) Json.parse(Files.readString(dir.resolve("manifest.json")));
        GoldenCases cases = new GoldenCases(inkwell, dir, null);
        List<DynamicTest> tests = new ArrayList<>();
        for (Map.Entry<?, ?> kind : manifest.entrySet()) {
            String name = String.valueOf(kind.getKey());
            if (name.equals("generated_with")) {
                continue;
            }
            assertTrue(GoldenCases.SUPPORTED.contains(name), "manifest kind '" + name + "' is not supported");
            for (GoldenCases.Case c : cases.expand(name, kind.getValue())) {
                tests.add(DynamicTest.dynamicTest(name + " " + c.name(), () -> {
                    GoldenCases.Result r = c.run();
                    assertTrue(r.passed(), r.line());
                }));
            }
        }
        return tests;
    }
}
