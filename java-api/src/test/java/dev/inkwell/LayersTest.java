package dev.inkwell;

import static dev.inkwell.HalfPrecisionKernelsTest.rounded;
import static dev.inkwell.LayersReference.U;
import static dev.inkwell.LayersReference.assertWithin;
import static dev.inkwell.Tolerance.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link Layers} against {@link LayersReference} on random shapes (odd sizes, G = 1 and
 * G = C, K = 1, N = 1, batch &gt; 1, every activation, non-finite and huge inputs), each
 * float32 result within the reference's derived bound (NaN exactly where the reference has
 * one), and each 16-bit call equal, bit for bit, to the float32 call on the widened inputs
 * rounded once to the type (the documented CPU semantics).
 */
class LayersTest {
    private static final ElementType[] HALF_TYPES = {ElementType.FLOAT16, ElementType.BFLOAT16};
    private static Inkwell inkwell;
    private static Layers layers;

    @BeforeAll
    static void open() {
        inkwell = Inkwell.builder().threads(3).build();
        layers = inkwell.layers();
    }

    @AfterAll
    static void close() {
        inkwell.close();
    }

    /** Tensors made for one case, closed together; null data gives a null tensor (an absent weight or bias). */
    static final class Held implements AutoCloseable {
        private final List<Tensor> tensors = new ArrayList<>();

        Tensor of(float[] data, ElementType type, long... shape) {
            return data == null ? null : keep(Tensor.fromArray(data, type, shape));
        }

        Tensor keep(Tensor t) {
            tensors.add(t);
            return t;
        }

        @Override
        public void close() {
            tensors.forEach(Tensor::close);
        }
    }

    /** One layer call on tensors of one element type. */
    @FunctionalInterface
    interface Call {
        Tensor run(Layers layers, Tensor[] in);
    }

    /**
     * Runs {@code call} on float32 tensors of {@code inputs} and returns the result; then for
     * each 16-bit type asserts that the call on the inputs rounded to the type equals the
     * float32 call on those rounded values, rounded once.
     */
    static float[] runEveryType(float[][] inputs, long[][] shapes, Call call, String what) {
        float[] result;
        try (Held held = new Held()) {
            Tensor out = held.keep(call.run(layers, tensors(held, inputs, shapes, ElementType.FLOAT32)));
            assertEquals(ElementType.FLOAT32, out.elementType(), what);
            result = out.toArray();
        }
        for (ElementType type : HALF_TYPES) {
            float[][] narrowed = new float[inputs.length][];
            for (int i = 0; i < inputs.length; i++) {
                narrowed[i] = inputs[i] == null ? null : rounded(type, inputs[i]);
            }
            try (Held held = new Held()) {
                Tensor wide = held.keep(call.run(layers, tensors(held, narrowed, shapes, ElementType.FLOAT32)));
                Tensor half = held.keep(call.run(layers, tensors(held, narrowed, shapes, type)));
                assertEquals(type, half.elementType(), what);
                assertArrayEquals(rounded(type, wide.toArray()), half.toArray(),
                        what + " " + type + ": the float32 call on the widened inputs, rounded once");
            }
        }
        return result;
    }

    private static Tensor[] tensors(Held held, float[][] inputs, long[][] shapes, ElementType type) {
        Tensor[] t = new Tensor[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            t[i] = held.of(inputs[i], type, shapes[i]);
        }
        return t;
    }

    private static float[] maybe(boolean present, float[] data) {
        return present ? data : null;
    }

    // ---- group norm ---------------------------------------------------------------------

