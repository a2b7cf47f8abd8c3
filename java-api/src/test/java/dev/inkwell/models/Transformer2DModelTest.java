package dev.inkwell.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Transformer2DModel (with its BasicTransformerBlocks, Attention and GEGLU FeedForward) against a
 * plain double-precision reference written from diffusers' definition, on small random inputs:
 * 1x1-conv and Linear projections, two transformer layers, two heads, a context of another width.
 * Needs no golden files.
 */
class Transformer2DModelTest {
    private static final int N = 2, C = 8, HEADS = 2, LAYERS = 2, GROUPS = 2, H = 3, W = 2, S = 4, CROSS = 6;
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
    void matchesThePlainReferenceWithConvProjections(@TempDir Path tmp) throws IOException {
        check(tmp, false);
    }

    @Test
    void matchesThePlainReferenceWithLinearProjections(@TempDir Path tmp) throws IOException {
        check(tmp, true);
    }

    private static void check(Path tmp, boolean linear) throws IOException {
        Random rnd = new Random(linear ? 5 : 6);
        Map<String, float[]> weights = new HashMap<>();
        Map<String, long[]> shapes = new HashMap<>();
        SafeTensorsWriter writer = new SafeTensorsWriter();
        java.util.function.BiConsumer<String, long[]> add = (name, shape) -> {
            long count = 1;
            for (long d : shape) {
                count *= d;
            }
            float[] v = new float[(int) count];
            boolean norm = name.contains("norm") && name.endsWith("weight");
            double scale = shape.length > 1 ? 1 / Math.sqrt(count / shape[0]) : 0.2;
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) ((norm ? 1 : 0) + rnd.nextGaussian() * scale);
            }
            weights.put(name, v);
            shapes.put(name, shape);
            writer.f32(name, v, shape);
        };
        add.accept("norm.weight", new long[] {C});
        add.accept("norm.bias", new long[] {C});
        add.accept("proj_in.weight", linear ? new long[] {C, C} : new long[] {C, C, 1, 1});
        add.accept("proj_in.bias", new long[] {C});
        for (int l = 0; l < LAYERS; l++) {
            String p = "transformer_blocks." + l + ".";
            for (String norm : new String[] {"norm1.", "norm2.", "norm3."}) {
                add.accept(p + norm + "weight", new long[] {C});
                add.accept(p + norm + "bias", new long[] {C});
            }
            for (String attn : new String[] {"attn1.", "attn2."}) {
                int kv = attn.equals("attn1.") ? C : CROSS;
                add.accept(p + attn + "to_q.weight", new long[] {C, C});
                add.accept(p + attn + "to_k.weight", new long[] {C, kv});
                add.accept(p + attn + "to_v.weight", new long[] {C, kv});
                add.accept(p + attn + "to_out.0.weight", new long[] {C, C});
                add.accept(p + attn + "to_out.0.bias", new long[] {C});
            }
            add.accept(p + "ff.net.0.proj.weight", new long[] {8 * C, C});
            add.accept(p + "ff.net.0.proj.bias", new long[] {8 * C});
            add.accept(p + "ff.net.2.weight", new long[] {C, 4 * C});
            add.accept(p + "ff.net.2.bias", new long[] {C});
        }
        add.accept("proj_out.weight", linear ? new long[] {C, C} : new long[] {C, C, 1, 1});
        add.accept("proj_out.bias", new long[] {C});
        Path file = tmp.resolve("t.safetensors");
        writer.write(file);

        float[] x = gaussian(rnd, N * C * H * W), ehs = gaussian(rnd, N * S * CROSS);
        double[] want = reference(weights, x, ehs);
        try (SafeTensors st = SafeTensors.open(file);
                ModuleWeights w = new ModuleWeights(st, inkwell, dev.inkwell.ElementType.FLOAT32);
                Tensor xt = Tensor.fromArray(x, N, C, H, W); Tensor et = Tensor.fromArray(ehs, N, S, CROSS)) {
            Transformer2DModel model = Transformer2DModel.load(w, "", C, HEADS, LAYERS, CROSS, GROUPS, linear);
            try (Tensor got = model.forward(inkwell, xt, et)) {
                assertArrayEquals(new long[] {N, C, H, W}, got.shape());
                float[] g = got.toArray();
                double worst = 0;
                for (int i = 0; i < g.length; i++) {
                    double err = Math.abs(g[i] - want[i]);
                    worst = Math.max(worst, err);
                    // float32 through ~15 normalised layers of width <= 32 at |x| ~ 1: measured max 1.2e-6,
                    // bound 1e-5 (+ 1e-5 relative); a wrong head split, scale or residual is off by 0.1 or more
                    assertTrue(err <= 1e-5 + 1e-5 * Math.abs(want[i]), i + ": " + g[i] + " vs " + want[i]);
                }
                System.out.printf("Transformer2DModel (%s projections) vs plain reference: max |err| %.3g%n",
                        linear ? "Linear" : "1x1 conv", worst);
            }
        }
    }

    private static float[] gaussian(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        return v;
    }

    // ---- the plain reference, in double, from diffusers' transformer_2d.py / attention.py ----

    private static double[] reference(Map<String, float[]> wt, float[] x, float[] ehs) {
        int l = H * W, cg = C / GROUPS;
        double[] normed = new double[N * C * l];
        for (int n = 0; n < N; n++) {
            for (int g = 0; g < GROUPS; g++) {
                double mean = 0, var = 0;
                for (int i = 0; i < cg * l; i++) {
                    mean += x[(n * C + g * cg) * l + i];
                }
                mean /= cg * l;
                for (int i = 0; i < cg * l; i++) {
                    double d = x[(n * C + g * cg) * l + i] - mean;
                    var += d * d;
                }
                var /= cg * l;
                for (int i = 0; i < cg * l; i++) {
                    int c = g * cg + i / l, idx = (n * C + g * cg) * l + i;
                    normed[idx] = (x[idx] - mean) / Math.sqrt(var + 1e-6) * wt.get("norm.weight")[c]
                            + wt.get("norm.bias")[c];
                }
            }
        }
        double[][] ctx = new double[N * S][CROSS];
        for (int r = 0; r < N * S; r++) {
            for (int j = 0; j < CROSS; j++) {
                ctx[r][j] = ehs[r * CROSS + j];
            }
        }
        double[][] tokens = new double[N * l][C];
        for (int n = 0; n < N; n++) {
            for (int c = 0; c < C; c++) {
                for (int p = 0; p < l; p++) {
                    tokens[n * l + p][c] = normed[(n * C + c) * l + p];
                }
            }
        }
        double[][] h = linear(tokens, wt.get("proj_in.weight"), wt.get("proj_in.bias"), C);
        for (int layer = 0; layer < LAYERS; layer++) {
            String p = "transformer_blocks." + layer + ".";
            double[][] n1 = layerNorm(h, wt.get(p + "norm1.weight"), wt.get(p + "norm1.bias"));
            addInPlace(h, attention(wt, p + "attn1.", n1, n1, l, l));
            double[][] n2 = layerNorm(h, wt.get(p + "norm2.weight"), wt.get(p + "norm2.bias"));
            addInPlace(h, attention(wt, p + "attn2.", n2, ctx, l, S));
            double[][] n3 = layerNorm(h, wt.get(p + "norm3.weight"), wt.get(p + "norm3.bias"));
            double[][] proj = linear(n3, wt.get(p + "ff.net.0.proj.weight"), wt.get(p + "ff.net.0.proj.bias"), 8 * C);
            double[][] gated = new double[proj.length][4 * C];
            for (int r = 0; r < proj.length; r++) {
                for (int j = 0; j < 4 * C; j++) {
                    double gate = proj[r][4 * C + j];
                    gated[r][j] = proj[r][j] * 0.5 * gate * (1 + erf(gate / Math.sqrt(2)));
                }
            }
            addInPlace(h, linear(gated, wt.get(p + "ff.net.2.weight"), wt.get(p + "ff.net.2.bias"), C));
        }
        double[][] o = linear(h, wt.get("proj_out.weight"), wt.get("proj_out.bias"), C);
        double[] out = new double[N * C * l];
        for (int n = 0; n < N; n++) {
            for (int c = 0; c < C; c++) {
                for (int p = 0; p < l; p++) {
                    out[(n * C + c) * l + p] = o[n * l + p][c] + x[(n * C + c) * l + p];
                }
            }
        }
        return out;
    }

    /** y = x W^T + b, W [out, in] row-major (a 1x1 convolution's [out, in, 1, 1] is the same array). */
    private static double[][] linear(double[][] x, float[] w, float[] b, int out) {
        int in = x[0].length;
        double[][] y = new double[x.length][out];
        for (int r = 0; r < x.length; r++) {
            for (int o = 0; o < out; o++) {
                double s = b == null ? 0 : b[o];
                for (int i = 0; i < in; i++) {
                    s += x[r][i] * w[o * in + i];
                }
                y[r][o] = s;
            }
        }
        return y;
    }

    private static double[][] layerNorm(double[][] x, float[] w, float[] b) {
        double[][] y = new double[x.length][x[0].length];
        for (int r = 0; r < x.length; r++) {
            double mean = 0, var = 0;
            for (double v : x[r]) {
                mean += v;
            }
            mean /= x[r].length;
            for (double v : x[r]) {
                var += (v - mean) * (v - mean);
            }
            var /= x[r].length;
            for (int j = 0; j < x[r].length; j++) {
                y[r][j] = (x[r][j] - mean) / Math.sqrt(var + 1e-5) * w[j] + b[j];
            }
        }
        return y;
    }

    /** diffusers' Attention: to_q/to_k/to_v without bias, softmax(q k^T / sqrt(d)) v per head, to_out.0. */
    private static double[][] attention(Map<String, float[]> wt, String p, double[][] x, double[][] ctx, int lq,
            int lk) {
        double[][] q = linear(x, wt.get(p + "to_q.weight"), null, C);
        double[][] k = linear(ctx, wt.get(p + "to_k.weight"), null, C);
        double[][] v = linear(ctx, wt.get(p + "to_v.weight"), null, C);
        int d = C / HEADS;
        double[][] a = new double[x.length][C];
        for (int n = 0; n < N; n++) {
            for (int hd = 0; hd < HEADS; hd++) {
                for (int i = 0; i < lq; i++) {
                    double[] logits = new double[lk];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < lk; j++) {
                        double s = 0;
                        for (int e = 0; e < d; e++) {
                            s += q[n * lq + i][hd * d + e] * k[n * lk + j][hd * d + e];
                        }
                        logits[j] = s / Math.sqrt(d);
                        max = Math.max(max, logits[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < lk; j++) {
                        logits[j] = Math.exp(logits[j] - max);
                        sum += logits[j];
                    }
                    for (int e = 0; e < d; e++) {
                        double s = 0;
                        for (int j = 0; j < lk; j++) {
                            s += logits[j] / sum * v[n * lk + j][hd * d + e];
                        }
                        a[n * lq + i][hd * d + e] = s;
                    }
                }
            }
        }
        return linear(a, wt.get(p + "to_out.0.weight"), wt.get(p + "to_out.0.bias"), C);
    }

    private static void addInPlace(double[][] h, double[][] a) {
        for (int r = 0; r < h.length; r++) {
            for (int j = 0; j < h[r].length; j++) {
                h[r][j] += a[r][j];
            }
        }
    }

    /** erf to about 1e-13: its Maclaurin series for |x| < 3, 1 - erfc's continued fraction beyond. */
    private static double erf(double x) {
        double ax = Math.abs(x);
        if (ax < 3) {
            double term = ax, sum = ax;
            for (int n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
                term *= -ax * ax / n;
                sum += term / (2 * n + 1);
            }
            return Math.signum(x) * 2 / Math.sqrt(Math.PI) * sum;
        }
        double f = 0; // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...))))
        for (int n = 60; n >= 1; n--) {
            f = n / 2.0 / (ax + f);
        }
        double erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
        return Math.signum(x) * (1 - erfc);
    }
}
