package dev.inkwell.cli;

import dev.inkwell.Activation;
import dev.inkwell.ElementType;
import dev.inkwell.Inkwell;
import dev.inkwell.Layers;
import dev.inkwell.Tensor;
import dev.inkwell.cli.CrosscheckCases.Named;
import dev.inkwell.cli.CrosscheckCases.Result;
import dev.inkwell.cli.CrosscheckCases.Scope;
import java.util.List;
import java.util.Random;
import java.util.function.BiFunction;

/**
 * The layer kernels' crosscheck cases (see {@link CrosscheckCases}): the device against a
 * one-thread CPU context. add, cat, transpose and max_pool2d move or compare values and must
 * match bit for bit; the others are held to first-order bounds derived from the inputs:
 * <ul>
 *   <li>linear: both sides sum K exact products in float32 in some order:
 *       (gamma_gpu(K) + gamma_cpu(K)) sum |x w| + |b|, times the activation's largest slope
 *       (1.13, GELU's);</li>
 *   <li>GEGLU: y = a gelu(g): the bound of a times |gelu(g)| plus |a| times 1.13 the bound of g;</li>
 *   <li>group_norm / layer_norm: the statistics of n values in float32 (GPU) or double (CPU):
 *       mean within gamma(n) max|x|, the variance relatively within 2 gamma(n) plus the mean's
 *       error; y within |w| rstd (4 gamma(n) (max|x| + |x - mean|)) before the activation;</li>
 *   <li>activations, timestep embedding: the two backends' libm (expf, erff, tanhf, sin, cos)
 *       within a few ulp, plus 2^-22 |x| for GELU's cancellation in 1 + erf(x / sqrt 2) at
 *       negative x.</li>
 * </ul>
 * On a CPU device every case must match bit for bit (thread counts do not change results).
 */
final class CrosscheckLayerCases {
    private static final double SLOPE = 1.13; // max |d/dx| of SiLU, GELU (both forms), quick GELU, ReLU

    private final Inkwell device;
    private final Inkwell cpu;
    private final boolean exact;

    CrosscheckLayerCases(Inkwell device, Inkwell cpu, boolean exact) {
        this.device = device;
        this.cpu = cpu;
        this.exact = exact;
    }

