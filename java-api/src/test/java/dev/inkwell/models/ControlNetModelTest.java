package dev.inkwell.models;

import static dev.inkwell.models.UNetGolden.assertClose;
import static dev.inkwell.models.UNetGolden.atol;
import static dev.inkwell.models.UNetGolden.modelsDir;
import static dev.inkwell.models.UNetGolden.npy;
import static dev.inkwell.models.UNetGolden.npys;
import static dev.inkwell.models.UNetGolden.rtol;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.Inkwell;
import dev.inkwell.LiveMemory;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ControlNetModel against diffusers' float64 outputs (golden/models, controlnet cases: every
 * down residual and the mid residual), float16-stored weights, ControlNet + U-Net chained, guess
 * mode, global pooling and BGR order against their definitions, hostile configs, missing and
 * misshaped weights, bad inputs and leaks.
 */
class ControlNetModelTest {
    private static Inkwell inkwell;

    @BeforeAll
    static void open() {
        inkwell = Inkwell.create();
    }

    @AfterAll
    static void close() {
        inkwell.close();
    }

    private static ControlNetModel.Output run(ControlNetModel cn, Map<?, ?> c, double scale, boolean guess)
            throws IOException {
        try (Tensor sample = npy(c, "sample"); Tensor ehs = npy(c, "encoder_hidden_states");
                Tensor cond = npy(c, "controlnet_cond")) {
            return cn.forward(sample, (Double) c.get("timestep"), ehs, cond, scale, guess);
        }
    }

    private static ControlNetModel.Output run(ControlNetModel cn, Map<?, ?> c) throws IOException {
        return run(cn, c, (Double) c.get("conditioning_scale"), (Boolean) c.get("guess_mode"));
    }

    private static void assertGolden(String what, ControlNetModel.Output got, Map<?, ?> c, double atol, double rtol)
            throws IOException {
        List<Tensor> want = npys(c, "down_block_res_samples");
        try (Tensor mid = npy(c, "mid_block_res_sample")) {
            assertEquals(want.size(), got.downBlockResSamples().size(), what + ": down residual count");
            for (int i = 0; i < want.size(); i++) {
                assertClose(what + " down " + i, got.downBlockResSamples().get(i), want.get(i), atol, rtol);
            }
            assertClose(what + " mid", got.midBlockResSample(), mid, atol, rtol);
        } finally {
            want.forEach(Tensor::close);
        }
    }

    // ---- golden -------------------------------------------------------------------------

    @Test
    void goldenResiduals() throws IOException {
        try (ControlNetModel cn = ControlNetModel.load(modelsDir().resolve("controlnet"), inkwell)) {
            for (Map.Entry<String, Map<?, ?>> e : UNetGolden.cases("controlnet").entrySet()) {
                Map<?, ?> c = e.getValue();
                try (ControlNetModel.Output got = run(cn, c)) {
                    assertGolden("controlnet " + e.getKey(), got, c, atol(c), rtol(c));
                }
            }
        }
    }

    /**
     * Float16 weights round each weight by up to 2^-11 = 4.9e-4 relative; through about 30 layers
     * (group and layer norms renormalising in between) that moves each residual by a small
     * fraction of its own magnitude. The golden ControlNet's zero convolutions are random, so
     * its residuals reach |x| = 16 (the U-Net's output stays near 1): the bound is relative to
     * each residual's largest magnitude, max |err| &lt;= 5e-3 * max |want|. Measured (printed)
     * 1.23e-3 and 1.26e-3 on the golden cases (a margin of 4x); a wrong block moves a residual by tens of percent.
     */
    static final double F16_RELATIVE = 5e-3;

    @Test
    void goldenWithFloat16Weights(@TempDir Path tmp) throws IOException {
        try (ControlNetModel cn = ControlNetModel.load(UNetGolden.float16Copy("controlnet", tmp), inkwell)) {
            for (Map.Entry<String, Map<?, ?>> e : UNetGolden.cases("controlnet").entrySet()) {
                Map<?, ?> c = e.getValue();
                List<Tensor> want = npys(c, "down_block_res_samples");
                try (ControlNetModel.Output got = run(cn, c); Tensor mid = npy(c, "mid_block_res_sample")) {
                    double worst = 0;
                    for (int i = 0; i <= want.size(); i++) {
                        Tensor w = i < want.size() ? want.get(i) : mid;
                        Tensor g = i < want.size() ? got.downBlockResSamples().get(i) : got.midBlockResSample();
                        float[] wv = w.toArray(), gv = g.toArray();
                        double maxWant = 0, maxErr = 0;
                        for (int j = 0; j < wv.length; j++) {
                            maxWant = Math.max(maxWant, Math.abs(wv[j]));
                            double err = Math.abs((double) gv[j] - wv[j]);
                            maxErr = Math.max(maxErr, Double.isNaN(err) ? Double.POSITIVE_INFINITY : err);
                        }
                        worst = Math.max(worst, maxErr / maxWant);
                        assertTrue(maxErr <= F16_RELATIVE * maxWant, "residual " + i + ": max |err| " + maxErr
                                + " over " + F16_RELATIVE + " x max |want| " + maxWant);
                    }
                    System.out.printf("controlnet %s, float16 weights: worst max |err| / max |want| %.3g%n",
                            e.getKey(), worst);
                } finally {
                    want.forEach(Tensor::close);
                }
            }
        }
    }

