package dev.inkwell.models;

import static dev.inkwell.models.UNetGolden.assertClose;
import static dev.inkwell.models.UNetGolden.atol;
import static dev.inkwell.models.UNetGolden.modelsDir;
import static dev.inkwell.models.UNetGolden.npy;
import static dev.inkwell.models.UNetGolden.npys;
import static dev.inkwell.models.UNetGolden.rtol;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * UNet2DConditionModel against diffusers' float64 outputs (golden/models, unet cases: with the
 * ControlNet residuals and without), the same weights stored as float16, equivalent
 * configurations (Linear projections, per-block lists), hostile configs, missing and misshaped
 * weights, bad inputs and leaks.
 */
class UNet2DConditionModelTest {
    private static Inkwell inkwell;

    @BeforeAll
    static void open() {
        inkwell = Inkwell.create();
    }

    @AfterAll
    static void close() {
        inkwell.close();
    }

    /** Runs one golden case through a model: with the residuals, or without. */
    private static Tensor run(UNet2DConditionModel unet, Map<?, ?> c, boolean control) throws IOException {
        try (Tensor sample = npy(c, "sample"); Tensor ehs = npy(c, "encoder_hidden_states")) {
            double t = (Double) c.get("timestep");
            if (!control) {
                return unet.forward(sample, t, ehs);
            }
            List<Tensor> down = npys(c, "down_block_additional_residuals");
            try (Tensor mid = npy(c, "mid_block_additional_residual")) {
                return unet.forward(sample, t, ehs, down, mid);
            } finally {
                down.forEach(Tensor::close);
            }
        }
    }

    // ---- golden -------------------------------------------------------------------------

    @Test
    void goldenWithAndWithoutControlNetResiduals() throws IOException {
        try (UNet2DConditionModel unet = UNet2DConditionModel.load(modelsDir().resolve("unet"), inkwell)) {
            for (Map.Entry<String, Map<?, ?>> e : UNetGolden.cases("unet").entrySet()) {
                Map<?, ?> c = e.getValue();
                try (Tensor got = run(unet, c, true); Tensor want = npy(c, "expected")) {
                    assertClose("unet " + e.getKey(), got, want, atol(c), rtol(c));
                }
                try (Tensor got = run(unet, c, false); Tensor want = npy(c, "expected_without_control")) {
                    assertClose("unet " + e.getKey() + " without control", got, want, atol(c), rtol(c));
                }
            }
        }
    }

    /**
     * Rounding the weights to float16 (relative error up to 2^-11 = 4.9e-4 each) perturbs each
     * layer's output by about that fraction of its magnitude; the U-Net's ~50 layers (group and
     * layer norms renormalising in between) move the prediction, of magnitude ~1, by a few 1e-3 at
     * most. Bound 1e-2; measured max |err| 2.07e-3 and 2.86e-3 on the two golden cases (a margin
     * of 3.5x). A wrong block (missing resnet, wrong skip, wrong norm eps) moves it by order 0.1.
     */
    static final double F16_ATOL = 1e-2;

    @Test
    void goldenWithFloat16Weights(@TempDir Path tmp) throws IOException {
        // as diffusers publishes fp16 weights: the "fp16" variant's file name
        Path dir = UNetGolden.float16Copy("unet", tmp, "diffusion_pytorch_model.fp16.safetensors");
        try (UNet2DConditionModel unet = UNet2DConditionModel.load(dir, "fp16", inkwell)) {
            for (Map.Entry<String, Map<?, ?>> e : UNetGolden.cases("unet").entrySet()) {
                Map<?, ?> c = e.getValue();
                try (Tensor got = run(unet, c, true); Tensor want = npy(c, "expected")) {
                    assertClose("unet " + e.getKey() + ", float16 weights", got, want, F16_ATOL, 0);
                }
            }
        }
    }

