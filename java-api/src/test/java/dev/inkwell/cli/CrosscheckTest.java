package dev.inkwell.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.AttentionOptions;
import dev.inkwell.ElementType;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * inkwell crosscheck on the CPU (the only device here): every case runs and matches bit for
 * bit across thread counts; with --bounds the cross-device bounds accept those results; and
 * the bound check itself refuses a result just outside the bound.
 */
class CrosscheckTest {
    private record Run(int status, String out, String err) {}

    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void everyCaseMatchesBitForBitAcrossThreadCounts() {
        Run r = run("crosscheck", "--threads", "3", "--seed", "7");
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().contains(" 0 failed"), r.out());
        for (String kernel : new String[] {"canny", "gaussian blur", "conv2d", "float16", "bfloat16", "attention", "ddim",
                "add noise", "randn", "resample", "psnr", "ssim"}) {
            assertTrue(r.out().contains("PASS  " + kernel) || r.out().contains(kernel), "no " + kernel + " case: " + r.out());
        }
        assertFalse(r.out().contains("FAIL"), r.out());
    }

    @Test
    void theCrossDeviceBoundsAcceptTheCpuResults() {
        Run r = run("crosscheck", "--bounds", "--filter", "16", "--threads", "2");
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().contains("worst |diff| / bound"), r.out());
    }

    @Test
    void theBoundRefusesAResultBeyondIt() {
        float[] want = {1.0f, -2.5f, 0.001f};
        double[] bound = {1e-3, 1e-3, 1e-3};
        float[] inside = {1.0f + 5e-4f, -2.5f, 0.001f};
        assertTrue(CrosscheckCases.bounded("x", ElementType.FLOAT32, want, inside, bound, 0).passed());
        float[] outside = {1.0f, -2.5f - 3e-3f, 0.001f};
        CrosscheckCases.Result r = CrosscheckCases.bounded("x", ElementType.FLOAT32, want, outside, bound, 0);
        assertFalse(r.passed(), r.detail());
        assertTrue(r.detail().contains("first [1]"), r.detail());
        // one float16 ulp at 1.0 (2^-10) is allowed on top of the bound, two are not
        float[] oneUlp = {1.0f + 0x1p-10f, -2.5f, 0.001f};
        double[] none = {0, 0, 0};
        assertTrue(CrosscheckCases.bounded("x", ElementType.FLOAT16, want, oneUlp, none, 0).passed());
        float[] twoUlps = {1.0f + 0x1p-9f, -2.5f, 0.001f};
        assertFalse(CrosscheckCases.bounded("x", ElementType.FLOAT16, want, twoUlps, none, 0).passed());
        float[] nan = {Float.NaN, -2.5f, 0.001f};
        assertFalse(CrosscheckCases.bounded("x", ElementType.FLOAT32, want, nan, bound, 0).passed(), "NaN never passes");
    }

    @Test
    void theAttentionBoundGrowsWithTheWeightRounding() {
        float[] q = {1, 0}, k = {0.5f, 0.5f, -1, 2}, v = {3, -1, 0.5f, 2}, weighted = {2, 1.5f};
        AttentionOptions o = AttentionOptions.defaults();
        double f32 = CrosscheckCases.attentionBound(q, k, v, weighted, 1, 1, 1, 2, 2, o, ElementType.FLOAT32)[0];
        double f16 = CrosscheckCases.attentionBound(q, k, v, weighted, 1, 1, 1, 2, 2, o, ElementType.FLOAT16)[0];
        double bf16 = CrosscheckCases.attentionBound(q, k, v, weighted, 1, 1, 1, 2, 2, o, ElementType.BFLOAT16)[0];
        assertTrue(f32 > 0 && f32 < 1e-4, "float32 bound " + f32);
        assertEquals(2 * 1.01 * 1.001 * (0x1p-11 - 0x1p-24), f16 - f32, 1e-12, "A times the float16 unit roundoff");
        assertEquals(2 * 1.01 * 1.001 * (0x1p-8 - 0x1p-24), bf16 - f32, 1e-12, "A times the bfloat16 unit roundoff");
    }

    @Test
    void theConv2dBoundCoversBothSummationOrders() {
        double[] b = CrosscheckCases.conv2dBound(new float[] {1f, 100f}, 2880, false);
        double gpu = 17 * 180 * 0x1p-23 + 0x1p-24, cpu = 2881 * 0x1p-24;
        assertEquals((gpu + cpu) * 1.001, b[0], 1e-15);
        assertEquals(100 * b[0], b[1], 1e-12);
        assertEquals(1.1 * b[0], CrosscheckCases.conv2dBound(new float[] {1f}, 2880, true)[0], 1e-15, "SiLU's slope");
    }

    @Test
    void anUnknownOptionIsAUsageError() {
        Run r = run("crosscheck", "--frobnicate");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--frobnicate"), r.err());
    }
}