    private static void groupNormCase(float[] x, long[] shape, int groups, float[] w, float[] b, double eps,
            Activation act) {
        int batch = (int) shape[0], channels = (int) shape[1], spatial = x.length / (batch * channels);
        String what = "groupNorm " + Arrays.toString(shape) + " G" + groups + " eps " + eps + " " + act
                + (w == null ? " no weight" : "") + (b == null ? " no bias" : "");
        float[] got = runEveryType(new float[][] {x, w, b}, new long[][] {shape, {channels}, {channels}},
                (l, in) -> l.groupNorm(in[0], groups, in[1], in[2], eps, act), what);
        assertWithin(LayersReference.groupNorm(x, batch, channels, spatial, groups, w, b, eps, act), got, what);
    }

    private static void groupNormRandom(Random rnd, long[] shape, int groups, boolean affine, double eps, Activation act) {
        int channels = (int) shape[1];
        float[] x = random(rnd, (int) Tensor.checkShape(shape.clone()), 1);
        groupNormCase(x, shape, groups, maybe(affine, random(rnd, channels, 1)), maybe(affine, random(rnd, channels, 0.5)),
                eps, act);
    }

    @Test
    void groupNormMatchesReference() {
        Random rnd = new Random(101);
        groupNormRandom(rnd, new long[] {2, 32, 9, 7}, 8, true, 1e-5, Activation.NONE); // batch > 1
        groupNormRandom(rnd, new long[] {1, 6, 5, 5}, 1, true, 1e-5, Activation.NONE); // G = 1
        groupNormRandom(rnd, new long[] {1, 6, 5, 5}, 6, true, 1e-6, Activation.NONE); // G = C
        groupNormRandom(rnd, new long[] {3, 12}, 4, true, 1e-5, Activation.NONE); // rank 2: spatial 1
        groupNormRandom(rnd, new long[] {1, 4, 3, 5, 7}, 2, false, 1e-5, Activation.NONE); // rank 5, no affine
        groupNormRandom(rnd, new long[] {1, 64, 97}, 32, true, 1e-6, Activation.SILU); // odd spatial
        groupNormRandom(rnd, new long[] {1, 320, 8, 8}, 32, true, 1e-5, Activation.SILU); // U-Net level 1, 8x8
        groupNormRandom(rnd, new long[] {2, 9, 1, 1}, 3, true, 0.5, Activation.NONE); // one pixel, large eps
        for (Activation act : Activation.values()) {
            groupNormRandom(rnd, new long[] {2, 10, 7, 3}, 5, true, 1e-5, act);
        }
        // Weight without bias and bias without weight.
        float[] x = random(rnd, 2 * 8 * 11, 1);
        groupNormCase(x, new long[] {2, 8, 11}, 4, random(rnd, 8, 1), null, 1e-5, Activation.NONE);
        groupNormCase(x, new long[] {2, 8, 11}, 4, null, random(rnd, 8, 1), 1e-5, Activation.GELU);
    }

    @Test
    void groupNormOfOffsetHugeAndNonFiniteInputs() {
        Random rnd = new Random(102);
        long[] shape = {2, 6, 5, 9};
        int n = 2 * 6 * 5 * 9, perGroup = 2 * 5 * 9; // 3 groups of 2 channels
        float[] offset = random(rnd, n, 1);
        for (int i = 0; i < n; i++) {
            offset[i] += 300; // a large mean: a one-pass E[x^2] - E[x]^2 would lose the variance
        }
        groupNormCase(offset, shape, 3, random(rnd, 6, 1), random(rnd, 6, 1), 1e-5, Activation.NONE);
        float[] huge = random(rnd, n, 1e30);
        groupNormCase(huge, shape, 3, random(rnd, 6, 1), random(rnd, 6, 1), 1e-5, Activation.SILU);
        float[] tiny = random(rnd, n, 1e-30); // variance far below eps: outputs near the bias
        groupNormCase(tiny, shape, 3, random(rnd, 6, 1), random(rnd, 6, 1), 1e-5, Activation.NONE);
        float[] constant = new float[n];
        Arrays.fill(constant, 2.5f); // variance 0: (x - mean) / sqrt(eps) = 0
        groupNormCase(constant, shape, 3, random(rnd, 6, 1), random(rnd, 6, 1), 1e-5, Activation.GELU_TANH);
        float[] special = random(rnd, n, 1);
        special[3] = Float.NaN; // group 0 of sample 0 becomes NaN
        special[perGroup + 7] = Float.POSITIVE_INFINITY; // group 1 of sample 0: inf - inf = NaN
        special[4 * perGroup + 1] = Float.NEGATIVE_INFINITY; // group 1 of sample 1
        groupNormCase(special, shape, 3, random(rnd, 6, 1), random(rnd, 6, 1), 1e-5, Activation.NONE);
        float[] maxFloat = random(rnd, n, 1);
        maxFloat[0] = Float.MAX_VALUE; // finite, but its square is not a float
        maxFloat[1] = -Float.MAX_VALUE;
        groupNormCase(maxFloat, shape, 3, null, null, 1e-5, Activation.NONE);
    }

