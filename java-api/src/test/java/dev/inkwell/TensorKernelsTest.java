package dev.inkwell;

import static dev.inkwell.Tolerance.assertClose;
import static dev.inkwell.Tolerance.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** conv2d, attention, the DDIM step, resampling and metrics against the plain Java references on random shapes. */
class TensorKernelsTest {
    private static Inkwell inkwell;

    @BeforeAll
    static void open() {
        inkwell = Inkwell.builder().threads(3).build();
    }

    @AfterAll
    static void close() {
        inkwell.close();
    }

    private static void conv2dCase(Random rnd, int n, int c, int h, int w, int cout, int kh, int kw, Conv2dOptions o,
            boolean bias) {
        long[] xs = {n, c, h, w}, ws = {cout, c / o.groups(), kh, kw};
        float[] x = random(rnd, n * c * h * w, 1), wt = random(rnd, cout * (c / o.groups()) * kh * kw, 0.3);
        float[] b = bias ? random(rnd, cout, 1) : null;
        float[] want = TensorReference.conv2d(x, xs, wt, ws, b, o);
        try (Tensor tx = Tensor.fromArray(x, xs); Tensor tw = Tensor.fromArray(wt, ws);
                Tensor tb = b == null ? null : Tensor.fromArray(b, cout);
                Tensor y = inkwell.conv2d(tx, tw, tb, o)) {
            double k = Math.sqrt((double) (c / o.groups()) * kh * kw);
            assertClose(want, y.toArray(), 1e-5 * k, 1e-4, "conv2d " + java.util.Arrays.toString(xs) + " "
                    + java.util.Arrays.toString(ws) + " " + o);
        }
    }

    @Test
    void conv2dMatchesReference() {
        Random rnd = new Random(1);
        Conv2dOptions d = Conv2dOptions.defaults();
        conv2dCase(rnd, 1, 3, 5, 5, 4, 3, 3, d.withPadding(1), true);
        conv2dCase(rnd, 2, 8, 9, 11, 6, 3, 3, d.withPadding(1), true); // batch > 1
        conv2dCase(rnd, 1, 8, 12, 10, 8, 3, 3, d.withPadding(1).withGroups(4), false); // groups > 1, no bias
        conv2dCase(rnd, 1, 6, 10, 10, 6, 3, 3, d.withPadding(1).withGroups(6), true); // depthwise
        conv2dCase(rnd, 1, 4, 13, 13, 5, 2, 2, d.withStride(3), true); // stride > kernel
        conv2dCase(rnd, 1, 5, 17, 19, 7, 3, 3, d.withPadding(2).withDilation(2), true); // dilation
        conv2dCase(rnd, 1, 5, 15, 9, 7, 3, 3, d.withStride(2, 1).withPadding(1, 0), true); // per-axis
        conv2dCase(rnd, 2, 33, 7, 6, 17, 1, 1, d, true); // 1x1, odd channel counts
        conv2dCase(rnd, 1, 3, 20, 20, 9, 7, 7, d.withStride(2).withPadding(3), true); // 7x7 stem
        conv2dCase(rnd, 1, 3, 16, 16, 16, 3, 3, d.withPadding(1).withActivation(Activation.SILU), true);
        conv2dCase(rnd, 1, 2, 1, 1, 3, 1, 1, d, true); // 1x1 image
        conv2dCase(rnd, 1, 32, 8, 8, 40, 3, 3, d.withPadding(1), true); // a few SIMD widths
    }

    private static void attentionCase(Random rnd, int b, int h, int lq, int lk, int d, AttentionOptions o, double spread) {
        float[] q = random(rnd, b * h * lq * d, spread), k = random(rnd, b * h * lk * d, spread), v = random(rnd, b * h * lk * d, 1);
        float[] want = TensorReference.attention(q, k, v, b, h, lq, lk, d, o.scaleFor(d), o.causal(), o.kvLens());
        try (Tensor tq = Tensor.fromArray(q, b, h, lq, d); Tensor tk = Tensor.fromArray(k, b, h, lk, d);
                Tensor tv = Tensor.fromArray(v, b, h, lk, d); Tensor out = inkwell.attention(tq, tk, tv, o)) {
            assertClose(want, out.toArray(), 2e-5, 1e-4, "attention b" + b + " h" + h + " lq" + lq + " lk" + lk + " d" + d + " " + o);
        }
    }

    @Test
    void attentionMatchesReference() {
        Random rnd = new Random(2);
        AttentionOptions d = AttentionOptions.defaults();
        for (int dim : new int[] {1, 3, 24, 40, 80, 160}) {
            attentionCase(rnd, 1, 2, 19, 23, dim, d, 1);
        }
        attentionCase(rnd, 2, 3, 17, 1, 40, d, 1); // Lk = 1, batch > 1
        attentionCase(rnd, 1, 2, 33, 33, 64, d.withCausal(true), 1);
        attentionCase(rnd, 3, 2, 16, 77, 40, d.withKvLens(77, 12, 1), 1); // text padding
        attentionCase(rnd, 2, 1, 20, 30, 24, d.withCausal(true).withKvLens(5, 30), 1);
        attentionCase(rnd, 1, 1, 9, 40, 32, d.withScale(0.5), 1);
        attentionCase(rnd, 1, 2, 16, 16, 64, d, 3); // large logits
        attentionCase(rnd, 1, 1, 5, 300, 256, d, 1); // largest flash-kernel head size on CUDA
        attentionCase(rnd, 1, 1, 7, 40, 512, d, 1); // largest head size (the VAE's one head)
    }

