package dev.inkwell.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.Golden;
import dev.inkwell.Image;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LPIPS v0.1 (AlexNet): the golden cases of golden/models (lpips' own float64 outputs) with the
 * weights as stored and rounded to float16, a plain double-precision Java reference of the whole
 * forward pass on random images with random weights, its invariants (symmetry, d(a, a) = 0, batch
 * = one pair at a time), and bad inputs.
 */
class LpipsTest {
    private static final String[] CONV = {"net.slice1.0.", "net.slice2.3.", "net.slice3.6.", "net.slice4.8.",
        "net.slice5.10."};
    private static final int[] OUT = {64, 192, 384, 256, 256}, IN = {3, 64, 192, 384, 256};
    private static final int[] KERNEL = {11, 5, 3, 3, 3}, STRIDE = {4, 1, 1, 1, 1}, PAD = {2, 2, 1, 1, 1};
    /** lpips' ScalingLayer constants (float32 buffers). */
    private static final float[] SHIFT = {-.030f, -.088f, -.188f}, SCALE = {.458f, .448f, .450f};

    private static Inkwell inkwell;

    @TempDir
    Path tmp;

    @BeforeAll
    static void open() {
        inkwell = Inkwell.create();
    }

    @AfterAll
    static void close() {
        inkwell.close();
    }

    // ---- golden -------------------------------------------------------------------------

    static Path modelsDir() {
        return Golden.dir().resolve("models");
    }

    static Map<?, ?> manifest() throws IOException {
        return (Map<?, ?>) dev.inkwell.cli.Json.parse(Files.readString(modelsDir().resolve("manifest.json")));
    }

    static Path goldenWeights() throws IOException {
        return modelsDir().resolve((String) manifest().get("lpips_weights"));
    }

    /** Every lpips case, its distance and each term within atol + rtol |expected|; returns the worst |err|. */
    private static double checkGolden(Lpips lpips, double atolScale) throws IOException {
        List<?> cases = (List<?>) manifest().get("lpips");
        assertTrue(cases != null && cases.size() >= 4, "golden lpips cases: " + cases);
        double worst = 0;
        for (Object o : cases) {
            Map<?, ?> c = (Map<?, ?>) o;
            String name = (String) c.get("name");
            assertEquals("alex", c.get("net"), name);
            assertEquals("0.1", c.get("version"), name);
            Map<?, ?> tol = (Map<?, ?>) c.get("tolerance");
            double atol = (Double) tol.get("atol") * atolScale, rtol = (Double) tol.get("rtol") * atolScale;
            try (Image a = Image.read(modelsDir().resolve((String) c.get("a")));
                    Image b = Image.read(modelsDir().resolve((String) c.get("b")))) {
                Lpips.Distance d = lpips.distance(a, b);
                double want = (Double) c.get("expected");
                worst = Math.max(worst, assertClose(name + " total", d.total(), want, atol, rtol));
                List<?> layers = (List<?>) c.get("expected_per_layer");
                double[] got = d.perLayer();
                assertEquals(5, layers.size());
                for (int k = 0; k < 5; k++) {
                    worst = Math.max(worst, assertClose(name + " " + Lpips.LAYERS.get(k), got[k],
                            (Double) layers.get(k), atol, rtol));
                }
                System.out.printf("lpips golden %s: %.9g (expected %.9g)%n", name, d.total(), want);
            }
        }
        return worst;
    }

    private static double assertClose(String what, double got, double want, double atol, double rtol) {
        double err = Math.abs(got - want);
        assertTrue(err <= atol + rtol * Math.abs(want), what + ": got " + got + ", expected " + want + " (|err| " + err
                + ", atol " + atol + ", rtol " + rtol + ")");
        return err;
    }

    @Test
    void goldenCases() throws IOException {
        try (Lpips lpips = Lpips.load(goldenWeights(), inkwell)) {
            double worst = checkGolden(lpips, 1);
            System.out.printf("lpips golden, float32 weights: max |err| %.3g%n", worst);
        }
    }

    /**
     * The golden weights rounded to float16 (as an fp16 export stores them) and widened on load.
     * Each weight moves by up to 2^-11 relative (4.9e-4); each of the five convolutions sums
     * hundreds to thousands of such products, so a feature moves by about 2^-11 / sqrt(terms)
     * to 2^-11 of its size, and a term, a weighted sum of squared differences of normalized
     * features, by about as much relatively where the images differ (up to 1e-3 x 0.07 =
     * 7e-5 on the largest golden distance) and not at all where they are identical. Bound:
     * 10x the float32 tolerance (atol 1e-5, rtol 1e-3); measured max |err| 2.1e-6 (float32
     * weights: 3.8e-9). A wrong layer or a dropped term moves a distance by 1e-3 or more.
     */
    @Test
    void goldenCasesWithFloat16Weights() throws IOException {
        Path f16 = tmp.resolve("lpips_f16.safetensors");
        try (SafeTensors src = SafeTensors.open(goldenWeights())) {
            SafeTensorsWriter w = new SafeTensorsWriter();
            for (String name : src.names()) {
                Tensor t = src.tensor(name);
                w.f16(name, t.toArray(), t.shape());
            }
            w.write(f16);
        }
        try (Lpips lpips = Lpips.load(f16, inkwell)) {
            double worst = checkGolden(lpips, 10);
            System.out.printf("lpips golden, float16-stored weights: max |err| %.3g%n", worst);
        }
    }

    // ---- a plain reference on random weights ----------------------------------------------

    /** Random LPIPS weights as the reference reads them, and the file writer's view of them. */
    private static final class Weights {
        final float[][] convW = new float[5][], convB = new float[5][], lin = new float[5][];
        float[] shift = SHIFT, scale = SCALE;
        final Map<String, Object[]> tensors = new LinkedHashMap<>(); // name -> {float[] values, long[] shape}

        Weights(long seed) {
            Random r = new Random(seed);
            for (int i = 0; i < 5; i++) {
                int fanIn = IN[i] * KERNEL[i] * KERNEL[i];
                convW[i] = uniform(r, OUT[i] * fanIn, (float) Math.sqrt(3.0 / fanIn), false);
                convB[i] = uniform(r, OUT[i], 0.1f, false);
                lin[i] = uniform(r, OUT[i], 1, true);
                put(CONV[i] + "weight", convW[i], OUT[i], IN[i], KERNEL[i], KERNEL[i]);
                put(CONV[i] + "bias", convB[i], OUT[i]);
            }
            for (int i = 0; i < 5; i++) {
                put("lin" + i + ".model.1.weight", lin[i], 1, OUT[i], 1, 1);
            }
        }

        void put(String name, float[] values, long... shape) {
            tensors.put(name, new Object[] {values, shape});
        }

        Path write(Path file, Consumer<Map<String, Object[]>> edit) throws IOException {
            Map<String, Object[]> copy = new LinkedHashMap<>(tensors);
            edit.accept(copy);
            SafeTensorsWriter w = new SafeTensorsWriter();
            copy.forEach((name, v) -> w.f32(name, (float[]) v[0], (long[]) v[1]));
            return w.write(file);
        }

        Path write(Path file) throws IOException {
            return write(file, m -> {});
        }
    }

    private static float[] uniform(Random r, int n, float bound, boolean positive) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = positive ? bound * r.nextFloat() : bound * (2 * r.nextFloat() - 1);
        }
        return v;
    }

    private static Image randomImage(Random r, int h, int w) {
        byte[] px = new byte[h * w * 3];
        r.nextBytes(px);
        return Image.fromBytes(px, h, w, 3);
    }

    /** lpips' forward in double, loops as the definitions read. */
    private static double[] reference(Weights wt, Image a, Image b) {
        double[][][][] fa = features(wt, a), fb = features(wt, b);
        double[] terms = new double[6];
        for (int k = 0; k < 5; k++) {
            double[][][] x = fa[k], y = fb[k];
            int c = x.length, h = x[0].length, w = x[0][0].length;
            double sum = 0;
            for (int i = 0; i < h; i++) {
                for (int j = 0; j < w; j++) {
                    double nx = 0, ny = 0;
                    for (int ch = 0; ch < c; ch++) {
                        nx += x[ch][i][j] * x[ch][i][j];
                        ny += y[ch][i][j] * y[ch][i][j];
                    }
                    nx = Math.sqrt(nx) + 1e-10;
                    ny = Math.sqrt(ny) + 1e-10;
                    for (int ch = 0; ch < c; ch++) {
                        double d = x[ch][i][j] / nx - y[ch][i][j] / ny;
                        sum += wt.lin[k][ch] * d * d;
                    }
                }
            }
            terms[k] = sum / (h * w);
            terms[5] += terms[k];
        }
        return terms;
    }

    /** relu1..relu5 of AlexNet's features on the scaled image. */
    private static double[][][][] features(Weights wt, Image img) {
        int h = img.height(), w = img.width();
        double[][][] x = new double[3][h][w];
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < h; i++) {
                for (int j = 0; j < w; j++) {
                    x[c][i][j] = (img.get(i, j, c) / 127.5 - 1 - wt.shift[c]) / wt.scale[c];
                }
            }
        }
        double[][][][] taps = new double[5][][][];
        for (int k = 0; k < 5; k++) {
            if (k == 1 || k == 2) {
                x = maxPool3s2(x);
            }
            x = relu(conv(x, wt.convW[k], wt.convB[k], OUT[k], KERNEL[k], STRIDE[k], PAD[k]));
            taps[k] = x;
        }
        return taps;
    }

    private static double[][][] conv(double[][][] x, float[] w, float[] b, int out, int k, int stride, int pad) {
        int in = x.length, h = x[0].length, wd = x[0][0].length;
        int oh = (h + 2 * pad - k) / stride + 1, ow = (wd + 2 * pad - k) / stride + 1;
        double[][][] y = new double[out][oh][ow];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < oh; i++) {
                for (int j = 0; j < ow; j++) {
                    double s = b[o];
                    for (int c = 0; c < in; c++) {
                        for (int u = 0; u < k; u++) {
                            int yy = i * stride - pad + u;
                            if (yy < 0 || yy >= h) {
                                continue;
                            }
                            for (int v = 0; v < k; v++) {
                                int xx = j * stride - pad + v;
                                if (xx >= 0 && xx < wd) {
                                    s += w[((o * in + c) * k + u) * k + v] * x[c][yy][xx];
                                }
                            }
                        }
                    }
                    y[o][i][j] = s;
                }
            }
        }
        return y;
    }

    private static double[][][] relu(double[][][] x) {
        for (double[][] plane : x) {
            for (double[] row : plane) {
                for (int j = 0; j < row.length; j++) {
                    row[j] = Math.max(row[j], 0);
                }
            }
        }
        return x;
    }

    private static double[][][] maxPool3s2(double[][][] x) {
        int h = x[0].length, w = x[0][0].length, oh = (h - 3) / 2 + 1, ow = (w - 3) / 2 + 1;
        double[][][] y = new double[x.length][oh][ow];
        for (int c = 0; c < x.length; c++) {
            for (int i = 0; i < oh; i++) {
                for (int j = 0; j < ow; j++) {
                    double m = Double.NEGATIVE_INFINITY;
                    for (int u = 0; u < 3; u++) {
                        for (int v = 0; v < 3; v++) {
                            m = Math.max(m, x[c][2 * i + u][2 * j + v]);
                        }
                    }
                    y[c][i][j] = m;
                }
            }
        }
        return y;
    }

    /** float32 convolutions against a double reference: the golden cases' tolerance. */
    private static void assertMatchesReference(Lpips.Distance d, double[] want) {
        double[] got = d.perLayer();
        for (int k = 0; k < 5; k++) {
            assertClose(Lpips.LAYERS.get(k), got[k], want[k], 1e-6, 1e-4);
        }
        assertClose("total", d.total(), want[5], 1e-6, 1e-4);
    }

    /**
     * 47x63: relu1 11x15, relu2 5x7, relu3..5 2x3, so every padding and pooling edge is
     * exercised; random images are far apart, so each term is well above the tolerance.
     */
    @Test
    void matchesAPlainReferenceOnRandomWeights() throws IOException {
        Weights wt = new Weights(1);
        Random r = new Random(2);
        try (Lpips lpips = Lpips.load(wt.write(tmp.resolve("w.safetensors")), inkwell);
                Image a = randomImage(r, 47, 63);
                Image b = randomImage(r, 47, 63)) {
            Lpips.Distance d = lpips.distance(a, b);
            double[] want = reference(wt, a, b);
            for (int k = 0; k < 5; k++) {
                assertTrue(want[k] > 1e-3, "term " + k + " is " + want[k]); // a meaningful comparison
            }
            assertMatchesReference(d, want);
        }
    }

    /** The 31x31 minimum (relu3..5 1x1), a file with scaling_layer buffers (used) and only the lins.N names. */
    @Test
    void smallestSizeScalingBuffersAndLinsNames() throws IOException {
        Weights wt = new Weights(3);
        wt.shift = new float[] {0.1f, -0.2f, 0.05f};
        wt.scale = new float[] {0.3f, 0.6f, 0.45f};
        Path file = wt.write(tmp.resolve("w.safetensors"), m -> {
            for (int k = 0; k < 5; k++) {
                m.put("lins." + k + ".model.1.weight", m.remove("lin" + k + ".model.1.weight"));
            }
            m.put("scaling_layer.shift", new Object[] {wt.shift, new long[] {1, 3, 1, 1}});
            m.put("scaling_layer.scale", new Object[] {wt.scale, new long[] {1, 3, 1, 1}});
        });
        Random r = new Random(4);
        try (Lpips lpips = Lpips.load(file, inkwell);
                Image a = randomImage(r, 31, 31);
                Image b = randomImage(r, 31, 31)) {
            assertMatchesReference(lpips.distance(a, b), reference(wt, a, b));
        }
    }

    @Test
    void symmetricZeroOnIdenticalImagesAndBatchesAsPairs() throws IOException {
        Weights wt = new Weights(5);
        Random r = new Random(6);
        try (Lpips lpips = Lpips.load(wt.write(tmp.resolve("w.safetensors")), inkwell);
                Image a = randomImage(r, 40, 52);
                Image b = randomImage(r, 40, 52);
                Image aCopy = Image.fromBytes(a.toByteArray(), 40, 52, 3)) {
            Lpips.Distance ab = lpips.distance(a, b), ba = lpips.distance(b, a);
            assertEquals(ab.total(), ba.total(), 1e-12 * ab.total(), "d(a, b) = d(b, a)");
            assertArrayEquals(ab.perLayer(), ba.perLayer(), 1e-12 * ab.total());
            Lpips.Distance same = lpips.distance(a, aCopy);
            assertEquals(0.0, same.total(), "d(a, a)");
            assertArrayEquals(new double[5], same.perLayer());
            assertTrue(ab.total() > 0);

            // the tensor form: pairs (a, b) and (b, a) in one batch, inputs in [-1, 1]
            try (Tensor ta = batch(a, b); Tensor tb = batch(b, a)) {
                List<Lpips.Distance> both = lpips.distance(ta, tb);
                assertEquals(2, both.size());
                // x / 127.5 - 1 is rounded to float32 here before the scaling layer, once in the
                // image form: the inputs differ by an ulp, the distance by ~1e-7 relative
                assertEquals(ab.total(), both.get(0).total(), 1e-6 * ab.total());
                assertArrayEquals(ab.perLayer(), both.get(0).perLayer(), 1e-6 * ab.total());
                assertEquals(both.get(0).total(), both.get(1).total(), 1e-12 * ab.total(), "symmetric in a batch");
            }
        }
    }

    /** [n, 3, H, W] of x / 127.5 - 1. */
    private static Tensor batch(Image... images) {
        int h = images[0].height(), w = images[0].width();
        float[] v = new float[images.length * 3 * h * w];
        for (int n = 0; n < images.length; n++) {
            for (int c = 0; c < 3; c++) {
                for (int i = 0; i < h; i++) {
                    for (int j = 0; j < w; j++) {
                        v[((n * 3 + c) * h + i) * w + j] = (float) (images[n].get(i, j, c) / 127.5 - 1);
                    }
                }
            }
        }
        return Tensor.fromArray(v, images.length, 3, h, w);
    }

    // ---- bad inputs -----------------------------------------------------------------------

    @Test
    void badImagesAreRefusedNamingTheSizes() throws IOException {
        Weights wt = new Weights(7);
        Random r = new Random(8);
        try (Lpips lpips = Lpips.load(wt.write(tmp.resolve("w.safetensors")), inkwell);
                Image a = randomImage(r, 40, 50);
                Image b = randomImage(r, 50, 40);
                Image small = randomImage(r, 30, 64);
                Image small2 = randomImage(r, 30, 64);
                Image gray = Image.allocate(40, 50, 1)) {
            var e = assertThrows(IllegalArgumentException.class, () -> lpips.distance(a, b));
            assertTrue(e.getMessage().contains("50x40") && e.getMessage().contains("40x50"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> lpips.distance(small, small2));
            assertTrue(e.getMessage().contains("31x31") && e.getMessage().contains("64x30"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> lpips.distance(a, gray));
            assertTrue(e.getMessage().contains("3 channels") && e.getMessage().contains("b has 1"), e.getMessage());
            assertThrows(NullPointerException.class, () -> lpips.distance(a, (Image) null));
            try (Tensor t = Tensor.fromArray(new float[2 * 3 * 40 * 50], 2, 3, 40, 50);
                    Tensor u = Tensor.fromArray(new float[3 * 40 * 50], 1, 3, 40, 50);
                    Tensor four = Tensor.fromArray(new float[4 * 40 * 50], 1, 4, 40, 50)) {
                e = assertThrows(IllegalArgumentException.class, () -> lpips.distance(t, u));
                assertTrue(e.getMessage().contains("[2, 3, 40, 50]") && e.getMessage().contains("[1, 3, 40, 50]"),
                        e.getMessage());
                e = assertThrows(IllegalArgumentException.class, () -> lpips.distance(four, four));
                assertTrue(e.getMessage().contains("[1, 4, 40, 50]"), e.getMessage());
                u.set(Float.NaN, 0, 1, 2, 3);
                e = assertThrows(IllegalArgumentException.class, () -> lpips.distance(u, u));
                assertTrue(e.getMessage().contains("NaN") && e.getMessage().contains("[0, 1, 2, 3]"), e.getMessage());
            }
        }
    }

    @Test
    void badWeightFilesNameTheTensor() throws IOException {
        Weights wt = new Weights(9);
        Path missing = wt.write(tmp.resolve("missing.safetensors"), m -> m.remove("net.slice3.6.weight"));
        var e = assertThrows(IOException.class, () -> Lpips.load(missing, inkwell));
        assertTrue(e.getMessage().contains("missing.safetensors") && e.getMessage().contains("net.slice3.6.weight"),
                e.getMessage());

        Path noLin = wt.write(tmp.resolve("nolin.safetensors"), m -> m.remove("lin2.model.1.weight"));
        e = assertThrows(IOException.class, () -> Lpips.load(noLin, inkwell));
        assertTrue(e.getMessage().contains("lin2.model.1.weight"), e.getMessage());

        Path misshaped = wt.write(tmp.resolve("misshaped.safetensors"),
                m -> m.put("net.slice2.3.weight", new Object[] {new float[192 * 64 * 9], new long[] {192, 64, 3, 3}}));
        e = assertThrows(IOException.class, () -> Lpips.load(misshaped, inkwell));
        assertTrue(e.getMessage().contains("net.slice2.3.weight") && e.getMessage().contains("[192, 64, 5, 5]"),
                e.getMessage());

        Path linShape = wt.write(tmp.resolve("linshape.safetensors"),
                m -> m.put("lin4.model.1.weight", new Object[] {new float[256], new long[] {256}}));
        e = assertThrows(IOException.class, () -> Lpips.load(linShape, inkwell));
        assertTrue(e.getMessage().contains("lin4.model.1.weight") && e.getMessage().contains("[1, 256, 1, 1]"),
                e.getMessage());

        Path disagree = wt.write(tmp.resolve("disagree.safetensors"), m -> {
            float[] other = wt.lin[1].clone();
            other[7] += 1;
            m.put("lins.1.model.1.weight", new Object[] {other, new long[] {1, 192, 1, 1}});
        });
        e = assertThrows(IOException.class, () -> Lpips.load(disagree, inkwell));
        assertTrue(e.getMessage().contains("lin1.model.1.weight") && e.getMessage().contains("lins.1.model.1.weight")
                && e.getMessage().contains("element 7"), e.getMessage());

        Path agree = wt.write(tmp.resolve("agree.safetensors"),
                m -> m.put("lins.1.model.1.weight", new Object[] {wt.lin[1], new long[] {1, 192, 1, 1}}));
        Lpips.load(agree, inkwell).close();

        Path halfScaling = wt.write(tmp.resolve("half.safetensors"),
                m -> m.put("scaling_layer.shift", new Object[] {SHIFT, new long[] {1, 3, 1, 1}}));
        e = assertThrows(IOException.class, () -> Lpips.load(halfScaling, inkwell));
        assertTrue(e.getMessage().contains("scaling_layer.scale"), e.getMessage());

        Path nanLin = wt.write(tmp.resolve("nan.safetensors"), m -> {
            float[] v = wt.lin[0].clone();
            v[3] = Float.NaN;
            m.put("lin0.model.1.weight", new Object[] {v, new long[] {1, 64, 1, 1}});
        });
        e = assertThrows(IOException.class, () -> Lpips.load(nanLin, inkwell));
        assertTrue(e.getMessage().contains("lin0.model.1.weight") && e.getMessage().contains("NaN"), e.getMessage());

        Path absent = tmp.resolve("absent.safetensors");
        e = assertThrows(IOException.class, () -> Lpips.load(absent, inkwell));
        assertTrue(e.getMessage().contains("absent.safetensors"), e.getMessage());
        assertThrows(NullPointerException.class, () -> Lpips.load((Path) null, inkwell));
    }

    @Test
    void closedModelIsRefused() throws IOException {
        Weights wt = new Weights(10);
        Lpips lpips = Lpips.load(wt.write(tmp.resolve("w.safetensors")), inkwell);
        Random r = new Random(11);
        try (Image a = randomImage(r, 32, 32); Image b = randomImage(r, 32, 32)) {
            Lpips.Distance before = lpips.distance(a, b);
            lpips.close();
            lpips.close(); // idempotent
            var e = assertThrows(IllegalStateException.class, () -> lpips.distance(a, b));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
            assertNotEquals(0.0, before.total());
        }
        try (Lpips open = Lpips.load(wt.write(tmp.resolve("w2.safetensors")), inkwell);
                Image a = randomImage(r, 32, 32)) {
            Image closed = randomImage(r, 32, 32);
            closed.close();
            assertThrows(IllegalStateException.class, () -> open.distance(a, closed));
        }
        // (a context cannot close while the model's weights are alive in it: Inkwell.close refuses)
    }
}