    /**
     * use_linear_projection with proj_in/proj_out stored as Linear weights [out, in] is the same
     * network as the 1x1 convolutions [out, in, 1, 1]; per-block lists equal to the ints are the
     * same config. All must give the golden output.
     */
    @Test
    void equivalentConfigurationsGiveTheGoldenOutput(@TempDir Path tmp) throws IOException {
        Path src = modelsDir().resolve("unet");
        String json = Files.readString(src.resolve("config.json"));
        Path dir = Files.createDirectories(tmp.resolve("linear"));
        Files.writeString(dir.resolve("config.json"), json
                .replace("\"use_linear_projection\": false", "\"use_linear_projection\": true")
                .replace("\"attention_head_dim\": 2", "\"attention_head_dim\": [2, 2, 2, 2]")
                .replace("\"transformer_layers_per_block\": 1", "\"transformer_layers_per_block\": [1, 1, 1, 1]")
                .replace("\"layers_per_block\": 2", "\"layers_per_block\": [2, 2, 2, 2]")
                .replace("\"cross_attention_dim\": 32", "\"cross_attention_dim\": [32, 32, 32, 32]"));
        try (SafeTensors st = SafeTensors.open(src)) {
            SafeTensorsWriter w = new SafeTensorsWriter();
            for (String name : new java.util.TreeSet<>(st.names())) {
                long[] shape = st.info(name).shape();
                if (name.matches(".*\\.proj_(in|out)\\.weight")) {
                    shape = new long[] {shape[0], shape[1]};
                }
                w.f32(name, st.tensor(name).toArray(), shape);
            }
            w.write(dir.resolve("diffusion_pytorch_model.safetensors"));
        }
        UNet2DConditionModelConfig config = UNet2DConditionModelConfig.read(dir.resolve("config.json"));
        assertTrue(config.useLinearProjection());
        assertEquals(List.of(2, 2, 2, 2), config.layersPerBlock());
        Map<?, ?> c = UNetGolden.cases("unet").values().iterator().next();
        try (UNet2DConditionModel unet = UNet2DConditionModel.load(dir, inkwell);
                Tensor got = run(unet, c, true); Tensor want = npy(c, "expected")) {
            assertClose("unet, linear projections and per-block lists", got, want, atol(c), rtol(c));
        }
    }

    // ---- configs ------------------------------------------------------------------------

    @Test
    void readsTheGoldenConfig() throws IOException {
        UNet2DConditionModelConfig c = UNet2DConditionModelConfig.read(modelsDir().resolve("unet/config.json"));
        assertEquals(List.of(32, 32, 64, 64), c.blockOutChannels());
        assertEquals(List.of(2, 2, 2, 2), c.attentionHeadDim());
        assertEquals(32, c.crossAttentionDim());
        assertEquals(8, c.normNumGroups());
        assertEquals(1e-5, c.normEps());
        assertEquals(128, c.timeEmbedDim());
        assertEquals(8, c.downsampleFactor());
        assertNull(c.timeEmbeddingDim());
    }