    void addTo(List<Named> cases) {
        for (ElementType type : ElementType.values()) {
            String t = " " + type.name().toLowerCase();
            cases.add(new Named("group_norm [2,320,16,16] g32 silu" + t,
                    (rnd, s) -> groupNorm("group_norm [2,320,16,16] g32 silu" + t, rnd, s, type, 2, 320, 256, 32,
                            Activation.SILU, 0)));
            cases.add(new Named("group_norm [1,12,5,7] g3 offset 1e3" + t,
                    (rnd, s) -> groupNorm("group_norm [1,12,5,7] g3 offset 1e3" + t, rnd, s, type, 1, 12, 35, 3,
                            Activation.NONE, 1e3)));
            cases.add(new Named("layer_norm [2,77,768]" + t,
                    (rnd, s) -> layerNorm("layer_norm [2,77,768]" + t, rnd, s, type, 154, 768, 0)));
            cases.add(new Named("layer_norm [3,37] offset 1e4" + t,
                    (rnd, s) -> layerNorm("layer_norm [3,37] offset 1e4" + t, rnd, s, type, 3, 37, 1e4)));
            cases.add(new Named("linear [256,320]->320" + t,
                    (rnd, s) -> linear("linear [256,320]->320" + t, rnd, s, type, 256, 320, 320, Activation.NONE)));
            cases.add(new Named("linear [77,768]->1024 quick_gelu" + t,
                    (rnd, s) -> linear("linear [77,768]->1024 quick_gelu" + t, rnd, s, type, 77, 768, 1024,
                            Activation.QUICK_GELU)));
            cases.add(new Named("linear [5,1]->7 gelu" + t,
                    (rnd, s) -> linear("linear [5,1]->7 gelu" + t, rnd, s, type, 5, 1, 7, Activation.GELU)));
            cases.add(new Named("geglu [128,320]->1280" + t,
                    (rnd, s) -> geglu("geglu [128,320]->1280" + t, rnd, s, type, 128, 320, 1280)));
            for (Activation a : Activation.values()) {
                if (a != Activation.NONE) {
                    String n = "activation " + a.name().toLowerCase() + t;
                    cases.add(new Named(n, (rnd, s) -> activation(n, rnd, s, type, a)));
                }
            }
        }
        cases.add(new Named("timestep_embedding 320", (rnd, s) -> timestepEmbedding("timestep_embedding 320", s, 320)));
        cases.add(new Named("timestep_embedding 7", (rnd, s) -> timestepEmbedding("timestep_embedding 7", s, 7)));
        cases.add(new Named("add [2,320,16,16] + [2,320,1,1]", (rnd, s) -> add("add [2,320,16,16] + [2,320,1,1]", rnd, s,
                new long[] {2, 320, 16, 16}, new long[] {2, 320, 1, 1})));
        cases.add(new Named("add residual [2,64,9,7]", (rnd, s) -> add("add residual [2,64,9,7]", rnd, s,
                new long[] {2, 64, 9, 7}, new long[] {2, 64, 9, 7})));
        cases.add(new Named("cat dim 1 [2,640,8,8] [2,320,8,8]", (rnd, s) -> {
            Tensor a = s.add(random(rnd, ElementType.FLOAT32, 1, 2, 640, 8, 8));
            Tensor b = s.add(random(rnd, ElementType.FLOAT32, 1, 2, 320, 8, 8));
            return both("cat dim 1 [2,640,8,8] [2,320,8,8]", s, (ctx, in) -> ctx.ops().cat(1, in[0], in[1]), a, b);
        }));
        cases.add(new Named("transpose [2,320,4096] 1 2", (rnd, s) -> {
            Tensor x = s.add(random(rnd, ElementType.FLOAT32, 1, 2, 320, 4096));
            return both("transpose [2,320,4096] 1 2", s, (ctx, in) -> ctx.ops().transpose(in[0], 1, 2), x);
        }));
        cases.add(new Named("max_pool2d 3x3 s2 [1,64,55,55]", (rnd, s) -> {
            Tensor x = s.add(random(rnd, ElementType.FLOAT32, 1, 1, 64, 55, 55));
            return both("max_pool2d 3x3 s2 [1,64,55,55]", s, (ctx, in) -> ctx.ops().maxPool2d(in[0], 3, 2, 0), x);
        }));
    }

    // ---- helpers -------------------------------------------------------------------------

