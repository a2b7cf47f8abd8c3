package dev.inkwell.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.ElementType;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link SafeTensors}: round trips through files written by {@link SafeTensorsWriter}, in-place
 * reads, the layouts Hugging Face uses (single file, sharded index, model folder, variants), and
 * hostile files, each refused with an {@link IOException} naming the file and the tensor.
 */
class SafeTensorsTest {
    @TempDir
    Path dir;

    /** Values float16 and bfloat16 hold exactly, so 16-bit round trips compare exactly. */
    private static final float[] EXACT = {0f, -0f, 1f, -2.5f, 0.375f, 96f, -1024f, 0.0078125f, 3f, -7f, 12f, 0.5f};

    private static float[] iota(int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (i - n / 3f) * scale;
        }
        return a;
    }

    private static void assertMessage(IOException e, String... fragments) {
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "message '" + e.getMessage() + "' should contain '" + f + "'");
        }
    }

    /** Opening {@code bytes} as a file fails with a message naming the file and each fragment. */
    private IOException refused(byte[] bytes, String... fragments) throws IOException {
        Path file = Files.write(dir.resolve("hostile.safetensors"), bytes);
        IOException e = assertThrows(IOException.class, () -> SafeTensors.open(file).close());
        assertMessage(e, file.toString());
        assertMessage(e, fragments);
        return e;
    }

    private static byte[] header(String json) {
        return SafeTensorsWriter.raw(json, new byte[64]);
    }

    @Test
    void roundTripsEveryLoadableDtypeAndListsTheOthers() throws IOException {
        float[] a = iota(2 * 3 * 5, 0.1f);
        Path file = new SafeTensorsWriter()
                .f32("a", a, 2, 3, 5)
                .f16("b", EXACT, 3, 4)
                .bf16("c", EXACT, 12)
                .i64("position_ids", new long[] {0, 1, 2, 3, 4, 5, 6}, 1, 7)
                .f32("scalar", new float[] {42f})
                .write(dir.resolve("model.safetensors"));
        try (SafeTensors st = SafeTensors.open(file); Inkwell cpu = Inkwell.create()) {
            assertEquals(List.of("a", "b", "c", "position_ids", "scalar"), List.copyOf(st.names()));

            SafeTensors.Info info = st.info("position_ids");
            assertEquals("I64", info.dtype());
            assertArrayEquals(new long[] {1, 7}, info.shape());
            assertEquals(56, info.byteSize());
            assertEquals(file, info.file());
            assertEquals(7, info.elementCount());

            Tensor ta = st.tensor("a");
            assertEquals(ElementType.FLOAT32, ta.elementType());
            assertArrayEquals(new long[] {2, 3, 5}, ta.shape());
            assertArrayEquals(a, ta.toArray());
            Tensor tb = st.tensor("b");
            assertEquals(ElementType.FLOAT16, tb.elementType());
            assertArrayEquals(EXACT, tb.toArray());
            Tensor tc = st.tensor("c");
            assertEquals(ElementType.BFLOAT16, tc.elementType());
            assertArrayEquals(EXACT, tc.toArray());
            Tensor scalar = st.tensor("scalar");
            assertArrayEquals(new long[] {1}, scalar.shape(), "a scalar reads as shape [1]");
            assertEquals(42f, scalar.get(0));
            assertEquals(0, st.info("scalar").shape().length, "but the header's shape is []");

            // load: owned copies converted to any type, float32 -> 16-bit rounded as Tensor.to
            for (ElementType to : ElementType.values()) {
                try (Tensor la = st.load("a", cpu, to, 2, 3, 5); Tensor lb = st.load("b", cpu, to)) {
                    assertEquals(to, la.elementType());
                    float[] expected = a.clone();
                    for (int i = 0; i < expected.length; i++) {
                        expected[i] = to.round(expected[i]);
                    }
                    assertArrayEquals(expected, la.toArray(), "F32 -> " + to);
                    assertArrayEquals(EXACT, lb.toArray(), "F16 -> " + to);
                    assertArrayEquals(new long[] {3, 4}, lb.shape());
                }
            }
            try (Tensor lc = st.load("c", cpu, ElementType.FLOAT32, 12)) {
                assertArrayEquals(EXACT, lc.toArray());
            }

            IOException e = assertThrows(IOException.class, () -> st.tensor("position_ids"));
            assertMessage(e, file.toString(), "position_ids", "I64", "F32, F16 and BF16 only");
            e = assertThrows(IOException.class, () -> st.load("position_ids", cpu, ElementType.FLOAT32));
            assertMessage(e, file.toString(), "position_ids", "I64");
        }
    }

    @Test
    void float32IsReadInPlaceAndWritesNeverReachTheFile() throws IOException {
        float[] a = iota(64, 0.25f);
        Path file = new SafeTensorsWriter().f32("a", a, 8, 8).f16("h", EXACT, 12).write(dir.resolve("m.safetensors"));
        byte[] before = Files.readAllBytes(file);
        try (SafeTensors st = SafeTensors.open(file)) {
            MemorySegment mapped = st.fileContents("a");
            for (String name : List.of("a", "h")) {
                MemorySegment view = st.tensor(name).segment();
                assertTrue(view.address() >= mapped.address()
                        && view.address() + view.byteSize() <= mapped.address() + mapped.byteSize(),
                        name + " is read in place, inside the mapped file");
                assertEquals(st.info(name).offset(), view.address() - mapped.address());
            }
            assertEquals(st.tensor("a").segment().address(), st.tensor("a").segment().address(), "no copy per call");
            st.tensor("a").set(-99f, 0, 0); // private mapping: seen here, never in the file
            assertEquals(-99f, st.tensor("a").get(0, 0));
        }
        assertArrayEquals(before, Files.readAllBytes(file), "the file is unchanged");
        try (SafeTensors st = SafeTensors.open(file)) {
            assertArrayEquals(a, st.tensor("a").toArray());
        }
    }

    @Test
    void misalignedDataIsCopiedOnceAndStillExact() throws IOException {
        float[] a = iota(10, 1.5f);
        SafeTensorsWriter w = new SafeTensorsWriter().unpadded().f32("a", a, 10).f16("h", EXACT, 12);
        assertTrue((8 + w.header().length()) % 2 == 1, "this header leaves the data section odd-aligned");
        Path file = w.write(dir.resolve("odd.safetensors"));
        try (SafeTensors st = SafeTensors.open(file); Inkwell cpu = Inkwell.create()) {
            MemorySegment mapped = st.fileContents("a");
            Tensor t = st.tensor("a");
            assertArrayEquals(a, t.toArray());
            assertEquals(0, t.segment().address() % 4, "an aligned copy");
            assertFalse(t.segment().address() >= mapped.address()
                    && t.segment().address() < mapped.address() + mapped.byteSize(), "not the mapped bytes");
            assertEquals(t.segment().address(), st.tensor("a").segment().address(), "copied once");
            assertArrayEquals(EXACT, st.tensor("h").toArray());
            try (Tensor l = st.load("h", cpu, ElementType.BFLOAT16, 12)) {
                assertArrayEquals(EXACT, l.toArray());
            }
        }
    }

    @Test
    void closeEndsBorrowedTensorsButNotLoadedOnes() throws IOException {
        Path file = new SafeTensorsWriter().f32("a", iota(6, 1f), 6).write(dir.resolve("c.safetensors"));
        Tensor borrowed;
        Tensor owned;
        try (Inkwell cpu = Inkwell.create()) {
            SafeTensors st = SafeTensors.open(file);
            borrowed = st.tensor("a");
            owned = st.load("a", cpu, ElementType.FLOAT32, 6);
            st.close();
            st.close(); // idempotent
            assertThrows(IllegalStateException.class, () -> st.tensor("a"));
            assertThrows(IllegalStateException.class, () -> st.load("a", cpu, ElementType.FLOAT32));
            assertEquals(List.of("a"), List.copyOf(st.names()), "names and info stay readable");
            assertEquals("F32", st.info("a").dtype());
            assertThrows(IllegalStateException.class, borrowed::toArray, "the mapping is gone");
            assertArrayEquals(iota(6, 1f), owned.toArray());
            owned.close();
        }
    }

    @Test
    void readsFromManyThreads() throws Exception {
        SafeTensorsWriter w = new SafeTensorsWriter().unpadded();
        for (int i = 0; i < 16; i++) {
            w.f32("t" + i, iota(97, i), 97);
        }
        Path file = w.write(dir.resolve("threads.safetensors"));
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try (SafeTensors st = SafeTensors.open(file); Inkwell cpu = Inkwell.create()) {
            List<Future<?>> futures = new java.util.ArrayList<>();
            for (int k = 0; k < 64; k++) {
                int i = k % 16;
                futures.add(pool.submit(() -> {
                    assertArrayEquals(iota(97, i), st.tensor("t" + i).toArray());
                    try (Tensor l = st.load("t" + i, cpu, ElementType.FLOAT16, 97)) {
                        assertEquals(97, l.elementCount());
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
    }

    // ---- layouts -----------------------------------------------------------------------

    @Test
    void shardedIndexJoinsItsShards() throws IOException {
        new SafeTensorsWriter().f32("a", iota(4, 1f), 4).f32("b", iota(3, 2f), 3)
                .write(dir.resolve("model-00001-of-00002.safetensors"));
        new SafeTensorsWriter().f16("c", EXACT, 12).write(dir.resolve("model-00002-of-00002.safetensors"));
        Path index = Files.writeString(dir.resolve("model.safetensors.index.json"), """
                {"metadata": {"total_size": 52},
                 "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",
                                "c": "model-00002-of-00002.safetensors"}}""");
        try (SafeTensors st = SafeTensors.open(index)) {
            assertEquals(List.of("a", "b", "c"), List.copyOf(st.names()));
            assertArrayEquals(iota(3, 2f), st.tensor("b").toArray());
            assertArrayEquals(EXACT, st.tensor("c").toArray());
            assertEquals(dir.resolve("model-00002-of-00002.safetensors").toAbsolutePath(),
                    st.info("c").file().toAbsolutePath());
            IOException e = assertThrows(IOException.class, () -> st.tensor("d"));
            assertMessage(e, index.toString(), "no tensor d");
        }
        try (SafeTensors st = SafeTensors.open(dir)) { // the folder finds the index
            assertEquals(3, st.names().size());
        }
    }

    @Test
    void shardedIndexRefusals() throws IOException {
        new SafeTensorsWriter().f32("a", iota(4, 1f), 4).write(dir.resolve("s1.safetensors"));
        new SafeTensorsWriter().f32("a", iota(4, 1f), 4).f32("b", iota(2, 1f), 2).write(dir.resolve("s2.safetensors"));
        Path index = dir.resolve("x.safetensors.index.json");

        Files.writeString(index, "{\"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s2.safetensors\"}}");
        IOException e = assertThrows(IOException.class, () -> SafeTensors.open(index));
        assertMessage(e, index.toString(), "tensor a is in two shards", "s1.safetensors", "s2.safetensors");

        Files.writeString(index, "{\"weight_map\": {\"a\": \"s1.safetensors\", \"z\": \"missing.safetensors\"}}");
        e = assertThrows(IOException.class, () -> SafeTensors.open(index));
        assertMessage(e, index.toString(), "tensor z", "missing.safetensors", "does not exist");

        Files.writeString(index, "{\"weight_map\": {\"b\": \"s1.safetensors\"}}");
        e = assertThrows(IOException.class, () -> SafeTensors.open(index));
        assertMessage(e, index.toString(), "tensor b", "s1.safetensors", "has no tensor b");

        Files.writeString(index, "{\"weight_map\": {\"a\": \"../s1.safetensors\"}}");
        e = assertThrows(IOException.class, () -> SafeTensors.open(index));
        assertMessage(e, index.toString(), "tensor a", "not a file name in the index's folder");

        Files.writeString(index, "{\"weight_map\": {\"a\": \"s1.safetensors\", \"a\": \"s1.safetensors\"}}");
        e = assertThrows(IOException.class, () -> SafeTensors.open(index));
        assertMessage(e, index.toString(), "Duplicate", "a");

        Files.writeString(index, "{\"metadata\": {}}");
        e = assertThrows(IOException.class, () -> SafeTensors.open(index));
        assertMessage(e, index.toString(), "weight_map");

        Files.writeString(index, "{\"weight_map\": {\"a\": 7}}");
        e = assertThrows(IOException.class, () -> SafeTensors.open(index));
        assertMessage(e, index.toString(), "tensor a");

        Files.writeString(index, "{\"weight_map\": {\"a\": \"s1.safetensors\"}} trailing");
        e = assertThrows(IOException.class, () -> SafeTensors.open(index));
        assertMessage(e, index.toString(), "not valid JSON");
    }

    @Test
    void modelFoldersAndVariants() throws IOException {
        Path unet = Files.createDirectory(dir.resolve("unet"));
        new SafeTensorsWriter().f32("w", iota(4, 1f), 4).write(unet.resolve("diffusion_pytorch_model.safetensors"));
        new SafeTensorsWriter().f16("w", iota(4, 1f), 4).write(unet.resolve("diffusion_pytorch_model.fp16.safetensors"));
        try (SafeTensors st = SafeTensors.open(unet)) {
            assertEquals(ElementType.FLOAT32, st.tensor("w").elementType());
            assertEquals(unet.resolve("diffusion_pytorch_model.safetensors"), st.path());
        }
        try (SafeTensors st = SafeTensors.open(unet, "fp16")) {
            assertEquals(ElementType.FLOAT16, st.tensor("w").elementType());
        }

        Path textEncoder = Files.createDirectory(dir.resolve("text_encoder"));
        new SafeTensorsWriter().f32("t", iota(2, 1f), 2).write(textEncoder.resolve("model.safetensors"));
        try (SafeTensors st = SafeTensors.open(textEncoder)) {
            assertEquals(List.of("t"), List.copyOf(st.names()));
        }
        IOException e = assertThrows(IOException.class, () -> SafeTensors.open(textEncoder, "fp16"));
        assertMessage(e, textEncoder.toString(), "no safetensors weights of variant fp16",
                "model.fp16.safetensors", "without the variant");

        // a sharded fp16 variant: diffusers' names
        Path vae = Files.createDirectory(dir.resolve("vae"));
        new SafeTensorsWriter().bf16("v", EXACT, 12).write(vae.resolve("diffusion_pytorch_model.fp16-00001-of-00001.safetensors"));
        Files.writeString(vae.resolve("diffusion_pytorch_model.safetensors.index.fp16.json"),
                "{\"weight_map\": {\"v\": \"diffusion_pytorch_model.fp16-00001-of-00001.safetensors\"}}");
        try (SafeTensors st = SafeTensors.open(vae, "fp16")) {
            assertArrayEquals(EXACT, st.tensor("v").toArray());
        }

        Path empty = Files.createDirectory(dir.resolve("empty"));
        e = assertThrows(IOException.class, () -> SafeTensors.open(empty));
        assertMessage(e, empty.toString(), "no safetensors weights", "diffusion_pytorch_model.safetensors",
                "model.safetensors.index.json");
        e = assertThrows(IOException.class, () -> SafeTensors.open(unet.resolve("diffusion_pytorch_model.safetensors"), "fp16"));
        assertMessage(e, "not a folder");
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.open(unet, "../fp16"));
        e = assertThrows(IOException.class, () -> SafeTensors.open(dir.resolve("absent.safetensors")));
        assertMessage(e, "absent.safetensors", "no such file");
    }

    // ---- hostile and damaged files -----------------------------------------------------

    @Test
    void truncatedFiles() throws IOException {
        byte[] good = new SafeTensorsWriter().f32("a", iota(16, 1f), 16).f32("b", iota(16, 1f), 16).toBytes();
        refused(Arrays.copyOf(good, 5), "5 bytes long", "too short");
        refused(Arrays.copyOf(good, 40), "header length", "more than the 32 bytes after it", "truncated");
        IOException e = refused(Arrays.copyOf(good, good.length - 1), "tensor b", "past the end of the data section");
        assertFalse(e.getMessage().contains("tensor a"), "a is intact: " + e.getMessage());
        refused(new byte[0], "0 bytes long");
    }

    @Test
    void lyingHeaderLengths() throws IOException {
        byte[] json = "{}".getBytes(StandardCharsets.UTF_8);
        refused(SafeTensorsWriter.raw(1L << 60, json, new byte[0]), "header length 1152921504606846976",
                "over the 100000000-byte limit");
        refused(SafeTensorsWriter.raw(-1L, json, new byte[0]), "header length 18446744073709551615");
        refused(SafeTensorsWriter.raw(1000, json, new byte[0]), "header length 1000", "more than the 2 bytes");
        refused(SafeTensorsWriter.raw(0, new byte[0], new byte[8]), "does not start with '{'");
        refused(SafeTensorsWriter.raw(1, json, new byte[0]), "does not start with '{'"); // "{" alone: too short
        refused(SafeTensorsWriter.raw(3, json, new byte[1]), "not valid JSON"); // the next data byte read as JSON
    }

    @Test
    void badOffsets() throws IOException {
        refused(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[56,72]}}"),
                "tensor a", "data_offsets [56, 72]", "past the end of the data section (64 bytes)");
        refused(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,0]}}"),
                "tensor a", "begin after they end");
        refused(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,12]}}"),
                "tensor a", "hold 12 bytes", "needs 16");
        refused(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"b\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[8,16]}}"), "tensors a [0, 16] and b [8, 16] overlap");
        refused(header("{\"b\":{\"dtype\":\"F16\",\"shape\":[8],\"data_offsets\":[4,20]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}"), "overlap");
        refused(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16,32]}}"),
                "tensor a", "data_offsets has more than 2 entries");
        refused(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16]}}"),
                "tensor a", "must be two numbers");
        refused(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,99999999999999999999]}}"),
                "tensor a", "too large");
        // empty tensors own no byte: two at one offset, or one inside another, do not overlap
        try (SafeTensors st = SafeTensors.open(Files.write(dir.resolve("empty.safetensors"),
                header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                        + "\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[8,8]},"
                        + "\"f\":{\"dtype\":\"F16\",\"shape\":[0],\"data_offsets\":[8,8]}}")))) {
            assertEquals(3, st.names().size());
            IOException e = assertThrows(IOException.class, () -> st.tensor("e"));
            assertMessage(e, "tensor e", "[0, 3]", "no elements");
        }
    }

    @Test
    void badEntries() throws IOException {
        refused(header("{\"a\":{\"dtype\":\"F128\",\"shape\":[4],\"data_offsets\":[0,16]}}"),
                "tensor a", "unknown dtype \"F128\"");
        refused(header("{\"a\":{\"dtype\":\"f32\",\"shape\":[4],\"data_offsets\":[0,16]}}"),
                "tensor a", "unknown dtype \"f32\"");
        refused(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}"), "tensor a appears twice");
        refused(header("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,16]}}"),
                "tensor a has \"dtype\" twice");
        refused(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[NaN],\"data_offsets\":[0,16]}}"),
                "tensor a", "not valid JSON");
        refused(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}}"),
                "tensor a", "shape holds -4, a negative number");
        refused(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,16]}}"),
                "tensor a", "shape holds 2.5, not an integer");
        refused(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4.0],\"data_offsets\":[0,16]}}"),
                "tensor a", "not an integer");
        refused(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1e1],\"data_offsets\":[0,16]}}"),
                "tensor a", "not an integer");
        refused(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[\"4\"],\"data_offsets\":[0,16]}}"),
                "tensor a", "not an integer");
        refused(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,16]}}"),
                "tensor a", "more bytes than a file can hold");
        refused(header("{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}"),
                "tensor a", "not a whole number of bytes");
        refused(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[" + "1,".repeat(64) + "1],\"data_offsets\":[0,4]}}"),
                "tensor a", "shape has more than 64 entries");
        refused(header("{\"a\":{\"shape\":[4],\"data_offsets\":[0,16]}}"), "tensor a has no dtype");
        refused(header("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,16]}}"), "tensor a has no shape");
        refused(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4]}}"), "tensor a has no data_offsets");
        refused(header("{\"a\":[1,2]}"), "tensor a", "not an object");
        refused(header("{\"a\":{\"dtype\":7,\"shape\":[4],\"data_offsets\":[0,16]}}"), "tensor a", "dtype is not a string");
        refused(header("{\"a\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,16]}}"), "tensor a", "shape is not an array");
        refused(header("{\"__metadata__\":{\"format\":7}}"), "__metadata__", "format", "not a string");
        refused(header("{\"__metadata__\":[\"pt\"]}"), "__metadata__", "not an object");
    }

    @Test
    void badJson() throws IOException {
        refused(header("[1, 2]"), "does not start with '{'");
        refused(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],"), "tensor a", "not valid JSON");
        refused(header("{} {}"), "data after its JSON object");
        refused(header("{\"a\" 1}"), "not valid JSON");
        refused(header("{" + "\"x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0],\"y\":" + "[".repeat(100)),
                "tensor x", "not valid JSON"); // nesting bounded
        byte[] invalidUtf8 = SafeTensorsWriter.raw(6, new byte[] {'{', '"', (byte) 0xff, '"', ':', '1'}, new byte[0]);
        refused(invalidUtf8, "not valid UTF-8");
        // "{" and NULs: Jackson alone would guess UTF-32 and throw its own exception (found by the fuzzer)
        refused(SafeTensorsWriter.raw(8, new byte[] {'{', 0, 0, 0, 0, 0, 0, '}'}, new byte[0]), "not valid JSON");
        // padding with spaces after the object is what writers do, and is accepted
        try (SafeTensors st = SafeTensors.open(Files.write(dir.resolve("padded.safetensors"), header("{}      ")))) {
            assertTrue(st.names().isEmpty());
        }
        // unknown fields in an entry are skipped, as the reference implementation does
        try (SafeTensors st = SafeTensors.open(Files.write(dir.resolve("extra.safetensors"),
                header("{\"a\":{\"dtype\":\"F32\",\"note\":{\"x\":[1,2]},\"shape\":[4],\"data_offsets\":[0,16]}}")))) {
            assertEquals(List.of("a"), List.copyOf(st.names()));
        }
    }

    @Test
    void missingTensorsAndWrongShapes() throws IOException {
        Path file = new SafeTensorsWriter().f32("conv.weight", iota(24, 1f), 2, 3, 2, 2).write(dir.resolve("w.safetensors"));
        try (SafeTensors st = SafeTensors.open(file); Inkwell cpu = Inkwell.create()) {
            IOException e = assertThrows(IOException.class, () -> st.tensor("conv.bias"));
            assertMessage(e, file + ": no tensor conv.bias");
            e = assertThrows(IOException.class, () -> st.info("conv.bias"));
            assertMessage(e, file + ": no tensor conv.bias");
            e = assertThrows(IOException.class, () -> st.load("conv.bias", cpu, ElementType.FLOAT32, 2));
            assertMessage(e, file + ": no tensor conv.bias");
            e = assertThrows(IOException.class, () -> st.load("conv.weight", cpu, ElementType.FLOAT32, 2, 3, 3, 3));
            assertMessage(e, file + ": tensor conv.weight has shape [2, 3, 2, 2], expected [2, 3, 3, 3]");
        }
    }
}
