package dev.inkwell.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.Activation;
import dev.inkwell.ClipTokenizer;
import dev.inkwell.ElementType;
import dev.inkwell.Golden;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CLIPTextModel against transformers' float64 outputs (golden/models/clip, text_encoder cases),
 * in float32 and with the weights converted to 16-bit on load, plus hostile configs and weights.
 */
class ClipTextModelTest {
    /**
     * Float16 tolerance, absolute and relative. A float16 model rounds every weight and every
     * layer output to 11 significant bits (unit roundoff u = 2^-11 = 4.9e-4); the outputs are
     * layer-normed (|y| up to ~4) and each of the 5 layers adds a few such roundings to the
     * residual stream, which the final layer norm rescales by 1/std: ~10 u in all, 5e-3.
     * Measured against the float64 reference: max |err| 4.2e-3 over the 7 cases (worst
     * err/allowed 0.27 with this bound, a margin of 3.7x). A wrong mask, scale or activation
     * gives errors of order 0.1 to 1 and fails.
     */
    static final double F16_ATOL = 1e-2, F16_RTOL = 5e-3;
    /**
     * bfloat16: 8 significant bits, u = 2^-8, 8x float16's; the same derivation, 8x the bound.
     * Measured: max |err| 3.8e-2.
     */
    static final double BF16_ATOL = 8e-2, BF16_RTOL = 4e-2;

    private static Inkwell inkwell;

    @BeforeAll
    static void open() {
        inkwell = Inkwell.create();
    }

    @AfterAll
    static void close() {
        inkwell.close();
    }

    static Path clipDir() {
        return Golden.dir().resolve("models/clip");
    }

    static List<Map<?, ?>> cases() throws IOException {
        Map<?, ?> manifest = (Map<?, ?>) dev.inkwell.cli.Json.parse(Files.readString(clipDir().resolve("manifest.json")));
        List<Map<?, ?>> out = new ArrayList<>();
        for (Object o : (List<?>) manifest.get("text_encoder")) {
            out.add((Map<?, ?>) o);
        }
        assertTrue(out.size() >= 7, "expected the 7 golden text_encoder cases, found " + out.size());
        return out;
    }

    // ---- golden -------------------------------------------------------------------------

    @Test
    void goldenFloat32() throws IOException {
        runGolden(clipDir().resolve("text_encoder"), ElementType.FLOAT32, -1, -1);
    }

    @Test
    void goldenFloat16() throws IOException {
        runGolden(clipDir().resolve("text_encoder"), ElementType.FLOAT16, F16_ATOL, F16_RTOL);
    }

    @Test
    void goldenBfloat16() throws IOException {
        runGolden(clipDir().resolve("text_encoder"), ElementType.BFLOAT16, BF16_ATOL, BF16_RTOL);
    }

    /** Weights stored as F16 on disk, computed in float32: the float16 bound holds (only the weights are rounded). */
    @Test
    void goldenFromFloat16File(@TempDir Path dir) throws IOException {
        Path out = Files.createDirectories(dir.resolve("text_encoder"));
        Files.copy(clipDir().resolve("text_encoder/config.json"), out.resolve("config.json"));
        SafeTensorsWriter w = new SafeTensorsWriter();
        try (SafeTensors st = SafeTensors.open(clipDir().resolve("text_encoder"))) {
            for (String name : st.names()) {
                SafeTensors.Info info = st.info(name);
                if (info.dtype().equals("F32")) {
                    w.f16(name, st.tensor(name).toArray(), info.shape());
                }
            }
        }
        w.write(out.resolve("model.safetensors"));
        runGolden(out, ElementType.FLOAT32, F16_ATOL, F16_RTOL);
    }

