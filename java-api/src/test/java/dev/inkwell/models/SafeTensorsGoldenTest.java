package dev.inkwell.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.ElementType;
import dev.inkwell.Golden;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import dev.inkwell.cli.Json;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The real checkpoints of the golden models (diffusers' UNet, ControlNet and VAE, the CLIP
 * text encoder, LPIPS): every tensor read through {@link SafeTensors} equals, bit for bit, the
 * same bytes decoded by a naive reader in this test (whole file in a byte array, header parsed
 * by the CLI's {@link Json}); shapes agree with each model's config.json; values are finite.
 */
class SafeTensorsGoldenTest {
    private static Path models() {
        return Golden.dir().resolve("models");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> config(Path dir) throws IOException {
        return (Map<String, Object>) Json.parse(Files.readString(dir.resolve("config.json")));
    }

    private static long integer(Map<String, Object> config, String key) {
        return ((Double) config.get(key)).longValue();
    }

    private static long[] integers(Map<String, Object> config, String key) {
        return ((List<?>) config.get(key)).stream().mapToLong(v -> ((Double) v).longValue()).toArray();
    }

    /** Every tensor equals the naive reading of the file; returns the tensor count. */
    private static int compareWithNaiveReader(SafeTensors st, Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer le = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int headerLength = Math.toIntExact(le.getLong(0));
        Map<?, ?> header = (Map<?, ?>) Json.parse(new String(bytes, 8, headerLength, StandardCharsets.UTF_8));
        int count = 0;
        for (Map.Entry<?, ?> e : header.entrySet()) {
            String name = (String) e.getKey();
            if (name.equals("__metadata__")) {
                continue;
            }
            Map<?, ?> entry = (Map<?, ?>) e.getValue();
            assertEquals("F32", entry.get("dtype"), name); // what these checkpoints hold
            List<?> offsets = (List<?>) entry.get("data_offsets");
            int begin = 8 + headerLength + ((Double) offsets.get(0)).intValue();
            long[] shape = ((List<?>) entry.get("shape")).stream().mapToLong(v -> ((Double) v).longValue()).toArray();
            Tensor t = st.tensor(name);
            assertArrayEquals(shape, t.shape(), name);
            float[] values = t.toArray();
            for (int i = 0; i < values.length; i++) {
                float expected = le.getFloat(begin + 4 * i);
                if (Float.floatToRawIntBits(expected) != Float.floatToRawIntBits(values[i])) {
                    throw new AssertionError(file + ": " + name + "[" + i + "] is " + values[i] + ", the file holds "
                            + expected);
                }
                assertTrue(Float.isFinite(values[i]), name + "[" + i + "] is " + values[i]);
            }
            count++;
        }
        assertEquals(count, st.names().size(), "every tensor listed");
        return count;
    }

    @Test
    void unet() throws IOException {
        Path dir = models().resolve("unet");
        Map<String, Object> c = config(dir);
        long[] channels = integers(c, "block_out_channels");
        try (SafeTensors st = SafeTensors.open(dir); Inkwell cpu = Inkwell.create()) {
            assertEquals(dir.resolve("diffusion_pytorch_model.safetensors"), st.path());
            assertTrue(compareWithNaiveReader(st, st.path()) > 100);
            assertArrayEquals(new long[] {channels[0], integer(c, "in_channels"), 3, 3}, st.info("conv_in.weight").shape());
            assertArrayEquals(new long[] {integer(c, "out_channels"), channels[0], 3, 3},
                    st.info("conv_out.weight").shape());
            try (Tensor w = st.load("time_embedding.linear_1.weight", cpu, ElementType.FLOAT16, 4 * channels[0],
                    channels[0])) {
                float[] f32 = st.tensor("time_embedding.linear_1.weight").toArray();
                float[] f16 = w.toArray();
                for (int i = 0; i < f32.length; i++) {
                    assertEquals(ElementType.FLOAT16.round(f32[i]), f16[i]);
                }
            }
        }
    }

    @Test
    void controlnet() throws IOException {
        Path dir = models().resolve("controlnet");
        Map<String, Object> c = config(dir);
        long[] channels = integers(c, "block_out_channels");
        long[] embedding = integers(c, "conditioning_embedding_out_channels");
        try (SafeTensors st = SafeTensors.open(dir)) {
            compareWithNaiveReader(st, st.path());
            assertArrayEquals(new long[] {embedding[0], integer(c, "conditioning_channels"), 3, 3},
                    st.info("controlnet_cond_embedding.conv_in.weight").shape());
            long last = channels[channels.length - 1];
            assertArrayEquals(new long[] {last, last, 1, 1}, st.info("controlnet_mid_block.weight").shape());
        }
    }

    @Test
    void vae() throws IOException {
        Path dir = models().resolve("vae");
        Map<String, Object> c = config(dir);
        long[] channels = integers(c, "block_out_channels");
        long latent = integer(c, "latent_channels");
        try (SafeTensors st = SafeTensors.open(dir)) {
            compareWithNaiveReader(st, st.path());
            assertArrayEquals(new long[] {channels[channels.length - 1], latent, 3, 3},
                    st.info("decoder.conv_in.weight").shape());
            assertArrayEquals(new long[] {channels[0], integer(c, "in_channels"), 3, 3},
                    st.info("encoder.conv_in.weight").shape());
            assertArrayEquals(new long[] {2 * latent, 2 * latent, 1, 1}, st.info("quant_conv.weight").shape());
        }
    }

    @Test
    void clipTextEncoder() throws IOException {
        Path dir = models().resolve("clip/text_encoder");
        Map<String, Object> c = config(dir);
        long hidden = integer(c, "hidden_size");
        long layers = integer(c, "num_hidden_layers");
        try (SafeTensors st = SafeTensors.open(dir); Inkwell cpu = Inkwell.create()) {
            assertEquals(dir.resolve("model.safetensors"), st.path());
            compareWithNaiveReader(st, st.path());
            try (Tensor tokens = st.load("text_model.embeddings.token_embedding.weight", cpu, ElementType.FLOAT32,
                    integer(c, "vocab_size"), hidden)) {
                assertEquals(integer(c, "vocab_size") * hidden, tokens.elementCount());
            }
            assertArrayEquals(new long[] {integer(c, "max_position_embeddings"), hidden},
                    st.info("text_model.embeddings.position_embedding.weight").shape());
            for (long i = 0; i < layers; i++) {
                assertTrue(st.names().contains("text_model.encoder.layers." + i + ".self_attn.q_proj.weight"), "layer " + i);
            }
            assertFalse(st.names().contains("text_model.encoder.layers." + layers + ".self_attn.q_proj.weight"));
        }
    }

    @Test
    void lpips() throws IOException {
        Path file = models().resolve("lpips/lpips_alex_v0.1.safetensors");
        long[] channels = {64, 192, 384, 256, 256}; // AlexNet's five feature layers
        try (SafeTensors st = SafeTensors.open(file)) {
            compareWithNaiveReader(st, file);
            for (int i = 0; i < channels.length; i++) {
                String name = "lin" + i + ".model.1.weight";
                assertArrayEquals(new long[] {1, channels[i], 1, 1}, st.info(name).shape(), name);
                for (float w : st.tensor(name).toArray()) {
                    assertTrue(w >= 0, name + " holds " + w + ": LPIPS' linear weights are non-negative");
                }
            }
            assertArrayEquals(new long[] {64, 3, 11, 11}, st.info("net.slice1.0.weight").shape());
        }
    }
}