    /** Each replacement in the golden config must be refused with the field named. */
    @Test
    void hostileConfigsNameTheField(@TempDir Path tmp) throws IOException {
        String good = Files.readString(modelsDir().resolve("unet/config.json"));
        String[][] cases = {
            {"\"act_fn\": \"silu\"", "\"act_fn\": \"gelu\"", "act_fn"},
            {"\"norm_eps\": 1e-05", "\"norm_eps\": NaN", "norm_eps"},
            {"\"norm_eps\": 1e-05", "\"norm_eps\": -1e-05", "norm_eps"},
            {"\"mid_block_scale_factor\": 1", "\"mid_block_scale_factor\": NaN", "mid_block_scale_factor"},
            {"\"mid_block_scale_factor\": 1", "\"mid_block_scale_factor\": -1", "mid_block_scale_factor"},
            {"\"freq_shift\": 0", "\"freq_shift\": Infinity", "freq_shift"},
            {"\"norm_num_groups\": 8", "\"norm_num_groups\": 3", "norm_num_groups"},
            {"\"layers_per_block\": 2", "\"layers_per_block\": 0", "layers_per_block"},
            {"\"layers_per_block\": 2", "\"layers_per_block\": [2, 2]", "layers_per_block"},
            {"\"attention_head_dim\": 2", "\"attention_head_dim\": 3", "attention_head_dim"},
            {"\"attention_head_dim\": 2", "\"attention_head_dim\": -2", "attention_head_dim"},
            {"\"attention_head_dim\": 2", "\"attention_head_dim\": 2.5", "attention_head_dim"},
            {"\"num_attention_heads\": null", "\"num_attention_heads\": 2", "num_attention_heads"},
            {"\"class_embed_type\": null", "\"class_embed_type\": \"timestep\"", "class_embed_type"},
            {"\"num_class_embeds\": null", "\"num_class_embeds\": 10", "num_class_embeds"},
            {"\"addition_embed_type\": null", "\"addition_embed_type\": \"text_time\"", "addition_embed_type"},
            {"\"encoder_hid_dim\": null", "\"encoder_hid_dim\": 64", "encoder_hid_dim"},
            {"\"time_cond_proj_dim\": null", "\"time_cond_proj_dim\": 256", "time_cond_proj_dim"},
            {"\"time_embedding_type\": \"positional\"", "\"time_embedding_type\": \"fourier\"",
                "time_embedding_type"},
            {"\"cross_attention_norm\": null", "\"cross_attention_norm\": \"group_norm\"", "cross_attention_norm"},
            {"\"dual_cross_attention\": false", "\"dual_cross_attention\": true", "dual_cross_attention"},
            {"\"only_cross_attention\": false", "\"only_cross_attention\": true", "only_cross_attention"},
            {"\"attention_type\": \"default\"", "\"attention_type\": \"gated\"", "attention_type"},
            {"\"conv_in_kernel\": 3", "\"conv_in_kernel\": 5", "conv_in_kernel"},
            {"\"resnet_time_scale_shift\": \"default\"", "\"resnet_time_scale_shift\": \"scale_shift\"",
                "resnet_time_scale_shift"},
            {"\"mid_block_type\": \"UNetMidBlock2DCrossAttn\"", "\"mid_block_type\": \"UNetMidBlock2DSimpleCrossAttn\"",
                "mid_block_type"},
            {"\"UpBlock2D\",", "\"AttnUpBlock2D\",", "up_block_types"},
            {"\"DownBlock2D\"\n", "\"KDownBlock2D\"\n", "down_block_types"},
            {"\"downsample_padding\": 1", "\"downsample_padding\": 2", "downsample_padding"},
            {"\"cross_attention_dim\": 32", "\"cross_attention_dim\": [32, 64, 32, 32]", "cross_attention_dim"},
            {"\"cross_attention_dim\": 32", "\"cross_attention_dim\": \"32\"", "cross_attention_dim"},
            {"\"in_channels\": 4", "\"in_channels\": 0", "in_channels"},
            {"\"in_channels\": 4", "\"in_channels\": 4, \"some_future_field\": 3", "some_future_field"},
            {"\"_class_name\": \"UNet2DConditionModel\"", "\"_class_name\": \"ControlNetModel\"", "_class_name"},
            {"\"block_out_channels\": [\n    32,", "\"block_out_channels\": [\n    -32,", "block_out_channels"},
        };
        Path f = tmp.resolve("config.json");
        for (String[] c : cases) {
            String json = good.replace(c[0], c[1]);
            assertTrue(!json.equals(good), "replacement did not apply: " + c[0]);
            Files.writeString(f, json);
            IOException e = assertThrows(IOException.class, () -> UNet2DConditionModelConfig.read(f), c[1]);
            assertTrue(e.getMessage().contains(c[2]) && e.getMessage().contains("config.json"),
                    c[1] + ": " + e.getMessage());
        }
        Files.writeString(f, "{\"act_fn\": ");
        IOException notJson = assertThrows(IOException.class, () -> UNet2DConditionModelConfig.read(f));
        assertTrue(notJson.getMessage().contains("not valid JSON"), notJson.getMessage());
        // an unknown field that is null or false changes nothing and is accepted
        Files.writeString(f, good.replace("\"in_channels\": 4", "\"in_channels\": 4, \"future_flag\": false"));
        assertEquals(4, UNet2DConditionModelConfig.read(f).inChannels());
    }