    /** The pipeline's use: our ControlNet's residuals into our U-Net give the golden U-Net output. */
    @Test
    void controlNetIntoUNetGivesTheGoldenPrediction() throws IOException {
        Map<String, Map<?, ?>> unetCases = UNetGolden.cases("unet");
        try (ControlNetModel cn = ControlNetModel.load(modelsDir().resolve("controlnet"), inkwell);
                UNet2DConditionModel unet = UNet2DConditionModel.load(modelsDir().resolve("unet"), inkwell)) {
            for (Map.Entry<String, Map<?, ?>> e : UNetGolden.cases("controlnet").entrySet()) {
                Map<?, ?> c = e.getValue(), u = unetCases.get(e.getKey());
                try (ControlNetModel.Output control = run(cn, c); Tensor sample = npy(c, "sample");
                        Tensor ehs = npy(c, "encoder_hidden_states");
                        Tensor got = unet.forward(sample, (Double) c.get("timestep"), ehs,
                                control.downBlockResSamples(), control.midBlockResSample());
                        Tensor want = npy(u, "expected")) {
                    // the residuals' own error (up to the controlnet tolerance) passes through the up path
                    assertClose("controlnet -> unet " + e.getKey(), got, want, atol(u) + atol(c), rtol(u));
                }
            }
        }
    }

    // ---- guess mode, global pooling, channel order --------------------------------------

    @Test
    void guessModeScalesByLogspace() throws IOException {
        Map<?, ?> c = UNetGolden.cases("controlnet").values().iterator().next();
        double scale = 0.75;
        try (ControlNetModel cn = ControlNetModel.load(modelsDir().resolve("controlnet"), inkwell);
                ControlNetModel.Output plain = run(cn, c, 1.0, false);
                ControlNetModel.Output guess = run(cn, c, scale, true)) {
            int n = plain.downBlockResSamples().size();
            float[] s = ControlNetModel.scales(n, scale, true);
            for (int i = 0; i <= n; i++) {
                double want = Math.pow(10, -1 + (double) i / n) * scale; // torch.logspace(-1, 0, n + 1) * scale
                assertEquals(want, s[i], 2e-7 * want, "scale " + i);
                float[] p = (i < n ? plain.downBlockResSamples().get(i) : plain.midBlockResSample()).toArray();
                float[] g = (i < n ? guess.downBlockResSamples().get(i) : guess.midBlockResSample()).toArray();
                for (int j = 0; j < p.length; j++) {
                    assertEquals(p[j] * s[i], g[j], "residual " + i + " element " + j + ": x * scale, one rounding");
                }
            }
        }
    }

    private static Path configVariant(Path tmp, String from, String to) throws IOException {
        Path src = modelsDir().resolve("controlnet");
        String json = Files.readString(src.resolve("config.json"));
        assertTrue(json.contains(from), from);
        Path dir = Files.createDirectories(tmp.resolve("variant"));
        Files.writeString(dir.resolve("config.json"), json.replace(from, to));
        Files.copy(src.resolve("diffusion_pytorch_model.safetensors"),
                dir.resolve("diffusion_pytorch_model.safetensors"));
        return dir;
    }

