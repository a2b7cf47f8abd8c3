package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

/** Elementwise |got - want| &lt;= atol + rtol |want|, listing the first ten misses. */
final class Tolerance {
    private Tolerance() {}

    static void assertClose(float[] want, float[] got, double atol, double rtol, String what) {
        assertEquals(want.length, got.length, what + ": element count");
        List<String> bad = new ArrayList<>();
        int misses = 0;
        for (int i = 0; i < want.length; i++) {
            double err = Math.abs((double) got[i] - want[i]);
            if (!(err <= atol + rtol * Math.abs(want[i]))) {
                misses++;
                if (bad.size() < 10) {
                    bad.add("[" + i + "] want " + want[i] + " got " + got[i]);
                }
            }
        }
        assertTrue(misses == 0, what + ": " + misses + " of " + want.length + " out of tolerance, first: " + bad);
    }

    static float[] random(java.util.Random rnd, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (rnd.nextGaussian() * scale);
        }
        return a;
    }
}
