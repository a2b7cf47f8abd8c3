package dev.inkwell;

import static dev.inkwell.RandomCases.between;
import static dev.inkwell.RandomCases.oneOf;
import static dev.inkwell.Tolerance.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Seeded random cases (see {@link RandomCases}) for {@link Layers} and {@link TensorOps}:
 * shapes, dimensions and parameters drawn around the edges of what is valid. Each case
 * decides from the documented rules, stated here independently of the library's checks,
 * whether the call is valid; a valid call must equal the reference (within its bound, or
 * exactly for the plumbing), an invalid one must throw IllegalArgumentException naming the
 * offending value.
 */
class LayersPropertyTest {
    private static Inkwell inkwell;

    @BeforeAll
    static void open() {
        inkwell = Inkwell.builder().threads(2).build();
    }

    @AfterAll
    static void close() {
        inkwell.close();
    }

    private static long[] shape(Random rnd, int minRank, int maxRank, int maxDim) {
        long[] s = new long[between(rnd, minRank, maxRank)];
        for (int i = 0; i < s.length; i++) {
            s[i] = between(rnd, 1, maxDim);
        }
        return s;
    }

    private static int count(long[] s) {
        return (int) Tensor.checkShape(s.clone());
    }

    /** Runs the call; if it is invalid, asserts an IllegalArgumentException whose message contains {@code offending}. */
    private static <T extends AutoCloseable> T outcome(boolean valid, String offending, Supplier<T> call, String what) {
        if (valid) {
            return call.get();
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::get, what + " should be refused");
        assertTrue(e.getMessage().contains(offending), what + ": message '" + e.getMessage() + "' should name '" + offending + "'");
        return null;
    }

    @Test
    void addBroadcastsAsDocumentedOrRefuses() {
        TensorOps ops = inkwell.ops();
        RandomCases.check("addBroadcastsAsDocumentedOrRefuses", 400, rnd -> {
            long[] as = shape(rnd, 1, 4, 4);
            long[] bs;
            if (rnd.nextBoolean()) { // derived from a's shape: some dims kept, others 1, leading ones dropped
                int drop = between(rnd, 0, as.length - 1);
                bs = new long[as.length - drop];
                for (int i = 0; i < bs.length; i++) {
                    bs[i] = rnd.nextInt(3) == 0 ? 1 : as[drop + i];
                }
            } else {
                bs = shape(rnd, 1, 5, 4);
            }
            // Valid: b right-aligned, no longer than a, each dim 1 or a's (torch's broadcast to
            // a's shape), and no dim of b that broadcasts (b 1, a not 1) between two dims that
            // do not (b not 1): b's values form one run of a's layout.
            int offset = as.length - bs.length;
            boolean valid = offset >= 0;
            int firstKept = Integer.MAX_VALUE, lastKept = -1;
            for (int i = 0; valid && i < bs.length; i++) {
                valid = bs[i] == 1 || bs[i] == as[offset + i];
                if (bs[i] != 1) {
                    firstKept = Math.min(firstKept, i);
                    lastKept = i;
                }
            }
            for (int i = firstKept; valid && i < lastKept; i++) {
                valid = !(bs[i] == 1 && as[offset + i] != 1);
            }
            float[] a = random(rnd, count(as), 1), b = random(rnd, count(bs), 1);
            String what = "add " + Arrays.toString(as) + " + " + Arrays.toString(bs);
            try (Tensor ta = Tensor.fromArray(a, as); Tensor tb = Tensor.fromArray(b, bs);
                    Tensor sum = outcome(valid, Arrays.toString(bs), () -> ops.add(ta, tb), what)) {
                if (sum != null) {
                    assertArrayEquals(LayersReference.add(a, as, b, bs), sum.toArray(), what);
                }
            }
        });
    }

