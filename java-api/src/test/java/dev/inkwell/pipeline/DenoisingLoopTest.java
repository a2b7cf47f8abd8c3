package dev.inkwell.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.DdimScheduler;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The loop against a plain Java transcription of diffusers' {@code StableDiffusionControlNetPipeline}
 * loop (v0.21.4) and {@code DDIMScheduler.step} (eta 0) in double, with small made-up models
 * whose outputs depend on every input (batch half, timestep, embeddings, control image,
 * residuals), so that a wrong batch order, a missed residual, a wrong scale or timestep shows.
 */
class DenoisingLoopTest {
    private static final int C = 4, H = 2, W = 2, F = 8, L = 3, D = 4, RES = 3, RC = 2;
    private static Inkwell inkwell;

    @BeforeAll
    static void open() {
        inkwell = Inkwell.builder().threads(1).build();
    }

    @AfterAll
    static void close() {
        inkwell.close();
    }

    // ---- the made-up models, on arrays ------------------------------------------------------

    private static double mean(float[] a, int from, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += a[from + i];
        }
        return s / n;
    }

    /** eps[b] = 0.5 x[b] + 0.01 c + 0.3 mean(ehs[b]) + 1e-4 t + sum down_i[b, c % 2] + mid[b, (c + 1) % 2]. */
    static float[] unet(float[] x, int batch, double t, float[] ehs, float[][] down, float[] mid) {
        int n = C * H * W, plane = H * W;
        float[] out = new float[batch * n];
        for (int b = 0; b < batch; b++) {
            double e = mean(ehs, b * L * D, L * D);
            for (int c = 0; c < C; c++) {
                for (int p = 0; p < plane; p++) {
                    int i = b * n + c * plane + p;
                    double v = 0.5 * x[i] + 0.01 * c + 0.3 * e + 1e-4 * t;
                    if (down != null) {
                        for (float[] r : down) {
                            v += r[b * RC * plane + (c % 2) * plane + p];
                        }
                        v += mid[b * RC * plane + ((c + 1) % 2) * plane + p];
                    }
                    out[i] = (float) v;
                }
            }
        }
        return out;
    }

    /** residual_k[b, j, p] = s_k (0.1 x[b, j, p] + cond[b, j, p*F] + 0.2 mean(ehs[b]) + 1e-3 t), diffusers' scales. */
    static float[][] controlnet(float[] x, int batch, double t, float[] ehs, float[] cond, double scale, boolean guess) {
        int plane = H * W, condPlane = H * F * W * F;
        float[][] out = new float[RES + 1][batch * RC * plane];
        for (int k = 0; k <= RES; k++) {
            // diffusers: guess mode scales by torch.logspace(-1, 0, len(down) + 1) * scale, mid last
            double s = guess ? Math.pow(10, -1 + (double) k / RES) * scale : scale;
            for (int b = 0; b < batch; b++) {
                double e = mean(ehs, b * L * D, L * D);
                for (int j = 0; j < RC; j++) {
                    for (int p = 0; p < plane; p++) {
                        int y = p / W, xx = p % W;
                        double c = cond[b * 3 * condPlane + j * condPlane + (y * F) * (W * F) + xx * F];
                        out[k][b * RC * plane + j * plane + p] = (float) (s * (0.1 * x[b * C * plane + j * plane + p]
                                + c + 0.2 * e + 1e-3 * t));
                    }
                }
            }
        }
        return out;
    }

    // ---- the same models behind the loop's interfaces -----------------------------------------

    record Call(long batch, boolean guess, double scale) {}

    final List<Call> controlCalls = new ArrayList<>();

    DenoisingLoop loop(DdimScheduler s) {
        DenoisingLoop.UNet u = (sample, t, ehs, down, mid) -> {
            int batch = (int) sample.dim(0);
            float[][] d = down == null ? null : down.stream().map(Tensor::toArray).toArray(float[][]::new);
            return Tensor.fromArray(unet(sample.toArray(), batch, t, ehs.toArray(), d, mid == null ? null
                    : mid.toArray()), sample.shape());
        };
        DenoisingLoop.ControlNet cn = (sample, t, ehs, cond, scale, guess) -> {
            int batch = (int) sample.dim(0);
            assertEquals(batch, ehs.dim(0), "ControlNet's embeddings batch");
            assertEquals(batch, cond.dim(0), "ControlNet's control image batch");
            controlCalls.add(new Call(batch, guess, scale));
            float[][] r = controlnet(sample.toArray(), batch, t, ehs.toArray(), cond.toArray(), scale, guess);
            List<Tensor> down = new ArrayList<>();
            for (int k = 0; k < RES; k++) {
                down.add(Tensor.fromArray(r[k], batch, RC, H, W));
            }
            return new DenoisingLoop.Residuals(down, Tensor.fromArray(r[RES], batch, RC, H, W));
        };
        return new DenoisingLoop(inkwell, s, u, cn);
    }

    // ---- diffusers' loop, transcribed -------------------------------------------------------

    static float[] cat(float[] a, float[] b) {
        float[] out = new float[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static double[] reference(DdimScheduler s, float[] latents, float[] cond, float[] uncond, float[] control,
            ColorizeOptions o, boolean guess) {
        int n = C * H * W;
        int[] ts = s.timesteps(o.steps());
        boolean cfg = o.guidanceScale() > 1;
        float[] x = latents.clone();
        for (int i = 0; i < ts.length; i++) {
            int t = ts[i];
            float[] input = cfg ? cat(x, x) : x;
            float[] ehs = cfg ? cat(uncond, cond) : cond;
            int batch = cfg ? 2 : 1;
            // controlnet_keep as diffusers computes it, and residuals always computed (0 * r when off)
            double keep = 1.0 - ((double) i / ts.length < o.controlGuidanceStart()
                    || (double) (i + 1) / ts.length > o.controlGuidanceEnd() ? 1 : 0);
            double scale = o.controlStrength() * keep;
            float[][] r;
            if (guess && cfg) {
                float[][] half = controlnet(x, 1, t, cond, control, scale, guess);
                r = new float[half.length][];
                for (int k = 0; k < half.length; k++) {
                    r[k] = cat(new float[half[k].length], half[k]);
                }
            } else {
                r = controlnet(input, batch, t, ehs, cfg ? cat(control, control) : control, scale, guess);
            }
            float[] down0[] = java.util.Arrays.copyOf(r, RES);
            float[] eps = unet(input, batch, t, ehs, down0, r[RES]);
            double at = s.alphaCumprod(t);
            int prev = t - s.trainTimesteps() / ts.length;
            double ap = prev >= 0 ? s.alphaCumprod(prev) : s.finalAlphaCumprod();
            float[] next = new float[n];
            for (int j = 0; j < n; j++) {
                double e = cfg ? eps[j] + o.guidanceScale() * (eps[n + j] - eps[j]) : eps[j];
                double x0 = (x[j] - Math.sqrt(1 - at) * e) / Math.sqrt(at);
                next[j] = (float) (Math.sqrt(ap) * x0 + Math.sqrt(1 - ap) * e);
            }
            x = next;
        }
        double[] out = new double[n];
        for (int j = 0; j < n; j++) {
            out[j] = x[j];
        }
        return out;
    }

    private static float[] random(Random r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextGaussian() * scale);
        }
        return a;
    }

    private void check(ColorizeOptions o, boolean guess, long seed) {
        Random r = new Random(seed);
        float[] latents = random(r, C * H * W, 1), cond = random(r, L * D, 1), uncond = random(r, L * D, 1);
        float[] control = new float[3 * H * F * W * F];
        for (int i = 0; i < control.length; i++) {
            control[i] = r.nextInt(2);
        }
        DdimScheduler s = DdimScheduler.stableDiffusion();
        double[] want = reference(s, latents, cond, uncond, control, o, guess);
        controlCalls.clear();
        try (Tensor x = Tensor.fromArray(latents, 1, C, H, W); Tensor c = Tensor.fromArray(cond, 1, L, D);
                Tensor u = Tensor.fromArray(uncond, 1, L, D); Tensor ctl = Tensor.fromArray(control, 1, 3, H * F, W * F);
                Tensor got = loop(s).run(x, c, u, ctl, o, guess, null, null)) {
            float[] g = got.toArray();
            for (int i = 0; i < g.length; i++) {
                assertEquals(want[i], g[i], 2e-4 * Math.max(1, Math.abs(want[i])), o + " element " + i);
            }
        }
        for (Call call : controlCalls) {
            assertEquals(guess && o.classifierFreeGuidance() ? 1 : (o.classifierFreeGuidance() ? 2 : 1), call.batch(),
                    "ControlNet's batch");
            assertEquals(guess, call.guess());
            assertTrue(call.scale() != 0, "ControlNet is skipped when its scale is 0");
        }
    }

    private static ColorizeOptions.Builder options() {
        return ColorizeOptions.builder("unused").steps(8);
    }

    @Test
    void guidanceBatchOfTwoUnconditionalFirst() {
        check(options().guidanceScale(7.5).build(), false, 1);
        assertEquals(8, controlCalls.size());
    }

    @Test
    void guessModeRunsControlNetOnTheConditionalHalf() {
        check(options().guidanceScale(4).controlStrength(0.7).guessMode(true).build(), true, 2);
    }

    @Test
    void noGuidanceAtScaleOne() {
        check(options().guidanceScale(1).build(), false, 3);
        check(options().guidanceScale(0.5).guessMode(true).build(), true, 4);
    }

    @Test
    void controlGuidanceWindowSkipsControlNetOutsideIt() {
        check(options().guidanceScale(9).controlGuidance(0.25, 0.75).build(), false, 5);
        assertEquals(4, controlCalls.size(), "steps 2..5 of 8");
        check(options().guidanceScale(9).controlStrength(0).build(), false, 6);
        assertEquals(0, controlCalls.size());
    }

    @Test
    void progressAndCancellationBetweenSteps() {
        List<Integer> done = new ArrayList<>();
        AtomicInteger polls = new AtomicInteger();
        ColorizeOptions o = options().guidanceScale(2).build();
        try (Tensor x = Tensor.fromArray(new float[C * H * W], 1, C, H, W);
                Tensor c = Tensor.fromArray(new float[L * D], 1, L, D);
                Tensor ctl = Tensor.fromArray(new float[3 * H * F * W * F], 1, 3, H * F, W * F)) {
            DenoisingLoop l = loop(DdimScheduler.stableDiffusion());
            assertThrows(CancellationException.class, () -> l.run(x, c, c, ctl, o, false,
                    (step, steps, t, nanos) -> {
                        done.add(t);
                        assertEquals(8, steps);
                        assertTrue(nanos > 0);
                    }, () -> polls.incrementAndGet() > 3));
            assertEquals(List.of(876, 751, 626), done);
        }
    }

    @Test
    void etaNoiseIsSeededAndReproducible() {
        ColorizeOptions o = options().guidanceScale(3).eta(1).seed(7).build();
        float[][] runs = new float[3][];
        for (int k = 0; k < 3; k++) {
            ColorizeOptions ok = k < 2 ? o : o.toBuilder().seed(8).build();
            try (Tensor x = Tensor.fromArray(new float[C * H * W], 1, C, H, W);
                    Tensor c = Tensor.fromArray(new float[L * D], 1, L, D);
                    Tensor ctl = Tensor.fromArray(new float[3 * H * F * W * F], 1, 3, H * F, W * F);
                    Tensor got = loop(DdimScheduler.stableDiffusion()).run(x, c, c, ctl, ok, false, null, null)) {
                runs[k] = got.toArray();
            }
        }
        assertArrayEquals(runs[0], runs[1]);
        assertFalse(java.util.Arrays.equals(runs[0], runs[2]), "another seed, other noise");
    }
}