    /** Every case within tolerance (the manifest's when atol is negative); prints the worst error per case. */
    private static void runGolden(Path model, ElementType type, double atol, double rtol) throws IOException {
        ClipTokenizer tokenizer = ClipTokenizer.load(clipDir().resolve("tokenizer"));
        List<String> failures = new ArrayList<>();
        try (ClipTextModel encoder = ClipTextModel.load(model, inkwell, type)) {
            assertEquals(type, encoder.elementType());
            for (Map<?, ?> c : cases()) {
                String name = (String) c.get("name");
                int[][] ids = readIds(clipDir().resolve((String) c.get("input_ids")));
                List<String> prompts = new ArrayList<>();
                for (Object p : (List<?>) c.get("prompts")) {
                    prompts.add((String) p);
                }
                int[][] fromTokenizer = tokenizer.encode(prompts);
                for (int b = 0; b < ids.length; b++) {
                    assertArrayEquals(ids[b], fromTokenizer[b], name + ": tokenizer ids of prompt " + b);
                }
                Map<?, ?> tol = (Map<?, ?>) c.get("tolerance");
                double a = atol >= 0 ? atol : (Double) tol.get("atol"), r = atol >= 0 ? rtol : (Double) tol.get("rtol");
                try (Tensor want = Tensor.readNpy(clipDir().resolve((String) c.get("expected")));
                        Tensor got = encoder.forward(ids)) {
                    assertArrayEquals(want.shape(), got.shape(), name + ": shape");
                    float[] g = got.toArray(), e = want.toArray();
                    double worst = 0, worstRatio = 0;
                    for (int i = 0; i < g.length; i++) {
                        double err = Math.abs((double) g[i] - e[i]);
                        worst = Math.max(worst, Double.isNaN(err) ? Double.POSITIVE_INFINITY : err);
                        worstRatio = Math.max(worstRatio, Double.isNaN(err) ? Double.POSITIVE_INFINITY
                                : err / (a + r * Math.abs(e[i])));
                    }
                    System.out.printf("clip %s %-40s max |err| %.3g (atol %.2g rtol %.2g, worst err/allowed %.3f)%n",
                            type, name, worst, a, r, worstRatio);
                    if (!(worstRatio <= 1)) {
                        failures.add(name + ": max |err| " + worst + ", err/allowed " + worstRatio);
                    }
                }
            }
        }
        assertTrue(failures.isEmpty(), type + " cases out of tolerance: " + failures);
    }

    /** A C-order little-endian int64 .npy (the golden input_ids) as rows. */
    static int[][] readIds(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        int headerLength = (bytes[8] & 0xFF) | (bytes[9] & 0xFF) << 8;
        String header = new String(bytes, 10, headerLength, StandardCharsets.ISO_8859_1);
        assertTrue(header.contains("'<i8'") && header.contains("'fortran_order': False"), file + ": " + header);
        Matcher m = Pattern.compile("'shape': \\((\\d+), (\\d+)\\)").matcher(header);
        assertTrue(m.find(), file + ": shape in " + header);
        int rows = Integer.parseInt(m.group(1)), cols = Integer.parseInt(m.group(2));
        ByteBuffer data = ByteBuffer.wrap(bytes, 10 + headerLength, rows * cols * 8).order(ByteOrder.LITTLE_ENDIAN);
        int[][] ids = new int[rows][cols];
        for (int[] row : ids) {
            for (int i = 0; i < cols; i++) {
                row[i] = Math.toIntExact(data.getLong());
            }
        }
        return ids;
    }

    // ---- properties ---------------------------------------------------------------------

    /** The causal mask: a prefix of the ids gives the same first rows (no position sees a later one). */
    @Test
    void causalPrefixGivesTheSameRows() throws IOException {
        int[][] ids = readIds(clipDir().resolve("text_encoder_cases/02_sd_anime/input_ids.npy"));
        int[][] prefix = {java.util.Arrays.copyOf(ids[0], 9)};
        try (ClipTextModel encoder = ClipTextModel.load(clipDir().resolve("text_encoder"), inkwell);
                Tensor full = encoder.forward(ids); Tensor part = encoder.forward(prefix)) {
            int hidden = encoder.config().hiddenSize();
            assertArrayEquals(new long[] {1, 9, hidden}, part.shape());
            float[] f = full.toArray(), p = part.toArray();
            for (int i = 0; i < p.length; i++) {
                assertEquals(f[i], p[i], 1e-5, "element " + i);
            }
            // ... and the last rows do depend on the rest: the mask is not "attend to self only"
            assertTrue(Math.abs(f[8 * hidden] - f[20 * hidden]) > 1e-4 || Math.abs(f[8 * hidden + 1] - f[20 * hidden + 1]) > 1e-4);
        }
    }

