package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.internal.Npy;
import java.io.IOException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The scheduler's host-side arithmetic, the noise generator and the sampler loop. */
class DdimSchedulerTest {

    @Test
    void alphasMatchDiffusersInDoublePrecision() throws IOException {
        Map<?, ?> ddim = (Map<?, ?>) Golden.manifest().get("ddim");
        double[] want = Npy.read(Golden.dir().resolve((String) ddim.get("alphas_cumprod"))).values();
        double[] got = DdimScheduler.stableDiffusion().alphasCumprod();
        assertEquals(want.length, got.length);
        for (int i = 0; i < got.length; i++) {
            assertEquals(want[i], got[i], 1e-15, "alphas_cumprod[" + i + "]");
        }
    }

    @Test
    void timestepsMatchDiffusersForEverySpacing() {
        Map<?, ?> lists = (Map<?, ?>) ((Map<?, ?>) Golden.manifest().get("ddim")).get("timesteps");
        assertTrue(lists.size() >= 3);
        for (Map.Entry<?, ?> e : lists.entrySet()) {
            String[] key = String.valueOf(e.getKey()).split("_");
            DdimScheduler s = DdimScheduler.builder()
                    .timestepSpacing(TimestepSpacing.valueOf(key[1].toUpperCase(Locale.ROOT))).build();
            int[] want = ((List<?>) e.getValue()).stream().mapToInt(o -> ((Double) o).intValue()).toArray();
            assertArrayEquals(want, s.timesteps(Integer.parseInt(key[0])), String.valueOf(e.getKey()));
        }
        // and independently of the golden files: 20 leading steps are 951, 901, ..., 1
        int[] leading = DdimScheduler.stableDiffusion().timesteps(20);
        assertEquals(951, leading[0]);
        assertEquals(1, leading[19]);
    }

    @Test
    void finalAlpha() {
        DdimScheduler s = DdimScheduler.stableDiffusion();
        assertEquals(s.alphaCumprod(0), s.alphaCumprod(-1));
        assertEquals(1.0, s.toBuilder().setAlphaToOne(true).build().alphaCumprod(-49));
        assertThrows(IllegalArgumentException.class, () -> s.alphaCumprod(1000));
        assertThrows(IllegalArgumentException.class, () -> s.timesteps(0));
        assertThrows(IllegalArgumentException.class, () -> DdimScheduler.builder().betas(0.02, 0.01));
    }

    @Test
    void noiseStreamIsDefinedBySeedAlone() {
        int n = 10_001;
        float[] whole;
        try (Inkwell one = Inkwell.builder().threads(1).build(); Tensor t = Tensor.allocate(n)) {
            one.randn(t, 1234);
            whole = t.toArray();
        }
        try (Inkwell many = Inkwell.builder().threads(4).build()) {
            try (Tensor t = Tensor.allocate(n)) {
                many.randn(t, 1234);
                assertArrayEquals(whole, t.toArray(), "thread count changes the stream");
            }
            // any split of the stream gives the same numbers
            for (int offset : new int[] {1, 2, 3, 4, 5, 777}) {
                try (Tensor part = Tensor.allocate(n - offset)) {
                    many.randn(part, 1234, offset);
                    assertArrayEquals(java.util.Arrays.copyOfRange(whole, offset, n), part.toArray(), "offset " + offset);
                }
            }
            try (Tensor other = Tensor.allocate(n)) {
                many.randn(other, 1235);
                assertTrue(!java.util.Arrays.equals(whole, other.toArray()), "another seed, other numbers");
            }
        }
        double mean = 0, var = 0;
        for (float v : whole) {
            mean += v;
        }
        mean /= n;
        for (float v : whole) {
            var += (v - mean) * (v - mean);
        }
        var /= n;
        assertEquals(0, mean, 0.05, "mean");
        assertEquals(1, var, 0.05, "variance");
    }

    @Test
    void samplerLoopEqualsStepsByHand() {
        Random rnd = new Random(8);
        float[] xT = Tolerance.random(rnd, 2 * 3 * 4 * 4, 1);
        DdimScheduler s = DdimScheduler.stableDiffusion();
        DdimSampler.GuidedModel model = (x, t, cond, uncond) -> {
            float[] v = x.toArray(), u = new float[v.length], c = new float[v.length];
            for (int i = 0; i < v.length; i++) {
                u[i] = (float) (Math.tanh(0.5 * v[i]) * t / 1000.0);
                c[i] = (float) (u[i] + 0.1 * Math.cos(v[i]));
            }
            uncond.copyFrom(u);
            cond.copyFrom(c);
        };
        int[] progress = {0};
        try (Inkwell inkwell = Inkwell.create(); Tensor x = Tensor.fromArray(xT, 2, 3, 4, 4)) {
            try (Tensor viaSampler = new DdimSampler(inkwell, s).sample(x, 5, 7.5, 0.5, 99, model,
                    (step, steps, t) -> progress[0] = step)) {
                assertEquals(5, progress[0]);
                // the same loop by hand
                int[] ts = s.timesteps(5);
                float[] cur = xT;
                try (Tensor a = Tensor.fromArray(xT, 2, 3, 4, 4); Tensor b = Tensor.allocate(2, 3, 4, 4);
                        Tensor cond = Tensor.allocate(2, 3, 4, 4); Tensor uncond = Tensor.allocate(2, 3, 4, 4);
                        Tensor noise = Tensor.allocate(2, 3, 4, 4)) {
                    for (int i = 0; i < ts.length; i++) {
                        a.copyFrom(cur);
                        model.predict(a, ts[i], cond, uncond);
                        inkwell.randn(noise, 99, (long) i * a.elementCount());
                        inkwell.ddimStepGuided(s, ts[i], i + 1 < ts.length ? ts[i + 1] : -1, a, cond, uncond, 7.5, 0.5, noise, b, null);
                        cur = b.toArray();
                    }
                }
                assertArrayEquals(cur, viaSampler.toArray());
            }
        }
    }
}