    @Test
    void ddimStepMatchesReferenceForEveryPredictionType() {
        Random rnd = new Random(3);
        int n = 4 * 9 * 7;
        for (PredictionType type : PredictionType.values()) {
            for (boolean guided : new boolean[] {false, true}) {
                for (double eta : new double[] {0, 0.5, 1}) {
                    for (boolean clip : new boolean[] {false, true}) {
                        DdimScheduler s = DdimScheduler.builder().predictionType(type).clipSample(clip, 1.0).build();
                        int t = 601, prev = 551;
                        float[] x = random(rnd, n, 1), m = random(rnd, n, 1), u = random(rnd, n, 1), z = random(rnd, n, 1);
                        float[][] want = TensorReference.ddimStep(x, m, guided ? u : null, 7.5, z, s.alphaCumprod(t),
                                s.alphaCumprod(prev), eta, type, clip, 1.0);
                        try (Tensor tx = Tensor.fromArray(x, 4, 9, 7); Tensor tm = Tensor.fromArray(m, 4, 9, 7);
                                Tensor tu = Tensor.fromArray(u, 4, 9, 7); Tensor tz = Tensor.fromArray(z, 4, 9, 7);
                                Tensor prevOut = Tensor.allocate(4, 9, 7); Tensor x0 = Tensor.allocate(4, 9, 7)) {
                            if (guided) {
                                inkwell.ddimStepGuided(s, t, prev, tx, tm, tu, 7.5, eta, tz, prevOut, x0);
                            } else {
                                inkwell.ddimStep(s, t, prev, tx, tm, eta, tz, prevOut, x0);
                            }
                            String what = type + " guided " + guided + " eta " + eta + " clip " + clip;
                            assertClose(want[0], prevOut.toArray(), 1e-5, 1e-5, what + " prev");
                            assertClose(want[1], x0.toArray(), 1e-5, 1e-5, what + " x0");
                        }
                    }
                }
            }
        }
    }

    @Test
    void addNoiseIsTheForwardProcess() {
        Random rnd = new Random(4);
        DdimScheduler s = DdimScheduler.stableDiffusion();
        float[] x = random(rnd, 100, 1), z = random(rnd, 100, 1), want = new float[100];
        double a = s.alphaCumprod(500);
        for (int i = 0; i < 100; i++) {
            want[i] = (float) (Math.sqrt(a) * x[i] + Math.sqrt(1 - a) * z[i]);
        }
        try (Tensor tx = Tensor.fromArray(x, 100); Tensor tz = Tensor.fromArray(z, 100); Tensor out = Tensor.allocate(100)) {
            inkwell.addNoise(s, tx, tz, 500, out);
            assertClose(want, out.toArray(), 1e-6, 1e-6, "addNoise");
        }
    }

    @Test
    void resampleMatchesReference() {
        Random rnd = new Random(5);
        int[][] shapes = {{1, 1, 1, 1}, {2, 3, 5, 7}, {1, 4, 8, 6}, {1, 2, 9, 13}};
        for (int[] s : shapes) {
            float[] x = random(rnd, s[0] * s[1] * s[2] * s[3], 1);
            for (ResampleMode mode : ResampleMode.values()) {
                if (!mode.upsamples() && (s[2] < 2 || s[3] < 2)) {
                    continue;
                }
                float[] want = TensorReference.resample(x, s[0], s[1], s[2], s[3], mode);
                try (Tensor t = Tensor.fromArray(x, s[0], s[1], s[2], s[3]); Tensor y = inkwell.resample(t, mode)) {
                    assertClose(want, y.toArray(), 1e-6, 1e-6, mode + " " + java.util.Arrays.toString(s));
                }
            }
        }
    }

    @Test
    void metricsMatchReference() {
        Random rnd = new Random(6);
        for (int cn : new int[] {1, 3}) {
            int h = 23, w = 31;
            byte[] a = CannyTest.randomImage(rnd, h, w, cn), b = a.clone();
            for (int i = 0; i < b.length; i += 3) {
                b[i] = (byte) Math.min(255, (b[i] & 0xFF) + rnd.nextInt(40));
            }
            try (Image ia = Image.fromBytes(a, h, w, cn); Image ib = Image.fromBytes(b, h, w, cn)) {
                assertEquals(TensorReference.psnr(a, b), inkwell.psnr(ia, ib), 1e-9);
                assertEquals(TensorReference.ssim(a, b, h, w, cn), inkwell.ssim(ia, ib), 1e-9);
                assertEquals(Double.POSITIVE_INFINITY, inkwell.psnr(ia, ia));
                assertEquals(1.0, inkwell.ssim(ia, ia), 1e-12);
            }
        }
    }

    @Test
    void resultsAreIdenticalForAnyThreadCount() {
        Random rnd = new Random(7);
        float[] x = random(rnd, 2 * 16 * 12 * 12, 1), w = random(rnd, 24 * 16 * 9, 0.2), q = random(rnd, 2 * 2 * 50 * 40, 1);
        float[] conv = null, att = null;
        for (int threads : new int[] {1, 2, 5}) {
            try (Inkwell ctx = Inkwell.builder().threads(threads).build();
                    Tensor tx = Tensor.fromArray(x, 2, 16, 12, 12); Tensor tw = Tensor.fromArray(w, 24, 16, 3, 3);
                    Tensor tq = Tensor.fromArray(q, 2, 2, 50, 40);
                    Tensor y = ctx.conv2d(tx, tw, null, Conv2dOptions.defaults().withPadding(1));
                    Tensor o = ctx.attention(tq, tq, tq, AttentionOptions.defaults())) {
                if (conv == null) {
                    conv = y.toArray();
                    att = o.toArray();
                }
                assertArrayEquals(conv, y.toArray(), "conv2d bits with " + threads + " threads");
                assertArrayEquals(att, o.toArray(), "attention bits with " + threads + " threads");
            }
        }
    }
}
