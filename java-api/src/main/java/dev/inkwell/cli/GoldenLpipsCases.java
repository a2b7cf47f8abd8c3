package dev.inkwell.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.inkwell.Image;
import dev.inkwell.models.Lpips;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The {@code lpips} cases of the models manifest: {@link Lpips#distance(Image, Image)} of the
 * case's two PNGs (read as {@code inkwell lpips} reads them: gray repeated on 3 channels) with the
 * weights named by the manifest's {@code lpips_weights}, the distance ({@code expected}) and the
 * five terms ({@code expected_per_layer}) each within the case's {@code atol + rtol |expected|}.
 * Cases of another {@code net} or {@code version} than alex / 0.1 fail, naming it. With
 * {@code --save OUT} the computed values go to {@code OUT/scalars.json} under the case's name,
 * with the manifest's keys:
 * {@code {"noise": {"expected": 0.00587..., "expected_per_layer": [...]}, ...}} (entries of
 * other cases already in the file are kept).
 */
final class GoldenLpipsCases {
    /** The manifest keys this class answers for: the cases, and the weights file they share (no case of its own). */
    static final Set<String> KINDS = Set.of("lpips", "lpips_weights");

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final GoldenCases g;

    GoldenLpipsCases(GoldenCases cases) {
        this.g = cases;
    }

    List<GoldenCases.Case> expand(String kind, Object entries) {
        List<GoldenCases.Case> out = new ArrayList<>();
        if (kind.equals("lpips_weights")) {
            return out; // read by the lpips cases
        }
        for (Object o : (List<?>) entries) {
            Map<?, ?> c = (Map<?, ?>) o;
            String name = GoldenCases.text(c, "name");
            out.add(new GoldenCases.Case("lpips", name, () -> run(c, name)));
        }
        return out;
    }

    /** The manifest's lpips_weights, relative to the golden folder. */
    private Path weights() throws IOException {
        Map<?, ?> manifest;
        try {
            manifest = (Map<?, ?>) Json.parse(Files.readString(g.golden.resolve("manifest.json")));
        } catch (IllegalArgumentException | ClassCastException e) {
            throw new IOException(g.golden.resolve("manifest.json") + ": " + e.getMessage());
        }
        return g.golden.resolve(GoldenCases.text(manifest, "lpips_weights"));
    }

    private GoldenCases.Result run(Map<?, ?> c, String name) throws IOException {
        String net = GoldenCases.text(c, "net"), version = GoldenCases.text(c, "version");
        if (!net.equals("alex") || !version.equals("0.1")) {
            return new GoldenCases.Result(false, "lpips", name, "unsupported net '" + net + "' version '" + version
                    + "' (this version: alex, 0.1)");
        }
        Map<?, ?> tol = GoldenCases.object(c, "tolerance");
        double atol = GoldenCases.number(tol, "atol"), rtol = GoldenCases.number(tol, "rtol");
        double expected = GoldenCases.number(c, "expected");
        List<?> expectedLayers = (List<?>) c.get("expected_per_layer");
        if (expectedLayers == null || expectedLayers.size() != Lpips.LAYERS.size()) {
            throw new IllegalArgumentException("manifest case has no 'expected_per_layer' of " + Lpips.LAYERS.size()
                    + " numbers");
        }
        try (Lpips lpips = Lpips.load(weights(), g.inkwell);
                Image a = LpipsCommand.rgb(g.inkwell, Image.read(g.golden.resolve(GoldenCases.text(c, "a"))));
                Image b = LpipsCommand.rgb(g.inkwell, Image.read(g.golden.resolve(GoldenCases.text(c, "b"))))) {
            long start = System.nanoTime();
            Lpips.Distance d = lpips.distance(a, b);
            double ms = (System.nanoTime() - start) / 1e6;
            save(name, d);
            double[] got = d.perLayer();
            double worst = Math.abs(d.total() - expected);
            boolean passed = worst <= atol + rtol * Math.abs(expected);
            for (int k = 0; k < got.length; k++) {
                double want = (Double) expectedLayers.get(k), err = Math.abs(got[k] - want);
                passed &= err <= atol + rtol * Math.abs(want);
                worst = Double.isNaN(err) ? Double.POSITIVE_INFINITY : Math.max(worst, err);
            }
            return new GoldenCases.Result(passed, "lpips", name, String.format(Locale.ROOT,
                    "distance %.6g (expected %.6g), max |err| %.3g over it and 5 layers (atol %.2g, rtol %.2g), %.2f ms",
                    d.total(), expected, worst, atol, rtol, ms));
        }
    }

    /** Adds the case's values to OUT/scalars.json (read, updated, rewritten: cases run one at a time). */
    private void save(String name, Lpips.Distance d) throws IOException {
        if (g.save == null) {
            return;
        }
        Files.createDirectories(g.save);
        Path file = g.save.resolve("scalars.json");
        ObjectNode root;
        if (Files.exists(file)) {
            JsonNode old = MAPPER.readTree(file.toFile());
            if (!(old instanceof ObjectNode o)) {
                throw new IOException(file + ": not a JSON object; remove it or choose another --save folder");
            }
            root = o;
        } else {
            root = MAPPER.createObjectNode();
        }
        ObjectNode entry = root.putObject(name);
        entry.put("expected", d.total());
        ArrayNode layers = entry.putArray("expected_per_layer");
        for (double v : d.perLayer()) {
            layers.add(v);
        }
        MAPPER.writeValue(file.toFile(), root);
    }
}
