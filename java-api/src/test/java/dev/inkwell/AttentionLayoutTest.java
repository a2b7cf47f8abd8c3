package dev.inkwell;

import static dev.inkwell.HalfPrecisionKernelsTest.rounded;
import static dev.inkwell.Tolerance.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Attention with {@link AttentionLayout#BLHD} tensors equals attention on the same values
 * permuted to BHLD, bit for bit (the layout changes where elements are, not how each output
 * is computed), in float32 and the 16-bit types; and the shape checks follow the layout.
 */
class AttentionLayoutTest {
    private static Inkwell inkwell;

    @BeforeAll
    static void open() {
        inkwell = Inkwell.builder().threads(3).build();
    }

    @AfterAll
    static void close() {
        inkwell.close();
    }

    /** [B, A, C, D] -> [B, C, A, D]: swaps dims 1 and 2 (BLHD <-> BHLD), in plain Java. */
    static float[] swapMiddle(float[] x, int b, int a, int c, int d) {
        float[] y = new float[x.length];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < a; j++) {
                for (int k = 0; k < c; k++) {
                    System.arraycopy(x, ((i * a + j) * c + k) * d, y, ((i * c + k) * a + j) * d, d);
                }
            }
        }
        return y;
    }

    private static void layoutCase(Random rnd, ElementType type, int b, int h, int lq, int lk, int d, AttentionOptions o) {
        // Values drawn in BLHD order; the BHLD tensors hold the same values permuted.
        float[] q = rounded(type, random(rnd, b * lq * h * d, 1)), k = rounded(type, random(rnd, b * lk * h * d, 1));
        float[] v = rounded(type, random(rnd, b * lk * h * d, 1));
        String what = "attention " + type + " b" + b + " h" + h + " lq" + lq + " lk" + lk + " d" + d + " " + o;
        try (Tensor q1 = Tensor.fromArray(q, type, b, lq, h, d); Tensor k1 = Tensor.fromArray(k, type, b, lk, h, d);
                Tensor v1 = Tensor.fromArray(v, type, b, lk, h, d);
                Tensor blhd = inkwell.attention(q1, k1, v1, o.withLayout(AttentionLayout.BLHD));
                Tensor q2 = Tensor.fromArray(swapMiddle(q, b, lq, h, d), type, b, h, lq, d);
                Tensor k2 = Tensor.fromArray(swapMiddle(k, b, lk, h, d), type, b, h, lk, d);
                Tensor v2 = Tensor.fromArray(swapMiddle(v, b, lk, h, d), type, b, h, lk, d);
                Tensor bhld = inkwell.attention(q2, k2, v2, o.withLayout(AttentionLayout.BHLD))) {
            assertArrayEquals(new long[] {b, lq, h, d}, blhd.shape(), what);
            assertEquals(type, blhd.elementType(), what);
            assertArrayEquals(swapMiddle(bhld.toArray(), b, h, lq, d), blhd.toArray(), what + ": BLHD equals BHLD permuted");
        }
    }

    @Test
    void blhdEqualsBhldOnPermutedCopies() {
        Random rnd = new Random(301);
        AttentionOptions d = AttentionOptions.defaults();
        for (ElementType type : ElementType.values()) {
            layoutCase(rnd, type, 1, 2, 19, 23, 40, d);
            layoutCase(rnd, type, 2, 8, 16, 77, 40, d.withKvLens(77, 9)); // cross-attention, text padding
            layoutCase(rnd, type, 1, 3, 33, 33, 64, d.withCausal(true));
            layoutCase(rnd, type, 2, 1, 7, 1, 1, d); // one head, one key, head size 1
            layoutCase(rnd, type, 1, 2, 5, 9, 160, d.withScale(0.3));
        }
    }

    @Test
    void aProjectionOutputViewedAsBlhd() {
        // diffusers: q = to_q(x) is [B, L, H * D]; view it as [B, L, H, D] and attend, no permute copy.
        Random rnd = new Random(302);
        int b = 2, l = 12, h = 4, dim = 16;
        float[] x = random(rnd, b * l * h * dim, 1);
        try (Tensor proj = Tensor.fromArray(x, b, l, h * dim); Tensor q = proj.view(b, l, h, dim);
                Tensor out = inkwell.attention(q, q, q, AttentionOptions.defaults().withLayout(AttentionLayout.BLHD));
                Tensor q2 = Tensor.fromArray(swapMiddle(x, b, l, h, dim), b, h, l, dim);
                Tensor ref = inkwell.attention(q2, q2, q2, AttentionOptions.defaults())) {
            assertArrayEquals(swapMiddle(ref.toArray(), b, h, l, dim), out.view(b, l, h * dim).view(-1).toArray());
        }
    }

    @Test
    void shapesAreCheckedPerLayout() {
        AttentionOptions blhd = AttentionOptions.defaults().withLayout(AttentionLayout.BLHD);
        try (Tensor q = Tensor.allocate(1, 5, 2, 8); Tensor k = Tensor.allocate(1, 7, 2, 8); Tensor k3 = Tensor.allocate(1, 7, 3, 8)) {
            // In BLHD, q [1, 5, 2, 8] and k [1, 7, 2, 8] agree (2 heads); in BHLD they do not.
            try (Tensor out = inkwell.attention(q, k, k, blhd)) {
                assertArrayEquals(new long[] {1, 5, 2, 8}, out.shape());
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> inkwell.attention(q, k, k, AttentionOptions.defaults()));
            assertTrue(e.getMessage().contains("does not match q's batch, heads and head_dim"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> inkwell.attention(q, k3, k3, blhd));
            assertTrue(e.getMessage().contains("k has shape [1, 7, 3, 8]") && e.getMessage().contains("BLHD"),
                    e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> inkwell.attention(q, k, k, blhd.withKvLens(8)));
            assertTrue(e.getMessage().contains("kv length 8 exceeds kv_len 7"), e.getMessage());
        }
        assertThrows(NullPointerException.class, () -> AttentionOptions.defaults().withLayout(null));
        assertEquals(AttentionLayout.BHLD, AttentionOptions.defaults().layout());
        assertEquals(AttentionOptions.defaults(), blhd.withLayout(AttentionLayout.BHLD));
        assertTrue(!AttentionOptions.defaults().equals(blhd) && blhd.toString().contains("layout=BLHD"));
    }
}