    @Test
    void badIdsAreRefused() throws IOException {
        try (ClipTextModel encoder = ClipTextModel.load(clipDir().resolve("text_encoder"), inkwell)) {
            int[] ok = new int[77];
            var e = assertThrows(IllegalArgumentException.class, () -> encoder.forward(new int[][] {ok, new int[76]}));
            assertTrue(e.getMessage().contains("inputIds[1]"), e.getMessage());
            int[] bad = ok.clone();
            bad[5] = 49408;
            e = assertThrows(IllegalArgumentException.class, () -> encoder.forward(new int[][] {bad}));
            assertTrue(e.getMessage().contains("inputIds[0][5] is 49408"), e.getMessage());
            bad[5] = -1;
            assertThrows(IllegalArgumentException.class, () -> encoder.forward(new int[][] {bad}));
            assertThrows(IllegalArgumentException.class, () -> encoder.forward(new int[][] {new int[78]}));
            assertThrows(IllegalArgumentException.class, () -> encoder.forward(new int[0][]));
            assertThrows(NullPointerException.class, () -> encoder.forward(new int[][] {null}));
            encoder.close();
            assertThrows(IllegalStateException.class, () -> encoder.forward(new int[][] {ok}));
        }
    }

    // ---- hostile configs and weights ----------------------------------------------------

    private static final String CONFIG = """
            {"model_type": "clip_text_model", "hidden_size": 32, "intermediate_size": 37, "num_attention_heads": 4,
             "num_hidden_layers": 5, "max_position_embeddings": 77, "vocab_size": 49408, "layer_norm_eps": 1e-05,
             "hidden_act": "quick_gelu", "bos_token_id": 49406, "eos_token_id": 49407, "pad_token_id": 1,
             "projection_dim": 512}""";

    @Test
    void configReadsTheGoldenFile() throws IOException {
        ClipTextConfig c = ClipTextConfig.read(clipDir().resolve("text_encoder/config.json"));
        assertEquals(new ClipTextConfig(49408, 32, 37, 5, 4, 77, 1e-5, "quick_gelu", 49406, 49407, 1), c);
        assertEquals(8, c.headDim());
        assertEquals(Activation.QUICK_GELU, c.activation());
    }

