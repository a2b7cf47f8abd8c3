package dev.inkwell.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * ModelBlocks runs the model's own blocks on weights it can hand out: the ResnetBlock2D
 * against a plain Java reference on those weights, the transformer block's state dict and
 * determinism, and its errors.
 */
class ModelBlocksTest {
    private static float[] gaussian(Random rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rnd.nextGaussian();
        }
        return a;
    }

    @Test
    void resnetBlockMatchesAPlainReferenceOnItsStateDict() {
        int n = 2, c = 8, hw = 5, temb = 6, groups = 4;
        Random rnd = new Random(3);
        float[] x = gaussian(rnd, n * c * hw * hw), t = gaussian(rnd, n * temb);
        try (Inkwell ctx = Inkwell.create();
                ModelBlocks block = ModelBlocks.resnetBlock2D(ctx, 7, c, c, temb, groups, 1e-5);
                Tensor xt = Tensor.fromArray(x, n, c, hw, hw);
                Tensor tt = Tensor.fromArray(t, n, temb);
                Tensor y = block.forward(xt, tt)) {
            Map<String, float[]> w = block.stateDict();
            assertEquals(List.of("norm1.weight", "norm1.bias", "conv1.weight", "conv1.bias", "norm2.weight", "norm2.bias",
                    "conv2.weight", "conv2.bias", "time_emb_proj.weight", "time_emb_proj.bias"), List.copyOf(w.keySet()));
            double[] h = conv3(silu(groupNorm(toDouble(x), n, c, hw, groups, w.get("norm1.weight"), w.get("norm1.bias"))),
                    n, c, hw, w.get("conv1.weight"), w.get("conv1.bias"));
            for (int b = 0; b < n; b++) {
                for (int o = 0; o < c; o++) {
                    double p = w.get("time_emb_proj.bias")[o];
                    for (int i = 0; i < temb; i++) {
                        double v = t[b * temb + i];
                        p += w.get("time_emb_proj.weight")[o * temb + i] * v / (1 + Math.exp(-v));
                    }
                    for (int s = 0; s < hw * hw; s++) {
                        h[(b * c + o) * hw * hw + s] += p;
                    }
                }
            }
            double[] out = conv3(silu(groupNorm(h, n, c, hw, groups, w.get("norm2.weight"), w.get("norm2.bias"))), n, c,
                    hw, w.get("conv2.weight"), w.get("conv2.bias"));
            float[] got = y.toArray();
            assertArrayEquals(new long[] {n, c, hw, hw}, y.shape());
            for (int i = 0; i < out.length; i++) {
                assertEquals(out[i] + x[i], got[i], 1e-4, "element " + i);
            }
        }
    }

    @Test
    void transformerBlockHasDiffusersStateDictAndIsDeterministic() {
        int heads = 2, dimHead = 4, dim = 8, cross = 6;
        Random rnd = new Random(5);
        float[] x = gaussian(rnd, 2 * 5 * dim), context = gaussian(rnd, 2 * 3 * cross);
        try (Inkwell ctx = Inkwell.create();
                ModelBlocks a = ModelBlocks.basicTransformerBlock(ctx, 9, heads, dimHead, cross);
                ModelBlocks b = ModelBlocks.basicTransformerBlock(ctx, 9, heads, dimHead, cross);
                ModelBlocks other = ModelBlocks.basicTransformerBlock(ctx, 10, heads, dimHead, cross);
                Tensor xt = Tensor.fromArray(x, 2, 5, dim);
                Tensor ct = Tensor.fromArray(context, 2, 3, cross);
                Tensor ya = a.forward(xt, ct);
                Tensor yb = b.forward(xt, ct);
                Tensor yo = other.forward(xt, ct)) {
            Map<String, float[]> w = a.stateDict();
            assertEquals(dim * cross, w.get("attn2.to_k.weight").length);
            assertEquals(2 * 4 * dim * dim, w.get("ff.net.0.proj.weight").length);
            assertEquals(dim * 4 * dim, w.get("ff.net.2.weight").length);
            assertFalse(w.containsKey("attn1.to_q.bias"), "diffusers' q, k, v have no bias");
            assertEquals(20, w.size(), w.keySet().toString()); // 3 norms x 2, 2 attentions x 5, ff x 4
            assertArrayEquals(new long[] {2, 5, dim}, ya.shape());
            assertArrayEquals(ya.toArray(), yb.toArray(), "same seed, same bits");
            assertFalse(Arrays.equals(ya.toArray(), yo.toArray()), "another seed, other weights");
        }
    }

    @Test
    void badArgumentsAndClosedBlocksAreRefused() {
        try (Inkwell ctx = Inkwell.create()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ModelBlocks.resnetBlock2D(ctx, 1, 10, 10, 4, 4, 1e-5));
            assertTrue(e.getMessage().contains("groups 4"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> ModelBlocks.basicTransformerBlock(ctx, 1, 0, 4, 4));
            assertThrows(NullPointerException.class, () -> ModelBlocks.resnetBlock2D(null, 1, 4, 4, 4, 2, 1e-5));
            ModelBlocks block = ModelBlocks.resnetBlock2D(ctx, 1, 4, 4, 4, 2, 1e-5);
            try (Tensor x = Tensor.allocate(1, 4, 2, 2); Tensor t = Tensor.allocate(1, 4)) {
                assertThrows(NullPointerException.class, () -> block.forward(x, null));
                block.close();
                block.close();
                assertThrows(IllegalStateException.class, () -> block.forward(x, t));
                assertThrows(IllegalStateException.class, block::stateDict);
            }
        }
    }

    private static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }

    private static double[] groupNorm(double[] x, int n, int c, int hw, int groups, float[] w, float[] b) {
        double[] y = new double[x.length];
        int per = c / groups * hw * hw;
        for (int g = 0; g < n * groups; g++) {
            double mean = 0, var = 0;
            for (int i = 0; i < per; i++) {
                mean += x[g * per + i];
            }
            mean /= per;
            for (int i = 0; i < per; i++) {
                var += (x[g * per + i] - mean) * (x[g * per + i] - mean);
            }
            var /= per;
            for (int i = 0; i < per; i++) {
                int ch = (g % groups) * (c / groups) + i / (hw * hw);
                y[g * per + i] = (x[g * per + i] - mean) / Math.sqrt(var + 1e-5) * w[ch] + b[ch];
            }
        }
        return y;
    }

    private static double[] silu(double[] x) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = x[i] / (1 + Math.exp(-x[i]));
        }
        return y;
    }

    /** 3x3, padding 1, c -> c channels. */
    private static double[] conv3(double[] x, int n, int c, int hw, float[] w, float[] bias) {
        double[] y = new double[x.length];
        for (int b = 0; b < n; b++) {
            for (int o = 0; o < c; o++) {
                for (int r = 0; r < hw; r++) {
                    for (int q = 0; q < hw; q++) {
                        double s = bias[o];
                        for (int i = 0; i < c; i++) {
                            for (int kr = 0; kr < 3; kr++) {
                                for (int kq = 0; kq < 3; kq++) {
                                    int rr = r + kr - 1, qq = q + kq - 1;
                                    if (rr >= 0 && rr < hw && qq >= 0 && qq < hw) {
                                        s += w[((o * c + i) * 3 + kr) * 3 + kq] * x[((b * c + i) * hw + rr) * hw + qq];
                                    }
                                }
                            }
                        }
                        y[((b * c + o) * hw + r) * hw + q] = s;
                    }
                }
            }
        }
        return y;
    }
}