    // ---- layer norm ---------------------------------------------------------------------

    private static void layerNormCase(Random rnd, long[] shape, boolean weight, boolean bias, double eps, float[] x) {
        int dim = (int) shape[shape.length - 1], rows = x.length / dim;
        float[] w = maybe(weight, random(rnd, dim, 1)), b = maybe(bias, random(rnd, dim, 1));
        String what = "layerNorm " + Arrays.toString(shape) + " eps " + eps + (weight ? "" : " no weight")
                + (bias ? "" : " no bias");
        float[] got = runEveryType(new float[][] {x, w, b}, new long[][] {shape, {dim}, {dim}},
                (l, in) -> l.layerNorm(in[0], in[1], in[2], eps), what);
        assertWithin(LayersReference.layerNorm(x, rows, dim, w, b, eps), got, what);
    }

    private static void layerNormRandom(Random rnd, long[] shape, boolean weight, boolean bias, double eps) {
        layerNormCase(rnd, shape, weight, bias, eps, random(rnd, (int) Tensor.checkShape(shape.clone()), 2));
    }

    @Test
    void layerNormMatchesReference() {
        Random rnd = new Random(103);
        layerNormRandom(rnd, new long[] {2, 77, 96}, true, true, 1e-5); // batch > 1, text length
        layerNormRandom(rnd, new long[] {1, 320}, true, true, 1e-5);
        layerNormRandom(rnd, new long[] {33}, true, false, 1e-6); // rank 1: one row
        layerNormRandom(rnd, new long[] {3, 7, 13}, false, true, 1e-5);
        layerNormRandom(rnd, new long[] {257, 3}, false, false, 0.1);
        layerNormRandom(rnd, new long[] {5, 1}, true, true, 1e-5); // dim 1: variance 0, y = bias
        layerNormRandom(rnd, new long[] {2, 2, 2, 1021}, true, true, 1e-5);
        float[] x = random(rnd, 4 * 50, 1);
        for (int i = 0; i < 50; i++) {
            x[i] += 1000; // row 0: a large mean
            x[50 + i] *= 1e30f; // row 1: huge
        }
        x[2 * 50 + 5] = Float.NaN; // row 2: NaN everywhere
        x[3 * 50 + 9] = Float.POSITIVE_INFINITY; // row 3: NaN everywhere too
        layerNormCase(rnd, new long[] {4, 50}, true, true, 1e-5, x);
    }

    // ---- linear -------------------------------------------------------------------------

    private static void linearCase(float[] x, long[] xs, float[] w, int n, float[] b, Activation act) {
        int k = (int) xs[xs.length - 1], rows = x.length / k;
        long[] outShape = xs.clone();
        outShape[outShape.length - 1] = n;
        String what = "linear x" + Arrays.toString(xs) + " N" + n + " " + act + (b == null ? " no bias" : "");
        float[] got = runEveryType(new float[][] {x, w, b}, new long[][] {xs, {n, k}, {n}}, (l, in) -> {
            Tensor y = l.linear(in[0], in[1], in[2], act);
            assertArrayEquals(outShape, y.shape(), "shape of " + what);
            return y;
        }, what);
        assertWithin(LayersReference.linear(x, rows, k, w, n, b, act), got, what);
    }

