package dev.inkwell;

import static dev.inkwell.Tolerance.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link TensorOps} against {@link LayersReference}'s full-index references, bit for bit:
 * add (each broadcast a U-Net uses, in place), cat along every dimension (negative ones
 * too), transpose (round trips, every pair), max pooling (SD's 3x3 stride 2, padding, NaN).
 */
class TensorOpsTest {
    private static Inkwell inkwell;
    private static TensorOps ops;

    @BeforeAll
    static void open() {
        inkwell = Inkwell.builder().threads(3).build();
        ops = inkwell.ops();
    }

    @AfterAll
    static void close() {
        inkwell.close();
    }

    private static float[] withSpecials(float[] x) {
        if (x.length > 6) { // non-finite values pass through a sum as IEEE says
            x[1] = Float.NaN;
            x[3] = Float.POSITIVE_INFINITY;
            x[5] = Float.NEGATIVE_INFINITY;
        }
        return x;
    }

    private static void addCase(Random rnd, long[] as, long[] bs) {
        float[] a = withSpecials(random(rnd, (int) Tensor.checkShape(as.clone()), 1));
        float[] b = random(rnd, (int) Tensor.checkShape(bs.clone()), 1);
        float[] want = LayersReference.add(a, as, b, bs);
        String what = "add " + Arrays.toString(as) + " + " + Arrays.toString(bs);
        try (Tensor ta = Tensor.fromArray(a, as); Tensor tb = Tensor.fromArray(b, bs); Tensor sum = ops.add(ta, tb)) {
            assertArrayEquals(as, sum.shape(), what);
            assertArrayEquals(want, sum.toArray(), what);
            ops.add(ta, tb, ta); // in place: a += b
            assertArrayEquals(want, ta.toArray(), what + " in place");
        }
    }

    @Test
    void addBroadcastsAsTorch() {
        Random rnd = new Random(201);
        addCase(rnd, new long[] {2, 5, 7, 3}, new long[] {2, 5, 7, 3}); // residual
        addCase(rnd, new long[] {2, 5, 7, 3}, new long[] {2, 5, 1, 1}); // time embedding per (sample, channel)
        addCase(rnd, new long[] {2, 5, 7, 3}, new long[] {5, 1, 1}); // per-channel bias
        addCase(rnd, new long[] {2, 5, 7, 3}, new long[] {1, 5, 1, 1});
        addCase(rnd, new long[] {2, 77, 40}, new long[] {40}); // bias on the last dimension
        addCase(rnd, new long[] {2, 77, 40}, new long[] {77, 40}); // positional embedding
        addCase(rnd, new long[] {2, 77, 40}, new long[] {1, 1, 1}); // a scalar
        addCase(rnd, new long[] {2, 77, 40}, new long[] {1});
        addCase(rnd, new long[] {3, 1, 4, 5}, new long[] {3, 1, 4, 1}); // a 1 inside the run, matching a's
        addCase(rnd, new long[] {1021}, new long[] {1021});
        addCase(rnd, new long[] {1}, new long[] {1});
    }

    private static void catCase(Random rnd, long[] as, long[] bs, int dim) {
        float[] a = withSpecials(random(rnd, (int) Tensor.checkShape(as.clone()), 1));
        float[] b = random(rnd, (int) Tensor.checkShape(bs.clone()), 1);
        int d = dim < 0 ? dim + as.length : dim;
        float[] want = LayersReference.cat(a, as, b, bs, d);
        long[] os = as.clone();
        os[d] += bs[d];
        String what = "cat dim " + dim + " " + Arrays.toString(as) + " " + Arrays.toString(bs);
        try (Tensor ta = Tensor.fromArray(a, as); Tensor tb = Tensor.fromArray(b, bs); Tensor out = ops.cat(dim, ta, tb);
                Tensor into = Tensor.allocate(os)) {
            assertArrayEquals(os, out.shape(), what);
            assertArrayEquals(want, out.toArray(), what);
            ops.cat(dim, ta, tb, into);
            assertArrayEquals(want, into.toArray(), what + " into out");
        }
    }

    @Test
    void catAlongEveryDimension() {
        Random rnd = new Random(202);
        catCase(rnd, new long[] {2, 3, 5, 7}, new long[] {2, 4, 5, 7}, 1); // skip connection
        catCase(rnd, new long[] {2, 3, 5, 7}, new long[] {2, 4, 5, 7}, -3); // the same, counted from the end
        catCase(rnd, new long[] {2, 3, 5, 7}, new long[] {1, 3, 5, 7}, 0); // batch (guidance halves)
        catCase(rnd, new long[] {2, 3, 5, 7}, new long[] {2, 3, 2, 7}, 2);
        catCase(rnd, new long[] {2, 3, 5, 7}, new long[] {2, 3, 5, 1}, -1); // last dimension
        catCase(rnd, new long[] {97}, new long[] {1}, 0); // rank 1
        catCase(rnd, new long[] {1, 1}, new long[] {1, 1}, -2);
    }

    private static void transposeCase(Random rnd, long[] xs, int d0, int d1) {
        float[] x = withSpecials(random(rnd, (int) Tensor.checkShape(xs.clone()), 1));
        int n0 = d0 < 0 ? d0 + xs.length : d0, n1 = d1 < 0 ? d1 + xs.length : d1;
        float[] want = LayersReference.transpose(x, xs, n0, n1);
        String what = "transpose " + Arrays.toString(xs) + " " + d0 + ", " + d1;
        try (Tensor t = Tensor.fromArray(x, xs); Tensor y = ops.transpose(t, d0, d1); Tensor back = ops.transpose(y, d1, d0)) {
            long[] ys = xs.clone();
            ys[n0] = xs[n1];
            ys[n1] = xs[n0];
            assertArrayEquals(ys, y.shape(), what);
            assertArrayEquals(want, y.toArray(), what);
            assertArrayEquals(xs, back.shape(), what + " back");
            assertArrayEquals(x, back.toArray(), what + ": the round trip gives x");
        }
    }

    @Test
    void transposeMatchesReferenceAndRoundTrips() {
        Random rnd = new Random(203);
        transposeCase(rnd, new long[] {2, 40, 7 * 9}, 1, 2); // [N, C, HW] -> [N, HW, C]
        transposeCase(rnd, new long[] {2, 7 * 9, 40}, -1, -2); // and back, negative dims
        long[] s = {2, 3, 5, 7, 4};
        for (int a = 0; a < s.length; a++) {
            for (int b = 0; b < s.length; b++) {
                transposeCase(rnd, s, a, b); // every pair, a == b (a copy) included
            }
        }
        transposeCase(rnd, new long[] {2, 77, 8, 40}, 1, 2); // [B, L, H, D] -> [B, H, L, D]
        transposeCase(rnd, new long[] {1021}, 0, -1);
        transposeCase(rnd, new long[] {1, 257}, 0, 1);
    }

    private static void maxPoolCase(Random rnd, int n, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw,
            boolean specials) {
        float[] x = random(rnd, n * c * h * w, 1);
        if (specials) {
            x = withSpecials(x);
        }
        float[] want = LayersReference.maxPool2d(x, n, c, h, w, kh, kw, sh, sw, ph, pw);
        String what = "maxPool2d [" + n + ", " + c + ", " + h + ", " + w + "] k" + kh + "x" + kw + " s" + sh + "x" + sw + " p"
                + ph + "x" + pw;
        try (Tensor t = Tensor.fromArray(x, n, c, h, w); Tensor y = ops.maxPool2d(t, kh, kw, sh, sw, ph, pw)) {
            assertArrayEquals(new long[] {n, c, (h + 2 * ph - kh) / sh + 1, (w + 2 * pw - kw) / sw + 1}, y.shape(), what);
            assertArrayEquals(want, y.toArray(), what);
        }
    }

    @Test
    void maxPool2dMatchesReference() {
        Random rnd = new Random(204);
        maxPoolCase(rnd, 2, 3, 17, 13, 3, 3, 2, 2, 1, 1, false); // 3x3 stride 2 padding 1 (a ResNet stem)
        maxPoolCase(rnd, 1, 4, 16, 16, 3, 3, 2, 2, 0, 0, false); // 3x3 stride 2
        maxPoolCase(rnd, 1, 2, 9, 9, 2, 2, 2, 2, 0, 0, false); // 2x2
        maxPoolCase(rnd, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, false); // 1x1
        maxPoolCase(rnd, 1, 1, 1, 1, 3, 3, 1, 1, 1, 1, false); // a window mostly of padding
        maxPoolCase(rnd, 2, 2, 11, 7, 5, 3, 3, 1, 2, 0, false); // per axis
        maxPoolCase(rnd, 1, 3, 8, 8, 3, 3, 2, 2, 1, 1, true); // NaN wins, infinities
        try (Tensor t = Tensor.fromArray(random(rnd, 2 * 25, 1), 1, 2, 5, 5); Tensor a = ops.maxPool2d(t, 3, 2, 1);
                Tensor b = ops.maxPool2d(t, 3, 3, 2, 2, 1, 1)) {
            assertArrayEquals(b.toArray(), a.toArray(), "the square form");
        }
    }

    @Test
    void maxPoolOfANaNWindowIsNaNWherePyTorchsIs() {
        float[] x = new float[16];
        Arrays.fill(x, -1);
        x[5] = Float.NaN; // row 1, column 1: inside the top-left 2x2 and 3x3 windows only
        try (Tensor t = Tensor.fromArray(x, 1, 1, 4, 4); Tensor y = ops.maxPool2d(t, 2, 2, 0)) {
            float[] got = y.toArray();
            assertTrue(Float.isNaN(got[0]), "NaN window: " + Arrays.toString(got));
            assertEquals(-1f, got[1]);
            assertEquals(-1f, got[3]);
        }
    }
}