    @Test
    void missingOrMisshapedWeightNamesTheTensor() throws IOException {
        Path src = modelsDir().resolve("unet");
        UNet2DConditionModelConfig c = UNet2DConditionModelConfig.read(src.resolve("config.json"));
        UNet2DConditionModelConfig deeper = new UNet2DConditionModelConfig(4, 4, c.blockOutChannels(),
                c.downBlockTypes(), c.midBlockType(), c.upBlockTypes(), List.of(3, 2, 2, 2),
                c.transformerLayersPerBlock(), c.attentionHeadDim(), 32, 8, 1e-5, "silu", true, 0, 1, 1, false, false,
                "default", null);
        UNet2DConditionModelConfig wider = new UNet2DConditionModelConfig(4, 4, c.blockOutChannels(),
                c.downBlockTypes(), c.midBlockType(), c.upBlockTypes(), c.layersPerBlock(),
                c.transformerLayersPerBlock(), c.attentionHeadDim(), 48, 8, 1e-5, "silu", true, 0, 1, 1, false, false,
                "default", null);
        UNet2DConditionModelConfig linear = new UNet2DConditionModelConfig(4, 4, c.blockOutChannels(),
                c.downBlockTypes(), c.midBlockType(), c.upBlockTypes(), c.layersPerBlock(),
                c.transformerLayersPerBlock(), c.attentionHeadDim(), 32, 8, 1e-5, "silu", true, 0, 1, 1, true, false,
                "default", null);
        long before = LiveMemory.ownedBytes();
        try (SafeTensors st = SafeTensors.open(src)) {
            IOException missing = assertThrows(IOException.class, () -> UNet2DConditionModel.load(deeper, st,
                    inkwell));
            assertTrue(missing.getMessage().contains("down_blocks.0.resnets.2.norm1.weight"), missing.getMessage());
            IOException shape = assertThrows(IOException.class, () -> UNet2DConditionModel.load(wider, st, inkwell));
            assertTrue(shape.getMessage().contains("down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight"),
                    shape.getMessage());
            IOException proj = assertThrows(IOException.class, () -> UNet2DConditionModel.load(linear, st, inkwell));
            assertTrue(proj.getMessage().contains("down_blocks.0.attentions.0.proj_in.weight"), proj.getMessage());
        }
        assertEquals(before, LiveMemory.ownedBytes(), "a failed load frees what it loaded");
    }

    /** random(): every weight the loader asks for, deterministic per seed, outputs of a sane scale, freed on close. */
    @Test
    void randomWeightsMakeAWorkingModel() throws IOException {
        UNet2DConditionModelConfig config = UNet2DConditionModelConfig.read(modelsDir().resolve("unet/config.json"));
        Map<?, ?> c = UNetGolden.cases("unet").values().iterator().next();
        long before = LiveMemory.ownedBytes();
        try (UNet2DConditionModel a = UNet2DConditionModel.random(config, 7, inkwell);
                UNet2DConditionModel b = UNet2DConditionModel.random(config, 7, inkwell);
                UNet2DConditionModel other = UNet2DConditionModel.random(config, 8, inkwell);
                Tensor x = run(a, c, true); Tensor y = run(b, c, true); Tensor z = run(other, c, true)) {
            float[] xv = x.toArray();
            org.junit.jupiter.api.Assertions.assertArrayEquals(xv, y.toArray(), "same seed, same bits");
            assertTrue(!java.util.Arrays.equals(xv, z.toArray()), "another seed, other weights");
            double max = 0;
            for (float v : xv) {
                assertTrue(Float.isFinite(v));
                max = Math.max(max, Math.abs(v));
            }
            assertTrue(max > 1e-3 && max < 1e3, "output scale " + max);
        }
        assertEquals(before, LiveMemory.ownedBytes());
    }