    @Test
    void catAndTransposeTakeTorchsDimensionsOrRefuse() {
        TensorOps ops = inkwell.ops();
        RandomCases.check("catAndTransposeTakeTorchsDimensionsOrRefuse", 400, rnd -> {
            long[] as = shape(rnd, 1, 4, 4);
            long[] bs = as.clone();
            int rank = as.length;
            int dim = between(rnd, -rank - 1, rank);
            int changed = rnd.nextInt(rank);
            bs[changed] = between(rnd, 1, 4);
            if (rnd.nextInt(6) == 0) {
                bs = shape(rnd, 1, 4, 4);
            }
            boolean dimOk = dim >= -rank && dim < rank;
            int d = dim < 0 ? dim + rank : dim;
            boolean valid = dimOk && bs.length == rank;
            for (int i = 0; valid && i < rank; i++) {
                valid = i == d || as[i] == bs[i];
            }
            float[] a = random(rnd, count(as), 1), b = random(rnd, count(bs), 1);
            long[] bShape = bs;
            String what = "cat dim " + dim + " " + Arrays.toString(as) + " " + Arrays.toString(bs);
            try (Tensor ta = Tensor.fromArray(a, as); Tensor tb = Tensor.fromArray(b, bs);
                    Tensor out = outcome(valid, dimOk ? Arrays.toString(bs) : "dim " + dim, () -> ops.cat(dim, ta, tb), what)) {
                if (out != null) {
                    assertArrayEquals(LayersReference.cat(a, as, b, bShape, d), out.toArray(), what);
                }
            }

            int d0 = between(rnd, -rank - 1, rank), d1 = between(rnd, -rank - 1, rank);
            boolean ok0 = d0 >= -rank && d0 < rank, ok1 = d1 >= -rank && d1 < rank;
            String twhat = "transpose " + Arrays.toString(as) + " " + d0 + ", " + d1;
            try (Tensor ta = Tensor.fromArray(a, as);
                    Tensor out = outcome(ok0 && ok1, !ok0 ? "dim0 " + d0 : "dim1 " + d1, () -> ops.transpose(ta, d0, d1),
                            twhat)) {
                if (out != null) {
                    assertArrayEquals(LayersReference.transpose(a, as, d0 < 0 ? d0 + rank : d0, d1 < 0 ? d1 + rank : d1),
                            out.toArray(), twhat);
                }
            }
        });
    }

    @Test
    void maxPool2dMatchesTorchOrRefuses() {
        TensorOps ops = inkwell.ops();
        RandomCases.check("maxPool2dMatchesTorchOrRefuses", 400, rnd -> {
            int n = between(rnd, 1, 2), c = between(rnd, 1, 3), h = between(rnd, 1, 9), w = between(rnd, 1, 9);
            int kh = between(rnd, 0, 5), kw = between(rnd, 0, 5), sh = between(rnd, 0, 3), sw = between(rnd, 0, 3);
            int ph = between(rnd, -1, 3), pw = between(rnd, -1, 3);
            // PyTorch's rules, the first broken one named: kernel, stride, padding, then size.
            String offending = null;
            int[][] axes = {{kh, sh, ph, h}, {kw, sw, pw, w}};
            for (int[] ax : axes) {
                if (offending == null && ax[0] < 1) {
                    offending = "got " + ax[0];
                } else if (offending == null && ax[1] < 1) {
                    offending = "got " + ax[1];
                } else if (offending == null && (ax[2] < 0 || ax[2] > ax[0] / 2)) {
                    offending = "got " + ax[2];
                } else if (offending == null && ax[3] + 2 * ax[2] < ax[0]) {
                    offending = "kernel " + (ax == axes[0] ? "height " : "width ") + ax[0];
                }
            }
            float[] x = random(rnd, n * c * h * w, 1);
            if (x.length > 2 && rnd.nextBoolean()) {
                x[rnd.nextInt(x.length)] = Float.NaN;
            }
            String what = "maxPool2d [" + n + ", " + c + ", " + h + ", " + w + "] k" + kh + "x" + kw + " s" + sh + "x" + sw
                    + " p" + ph + "x" + pw;
            try (Tensor t = Tensor.fromArray(x, n, c, h, w);
                    Tensor y = outcome(offending == null, offending, () -> ops.maxPool2d(t, kh, kw, sh, sw, ph, pw), what)) {
                if (y != null) {
                    assertArrayEquals(LayersReference.maxPool2d(x, n, c, h, w, kh, kw, sh, sw, ph, pw), y.toArray(), what);
                }
            }
        });
    }

    private static double eps(Random rnd) {
        return rnd.nextInt(4) == 0 ? oneOf(rnd, Double.NaN, -1e-5, Double.POSITIVE_INFINITY, 0.0) : oneOf(rnd, 1e-5, 1e-6, 0.1);
    }

    @Test
    void normsMatchTheReferenceOrRefuse() {
        Layers layers = inkwell.layers();
        RandomCases.check("normsMatchTheReferenceOrRefuse", 300, rnd -> {
            long[] s = shape(rnd, 2, 4, 7);
            int channels = (int) s[1], groups = between(rnd, 0, 8);
            double eps = eps(rnd);
            Activation act = oneOf(rnd, Activation.values());
            boolean affine = rnd.nextBoolean();
            float[] x = random(rnd, count(s), 2), w = random(rnd, channels, 1), b = random(rnd, channels, 1);
            String offending = groups < 1 ? "groups must be >= 1, got " + groups
                    : channels % groups != 0 ? "groups " + groups + " does not divide channels " + channels
                    : !(Double.isFinite(eps) && eps >= 0) ? "got " + eps : null;
            String what = "groupNorm " + Arrays.toString(s) + " G" + groups + " eps " + eps + " " + act;
            try (Tensor tx = Tensor.fromArray(x, s); Tensor tw = Tensor.fromArray(w, channels);
                    Tensor tb = Tensor.fromArray(b, channels);
                    Tensor y = outcome(offending == null, offending,
                            () -> layers.groupNorm(tx, groups, affine ? tw : null, affine ? tb : null, eps, act), what)) {
                if (y != null) {
                    int spatial = x.length / (int) (s[0] * channels);
                    LayersReference.assertWithin(LayersReference.groupNorm(x, (int) s[0], channels, spatial, groups,
                            affine ? w : null, affine ? b : null, eps, act), y.toArray(), what);
                }
            }
            int dim = (int) s[s.length - 1];
            String lnOffending = !(Double.isFinite(eps) && eps >= 0) ? "got " + eps : null;
            String lnWhat = "layerNorm " + Arrays.toString(s) + " eps " + eps;
            try (Tensor tx = Tensor.fromArray(x, s); Tensor tw = Tensor.fromArray(random(rnd, dim, 1), dim);
                    Tensor y = outcome(lnOffending == null, lnOffending, () -> layers.layerNorm(tx, tw, null, eps), lnWhat)) {
                if (y != null) {
                    LayersReference.assertWithin(LayersReference.layerNorm(x, x.length / dim, dim, tw.toArray(), null, eps),
                            y.toArray(), lnWhat);
                }
            }
        });
    }

