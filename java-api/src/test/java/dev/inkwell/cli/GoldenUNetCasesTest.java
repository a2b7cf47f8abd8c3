package dev.inkwell.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.Golden;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The unet and controlnet cases of golden/models/manifest.json as {@code inkwell verify} runs
 * them (GoldenModelCases dispatching to GoldenUNetCases): each passes, and {@code --save} writes
 * every output at its expected file's relative path, each ControlNet residual included.
 */
class GoldenUNetCasesTest {
    private static Inkwell inkwell;

    @BeforeAll
    static void open() {
        inkwell = Inkwell.create();
    }

    @AfterAll
    static void close() {
        inkwell.close();
    }

    @Test
    void everyUNetAndControlNetCasePassesAndIsSaved(@TempDir Path out) throws IOException {
        Path dir = Golden.dir().resolve("models");
        Map<?, ?> manifest = (Map<?, ?>) Json.parse(Files.readString(dir.resolve("manifest.json")));
        GoldenCases cases = new GoldenCases(inkwell, dir, out);
        List<String> expectedFiles = new ArrayList<>();
        int ran = 0;
        for (String kind : List.of("unet", "controlnet")) {
            assertTrue(GoldenCases.SUPPORTED.contains(kind), kind);
            for (GoldenCases.Case c : cases.expand(kind, manifest.get(kind))) {
                GoldenCases.Result r = c.run();
                System.out.println(r.line());
                assertTrue(r.passed(), r.line());
                ran++;
            }
            for (Object o : (List<?>) manifest.get(kind)) {
                Map<?, ?> c = (Map<?, ?>) o;
                if (kind.equals("unet")) {
                    expectedFiles.add((String) c.get("expected"));
                    expectedFiles.add((String) c.get("expected_without_control"));
                } else {
                    for (Object f : (List<?>) c.get("down_block_res_samples")) {
                        expectedFiles.add((String) f);
                    }
                    expectedFiles.add((String) c.get("mid_block_res_sample"));
                }
            }
        }
        assertEquals(4, ran, "two unet and two controlnet cases");
        for (String f : expectedFiles) {
            try (Tensor saved = Tensor.readNpy(out.resolve(f)); Tensor want = Tensor.readNpy(dir.resolve(f))) {
                assertTrue(Arrays.equals(saved.shape(), want.shape()), f + ": " + Arrays.toString(saved.shape()));
            }
        }
        assertEquals(2 * 2 + 2 * 13, expectedFiles.size());
    }
}