    @Test
    void globalPoolConditionsAverageOverSpaceAndIgnoreGuessMode(@TempDir Path tmp) throws IOException {
        Map<?, ?> c = UNetGolden.cases("controlnet").values().iterator().next();
        Path dir = configVariant(tmp, "\"global_pool_conditions\": false", "\"global_pool_conditions\": true");
        try (ControlNetModel cn = ControlNetModel.load(modelsDir().resolve("controlnet"), inkwell);
                ControlNetModel pooled = ControlNetModel.load(dir, inkwell);
                ControlNetModel.Output plain = run(cn, c, 0.5, false);
                ControlNetModel.Output got = run(pooled, c, 0.5, true)) {
            for (int i = 0; i <= plain.downBlockResSamples().size(); i++) {
                boolean isMid = i == plain.downBlockResSamples().size();
                Tensor p = isMid ? plain.midBlockResSample() : plain.downBlockResSamples().get(i);
                Tensor g = isMid ? got.midBlockResSample() : got.downBlockResSamples().get(i);
                assertArrayEquals(new long[] {p.dim(0), p.dim(1), 1, 1}, g.shape());
                float[] pv = p.toArray(), gv = g.toArray();
                int plane = (int) (p.dim(2) * p.dim(3));
                for (int k = 0; k < gv.length; k++) {
                    double sum = 0;
                    for (int j = 0; j < plane; j++) {
                        sum += pv[k * plane + j];
                    }
                    assertEquals(sum / plane, gv[k], 1e-6 + 1e-6 * Math.abs(sum / plane), "residual " + i);
                }
            }
        }
    }

    @Test
    void bgrOrderFlipsTheControlImage(@TempDir Path tmp) throws IOException {
        Map<?, ?> c = UNetGolden.cases("controlnet").values().iterator().next();
        Path dir = configVariant(tmp, "\"controlnet_conditioning_channel_order\": \"rgb\"",
                "\"controlnet_conditioning_channel_order\": \"bgr\"");
        try (ControlNetModel bgr = ControlNetModel.load(dir, inkwell); Tensor cond = npy(c, "controlnet_cond");
                Tensor sample = npy(c, "sample"); Tensor ehs = npy(c, "encoder_hidden_states")) {
            long n = cond.dim(0), ch = cond.dim(1), plane = cond.dim(2) * cond.dim(3);
            float[] v = cond.toArray(), flipped = new float[v.length];
            for (int b = 0; b < n; b++) {
                for (int k = 0; k < ch; k++) {
                    System.arraycopy(v, (int) ((b * ch + k) * plane), flipped, (int) ((b * ch + ch - 1 - k) * plane),
                            (int) plane);
                }
            }
            try (Tensor swapped = Tensor.fromArray(flipped, cond.shape());
                    ControlNetModel.Output got = bgr.forward(sample, (Double) c.get("timestep"), ehs, swapped,
                            (Double) c.get("conditioning_scale"), false)) {
                assertGolden("controlnet bgr", got, c, atol(c), rtol(c));
            }
        }
    }

    // ---- configs ------------------------------------------------------------------------

    @Test
    void readsTheGoldenConfig() throws IOException {
        ControlNetModelConfig c = ControlNetModelConfig.read(modelsDir().resolve("controlnet/config.json"));
        assertEquals(List.of(8, 16, 32, 64), c.conditioningEmbeddingOutChannels());
        assertEquals(List.of(2, 2, 2, 2), c.heads());
        assertNull(c.numAttentionHeads());
        assertEquals("rgb", c.controlnetConditioningChannelOrder());
        assertEquals(8, c.conditioningFactor());
    }

    @Test
    void hostileConfigsNameTheField(@TempDir Path tmp) throws IOException {
        String good = Files.readString(modelsDir().resolve("controlnet/config.json"));
        String[][] cases = {
            {"\"act_fn\": \"silu\"", "\"act_fn\": \"relu\"", "act_fn"},
            {"\"norm_eps\": 1e-05", "\"norm_eps\": NaN", "norm_eps"},
            {"\"controlnet_conditioning_channel_order\": \"rgb\"",
                "\"controlnet_conditioning_channel_order\": \"rbg\"", "controlnet_conditioning_channel_order"},
            {"\"global_pool_conditions\": false", "\"global_pool_conditions\": \"no\"", "global_pool_conditions"},
            {"\"conditioning_embedding_out_channels\": [\n    8,",
                "\"conditioning_embedding_out_channels\": [\n    -8,", "conditioning_embedding_out_channels"},
            {"\"num_attention_heads\": null", "\"num_attention_heads\": 3", "num_attention_heads"},
            {"\"num_attention_heads\": null", "\"num_attention_heads\": [2, 2]", "num_attention_heads"},
            {"\"class_embed_type\": null", "\"class_embed_type\": \"projection\"", "class_embed_type"},
            {"\"addition_embed_type\": null", "\"addition_embed_type\": \"text\"", "addition_embed_type"},
            {"\"encoder_hid_dim\": null", "\"encoder_hid_dim\": 8", "encoder_hid_dim"},
            {"\"only_cross_attention\": false", "\"only_cross_attention\": [true, false, false, false]",
                "only_cross_attention"},
            {"\"layers_per_block\": 2", "\"layers_per_block\": [2, 2, 2, 2]", "layers_per_block"},
            {"\"mid_block_scale_factor\": 1", "\"mid_block_scale_factor\": 0", "mid_block_scale_factor"},
            {"\"resnet_time_scale_shift\": \"default\"", "\"resnet_time_scale_shift\": \"spatial\"",
                "resnet_time_scale_shift"},
            {"\"in_channels\": 4", "\"in_channels\": 4, \"mid_block_type\": \"UNetMidBlock2D\"", "mid_block_type"},
            {"\"_class_name\": \"ControlNetModel\"", "\"_class_name\": \"UNet2DConditionModel\"", "_class_name"},
        };
        Path f = tmp.resolve("config.json");
        for (String[] c : cases) {
            String json = good.replace(c[0], c[1]);
            assertTrue(!json.equals(good), "replacement did not apply: " + c[0]);
            Files.writeString(f, json);
            IOException e = assertThrows(IOException.class, () -> ControlNetModelConfig.read(f), c[1]);
            assertTrue(e.getMessage().contains(c[2]) && e.getMessage().contains("config.json"),
                    c[1] + ": " + e.getMessage());
        }
        // num_attention_heads, when given, is the heads (diffusers' ControlNet supports it)
        Files.writeString(f, good.replace("\"num_attention_heads\": null", "\"num_attention_heads\": [4, 4, 8, 8]"));
        assertEquals(List.of(4, 4, 8, 8), ControlNetModelConfig.read(f).heads());
    }