    // ---- inputs, closing, leaks ---------------------------------------------------------

    @Test
    void refusesBadInputsNamingThem() throws IOException {
        try (UNet2DConditionModel unet = UNet2DConditionModel.load(modelsDir().resolve("unet"), inkwell);
                Tensor sample = Tensor.allocate(2, 4, 16, 16);
                Tensor ehs = Tensor.allocate(2, 7, 32)) {
            IllegalArgumentException e;
            try (Tensor s = Tensor.allocate(2, 3, 16, 16)) {
                e = assertThrows(IllegalArgumentException.class, () -> unet.forward(s, 1, ehs));
                assertTrue(e.getMessage().contains("sample") && e.getMessage().contains("in_channels 4"),
                        e.getMessage());
            }
            try (Tensor s = Tensor.allocate(2, 4, 16)) {
                e = assertThrows(IllegalArgumentException.class, () -> unet.forward(s, 1, ehs));
                assertTrue(e.getMessage().contains("sample is FLOAT32 [2, 4, 16]"), e.getMessage());
            }
            try (Tensor h = Tensor.allocate(1, 7, 32)) {
                e = assertThrows(IllegalArgumentException.class, () -> unet.forward(sample, 1, h));
                assertTrue(e.getMessage().contains("encoderHiddenStates"), e.getMessage());
            }
            try (Tensor h = Tensor.allocate(2, 7, 16)) {
                e = assertThrows(IllegalArgumentException.class, () -> unet.forward(sample, 1, h));
                assertTrue(e.getMessage().contains("cross_attention_dim 32"), e.getMessage());
            }
            e = assertThrows(IllegalArgumentException.class, () -> unet.forward(sample, Double.NaN, ehs));
            assertTrue(e.getMessage().contains("timestep"), e.getMessage());
            try (Tensor mid = Tensor.allocate(2, 64, 2, 2)) {
                e = assertThrows(IllegalArgumentException.class, () -> unet.forward(sample, 1, ehs, null, mid));
                assertTrue(e.getMessage().contains("T2I-Adapter"), e.getMessage());
                e = assertThrows(IllegalArgumentException.class, () -> unet.forward(sample, 1, ehs, List.of(mid),
                        mid));
                assertTrue(e.getMessage().contains("has 1 tensors, expected 12"), e.getMessage());
                List<Tensor> down = new ArrayList<>();
                try {
                    for (int i = 0; i < 12; i++) {
                        down.add(Tensor.allocate(2, 32, 16, 16));
                    }
                    e = assertThrows(IllegalArgumentException.class, () -> unet.forward(sample, 1, ehs, down, mid));
                    assertTrue(e.getMessage().contains("downBlockAdditionalResiduals[3]"), e.getMessage());
                } finally {
                    down.forEach(Tensor::close);
                }
            }
            assertThrows(NullPointerException.class, () -> unet.forward(null, 1, ehs));
            unet.close();
            assertThrows(IllegalStateException.class, () -> unet.forward(sample, 1, ehs));
        }
    }

    @Test
    void freesEverythingItAllocates() throws IOException {
        Map<?, ?> c = UNetGolden.cases("unet").values().iterator().next();
        long before = LiveMemory.ownedBytes();
        try (UNet2DConditionModel unet = UNet2DConditionModel.load(modelsDir().resolve("unet"), inkwell)) {
            long loaded = LiveMemory.ownedBytes();
            assertTrue(loaded > before, "the weights are owned native memory");
            try (Tensor out = run(unet, c, true)) {
                assertEquals(2 * 4 * 16 * 16 * 4L, LiveMemory.ownedBytes() - loaded, "only the result remains");
            }
            assertEquals(loaded, LiveMemory.ownedBytes(), "forward leaves nothing behind");
        }
        assertEquals(before, LiveMemory.ownedBytes(), "close frees the weights");
    }
}