    @Test
    void linearAndGegluMatchTheReferenceOrRefuse() {
        Layers layers = inkwell.layers();
        RandomCases.check("linearAndGegluMatchTheReferenceOrRefuse", 300, rnd -> {
            long[] xs = shape(rnd, 1, 3, 9);
            int k = (int) xs[xs.length - 1], wk = rnd.nextInt(5) == 0 ? between(rnd, 1, 9) : k, n = between(rnd, 1, 12);
            Activation act = oneOf(rnd, Activation.values());
            boolean bias = rnd.nextBoolean();
            float[] x = random(rnd, count(xs), 1), w = random(rnd, n * wk, 0.5), b = random(rnd, n, 1);
            String what = "linear " + Arrays.toString(xs) + " weight [" + n + ", " + wk + "] " + act;
            try (Tensor tx = Tensor.fromArray(x, xs); Tensor tw = Tensor.fromArray(w, n, wk); Tensor tb = Tensor.fromArray(b, n);
                    Tensor y = outcome(wk == k, "has in_features " + wk, () -> layers.linear(tx, tw, bias ? tb : null, act),
                            what);
                    Tensor g = outcome(wk == k && n % 2 == 0, wk != k ? "has in_features " + wk : "dim 0 is " + n,
                            () -> layers.geglu(tx, tw, bias ? tb : null), what + " (geglu)")) {
                if (y != null) {
                    LayersReference.assertWithin(LayersReference.linear(x, x.length / k, k, w, n, bias ? b : null, act),
                            y.toArray(), what);
                }
                if (g != null) {
                    LayersReference.assertWithin(LayersReference.geglu(x, x.length / k, k, w, n / 2, bias ? b : null),
                            g.toArray(), what + " (geglu)");
                }
            }
        });
    }

    @Test
    void timestepEmbeddingMatchesTheReferenceOrRefuses() {
        Layers layers = inkwell.layers();
        RandomCases.check("timestepEmbeddingMatchesTheReferenceOrRefuses", 300, rnd -> {
            int dim = between(rnd, -1, 12);
            double shift = oneOf(rnd, 0.0, 1.0, 0.5, Double.NaN, (double) (Math.max(dim, 0) / 2));
            double scale = oneOf(rnd, 1.0, 2.0, Double.POSITIVE_INFINITY);
            double maxPeriod = oneOf(rnd, 10000.0, 100.0, 0.0, -1.0, Double.NaN);
            boolean flip = rnd.nextBoolean();
            float[] t = new float[between(rnd, 1, 5)];
            for (int i = 0; i < t.length; i++) {
                t[i] = rnd.nextInt(1000) + (rnd.nextBoolean() ? 0.5f : 0f);
            }
            String offending = dim < 1 ? "got " + dim
                    : !Double.isFinite(shift) ? "got " + shift
                    : !Double.isFinite(scale) ? "got " + scale
                    : !(Double.isFinite(maxPeriod) && maxPeriod > 0) ? "got " + maxPeriod
                    : dim / 2 - shift == 0 ? "downscaleFreqShift " + shift : null;
            String what = "timestepEmbedding dim " + dim + " shift " + shift + " scale " + scale + " maxPeriod " + maxPeriod;
            try (Tensor steps = Tensor.fromArray(t, t.length); Tensor y = outcome(offending == null, offending,
                    () -> layers.timestepEmbedding(steps, dim, flip, shift, scale, maxPeriod), what)) {
                if (y != null) {
                    double[] want = LayersReference.timestepEmbedding(t, dim, flip, shift, scale, maxPeriod);
                    double[] bound = new double[want.length];
                    for (int i = 0; i < want.length; i++) {
                        bound[i] = Math.ulp((float) want[i]) + 1e-11;
                    }
                    LayersReference.assertWithin(want, bound, y.toArray(), what);
                }
            }
        });
    }
}
