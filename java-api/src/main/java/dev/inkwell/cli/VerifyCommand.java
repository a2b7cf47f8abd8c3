package dev.inkwell.cli;

import dev.inkwell.Inkwell;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code inkwell verify --golden DIR}: runs every case of DIR/manifest.json that this
 * version supports through the public Java API and compares with the expected output.
 */
final class VerifyCommand implements Main.Command {
    /** Top-level manifest keys that describe the vectors rather than hold cases. */
    private static final Set<String> METADATA = Set.of("generated_with", "notes", "model_dirs");

    @Override
    public String help() {
        return """
                usage: inkwell verify --golden DIR [--save OUT] [--filter TEXT] [--threads N] [--device cpu|cuda]

                Runs every case of DIR/manifest.json that this version supports through the Java API,
                prints one line per case (PASS/FAIL, worst error) and a summary, and exits with 1 if
                any case fails. Kinds this version does not implement yet are listed as skipped.
                  --save OUT     write each computed array under OUT at its expected file's path
                                 (every ControlNet residual too), and scalars (LPIPS) to
                                 OUT/scalars.json by case name
                  --filter TEXT  only cases whose name contains TEXT
                  --threads N    worker threads (default: all)
                  --device D     cpu (default) or cuda""";
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
        Args args = Args.parse("verify", argv, Set.of("--golden", "--device", "--save", "--filter", "--threads"), Set.of());
        args.positional();
        Path golden = args.path("--golden");
        if (golden == null) {
            throw args.usage("--golden DIR is required (e.g. --golden ../shared/golden)");
        }
        Path manifestFile = golden.resolve("manifest.json");
        if (!Files.isRegularFile(manifestFile)) {
            throw args.usage(manifestFile + ": no such file (is --golden the folder with manifest.json?)");
        }
        Map<?, ?> manifest;
        try {
            manifest = (Map<?, ?>) Json.parse(Files.readString(manifestFile));
        } catch (IllegalArgumentException | ClassCastException e) {
            throw new IOException(manifestFile + ": not a valid manifest (" + e.getMessage() + ")");
        }
        Path save = args.path("--save");
        String filter = args.string("--filter", "");

        int passed = 0, failed = 0;
        Map<String, Integer> skipped = new LinkedHashMap<>();
        try (Inkwell inkwell = Inkwell.builder().device(args.device()).threads(args.integer("--threads", 0)).build()) {
            out.printf("verify: %s on %s (%d threads)%n", manifestFile, inkwell.device(), inkwell.threads());
            GoldenCases cases = new GoldenCases(inkwell, golden, save);
            for (Map.Entry<?, ?> kind : manifest.entrySet()) {
                String name = String.valueOf(kind.getKey());
                if (METADATA.contains(name)) { // descriptions of the manifest, not cases
                    continue;
                }
                if (!GoldenCases.SUPPORTED.contains(name)) {
                    skipped.put(name, countCases(kind.getValue()));
                    continue;
                }
                for (GoldenCases.Case c : cases.expand(name, kind.getValue())) {
                    if (!c.name().contains(filter)) {
                        continue;
                    }
                    GoldenCases.Result r = c.run();
                    out.println(r.line());
                    if (r.passed()) {
                        passed++;
                    } else {
                        failed++;
                    }
                }
            }
        }
        List<String> skippedText = new ArrayList<>();
        int skippedCount = 0;
        for (Map.Entry<String, Integer> e : skipped.entrySet()) {
            skippedText.add(e.getKey() + " " + e.getValue());
            skippedCount += e.getValue();
        }
        out.printf("verify: %d passed, %d failed, %d skipped%s%n", passed, failed, skippedCount,
                skipped.isEmpty() ? "" : " (not supported by this version: " + String.join(", ", skippedText) + ")");
        if (passed + failed == 0) {
            err.println("inkwell verify: no case ran" + (filter.isEmpty() ? "" : " (filter '" + filter + "')"));
            return 1;
        }
        return failed == 0 ? 0 : 1;
    }

    private static int countCases(Object kind) {
        if (kind instanceof List<?> list) {
            return list.size();
        }
        if (kind instanceof Map<?, ?> map) { // e.g. ddim: {config, timesteps, steps: [...], ...}
            int n = 0;
            for (Object v : map.values()) {
                n += v instanceof List<?> l ? l.size() : 0;
            }
            return Math.max(n, 1);
        }
        return 1;
    }
}