    @Test
    void hostileConfigsNameTheField(@TempDir Path dir) throws IOException {
        String[][] cases = {
            {"\"layer_norm_eps\": 1e-05", "\"layer_norm_eps\": NaN", "layer_norm_eps"},
            {"\"layer_norm_eps\": 1e-05", "\"layer_norm_eps\": -1e-5", "layer_norm_eps"},
            {"\"layer_norm_eps\": 1e-05", "\"layer_norm_eps\": Infinity", "layer_norm_eps"},
            {"\"layer_norm_eps\": 1e-05", "\"layer_norm_eps\": \"1e-5\"", "layer_norm_eps"},
            {"\"hidden_size\": 32,", "\"hidden_size\": -32,", "hidden_size"},
            {"\"hidden_size\": 32,", "", "hidden_size"},
            {"\"hidden_size\": 32,", "\"hidden_size\": 30,", "hidden_size"}, // not divisible by 4 heads
            {"\"hidden_size\": 32,", "\"hidden_size\": 32.5,", "hidden_size"},
            {"\"hidden_size\": 32,", "\"hidden_size\": 1e12,", "hidden_size"},
            {"\"num_attention_heads\": 4", "\"num_attention_heads\": \"4\"", "num_attention_heads"},
            {"\"num_attention_heads\": 4", "\"num_attention_heads\": 0", "num_attention_heads"},
            {"\"num_hidden_layers\": 5,", "\"num_hidden_layers\": NaN,", "num_hidden_layers"},
            {"\"vocab_size\": 49408,", "", "vocab_size"},
            {"\"intermediate_size\": 37,", "\"intermediate_size\": null,", "intermediate_size"},
            {"\"hidden_act\": \"quick_gelu\"", "\"hidden_act\": \"relu\"", "hidden_act \"relu\""},
            {"\"hidden_act\": \"quick_gelu\"", "\"hidden_act\": 3", "hidden_act"},
            {"\"model_type\": \"clip_text_model\"", "\"model_type\": \"clip\"", "model_type"},
            {"\"max_position_embeddings\": 77", "\"max_position_embeddings\": -77", "max_position_embeddings"},
        };
        for (String[] c : cases) {
            String text = CONFIG.replace(c[0], c[1]);
            assertTrue(!text.equals(CONFIG), "replacement " + c[0] + " did not apply");
            Path file = Files.writeString(dir.resolve("config.json"), text);
            IOException e = assertThrows(IOException.class, () -> ClipTextConfig.read(file), c[1]);
            assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains(c[2]),
                    c[1] + ": " + e.getMessage());
        }
        Path notJson = Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": ");
        assertTrue(assertThrows(IOException.class, () -> ClipTextConfig.read(notJson)).getMessage().contains("JSON"));
        // absent optional fields take transformers' defaults
        Path minimal = Files.writeString(dir.resolve("config.json"), """
                {"hidden_size": 64, "intermediate_size": 256, "num_attention_heads": 2, "num_hidden_layers": 1,
                 "vocab_size": 100}""");
        assertEquals(new ClipTextConfig(100, 64, 256, 1, 2, 77, 1e-5, "quick_gelu", 49406, 49407, 1),
                ClipTextConfig.read(minimal));
        assertEquals(Activation.GELU, new ClipTextConfig(100, 64, 256, 1, 2, 77, 0, "gelu", 0, 0, 0).activation());
    }

    @Test
    void missingOrMisshapedWeightsNameTheTensor(@TempDir Path dir) throws IOException {
        String[] victims = {"text_model.encoder.layers.3.mlp.fc2.bias", "text_model.embeddings.token_embedding.weight",
            "text_model.final_layer_norm.weight", "text_model.embeddings.position_embedding.weight"};
        for (String victim : victims) {
            for (boolean missing : new boolean[] {true, false}) {
                Path out = Files.createDirectories(dir.resolve((missing ? "missing-" : "shape-") + victim));
                Files.copy(clipDir().resolve("text_encoder/config.json"), out.resolve("config.json"));
                SafeTensorsWriter w = new SafeTensorsWriter();
                try (SafeTensors st = SafeTensors.open(clipDir().resolve("text_encoder"))) {
                    for (String name : st.names()) {
                        SafeTensors.Info info = st.info(name);
                        if (!info.dtype().equals("F32") || name.equals(victim) && missing) {
                            continue;
                        }
                        float[] v = st.tensor(name).toArray();
                        if (name.equals(victim)) { // same element count, another shape
                            w.f32(name, v, 1, v.length);
                        } else {
                            w.f32(name, v, info.shape());
                        }
                    }
                }
                Path file = w.write(out.resolve("model.safetensors"));
                IOException e = assertThrows(IOException.class, () -> ClipTextModel.load(out, inkwell).close());
                assertTrue(e.getMessage().contains(victim) && e.getMessage().contains(missing ? "no tensor" : "shape"),
                        e.getMessage());
                assertTrue(e.getMessage().contains(file.toString()) || e.getMessage().contains(out.toString()),
                        e.getMessage());
            }
        }
    }
}