    @Test
    void missingOrMisshapedWeightNamesTheTensor() throws IOException {
        Path src = modelsDir().resolve("controlnet");
        ControlNetModelConfig c = ControlNetModelConfig.read(src.resolve("config.json"));
        ControlNetModelConfig fourChannels = new ControlNetModelConfig(4, 4, c.blockOutChannels(), c.downBlockTypes(),
                2, c.transformerLayersPerBlock(), c.attentionHeadDim(), null, 32, 8, 1e-5, "silu", true, 0, 1, 1, false,
                false, "default", c.conditioningEmbeddingOutChannels(), "rgb", false);
        ControlNetModelConfig deeperEmbedding = new ControlNetModelConfig(4, 3, c.blockOutChannels(),
                c.downBlockTypes(), 2, c.transformerLayersPerBlock(), c.attentionHeadDim(), null, 32, 8, 1e-5, "silu",
                true, 0, 1, 1, false, false, "default", List.of(8, 16, 32, 64, 64), "rgb", false);
        long before = LiveMemory.ownedBytes();
        try (SafeTensors st = SafeTensors.open(src)) {
            IOException shape = assertThrows(IOException.class, () -> ControlNetModel.load(fourChannels, st, inkwell));
            assertTrue(shape.getMessage().contains("controlnet_cond_embedding.conv_in.weight"), shape.getMessage());
            IOException missing = assertThrows(IOException.class,
                    () -> ControlNetModel.load(deeperEmbedding, st, inkwell));
            assertTrue(missing.getMessage().contains("controlnet_cond_embedding.blocks.6.weight"),
                    missing.getMessage());
        }
        assertEquals(before, LiveMemory.ownedBytes(), "a failed load frees what it loaded");
    }

    // ---- inputs, closing, leaks ---------------------------------------------------------

