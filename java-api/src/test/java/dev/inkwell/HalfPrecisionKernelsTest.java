package dev.inkwell;

import static dev.inkwell.Tolerance.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * conv2d and attention on float16 and bfloat16 tensors (CPU context). Two checks per case:
 * <ul>
 *   <li>the documented CPU semantics, bit for bit: the result equals the float32 kernel run
 *       on the widened inputs, each output rounded once to the type;</li>
 *   <li>against the plain Java reference (double sums) on the same widened inputs, rounded to
 *       the type: within one unit in the last place of the type at the reference value, plus
 *       the float32 kernel's own error bound (the one TensorKernelsTest uses). One ulp, not
 *       half: the float32 result may sit on the other side of a rounding midpoint than the
 *       exact value, so the two roundings may pick neighbouring 16-bit values.</li>
 * </ul>
 * Also the element type rules: one type per call, float32 only for the other kernels.
 */
class HalfPrecisionKernelsTest {
    private static final ElementType[] HALF_TYPES = {ElementType.FLOAT16, ElementType.BFLOAT16};
    private static Inkwell inkwell;

    @BeforeAll
    static void open() {
        inkwell = Inkwell.builder().threads(3).build();
    }

    @AfterAll
    static void close() {
        inkwell.close();
    }

    /** Spacing of the type's values at |v| (subnormal spacing below the normal range). */
    static double ulp(ElementType type, double v) {
        double a = Math.max(Math.abs(v), type == ElementType.FLOAT16 ? 0x1p-14 : 0x1p-126);
        int exponent = Math.getExponent(a);
        return Math.scalb(1.0, exponent - (type == ElementType.FLOAT16 ? 10 : 7));
    }

    static float[] rounded(ElementType type, float[] values) {
        float[] r = new float[values.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = type.round(values[i]);
        }
        return r;
    }

    static void assertWithinUlp(ElementType type, float[] exact, float[] got, double atol, String what) {
        assertEquals(exact.length, got.length, what);
        List<String> bad = new ArrayList<>();
        int misses = 0;
        for (int i = 0; i < exact.length; i++) {
            double err = Math.abs((double) got[i] - type.round(exact[i]));
            if (!(err <= ulp(type, exact[i]) + atol)) {
                misses++;
                if (bad.size() < 8) {
                    bad.add("[" + i + "] reference " + exact[i] + " got " + got[i]);
                }
            }
        }
        assertTrue(misses == 0, what + ": " + misses + " of " + exact.length + " beyond 1 ulp, first: " + bad);
    }

    private static void conv2dCase(Random rnd, ElementType type, int n, int c, int h, int w, int cout, int k,
            Conv2dOptions o, boolean bias) {
        long[] xs = {n, c, h, w}, ws = {cout, c / o.groups(), k, k};
        float[] x = rounded(type, random(rnd, n * c * h * w, 1));
        float[] wt = rounded(type, random(rnd, cout * (c / o.groups()) * k * k, 0.3));
        float[] b = bias ? rounded(type, random(rnd, cout, 1)) : null;
        String what = "conv2d " + type + " " + Arrays.toString(xs) + " " + Arrays.toString(ws) + " " + o;
        try (Tensor tx = Tensor.fromArray(x, type, xs); Tensor tw = Tensor.fromArray(wt, type, ws);
                Tensor tb = b == null ? null : Tensor.fromArray(b, type, cout);
                Tensor y = inkwell.conv2d(tx, tw, tb, o);
                Tensor fx = Tensor.fromArray(x, xs); Tensor fw = Tensor.fromArray(wt, ws);
                Tensor fb = b == null ? null : Tensor.fromArray(b, cout);
                Tensor fy = inkwell.conv2d(fx, fw, fb, o)) {
            assertEquals(type, y.elementType(), what);
            assertArrayEquals(rounded(type, fy.toArray()), y.toArray(), what + ": the float32 kernel, rounded once");
            double atol = 1e-5 * Math.sqrt((double) (c / o.groups()) * k * k);
            assertWithinUlp(type, TensorReference.conv2d(x, xs, wt, ws, b, o), y.toArray(), atol, what);
        }
    }

    @Test
    void conv2dOnSixteenBitTensors() {
        Random rnd = new Random(16);
        Conv2dOptions d = Conv2dOptions.defaults();
        for (ElementType type : HALF_TYPES) {
            conv2dCase(rnd, type, 1, 3, 9, 11, 5, 3, d.withPadding(1), true);
            conv2dCase(rnd, type, 2, 8, 7, 6, 8, 3, d.withPadding(1).withGroups(4), false);
            conv2dCase(rnd, type, 1, 6, 10, 10, 6, 3, d.withPadding(1).withGroups(6), true); // depthwise
            conv2dCase(rnd, type, 1, 5, 17, 13, 7, 3, d.withPadding(2).withDilation(2).withStride(2), true);
            conv2dCase(rnd, type, 1, 16, 8, 8, 24, 3, d.withPadding(1).withActivation(Activation.SILU), true);
            conv2dCase(rnd, type, 2, 33, 5, 4, 17, 1, d, true); // 1x1 "zero" convolution shape
        }
    }