    private static void linearRandom(Random rnd, long[] xs, int n, boolean bias, Activation act) {
        int k = (int) xs[xs.length - 1];
        linearCase(random(rnd, (int) Tensor.checkShape(xs.clone()), 1), xs, random(rnd, n * k, 1 / Math.sqrt(k)), n,
                maybe(bias, random(rnd, n, 1)), act);
    }

    @Test
    void linearMatchesReference() {
        Random rnd = new Random(104);
        linearRandom(rnd, new long[] {1, 1}, 1, true, Activation.NONE); // K = 1, N = 1
        linearRandom(rnd, new long[] {7, 1}, 5, true, Activation.NONE); // K = 1
        linearRandom(rnd, new long[] {7, 13}, 1, false, Activation.NONE); // N = 1
        linearRandom(rnd, new long[] {13}, 9, true, Activation.NONE); // rank 1: [K] -> [N]
        linearRandom(rnd, new long[] {2, 77, 96}, 40, true, Activation.NONE); // batch > 1, leading dims kept
        linearRandom(rnd, new long[] {2, 320}, 1280, true, Activation.SILU); // the time embedding MLP
        linearRandom(rnd, new long[] {3, 5, 257}, 97, false, Activation.NONE); // primes
        linearRandom(rnd, new long[] {1, 1021}, 3, true, Activation.NONE); // long K
        linearRandom(rnd, new long[] {2, 3, 4, 33}, 17, true, Activation.NONE); // rank 4
        for (Activation act : Activation.values()) {
            linearRandom(rnd, new long[] {9, 31}, 19, true, act);
        }
    }

    @Test
    void linearOfHugeAndNonFiniteInputs() {
        Random rnd = new Random(105);
        int rows = 6, k = 21, n = 11;
        float[] x = random(rnd, rows * k, 1e15), w = random(rnd, n * k, 1e15); // products ~1e30, sums within float range
        linearCase(x, new long[] {rows, k}, w, n, random(rnd, n, 1), Activation.NONE);
        x = random(rnd, rows * k, 1);
        w = random(rnd, n * k, 0.3);
        x[k + 4] = Float.NaN; // row 1: NaN in every output
        x[3 * k] = Float.POSITIVE_INFINITY; // row 3: +-inf by the weight's sign
        w[5 * k + 2] = Float.NaN; // output 5: NaN in every row
        for (Activation act : Activation.values()) {
            linearCase(x, new long[] {rows, k}, w, n, random(rnd, n, 1), act);
        }
    }

    // ---- GEGLU --------------------------------------------------------------------------

    private static void gegluCase(float[] x, long[] xs, float[] w, int inner, float[] b) {
        int k = (int) xs[xs.length - 1], rows = x.length / k;
        long[] outShape = xs.clone();
        outShape[outShape.length - 1] = inner;
        String what = "geglu x" + Arrays.toString(xs) + " inner " + inner + (b == null ? " no bias" : "");
        float[] got = runEveryType(new float[][] {x, w, b}, new long[][] {xs, {2L * inner, k}, {2L * inner}}, (l, in) -> {
            Tensor y = l.geglu(in[0], in[1], in[2]);
            assertArrayEquals(outShape, y.shape(), "shape of " + what);
            return y;
        }, what);
        assertWithin(LayersReference.geglu(x, rows, k, w, inner, b), got, what);
    }

    private static void gegluRandom(Random rnd, long[] xs, int inner, boolean bias) {
        int k = (int) xs[xs.length - 1];
        gegluCase(random(rnd, (int) Tensor.checkShape(xs.clone()), 1), xs, random(rnd, 2 * inner * k, 1 / Math.sqrt(k)),
                inner, maybe(bias, random(rnd, 2 * inner, 1)));
    }

