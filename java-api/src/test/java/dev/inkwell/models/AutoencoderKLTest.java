package dev.inkwell.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.Golden;
import dev.inkwell.Inkwell;
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
 * AutoencoderKL against diffusers' float64 outputs (golden/models, vae cases: decode and the
 * encoder's posterior), plus hostile configs and a missing weight.
 */
class AutoencoderKLTest {
    private static Inkwell inkwell;

    @BeforeAll
    static void open() {
        inkwell = Inkwell.create();
    }

    @AfterAll
    static void close() {
        inkwell.close();
    }

    static Path modelsDir() {
        return Golden.dir().resolve("models");
    }

    static Map<String, Map<?, ?>> cases() throws IOException {
        Map<?, ?> manifest = (Map<?, ?>) dev.inkwell.cli.Json.parse(Files.readString(modelsDir().resolve("manifest.json")));
        Map<String, Map<?, ?>> out = new java.util.HashMap<>();
        for (Object o : (List<?>) manifest.get("vae")) {
            Map<?, ?> c = (Map<?, ?>) o;
            out.put((String) c.get("name"), c);
        }
        assertTrue(out.containsKey("decode") && out.containsKey("encode"), "golden vae cases: " + out.keySet());
        return out;
    }

    // ---- golden -------------------------------------------------------------------------

    @Test
    void goldenDecode() throws IOException {
        Map<?, ?> c = cases().get("decode");
        try (AutoencoderKL vae = AutoencoderKL.load(modelsDir().resolve("vae"), inkwell);
                Tensor latents = Tensor.readNpy(modelsDir().resolve((String) c.get("latents")));
                Tensor want = Tensor.readNpy(modelsDir().resolve((String) c.get("expected")))) {
            float[] z = latents.toArray();
            float s = (float) vae.config().scalingFactor();
            for (int i = 0; i < z.length; i++) {
                z[i] /= s; // the case decodes latents / scaling_factor
            }
            try (Tensor scaled = Tensor.fromArray(z, latents.shape()); Tensor got = vae.decode(scaled)) {
                assertArrayEquals(want.shape(), got.shape());
                assertClose("decode", got.toArray(), want.toArray(), c);
            }
        }
    }

    @Test
    void goldenEncode() throws IOException {
        Map<?, ?> c = cases().get("encode");
        try (AutoencoderKL vae = AutoencoderKL.load(modelsDir().resolve("vae"), inkwell);
                Tensor image = Tensor.readNpy(modelsDir().resolve((String) c.get("image")));
                Tensor mean = Tensor.readNpy(modelsDir().resolve((String) c.get("expected_mean")));
                Tensor logvar = Tensor.readNpy(modelsDir().resolve((String) c.get("expected_logvar")));
                AutoencoderKL.Posterior got = vae.encode(image)) {
            assertArrayEquals(mean.shape(), got.mean().shape());
            assertArrayEquals(logvar.shape(), got.logvar().shape());
            assertClose("encode mean", got.mean().toArray(), mean.toArray(), c);
            assertClose("encode logvar", got.logvar().toArray(), logvar.toArray(), c);
        }
    }

    /** Float16-stored weights (the fp16 checkpoints) widened on load to float32. */
    @Test
    void goldenDecodeWithFloat16Weights(@TempDir Path tmp) throws IOException {
        Map<?, ?> c = cases().get("decode");
        Path dir = float16Copy(tmp);
        try (AutoencoderKL vae = AutoencoderKL.load(dir, inkwell);
                Tensor latents = Tensor.readNpy(modelsDir().resolve((String) c.get("latents")));
                Tensor want = Tensor.readNpy(modelsDir().resolve((String) c.get("expected")))) {
            float[] z = latents.toArray();
            for (int i = 0; i < z.length; i++) {
                z[i] /= (float) vae.config().scalingFactor();
            }
            try (Tensor scaled = Tensor.fromArray(z, latents.shape()); Tensor got = vae.decode(scaled)) {
                float[] g = got.toArray(), w = want.toArray();
                double worst = 0;
                for (int i = 0; i < g.length; i++) {
                    worst = Math.max(worst, Math.abs(g[i] - w[i]));
                }
                System.out.printf("vae decode, float16 weights: max |err| %.3g%n", worst);
                assertTrue(worst <= F16_ATOL, "max |err| " + worst + " over " + F16_ATOL);
            }
        }
    }