    @Test
    void refusesBadInputsNamingThem() throws IOException {
        try (ControlNetModel cn = ControlNetModel.load(modelsDir().resolve("controlnet"), inkwell);
                Tensor sample = Tensor.allocate(2, 4, 16, 16);
                Tensor ehs = Tensor.allocate(2, 5, 32);
                Tensor cond = Tensor.allocate(2, 3, 128, 128)) {
            IllegalArgumentException e;
            try (Tensor small = Tensor.allocate(2, 3, 64, 64)) {
                e = assertThrows(IllegalArgumentException.class, () -> cn.forward(sample, 1, ehs, small, 1, false));
                assertTrue(e.getMessage().contains("controlnetCond") && e.getMessage().contains("128, 128"),
                        e.getMessage());
            }
            try (Tensor gray = Tensor.allocate(2, 1, 128, 128)) {
                e = assertThrows(IllegalArgumentException.class, () -> cn.forward(sample, 1, ehs, gray, 1, false));
                assertTrue(e.getMessage().contains("conditioning_channels"), e.getMessage());
            }
            try (Tensor s = Tensor.allocate(2, 4, 16)) {
                e = assertThrows(IllegalArgumentException.class, () -> cn.forward(s, 1, ehs, cond, 1, false));
                assertTrue(e.getMessage().contains("sample"), e.getMessage());
            }
            e = assertThrows(IllegalArgumentException.class, () -> cn.forward(sample, 1, ehs, cond, Double.NaN, false));
            assertTrue(e.getMessage().contains("conditioningScale"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> cn.forward(sample, Double.POSITIVE_INFINITY, ehs, cond, 1, false));
            assertTrue(e.getMessage().contains("timestep"), e.getMessage());
            assertThrows(NullPointerException.class, () -> cn.forward(sample, 1, ehs, null, 1, false));
            // a control image whose embedding still lands on the latents' size is accepted, as in diffusers,
            // and latents of any size (no upsampling here): 9 -> 5 -> 3 -> 2 with padding 1
            try (Tensor odd = Tensor.allocate(2, 3, 127, 121);
                    ControlNetModel.Output out = cn.forward(sample, 1, ehs, odd, 1, false)) {
                assertEquals(12, out.downBlockResSamples().size());
            }
            try (Tensor s9 = Tensor.allocate(2, 4, 9, 9); Tensor c72 = Tensor.allocate(2, 3, 72, 72);
                    ControlNetModel.Output out = cn.forward(s9, 1, ehs, c72, 1, false)) {
                assertArrayEquals(new long[] {2, 64, 2, 2}, out.midBlockResSample().shape());
                assertArrayEquals(new long[] {2, 32, 5, 5}, out.downBlockResSamples().get(3).shape());
            }
            cn.close();
            assertThrows(IllegalStateException.class, () -> cn.forward(sample, 1, ehs, cond, 1, false));
        }
    }

    /**
     * The documented thread-safety: one model used by several threads at once gives each the
     * same bits as a lone call, and the bits do not depend on the context's thread count.
     */
    @Test
    void sameBitsFromConcurrentCallsAndAnyThreadCount() throws Exception {
        Map<?, ?> c = UNetGolden.cases("controlnet").values().iterator().next();
        Path cnDir = modelsDir().resolve("controlnet"), unetDir = modelsDir().resolve("unet");
        float[] reference;
        try (Inkwell one = Inkwell.builder().threads(1).build();
                ControlNetModel cn = ControlNetModel.load(cnDir, one);
                UNet2DConditionModel unet = UNet2DConditionModel.load(unetDir, one)) {
            reference = chained(cn, unet, c);
        }
        try (Inkwell three = Inkwell.builder().threads(3).build();
                ControlNetModel cn = ControlNetModel.load(cnDir, three);
                UNet2DConditionModel unet = UNet2DConditionModel.load(unetDir, three)) {
            org.junit.jupiter.api.Assertions.assertArrayEquals(reference, chained(cn, unet, c), "3 threads vs 1");
            try (var pool = java.util.concurrent.Executors.newFixedThreadPool(4)) {
                List<java.util.concurrent.Future<float[]>> results = new java.util.ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    results.add(pool.submit(() -> chained(cn, unet, c)));
                }
                for (var r : results) {
                    org.junit.jupiter.api.Assertions.assertArrayEquals(reference, r.get(), "concurrent call");
                }
            }
        }
    }

    /** The ControlNet's residuals into the U-Net, the prediction as floats. */
    private static float[] chained(ControlNetModel cn, UNet2DConditionModel unet, Map<?, ?> c) throws IOException {
        try (ControlNetModel.Output control = run(cn, c); Tensor sample = npy(c, "sample");
                Tensor ehs = npy(c, "encoder_hidden_states");
                Tensor out = unet.forward(sample, (Double) c.get("timestep"), ehs, control.downBlockResSamples(),
                        control.midBlockResSample())) {
            return out.toArray();
        }
    }

    @Test
    void freesEverythingItAllocates() throws IOException {
        Map<?, ?> c = UNetGolden.cases("controlnet").values().iterator().next();
        long before = LiveMemory.ownedBytes();
        try (ControlNetModel cn = ControlNetModel.load(modelsDir().resolve("controlnet"), inkwell)) {
            long loaded = LiveMemory.ownedBytes();
            long outputBytes;
            try (ControlNetModel.Output out = run(cn, c)) {
                outputBytes = out.midBlockResSample().elementCount() * 4;
                for (Tensor t : out.downBlockResSamples()) {
                    outputBytes += t.elementCount() * 4;
                }
                assertEquals(outputBytes, LiveMemory.ownedBytes() - loaded, "only the residuals remain");
            }
            assertEquals(loaded, LiveMemory.ownedBytes(), "forward leaves nothing behind");
        }
        assertEquals(before, LiveMemory.ownedBytes(), "close frees the weights");
    }
}