    private static void attentionCase(Random rnd, ElementType type, int b, int h, int lq, int lk, int d,
            AttentionOptions o) {
        float[] q = rounded(type, random(rnd, b * h * lq * d, 1)), k = rounded(type, random(rnd, b * h * lk * d, 1));
        float[] v = rounded(type, random(rnd, b * h * lk * d, 1));
        String what = "attention " + type + " b" + b + " h" + h + " lq" + lq + " lk" + lk + " d" + d + " " + o;
        try (Tensor tq = Tensor.fromArray(q, type, b, h, lq, d); Tensor tk = Tensor.fromArray(k, type, b, h, lk, d);
                Tensor tv = Tensor.fromArray(v, type, b, h, lk, d); Tensor out = inkwell.attention(tq, tk, tv, o);
                Tensor fq = Tensor.fromArray(q, b, h, lq, d); Tensor fk = Tensor.fromArray(k, b, h, lk, d);
                Tensor fv = Tensor.fromArray(v, b, h, lk, d); Tensor fout = inkwell.attention(fq, fk, fv, o)) {
            assertEquals(type, out.elementType(), what);
            assertArrayEquals(rounded(type, fout.toArray()), out.toArray(), what + ": the float32 kernel, rounded once");
            float[] exact = TensorReference.attention(q, k, v, b, h, lq, lk, d, o.scaleFor(d), o.causal(), o.kvLens());
            assertWithinUlp(type, exact, out.toArray(), 2e-5, what);
        }
    }

    @Test
    void attentionOnSixteenBitTensors() {
        Random rnd = new Random(17);
        AttentionOptions d = AttentionOptions.defaults();
        for (ElementType type : HALF_TYPES) {
            for (int dim : new int[] {1, 40, 80, 160}) {
                attentionCase(rnd, type, 1, 2, 13, 21, dim, d);
            }
            attentionCase(rnd, type, 2, 2, 16, 77, 40, d.withKvLens(77, 9)); // cross-attention, text padding
            attentionCase(rnd, type, 1, 1, 24, 24, 64, d.withCausal(true));
        }
    }

    @Test
    void oneCallTakesOneElementType() {
        Conv2dOptions o = Conv2dOptions.defaults();
        try (Tensor x = Tensor.allocate(ElementType.FLOAT16, 1, 2, 4, 4); Tensor w = Tensor.allocate(ElementType.BFLOAT16, 3, 2, 1, 1);
                Tensor w16 = Tensor.allocate(ElementType.FLOAT16, 3, 2, 1, 1); Tensor b32 = Tensor.allocate(3);
                Tensor y32 = Tensor.allocate(1, 3, 4, 4)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> inkwell.conv2d(x, w, null, o));
            assertTrue(e.getMessage().contains("weight is BFLOAT16 but input is FLOAT16"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> inkwell.conv2d(x, w16, b32, o));
            assertTrue(e.getMessage().contains("bias is FLOAT32"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> inkwell.conv2d(x, w16, null, y32, o));
            assertTrue(e.getMessage().contains("output is FLOAT32"), e.getMessage());
        }
        try (Tensor q = Tensor.allocate(ElementType.BFLOAT16, 1, 1, 4, 8); Tensor k = Tensor.allocate(1, 1, 4, 8)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> inkwell.attention(q, k, k, AttentionOptions.defaults()));
            assertTrue(e.getMessage().contains("k is FLOAT32 but q is BFLOAT16"), e.getMessage());
        }
    }

    @Test
    void theOtherKernelsTakeFloat32Only() {
        try (Tensor h = Tensor.allocate(ElementType.FLOAT16, 1, 1, 4, 4); Tensor f = Tensor.allocate(1, 1, 4, 4)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> inkwell.randn(h, 1));
            assertTrue(e.getMessage().contains("randn: out is FLOAT16"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> inkwell.resample(h, ResampleMode.AVG_POOL_2X2));
            assertTrue(e.getMessage().contains("resample: input is FLOAT16"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> inkwell.copy(h, f));
            assertTrue(e.getMessage().contains("destination is FLOAT32 but source is FLOAT16"), e.getMessage());
            DdimScheduler scheduler = DdimScheduler.builder().build();
            try (Tensor out = Tensor.allocate(1, 1, 4, 4)) {
                e = assertThrows(IllegalArgumentException.class, () -> inkwell.addNoise(scheduler, h, f, 10, out));
                assertTrue(e.getMessage().contains("addNoise: original is FLOAT16"), e.getMessage());
            }
        }
    }

    @Test
    void copiesKeepTheElementType() {
        try (Tensor h = Tensor.fromArray(new float[] {1.5f, -2f, 0.1f}, ElementType.BFLOAT16, 3);
                Tensor onDevice = inkwell.copyToDevice(h); Tensor back = inkwell.copyToHost(onDevice)) {
            assertEquals(ElementType.BFLOAT16, onDevice.elementType());
            assertArrayEquals(h.toArray(), back.toArray());
        }
    }
}