    /**
     * Rounding the weights to float16 (relative error up to 2^-11 = 4.9e-4 each) perturbs every
     * convolution's output by about that fraction of its magnitude; over the decoder's ~25
     * layers (with group norms renormalising in between) the image, of magnitude ~1, moves by a
     * few 1e-3 at most. Bound 1e-2; measured max |err| 2.85e-3 on the golden decode case (a margin of
     * 3.5x). A wrong block (missing resnet, shifted pad, wrong norm eps) gives errors of order 0.1.
     */
    static final double F16_ATOL = 1e-2;

    /** A copy of the golden vae folder with every weight stored as float16. */
    private static Path float16Copy(Path tmp) throws IOException {
        Path src = modelsDir().resolve("vae");
        Path dir = Files.createDirectories(tmp.resolve("vae16"));
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        try (SafeTensors st = SafeTensors.open(src)) {
            SafeTensorsWriter w = new SafeTensorsWriter();
            for (String name : new java.util.TreeSet<>(st.names())) {
                w.f16(name, st.tensor(name).toArray(), st.info(name).shape());
            }
            w.write(dir.resolve("diffusion_pytorch_model.safetensors"));
        }
        return dir;
    }

    private static void assertClose(String what, float[] got, float[] want, Map<?, ?> c) {
        Map<?, ?> tol = (Map<?, ?>) c.get("tolerance");
        double atol = (Double) tol.get("atol"), rtol = (Double) tol.get("rtol");
        assertEquals(want.length, got.length, what + " element count");
        double worst = 0, worstRatio = 0;
        List<String> bad = new ArrayList<>();
        for (int i = 0; i < got.length; i++) {
            double err = Math.abs((double) got[i] - want[i]), allowed = atol + rtol * Math.abs(want[i]);
            worst = Math.max(worst, err);
            worstRatio = Math.max(worstRatio, err / allowed);
            if (!(err <= allowed) && bad.size() < 10) {
                bad.add("[" + i + "] " + got[i] + " vs " + want[i]);
            }
        }
        System.out.printf("vae %s: max |err| %.3g, worst err/allowed %.3f (atol %.3g, rtol %.3g)%n", what, worst,
                worstRatio, atol, rtol);
        assertTrue(bad.isEmpty(), what + " out of tolerance: " + bad);
    }

    // ---- hostile configs and weights ----------------------------------------------------

    private static final String GOOD = """
            {"_class_name": "AutoencoderKL", "act_fn": "silu", "block_out_channels": [8, 16, 16, 32],
             "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
             "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"],
             "in_channels": 3, "latent_channels": 4, "layers_per_block": 2, "norm_num_groups": 4,
             "out_channels": 3, "sample_size": 32, "scaling_factor": 0.18215, "force_upcast": true}
            """;

    private static IOException refused(Path tmp, String json) throws IOException {
        Path f = tmp.resolve("config.json");
        Files.writeString(f, json);
        return assertThrows(IOException.class, () -> AutoencoderKLConfig.read(f));
    }

    @Test
    void readsTheGoldenConfig() throws IOException {
        AutoencoderKLConfig c = AutoencoderKLConfig.read(modelsDir().resolve("vae/config.json"));
        assertEquals(List.of(8, 16, 16, 32), c.blockOutChannels());
        assertEquals(2, c.layersPerBlock());
        assertEquals(0.18215, c.scalingFactor());
        assertTrue(c.midBlockAddAttention() && c.useQuantConv() && c.usePostQuantConv());
    }

