package dev.inkwell.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.Golden;
import dev.inkwell.Image;
import dev.inkwell.Inkwell;
import dev.inkwell.models.Lpips;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code inkwell lpips A B --weights FILE}: the API's distance and terms in text and JSON, gray
 * files read as RGB, one-line errors; and {@code inkwell verify} on the models manifest running
 * the lpips cases and saving their values to scalars.json.
 */
class LpipsCommandTest {
    @TempDir
    Path tmp;

    record Run(int status, String out, String err) {}

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static Path models() {
        return Golden.dir().resolve("models");
    }

    private static Path weights() throws IOException {
        Map<?, ?> manifest = (Map<?, ?>) Json.parse(Files.readString(models().resolve("manifest.json")));
        return models().resolve((String) manifest.get("lpips_weights"));
    }

    private static Map<?, ?> goldenCase(String name) throws IOException {
        Map<?, ?> manifest = (Map<?, ?>) Json.parse(Files.readString(models().resolve("manifest.json")));
        for (Object o : (List<?>) manifest.get("lpips")) {
            if (name.equals(((Map<?, ?>) o).get("name"))) {
                return (Map<?, ?>) o;
            }
        }
        throw new AssertionError("no lpips case " + name);
    }

    @Test
    void printsTheApisDistanceAndTerms() throws IOException {
        Map<?, ?> c = goldenCase("odd_67x45_flip");
        Path a = models().resolve((String) c.get("a")), b = models().resolve((String) c.get("b"));
        Lpips.Distance want;
        try (Inkwell inkwell = Inkwell.create(); Lpips lpips = Lpips.load(weights(), inkwell);
                Image ia = Image.read(a); Image ib = Image.read(b)) {
            want = lpips.distance(ia, ib);
        }
        Run json = run("lpips", a.toString(), b.toString(), "--weights", weights().toString(), "--json");
        assertEquals(0, json.status(), json.err());
        Map<?, ?> o = (Map<?, ?>) Json.parse(json.out().strip());
        assertEquals(want.total(), (Double) o.get("distance"), 0.0, json.out());
        List<?> terms = (List<?>) o.get("per_layer");
        for (int k = 0; k < 5; k++) {
            assertEquals(want.perLayer()[k], (Double) terms.get(k), 0.0, json.out());
        }
        assertEquals(Lpips.LAYERS, o.get("layers"));
        assertEquals(67.0, o.get("width"));
        assertEquals(45.0, o.get("height"));
        double expected = (Double) c.get("expected");
        assertEquals(expected, (Double) o.get("distance"), 1e-6 + 1e-4 * expected);

        Run text = run("lpips", a.toString(), b.toString(), "--weights=" + weights());
        assertEquals(0, text.status(), text.err());
        List<String> lines = text.out().lines().toList();
        assertEquals(7, lines.size(), text.out());
        assertTrue(lines.get(0).startsWith(String.format(java.util.Locale.ROOT, "lpips %.8g (v0.1, alex)", want.total()))
                && lines.get(0).endsWith("67x45 RGB"), text.out());
        for (int k = 0; k < 5; k++) {
            assertEquals(String.format(java.util.Locale.ROOT, "  relu%d %.8g", k + 1, want.perLayer()[k]),
                    lines.get(k + 1));
        }
        assertTrue(lines.get(6).startsWith("lpips: ") && lines.get(6).contains(" ms (CPU"), text.out());
    }

    @Test
    void grayFilesAreReadAsRgb() throws IOException {
        Random r = new Random(1);
        byte[] g1 = new byte[40 * 48], g2 = new byte[40 * 48];
        r.nextBytes(g1);
        r.nextBytes(g2);
        Path gray1 = tmp.resolve("g1.png"), gray2 = tmp.resolve("g2.png"), rgb1 = tmp.resolve("c1.png");
        try (Image i1 = Image.fromBytes(g1, 40, 48, 1); Image i2 = Image.fromBytes(g2, 40, 48, 1);
                Image c1 = Image.fromBytes(repeat3(g1), 40, 48, 3)) {
            i1.write(gray1);
            i2.write(gray2);
            c1.write(rgb1);
        }
        Run grayRun = run("lpips", gray1.toString(), gray2.toString(), "--weights", weights().toString(), "--json");
        Run rgbRun = run("lpips", rgb1.toString(), gray2.toString(), "--weights", weights().toString(), "--json");
        assertEquals(0, grayRun.status(), grayRun.err());
        assertEquals(0, rgbRun.status(), rgbRun.err());
        Object d = ((Map<?, ?>) Json.parse(grayRun.out())).get("distance");
        assertTrue((Double) d > 0, grayRun.out());
        assertEquals(d, ((Map<?, ?>) Json.parse(rgbRun.out())).get("distance"));
    }

