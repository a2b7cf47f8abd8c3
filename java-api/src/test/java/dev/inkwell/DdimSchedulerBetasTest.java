package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * trained_betas, rescale_betas_zero_snr and squaredcos_cap_v2 against values computed with
 * numpy (float64) from diffusers' v0.21.4 definitions ({@code DDIMScheduler.__init__},
 * {@code rescale_zero_terminal_snr}, {@code betas_for_alpha_bar}); the script:
 * <pre>
 * sl = np.linspace(0.00085**0.5, 0.012**0.5, 1000)**2
 * def rescale(b):
 *     s = np.sqrt(np.cumprod(1 - b)); s0, sT = s[0].copy(), s[-1].copy()
 *     s = (s - sT) * (s0 / (s0 - sT)); ab = s**2
 *     return 1 - np.concatenate([ab[0:1], ab[1:] / ab[:-1]])
 * f = lambda t: math.cos((t + 0.008) / 1.008 * math.pi / 2)**2
 * cos = lambda T: np.array([min(1 - f((i + 1) / T) / f(i / T), 0.999) for i in range(T)])
 * np.cumprod(1 - betas)[[...]]
 * </pre>
 */
class DdimSchedulerBetasTest {

    private static void check(DdimScheduler s, int[] at, double[] want) {
        double[] got = s.alphasCumprod();
        for (int i = 0; i < at.length; i++) {
            double tol = 1e-12 * Math.abs(want[i]) + 1e-18;
            assertEquals(want[i], got[at[i]], tol, "alphas_cumprod[" + at[i] + "] of " + s);
        }
    }

    @Test
    void rescaledScaledLinearMatchesNumpy() {
        DdimScheduler s = DdimScheduler.builder().rescaleBetasZeroSnr(true).build();
        check(s, new int[] {0, 1, 500, 998, 999},
                new double[] {0.99915, 0.9982334461401823, 0.24101878275731575, 1.967888056621292e-07, 0.0});
        assertEquals(0.0, s.alphaCumprod(999), "zero terminal SNR");
        // the first cumulative alpha is kept
        assertEquals(DdimScheduler.stableDiffusion().alphaCumprod(0), s.alphaCumprod(0), 1e-15);
    }

    @Test
    void squaredCosineMatchesNumpy() {
        DdimScheduler s = DdimScheduler.builder().betaSchedule(BetaSchedule.SQUAREDCOS_CAP_V2).build();
        check(s, new int[] {0, 1, 500, 998, 999}, new double[] {0.999958715775178, 0.9999125759273678,
            0.49228517244880304, 2.4287669070348544e-06, 2.4287669070348567e-09});
        DdimScheduler r = DdimScheduler.builder().betaSchedule(BetaSchedule.SQUAREDCOS_CAP_V2).trainTimesteps(50)
                .rescaleBetasZeroSnr(true).build();
        check(r, new int[] {0, 1, 25, 48, 49}, new double[] {0.9982524864661346, 0.9945663457595305,
            0.46227861092491523, 0.0009125398683928851, 0.0});
    }

    @Test
    void trainedBetasReplaceTheSchedule() {
        double[] betas = new double[10];
        for (int i = 0; i < 10; i++) {
            betas[i] = 0.001 + i * (0.3 - 0.001) / 9; // np.linspace(0.001, 0.3, 10)
        }
        betas[9] = 0.3;
        DdimScheduler s = DdimScheduler.builder().trainTimesteps(10).trainedBetas(betas).build();
        check(s, new int[] {0, 1, 5, 8, 9},
                new double[] {0.999, 0.964812, 0.5837122118042343, 0.2623155716189269, 0.1836209001332488});
        DdimScheduler r = s.toBuilder().rescaleBetasZeroSnr(true).build();
        check(r, new int[] {0, 1, 5, 8, 9},
                new double[] {0.9990000000000001, 0.9395459327207237, 0.3449015941662963, 0.021444595033843713, 0.0});
        // the beta schedule's start and end no longer matter
        assertEquals(s.alphaCumprod(5), s.toBuilder().betas(0.1, 0.2).build().alphaCumprod(5));
    }

    @Test
    void badTrainedBetasAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> DdimScheduler.builder().trainedBetas(new double[0]));
        IllegalArgumentException nan = assertThrows(IllegalArgumentException.class,
                () -> DdimScheduler.builder().trainedBetas(new double[] {0.1, Double.NaN}));
        assertTrue(nan.getMessage().contains("trained betas[1]"), nan.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DdimScheduler.builder().trainedBetas(new double[] {1.5}));
        IllegalArgumentException length = assertThrows(IllegalArgumentException.class,
                () -> DdimScheduler.builder().trainedBetas(new double[] {0.1, 0.2}).build());
        assertTrue(length.getMessage().contains("1000"), length.getMessage());
        // all-zero betas cannot be rescaled (sqrt(alphas_cumprod) does not fall)
        assertThrows(IllegalArgumentException.class, () -> DdimScheduler.builder().trainTimesteps(3)
                .trainedBetas(new double[] {0, 0, 0}).rescaleBetasZeroSnr(true).build());
    }
}