    @Test
    void gegluMatchesReference() {
        Random rnd = new Random(106);
        gegluRandom(rnd, new long[] {1, 1}, 1, true); // K = 1, inner 1
        gegluRandom(rnd, new long[] {2, 5, 24}, 16, true); // batch > 1
        gegluRandom(rnd, new long[] {97}, 13, false); // rank 1, no bias
        gegluRandom(rnd, new long[] {1, 64, 40}, 160, true); // SD's 4x inner size at 40 channels
        float[] x = random(rnd, 4 * 9, 1), w = random(rnd, 2 * 5 * 9, 0.4);
        x[9 + 2] = Float.NaN;
        x[2 * 9] = Float.NEGATIVE_INFINITY;
        gegluCase(x, new long[] {4, 9}, w, 5, random(rnd, 10, 1));
    }

    // ---- activations --------------------------------------------------------------------

    /** Values where the formulas break down: non-finite, signed zeros, overflow of exp and x^3, subnormals. */
    private static final float[] SPECIAL = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f, 1e30f,
        -1e30f, Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, -Float.MIN_NORMAL, 88.8f, -88.8f, 100f, -100f, 20f,
        -20f, 5.5f, -5.5f, 1e-20f};

    @Test
    void activationsMatchReference() {
        Random rnd = new Random(107);
        for (Activation act : Activation.values()) {
            if (act == Activation.NONE) {
                continue;
            }
            for (long[] shape : new long[][] {{1}, {1021}, {2, 3, 17, 5}}) {
                int n = (int) Tensor.checkShape(shape.clone());
                float[] x = random(rnd, n, 3);
                if (n > SPECIAL.length) {
                    System.arraycopy(SPECIAL, 0, x, 7, SPECIAL.length);
                }
                checkActivation(act, x, shape);
            }
        }
    }

    private static void checkActivation(Activation act, float[] x, long[] shape) {
        String what = act + " " + Arrays.toString(shape);
        float[] got = runEveryType(new float[][] {x}, new long[][] {shape}, (l, in) -> l.activation(in[0], act), what);
        double[] want = new double[x.length], bound = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            want[i] = LayersReference.activation(act, x[i]);
            bound[i] = LayersReference.activationBound(act, x[i], 0);
        }
        assertWithin(want, bound, got, what);
        if (act == Activation.RELU) { // exact, -0 included: x > 0 ? x : 0
            for (int i = 0; i < x.length; i++) {
                float exact = Float.isNaN(x[i]) ? x[i] : x[i] > 0 ? x[i] : 0f;
                assertEquals(Float.floatToIntBits(exact), Float.floatToIntBits(got[i]), "relu(" + x[i] + ")");
            }
        }
    }

    @Test
    void activationInPlaceEqualsOutOfPlace() {
        Random rnd = new Random(108);
        for (ElementType type : new ElementType[] {ElementType.FLOAT32, ElementType.FLOAT16, ElementType.BFLOAT16}) {
            for (Activation act : new Activation[] {Activation.SILU, Activation.GELU, Activation.QUICK_GELU}) {
                float[] x = random(rnd, 3 * 257, 2);
                try (Tensor a = Tensor.fromArray(x, type, 3, 257); Tensor separate = layers.activation(a, act)) {
                    layers.activation(a, act, a);
                    assertArrayEquals(separate.toArray(), a.toArray(), act + " " + type + " in place");
                }
                // Through a view of the same memory (another shape), too.
                try (Tensor a = Tensor.fromArray(x, type, 3, 257); Tensor separate = layers.activation(a, act)) {
                    layers.activation(a, act, a.view(-1).view(3, 257));
                    assertArrayEquals(separate.toArray(), a.toArray(), act + " " + type + " in place through a view");
                }
            }
        }
    }

    // ---- timestep embedding -------------------------------------------------------------

    private static void timestepCase(float[] t, int dim, boolean flip, double shift, double scale, double maxPeriod) {
        String what = "timestepEmbedding t" + Arrays.toString(t) + " dim " + dim + " flip " + flip + " shift " + shift
                + " scale " + scale + " maxPeriod " + maxPeriod;
        try (Tensor steps = Tensor.fromArray(t, t.length);
                Tensor out = layers.timestepEmbedding(steps, dim, flip, shift, scale, maxPeriod)) {
            assertArrayEquals(new long[] {t.length, dim}, out.shape(), what);
            double[] want = LayersReference.timestepEmbedding(t, dim, flip, shift, scale, maxPeriod);
            double[] bound = new double[want.length];
            for (int i = 0; i < want.length; i++) {
                // Computed in double, rounded once: one float ulp (either side of a rounding
                // midpoint), plus the double evaluation's own error on arguments up to ~1e4.
                bound[i] = Math.ulp((float) want[i]) + 1e-11;
            }
            assertWithin(want, bound, out.toArray(), what);
            if (dim % 2 == 1) {
                for (int r = 0; r < t.length; r++) {
                    assertEquals(0f, out.get(r, dim - 1), what + ": the odd dim's zero column");
                }
            }
        }
    }

    @Test
    void timestepEmbeddingMatchesReference() {
        float[] t = {0, 1, 999, 500.5f, 981, 21};
        timestepCase(t, 320, true, 0, 1, 10000); // Stable Diffusion's U-Net
        timestepCase(t, 7, false, 1, 1, 10000); // odd dim, diffusers' default shift
        timestepCase(t, 33, true, 0.5, 2, 100);
        timestepCase(new float[] {3}, 2, true, 0, 1, 10000); // one frequency: 1
        timestepCase(new float[] {-4, 1e4f}, 1, true, 0.5, 1, 10000); // dim 1: just the zero column
        try (Tensor steps = Tensor.fromArray(t, t.length); Tensor sd = layers.timestepEmbedding(steps, 320);
                Tensor full = layers.timestepEmbedding(steps, 320, true, 0, 1, 10000)) {
            assertArrayEquals(full.toArray(), sd.toArray(), "the SD convenience form");
        }
    }

    // ---- threads ------------------------------------------------------------------------

    @Test
    void resultsAreIdenticalForAnyThreadCount() {
        Random rnd = new Random(109);
        float[] x = random(rnd, 2 * 64 * 9 * 11, 1), gw = random(rnd, 64, 1), w = random(rnd, 96 * 99, 0.1);
        float[] gegluW = random(rnd, 2 * 48 * 99, 0.1);
        List<float[]> first = null;
        for (int threads : new int[] {1, 2, 5}) {
            try (Inkwell ctx = Inkwell.builder().threads(threads).build(); Held held = new Held()) {
                Layers l = ctx.layers();
                Tensor tx = held.of(x, ElementType.FLOAT32, 2, 64, 9 * 11), tg = held.of(gw, ElementType.FLOAT32, 64);
                Tensor tw = held.of(w, ElementType.FLOAT32, 96, 99), tgw = held.of(gegluW, ElementType.FLOAT32, 96, 99);
                List<float[]> results = List.of(
                        held.keep(l.groupNorm(tx, 32, tg, tg, 1e-5, Activation.SILU)).toArray(),
                        held.keep(l.layerNorm(tx, null, null, 1e-5)).toArray(),
                        held.keep(l.linear(tx.view(-1, 99), tw, null, Activation.GELU)).toArray(),
                        held.keep(l.geglu(tx.view(-1, 99), tgw, null)).toArray());
                if (first == null) {
                    first = results;
                }
                for (int i = 0; i < results.size(); i++) {
                    assertArrayEquals(first.get(i), results.get(i), "result " + i + " with " + threads + " threads");
                }
            }
        }
    }
}