    private static byte[] repeat3(byte[] gray) {
        byte[] out = new byte[gray.length * 3];
        for (int i = 0; i < gray.length; i++) {
            out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = gray[i];
        }
        return out;
    }

    @Test
    void errorsAreOneLine() throws IOException {
        Path a = models().resolve("lpips/noise_a.png"), odd = models().resolve("lpips/odd_67x45_flip_a.png");
        Path small = tmp.resolve("small.png");
        try (Image s = Image.allocate(30, 40, 3)) {
            s.write(small);
        }
        String w = weights().toString();
        Object[][] cases = {
            {2, "missing.safetensors: no such file", new String[] {"lpips", a.toString(), a.toString(), "--weights",
                tmp.resolve("missing.safetensors").toString()}},
            {2, "--weights FILE is required", new String[] {"lpips", a.toString(), a.toString()}},
            {2, "expected A B, got 1 argument", new String[] {"lpips", a.toString(), "--weights", w}},
            {2, "nothere.png: no such file", new String[] {"lpips", tmp.resolve("nothere.png").toString(), a.toString(),
                "--weights", w}},
            {2, "is 96x80 RGB", new String[] {"lpips", a.toString(), odd.toString(), "--weights", w}},
            {2, "at least 31x31", new String[] {"lpips", small.toString(), small.toString(), "--weights", w}},
            {2, "not a safetensors", new String[] {"lpips", a.toString(), a.toString(), "--weights", a.toString()}},
        };
        for (Object[] c : cases) {
            Run r = run((String[]) c[2]);
            assertEquals(c[0], r.status(), r.err());
            assertTrue(r.err().contains((String) c[1]), c[1] + " in: " + r.err());
            assertEquals(1, r.err().lines().count(), r.err());
            assertTrue(r.err().startsWith("inkwell lpips: "), r.err());
        }
        Run help = run("lpips", "--help");
        assertEquals(0, help.status());
        assertTrue(help.out().startsWith("usage: inkwell lpips A B --weights FILE"), help.out());
        String usage = help.out().lines().findFirst().orElseThrow();
        assertTrue(usage.contains("[--threads N]") && usage.contains("[--device cpu|cuda]"), usage);
        Run threads = run("lpips", a.toString(), a.toString(), "--weights", w, "--threads", "1", "--device", "cpu");
        assertEquals(0, threads.status(), threads.err());
        assertTrue(Main.USAGE.contains("lpips "), Main.USAGE);
    }

    @Test
    void verifyRunsTheLpipsCasesAndSavesScalars() throws IOException {
        Path save = tmp.resolve("saved");
        Run flip = run("verify", "--golden", models().toString(), "--filter", "_flip", "--save", save.toString());
        assertEquals(0, flip.status(), flip.out() + flip.err());
        assertTrue(flip.out().contains("PASS lpips"), flip.out());
        assertTrue(flip.out().contains("verify: 1 passed, 0 failed"), flip.out());
        assertTrue(!flip.out().contains("lpips_weights"), "lpips_weights is no case: " + flip.out());
        Run noise = run("verify", "--golden", models().toString(), "--filter", "noise", "--save", save.toString());
        assertEquals(0, noise.status(), noise.out() + noise.err());

        Map<?, ?> scalars = (Map<?, ?>) Json.parse(Files.readString(save.resolve("scalars.json")));
        assertEquals(2, scalars.size(), scalars.toString()); // both runs' cases, merged
        for (String name : new String[] {"odd_67x45_flip", "noise"}) {
            Map<?, ?> c = goldenCase(name), got = (Map<?, ?>) scalars.get(name);
            double want = (Double) c.get("expected");
            assertEquals(want, (Double) got.get("expected"), 1e-6 + 1e-4 * want, name);
            assertEquals(5, ((List<?>) got.get("expected_per_layer")).size(), name);
        }
    }
}
