package dev.inkwell;

import static org.junit.jupiter.api.Assertions.fail;

import dev.inkwell.cli.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;

/**
 * The reference vectors in ../shared/golden (or -Dinkwell.golden / $INKWELL_GOLDEN). Never
 * copied into the project. Missing vectors fail the run under CI (CI=true) and skip loudly
 * elsewhere.
 */
public final class Golden {
    private Golden() {}

    public static Path dir() {
        String configured = System.getProperty("inkwell.golden");
        if (configured == null || configured.isBlank()) {
            configured = System.getenv().getOrDefault("INKWELL_GOLDEN", "../shared/golden");
        }
        Path dir = Path.of(configured);
        if (!Files.isRegularFile(dir.resolve("manifest.json"))) {
            String message = "golden vectors not found at " + dir.toAbsolutePath() + " (set -Dinkwell.golden or INKWELL_GOLDEN)";
            if ("true".equals(System.getenv("CI"))) {
                fail(message + ": CI requires them");
            }
            System.err.println("WARNING: SKIPPING GOLDEN TESTS: " + message);
            Assumptions.abort(message);
        }
        return dir;
    }

    public static Map<?, ?> manifest() {
        try {
            return (Map<?, ?>) Json.parse(Files.readString(dir().resolve("manifest.json")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static List<?> cases(String kind) {
        Object list = manifest().get(kind);
        if (!(list instanceof List<?> l) || l.isEmpty()) {
            fail("manifest has no '" + kind + "' cases");
        }
        return (List<?>) list;
    }
}