    private static Tensor random(Random rnd, ElementType type, double scale, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        float[] a = new float[Math.toIntExact(n)];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (rnd.nextGaussian() * scale);
        }
        return Tensor.fromArray(a, type, shape);
    }

    /** Runs op on the CPU context with the inputs and on the device with copies; both results as floats. */
    private float[][] run(Scope s, BiFunction<Inkwell, Tensor[], Tensor> op, Tensor... inputs) {
        float[] want = s.add(op.apply(cpu, inputs)).toArray();
        Tensor[] onDevice = new Tensor[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            onDevice[i] = inputs[i] == null ? null : s.add(device.copyToDevice(inputs[i]));
        }
        float[] got = s.add(device.copyToHost(s.add(op.apply(device, onDevice)))).toArray();
        return new float[][] {want, got};
    }

    /** An exact operation: the same bits on both sides. */
    private Result both(String name, Scope s, BiFunction<Inkwell, Tensor[], Tensor> op, Tensor... inputs) {
        float[][] r = run(s, op, inputs);
        return CrosscheckCases.exactFloats(name, r[0], r[1]);
    }

    private Result compare(String name, ElementType type, float[][] r, double[] bound) {
        return exact ? CrosscheckCases.exactFloats(name, r[0], r[1]) : CrosscheckCases.bounded(name, type, r[0], r[1], bound, 0);
    }

    private static float[] abs(float[] a) {
        float[] r = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = Math.abs(a[i]);
        }
        return r;
    }

    private static double gamma(long n) {
        return CrosscheckCases.gammaGpu(n) + CrosscheckCases.gammaCpu(n);
    }

    // ---- cases ---------------------------------------------------------------------------

    private Result groupNorm(String name, Random rnd, Scope s, ElementType type, int n, int c, int spatial, int groups,
            Activation act, double offset) {
        Tensor x = s.add(random(rnd, type, 1, n, c, spatial));
        if (offset != 0) {
            float[] v = x.toArray();
            for (int i = 0; i < v.length; i++) {
                v[i] += (float) offset;
            }
            x.copyFrom(v);
        }
        Tensor w = s.add(random(rnd, type, 1, c)), b = s.add(random(rnd, type, 0.5, c));
        float[][] r = run(s, (ctx, in) -> ctx.layers().groupNorm(in[0], groups, in[1], in[2], 1e-5, act), x, w, b);
        float[] xs = x.toArray(), ws = w.toArray();
        int per = c / groups * spatial;
        double[] bound = new double[xs.length];
        for (int g = 0; g < n * groups; g++) {
            normBound(xs, g * per, per, 1e-5, bound, i -> ws[(i / spatial) % c]);
        }
        return compare(name, type, r, bound);
    }

    private Result layerNorm(String name, Random rnd, Scope s, ElementType type, int rows, int dim, double offset) {
        Tensor x = s.add(random(rnd, type, 1, rows, dim));
        if (offset != 0) {
            float[] v = x.toArray();
            for (int i = 0; i < v.length; i++) {
                v[i] += (float) offset;
            }
            x.copyFrom(v);
        }
        Tensor w = s.add(random(rnd, type, 1, dim)), b = s.add(random(rnd, type, 0.5, dim));
        float[][] r = run(s, (ctx, in) -> ctx.layers().layerNorm(in[0], in[1], in[2], 1e-5), x, w, b);
        float[] xs = x.toArray(), ws = w.toArray();
        double[] bound = new double[xs.length];
        for (int row = 0; row < rows; row++) {
            normBound(xs, row * dim, dim, 1e-5, bound, i -> ws[i % dim]);
        }
        return compare(name, type, r, bound);
    }

    /** The normalisation bound of the class comment for values [from, from + n), times SLOPE. */
    private static void normBound(float[] x, int from, int n, double eps, double[] bound,
            java.util.function.IntToDoubleFunction weight) {
        double mean = 0, max = 0;
        for (int i = from; i < from + n; i++) {
            mean += x[i];
            max = Math.max(max, Math.abs(x[i]));
        }
        mean /= n;
        double var = 0;
        for (int i = from; i < from + n; i++) {
            var += (x[i] - mean) * (x[i] - mean);
        }
        double rstd = 1 / Math.sqrt(var / n + eps);
        double g = gamma(n);
        for (int i = from; i < from + n; i++) {
            bound[i] = SLOPE * Math.abs(weight.applyAsDouble(i)) * rstd * 4 * g * (max + Math.abs(x[i] - mean));
        }
    }

    private Result linear(String name, Random rnd, Scope s, ElementType type, int m, int k, int n, Activation act) {
        Tensor x = s.add(random(rnd, type, 1, m, k));
        Tensor w = s.add(random(rnd, type, 1 / Math.sqrt(k), n, k));
        Tensor b = s.add(random(rnd, type, 0.5, n));
        float[][] r = run(s, (ctx, in) -> ctx.layers().linear(in[0], in[1], in[2], act), x, w, b);
        float[] magnitude = magnitude(x, w, b);
        double[] bound = new double[magnitude.length];
        double slope = act == Activation.NONE ? 1 : SLOPE;
        for (int i = 0; i < bound.length; i++) {
            bound[i] = slope * gamma(k) * 1.001 * magnitude[i] + (act == Activation.NONE ? 0 : 0x1p-22 * magnitude[i]);
        }
        return compare(name, type, r, bound);
    }

    /** sum |x w| + |b| per output: the CPU's float32 linear of |x|, |w|, |b|. */
    private float[] magnitude(Tensor x, Tensor w, Tensor b) {
        try (Tensor ax = Tensor.fromArray(abs(x.toArray()), x.shape()); Tensor aw = Tensor.fromArray(abs(w.toArray()), w.shape());
                Tensor ab = Tensor.fromArray(abs(b.toArray()), b.shape()); Tensor out = cpu.layers().linear(ax, aw, ab)) {
            return out.toArray();
        }
    }

    private Result geglu(String name, Random rnd, Scope s, ElementType type, int m, int k, int inner) {
        Tensor x = s.add(random(rnd, type, 1, m, k));
        Tensor w = s.add(random(rnd, type, 1 / Math.sqrt(k), 2 * inner, k));
        Tensor b = s.add(random(rnd, type, 0.5, 2 * inner));
        float[][] r = run(s, (ctx, in) -> ctx.layers().geglu(in[0], in[1], in[2]), x, w, b);
        float[] magnitude = magnitude(x, w, b);
        float[] h;
        try (Tensor fx = x.to(ElementType.FLOAT32); Tensor fw = w.to(ElementType.FLOAT32);
                Tensor fb = b.to(ElementType.FLOAT32); Tensor out = cpu.layers().linear(fx, fw, fb)) {
            h = out.toArray();
        }
        double[] bound = new double[m * inner];
        for (int row = 0; row < m; row++) {
            for (int j = 0; j < inner; j++) {
                int a = row * 2 * inner + j, g = a + inner;
                double ea = gamma(k) * 1.001 * magnitude[a], eg = gamma(k) * 1.001 * magnitude[g];
                double gate = h[g], gelu = 0.5 * gate * (1 + erf(gate / Math.sqrt(2)));
                bound[row * inner + j] = ea * (Math.abs(gelu) + SLOPE * eg) + Math.abs(h[a]) * (SLOPE * eg + 0x1p-22 * Math.abs(gate));
            }
        }
        return compare(name, type, r, bound);
    }

    /** erf for the bound: the Maclaurin series below |x| 2.5, erfc's continued fraction above (far below 1e-9). */
    private static double erf(double x) {
        double ax = Math.abs(x);
        if (ax < 2.5) {
            double sum = x, term = x, x2 = x * x;
            for (int n = 1; n < 100; n++) {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.abs(add) < 1e-17 * Math.abs(sum)) {
                    break;
                }
            }
            return 2 / Math.sqrt(Math.PI) * sum;
        }
        double f = 0; // erfc(ax) = exp(-ax^2) / sqrt(pi) / (ax + 1/2 / (ax + 1 / (ax + 3/2 / (ax + ...)))), evaluated backwards
        for (int n = 60; n >= 1; n--) {
            f = n / 2.0 / (ax + f);
        }
        double erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
        return Math.signum(x) * (1 - erfc);
    }

    private Result activation(String name, Random rnd, Scope s, ElementType type, Activation a) {
        Tensor x = s.add(random(rnd, type, 4, 3, 1000));
        float[][] r = run(s, (ctx, in) -> ctx.layers().activation(in[0], a), x);
        float[] xs = x.toArray();
        double[] bound = new double[xs.length];
        for (int i = 0; i < xs.length; i++) {
            bound[i] = 0x1p-22 * Math.abs(xs[i]);
        }
        return compare(name, type, r, bound);
    }

    private Result timestepEmbedding(String name, Scope s, int dim) {
        Tensor t = s.add(Tensor.fromArray(new float[] {951, 1, 500.5f, 0}, 4));
        float[][] r = run(s, (ctx, in) -> ctx.layers().timestepEmbedding(in[0], dim), t);
        double[] bound = new double[r[0].length];
        java.util.Arrays.fill(bound, 0x1p-22);
        return compare(name, ElementType.FLOAT32, r, bound);
    }

    private Result add(String name, Random rnd, Scope s, long[] aShape, long[] bShape) {
        Tensor a = s.add(random(rnd, ElementType.FLOAT32, 1, aShape));
        Tensor b = s.add(random(rnd, ElementType.FLOAT32, 1, bShape));
        return both(name, s, (ctx, in) -> ctx.ops().add(in[0], in[1]), a, b);
    }
}