    @Test
    void hostileConfigsNameTheField(@TempDir Path tmp) throws IOException {
        String[][] cases = {
            {"\"act_fn\": \"silu\"", "\"act_fn\": \"gelu\"", "act_fn"},
            {"\"scaling_factor\": 0.18215", "\"scaling_factor\": NaN", "scaling_factor"},
            {"\"scaling_factor\": 0.18215", "\"scaling_factor\": -1", "scaling_factor"},
            {"\"norm_num_groups\": 4", "\"norm_num_groups\": 3", "norm_num_groups"},
            {"\"layers_per_block\": 2", "\"layers_per_block\": 0", "layers_per_block"},
            {"\"layers_per_block\": 2", "\"layers_per_block\": 2.5", "layers_per_block"},
            {"\"latent_channels\": 4", "\"latent_channels\": \"4\"", "latent_channels"},
            {"\"in_channels\": 3", "\"in_channels\": 3, \"mid_block_add_attention\": 1", "mid_block_add_attention"},
            {"[\"DownEncoderBlock2D\", \"DownEncoderBlock2D\", \"DownEncoderBlock2D\", \"DownEncoderBlock2D\"]",
                "[\"DownEncoderBlock2D\", \"AttnDownEncoderBlock2D\", \"DownEncoderBlock2D\", \"DownEncoderBlock2D\"]",
                "AttnDownEncoderBlock2D"},
            {"[\"UpDecoderBlock2D\", \"UpDecoderBlock2D\", \"UpDecoderBlock2D\", \"UpDecoderBlock2D\"]",
                "[\"UpDecoderBlock2D\"]", "up_block_types"},
            {"[8, 16, 16, 32]", "[]", "block_out_channels"},
            {"[8, 16, 16, 32]", "[8, 16, 16, -32]", "block_out_channels"},
            {"\"_class_name\": \"AutoencoderKL\"", "\"_class_name\": \"UNet2DConditionModel\"", "_class_name"},
        };
        for (String[] c : cases) {
            String json = GOOD.replace(c[0], c[1]);
            assertTrue(!json.equals(GOOD), "replacement did not apply: " + c[0]);
            IOException e = refused(tmp, json);
            assertTrue(e.getMessage().contains(c[2]) && e.getMessage().contains("config.json"),
                    c[1] + ": " + e.getMessage());
        }
        IOException missing = refused(tmp, GOOD.replace("\"block_out_channels\": [8, 16, 16, 32],", ""));
        assertTrue(missing.getMessage().contains("block_out_channels"), missing.getMessage());
        IOException notJson = refused(tmp, "{\"act_fn\": ");
        assertTrue(notJson.getMessage().contains("not valid JSON"), notJson.getMessage());
    }

    @Test
    void missingOrMisshapedWeightNamesTheTensor(@TempDir Path tmp) throws IOException {
        Path src = modelsDir().resolve("vae");
        AutoencoderKLConfig config = AutoencoderKLConfig.read(src.resolve("config.json"));
        // a config asking for one more resnet per level than the checkpoint has
        AutoencoderKLConfig deeper = new AutoencoderKLConfig(3, 3, 4, config.blockOutChannels(),
                config.downBlockTypes(), config.upBlockTypes(), 3, 4, "silu", 0.18215, true, true, true);
        // a config whose latents have another width: conv_in of the decoder is misshaped
        AutoencoderKLConfig wider = new AutoencoderKLConfig(3, 3, 8, config.blockOutChannels(),
                config.downBlockTypes(), config.upBlockTypes(), 2, 4, "silu", 0.18215, true, true, true);
        try (SafeTensors st = SafeTensors.open(src)) {
            IOException missing = assertThrows(IOException.class, () -> AutoencoderKL.load(deeper, st, inkwell));
            assertTrue(missing.getMessage().contains("encoder.down_blocks.0.resnets.2.norm1.weight"),
                    missing.getMessage());
            IOException shape = assertThrows(IOException.class, () -> AutoencoderKL.load(wider, st, inkwell));
            assertTrue(shape.getMessage().contains("encoder.conv_out.weight"), shape.getMessage());
        }
    }

    @Test
    void refusesInputsOfTheWrongShape() throws IOException {
        try (AutoencoderKL vae = AutoencoderKL.load(modelsDir().resolve("vae"), inkwell);
                Tensor z = Tensor.allocate(1, 3, 4, 4)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> vae.decode(z));
            assertTrue(e.getMessage().contains("latent_channels 4"), e.getMessage());
            vae.close();
            assertThrows(IllegalStateException.class, () -> vae.encode(z));
        }
    }

    /** Asymmetric pad of Downsample2D: floor((H + 1 - 3) / 2) + 1 = floor(H / 2) per level, odd sizes too. */
    @Test
    void encodesOddSizes() throws IOException {
        try (AutoencoderKL vae = AutoencoderKL.load(modelsDir().resolve("vae"), inkwell);
                Tensor image = Tensor.fromArray(new float[3 * 17 * 9], 1, 3, 17, 9);
                AutoencoderKL.Posterior p = vae.encode(image)) {
            // 17 -> 8 -> 4 -> 2; 9 -> 4 -> 2 -> 1
            assertArrayEquals(new long[] {1, 4, 2, 1}, p.mean().shape());
        }
    }
}
