package dev.inkwell.models;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.inkwell.Device;
import dev.inkwell.ElementType;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import dev.inkwell.internal.HalfFloats;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The tensors of a safetensors checkpoint, as Hugging Face publishes them: one
 * {@code .safetensors} file, a sharded model ({@code *.safetensors.index.json} and its shards),
 * or a model folder in the diffusers layout ({@code unet/diffusion_pytorch_model.safetensors},
 * {@code text_encoder/model.safetensors}, their sharded and {@code fp16} variants).
 *
 * <p>The files are memory-mapped (privately: the file is never written) and validated in full
 * when opened: header length, JSON (no duplicate names), every entry's dtype, shape and
 * offsets (inside the file, shape x dtype bytes, no two tensors overlapping). A hostile or
 * truncated file is an {@link IOException} naming the file and the tensor, never a crash or a
 * huge allocation.
 *
 * <p>{@link #tensor(String)} hands out float32, float16 and bfloat16 tensors in place (no copy)
 * where their bytes are aligned for the type; {@link #load} copies one into a context's memory,
 * converted to the type asked for. Other dtypes (F64, I64, U8, BOOL, ...) are listed by
 * {@link #names()} and {@link #info(String)} but refused by name when read, so an unused
 * {@code position_ids} (I64, in CLIP checkpoints) does no harm.
 *
 * <p>Thread-safe: any thread may read tensors, and {@link #close()} waits for reads in
 * progress ({@link #tensor} and {@link #load}). Tensors handed out by {@link #tensor} borrow
 * the mapping: using one after {@link #close()} throws {@link IllegalStateException}, and
 * no kernel may be running on one when this object is closed.
 */
public final class SafeTensors implements AutoCloseable {
    /** Largest {@code *.safetensors.index.json} read (it lists names, not data). */
    private static final long MAX_INDEX_BYTES = 100_000_000L;
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final boolean LITTLE_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    /**
     * What a header says about one tensor.
     *
     * @param name the tensor's name
     * @param dtype its safetensors dtype, as the file spells it ({@code "F32"}, {@code "I64"}, ...)
     * @param shape its shape; empty for a scalar (read as a 1-element tensor of shape [1])
     * @param file the file holding it (a shard, for a sharded model)
     * @param offset where its first byte lies in {@code file}
     * @param byteSize how many bytes it has
     */
    public record Info(String name, String dtype, long[] shape, Path file, long offset, long byteSize) {
        /**
         * Copies {@code shape}.
         *
         * @param name the tensor's name
         * @param dtype its dtype
         * @param shape its shape (copied)
         * @param file the file holding it
         * @param offset its first byte's offset in the file
         * @param byteSize its size in bytes
         */
        public Info {
            shape = shape.clone();
        }

        /**
         * A copy of the shape.
         *
         * @return the shape; empty for a scalar
         */
        @Override
        public long[] shape() {
            return shape.clone();
        }

        /**
         * The product of the shape.
         *
         * @return the element count (1 for a scalar)
         */
        public long elementCount() {
            long n = 1;
            for (long d : shape) {
                n *= d; // cannot overflow: the header's byte count was checked against it
            }
            return n;
        }

        /**
         * Equal fields, the shape compared by value.
         *
         * @param o the other object
         * @return whether {@code o} is an Info with the same fields
         */
        @Override
        public boolean equals(Object o) {
            return o instanceof Info i && name.equals(i.name) && dtype.equals(i.dtype) && Arrays.equals(shape, i.shape)
                    && file.equals(i.file) && offset == i.offset && byteSize == i.byteSize;
        }

        /**
         * A hash of the fields, the shape by value.
         *
         * @return the hash code
         */
        @Override
        public int hashCode() {
            return Objects.hash(name, dtype, Arrays.hashCode(shape), file, offset, byteSize);
        }

        /**
         * As {@code "conv_in.weight F32 [32, 4, 3, 3] (4608 bytes at 128 in FILE)"}.
         *
         * @return a readable description
         */
        @Override
        public String toString() {
            return name + " " + dtype + " " + Arrays.toString(shape) + " (" + byteSize + " bytes at " + offset + " in "
                    + file + ")";
        }
    }

    /** One mapped file and its validated header. */
    private record Shard(Path file, MemorySegment contents, SafeTensorsHeader.Header header) {
        String label() {
            return file.toString();
        }

        MemorySegment bytes(SafeTensorsHeader.Entry e) {
            return contents.asSlice(header.dataStart() + e.begin(), e.byteSize());
        }
    }

    private record Located(Shard shard, SafeTensorsHeader.Entry entry) {}

    private final Path path;
    private final Arena arena; // shared: the mappings and the aligned copies, freed by close()
    private final List<Shard> shards;
    private final Map<String, Located> tensors; // header order, shard by shard
    private final Map<String, Tensor> alignedCopies = new HashMap<>(); // guarded by lock's write lock
    private final ReadWriteLock lock = new ReentrantReadWriteLock();
    private boolean closed; // guarded by lock

    private SafeTensors(Path path, Arena arena, List<Shard> shards, Map<String, Located> tensors) {
        this.path = path;
        this.arena = arena;
        this.shards = shards;
        this.tensors = tensors;
    }

    /**
     * Opens a checkpoint: a {@code .safetensors} file, a sharded model's
     * {@code *.safetensors.index.json} (a name ending in {@code .json}), or a model folder
     * (see {@link #open(Path, String)}, without a variant).
     *
     * @param path the file, index or folder
     * @return the open checkpoint, validated; the caller closes it
     * @throws IOException if a file is missing, unreadable or invalid; the message names the
     *     file and, where there is one, the tensor
     */
    public static SafeTensors open(Path path) throws IOException {
        return open(path, null);
    }

    /**
     * Opens the weights in a model folder in the diffusers / transformers layout, the first
     * that exists of {@code diffusion_pytorch_model.safetensors},
     * {@code diffusion_pytorch_model.safetensors.index.json}, {@code model.safetensors},
     * {@code model.safetensors.index.json}; with a variant such as {@code "fp16"}, the names
     * diffusers gives it: {@code diffusion_pytorch_model.fp16.safetensors},
     * {@code diffusion_pytorch_model.safetensors.index.fp16.json}, and so on. A path that is
     * not a folder is opened as {@link #open(Path)} does, when the variant is null.
     *
     * @param path the model folder (or, with a null variant, a file or index)
     * @param variant null, or a variant name of letters, digits, '_' and '-' ({@code "fp16"})
     * @return the open checkpoint, validated; the caller closes it
     * @throws IOException if no weights file is found, or a file is unreadable or invalid
     * @throws IllegalArgumentException if {@code variant} is empty or has other characters
     */
    public static SafeTensors open(Path path, String variant) throws IOException {
        Objects.requireNonNull(path, "path");
        if (variant != null && !variant.matches("[A-Za-z0-9_-]+")) {
            throw new IllegalArgumentException("variant must be letters, digits, '_' or '-' (as \"fp16\"), got \""
                    + variant + "\"");
        }
        if (Files.isDirectory(path)) {
            return openFile(findWeights(path, variant));
        }
        if (variant != null) {
            throw new IOException(path + ": not a folder (a variant picks the weights file inside a model folder)");
        }
        return openFile(path);
    }

    private static SafeTensors openFile(Path file) throws IOException {
        Arena arena = Arena.ofShared();
        try {
            Path name = file.getFileName();
            boolean index = name != null && name.toString().endsWith(".json");
            return index ? openIndex(file, arena) : openSingle(file, arena);
        } catch (IOException | RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    private static Path findWeights(Path dir, String variant) throws IOException {
        String v = variant == null ? "" : "." + variant;
        List<String> candidates = new ArrayList<>();
        for (String base : List.of("diffusion_pytorch_model", "model")) {
            candidates.add(base + v + ".safetensors");
            candidates.add(base + ".safetensors.index" + v + ".json");
        }
        for (String c : candidates) {
            if (Files.isRegularFile(dir.resolve(c))) {
                return dir.resolve(c);
            }
        }
        String hint = variant != null && Files.isRegularFile(dir.resolve("diffusion_pytorch_model.safetensors"))
                || variant != null && Files.isRegularFile(dir.resolve("model.safetensors"))
                ? " (the folder has weights without the variant: open it with a null variant)" : "";
        throw new IOException(dir + ": no safetensors weights" + (variant == null ? "" : " of variant " + variant)
                + " (looked for " + String.join(", ", candidates) + ")" + hint);
    }

    private static SafeTensors openSingle(Path file, Arena arena) throws IOException {
        Shard shard = mapShard(file, arena);
        Map<String, Located> tensors = new LinkedHashMap<>();
        for (SafeTensorsHeader.Entry e : shard.header().entries().values()) {
            tensors.put(e.name(), new Located(shard, e));
        }
        return new SafeTensors(file, arena, List.of(shard), Collections.unmodifiableMap(tensors));
    }

    private static Shard mapShard(Path file, Arena arena) throws IOException {
        MemorySegment contents = FileMapping.map(file, arena);
        return new Shard(file, contents, SafeTensorsHeader.parse(file.toString(), contents));
    }

    /** {"metadata": {...}, "weight_map": {tensor name: shard file name in the index's folder}}. */
    private static SafeTensors openIndex(Path index, Arena arena) throws IOException {
        Map<String, String> weightMap = readWeightMap(index);
        Path dir = index.toAbsolutePath().getParent();
        Map<String, Shard> shardsByName = new LinkedHashMap<>();
        for (Map.Entry<String, String> w : weightMap.entrySet()) {
            String shardName = w.getValue();
            if (!shardsByName.containsKey(shardName)) {
                Path shardFile = dir.resolve(shardName);
                if (!Files.isRegularFile(shardFile)) {
                    throw new IOException(index + ": weight_map puts tensor " + w.getKey() + " in shard " + shardName
                            + ", which does not exist (" + shardFile + ")");
                }
                shardsByName.put(shardName, mapShard(shardFile, arena));
            }
            if (!shardsByName.get(shardName).header().entries().containsKey(w.getKey())) {
                throw new IOException(index + ": weight_map puts tensor " + w.getKey() + " in shard " + shardName
                        + ", which has no tensor " + w.getKey());
            }
        }
        Map<String, Located> tensors = new LinkedHashMap<>();
        for (Shard shard : shardsByName.values()) {
            for (SafeTensorsHeader.Entry e : shard.header().entries().values()) {
                Located other = tensors.putIfAbsent(e.name(), new Located(shard, e));
                if (other != null) {
                    throw new IOException(index + ": tensor " + e.name() + " is in two shards, "
                            + other.shard().file().getFileName() + " and " + shard.file().getFileName());
                }
            }
        }
        return new SafeTensors(index, arena, List.copyOf(shardsByName.values()), Collections.unmodifiableMap(tensors));
    }

    private static Map<String, String> readWeightMap(Path index) throws IOException {
        long size = Files.size(index);
        if (size > MAX_INDEX_BYTES) {
            throw new IOException(index + ": " + size + " bytes, over the " + MAX_INDEX_BYTES
                    + "-byte limit for a safetensors index");
        }
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(index));
        } catch (JacksonException e) {
            throw new IOException(index + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new IOException(index + ": not a safetensors index (no \"weight_map\" object)");
        }
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            JsonNode shard = e.getValue();
            if (!shard.isTextual() || !isPlainFileName(shard.textValue())) {
                throw new IOException(index + ": weight_map gives tensor " + e.getKey() + " the shard " + shard
                        + ", not a file name in the index's folder");
            }
            weightMap.put(e.getKey(), shard.textValue());
        }
        return weightMap;
    }

    /** A name inside the folder: no separator, not "." or "..", no NUL (so no path escapes it). */
    private static boolean isPlainFileName(String name) {
        return !name.isEmpty() && !name.equals(".") && !name.equals("..") && name.indexOf('/') < 0
                && name.indexOf('\\') < 0 && name.indexOf('\0') < 0;
    }

    /**
     * The path this checkpoint was opened from: the file or index (a folder's weights file).
     *
     * @return the path
     */
    public Path path() {
        return path;
    }

    /**
     * The names of every tensor, of every dtype, in file order (shard by shard).
     *
     * @return an unmodifiable set of names; usable after close
     */
    public Set<String> names() {
        return tensors.keySet();
    }

    /**
     * What the header says about a tensor, whatever its dtype.
     *
     * @param name the tensor's name
     * @return its dtype, shape, file and byte range; usable after close
     * @throws IOException naming the file and the tensor if there is no such tensor
     */
    public Info info(String name) throws IOException {
        Located l = locate(name);
        SafeTensorsHeader.Entry e = l.entry();
        return new Info(e.name(), e.dtype().name(), e.shape(), l.shard().file(), l.shard().header().dataStart() + e.begin(),
                e.byteSize());
    }

    /**
     * A float32, float16 or bfloat16 tensor read in place from the mapped file (float16 and
     * bfloat16 stay 16-bit): no copy where its bytes are aligned for the type, as writers
     * normally lay them out; otherwise a copy made once, in memory this object owns. A scalar
     * has shape [1]. The tensor is borrowed: closing it frees nothing, it is valid until this
     * object is closed, and writes to it stay in this process (the file never changes) and are
     * seen by later reads of the tensor.
     *
     * @param name the tensor's name
     * @return a host tensor of the file's element type and shape
     * @throws IOException naming the file and the tensor if there is no such tensor, its dtype
     *     is not F32, F16 or BF16, or its shape is not one a {@link Tensor} can have (no
     *     elements, more than {@value Tensor#MAX_RANK} dimensions or
     *     {@value Tensor#MAX_ELEMENTS} elements)
     * @throws IllegalStateException if this object is closed
     */
    public Tensor tensor(String name) throws IOException {
        Located l = locate(name);
        ElementType type = loadableType(l);
        long[] shape = tensorShape(l);
        lock.readLock().lock();
        try {
            checkOpen();
            MemorySegment bytes = l.shard().bytes(l.entry());
            if (LITTLE_ENDIAN && bytes.address() % type.byteSize() == 0) {
                return Tensor.wrap(bytes, type, shape);
            }
        } finally {
            lock.readLock().unlock();
        }
        lock.writeLock().lock(); // misaligned: copy once, then hand out views of the copy
        try {
            checkOpen();
            Tensor copy = alignedCopies.get(name);
            if (copy == null) {
                copy = Tensor.allocate(arena, type, shape);
                convert(l, copy.segment(), type);
                alignedCopies.put(name, copy);
            }
            return copy.view(shape);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * A copy of a tensor in {@code context}'s memory (the device's, for a CUDA context),
     * converted to {@code type} (rounded to nearest even when narrowing, as
     * {@link Tensor#to(ElementType)}), owned by the caller.
     *
     * @param name the tensor's name
     * @param context where the copy lives
     * @param type the element type of the copy
     * @param expectedShape the shape the caller expects (a scalar is [1]); none to accept any
     * @return a new tensor that the caller closes
     * @throws IOException naming the file and the tensor if there is no such tensor, its dtype
     *     is not F32, F16 or BF16, its shape is not a {@link Tensor}'s, or it differs from a
     *     given {@code expectedShape}
     * @throws IllegalStateException if this object or the context is closed
     */
    public Tensor load(String name, Inkwell context, ElementType type, long... expectedShape) throws IOException {
        Objects.requireNonNull(context, "context");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(expectedShape, "expectedShape");
        Located l = locate(name);
        ElementType stored = loadableType(l);
        long[] shape = tensorShape(l);
        if (expectedShape.length > 0 && !Arrays.equals(shape, expectedShape)) {
            throw new IOException(l.shard().label() + ": tensor " + name + " has shape "
                    + Arrays.toString(l.entry().shape()) + ", expected " + Arrays.toString(expectedShape));
        }
        lock.readLock().lock();
        try {
            checkOpen();
            Tensor out = Tensor.allocate(context, type, shape);
            try {
                if (context.device() == Device.CPU) {
                    convert(l, out.segment(), type);
                } else if (stored == type && LITTLE_ENDIAN && l.shard().bytes(l.entry()).address() % type.byteSize() == 0) {
                    context.copy(Tensor.wrap(l.shard().bytes(l.entry()), type, shape), out);
                } else {
                    try (Tensor staging = Tensor.allocate(type, shape)) {
                        convert(l, staging.segment(), type);
                        context.copy(staging, out);
                    }
                }
                return out;
            } catch (RuntimeException | Error e) {
                out.close();
                throw e;
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Unmaps the files and frees copies: tensors from {@link #tensor} become unusable (owned
     * tensors from {@link #load} are not affected). Idempotent; waits for reads in progress.
     *
     * @throws IllegalStateException if the mapped memory is still in use by a native call on
     *     another thread (then nothing is closed)
     */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (!closed) {
                arena.close(); // throws, leaving this open, if a native call still holds the memory
                closed = true;
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * The opened path and the tensor count.
     *
     * @return a readable description
     */
    @Override
    public String toString() {
        return "SafeTensors[" + path + ", " + tensors.size() + " tensors" + (shards.size() > 1 ? " in " + shards.size()
                + " shards" : "") + "]";
    }

    /** The whole mapped file holding {@code name}, for tests of the in-place reads. */
    MemorySegment fileContents(String name) throws IOException {
        return locate(name).shard().contents();
    }

    private Located locate(String name) throws IOException {
        Objects.requireNonNull(name, "name");
        Located l = tensors.get(name);
        if (l == null) {
            throw new IOException(path + ": no tensor " + name);
        }
        return l;
    }

    private static ElementType loadableType(Located l) throws IOException {
        ElementType type = l.entry().dtype().elementType;
        if (type == null) {
            throw new IOException(l.shard().label() + ": tensor " + l.entry().name() + " has dtype " + l.entry().dtype()
                    + ", which Inkwell does not load (F32, F16 and BF16 only)");
        }
        return type;
    }

    /** The entry's shape as a Tensor takes it: a scalar as [1]. */
    private static long[] tensorShape(Located l) throws IOException {
        SafeTensorsHeader.Entry e = l.entry();
        long[] shape = e.shape().length == 0 ? new long[] {1} : e.shape().clone();
        String why = e.elementCount() == 0 ? "no elements"
                : shape.length > Tensor.MAX_RANK ? "more than " + Tensor.MAX_RANK + " dimensions"
                : e.elementCount() > Tensor.MAX_ELEMENTS ? "more than " + Tensor.MAX_ELEMENTS + " elements" : null;
        if (why != null) {
            throw new IOException(l.shard().label() + ": tensor " + e.name() + " of shape " + Arrays.toString(e.shape())
                    + " has " + why + ", which a Tensor cannot hold");
        }
        return shape;
    }

    /** Writes the tensor's values, converted to {@code type}, into aligned host memory of that type. */
    private static void convert(Located l, MemorySegment dst, ElementType type) {
        MemorySegment src = l.shard().bytes(l.entry());
        ElementType from = l.entry().dtype().elementType;
        long n = l.entry().elementCount();
        if (from == type && LITTLE_ENDIAN) {
            MemorySegment.copy(src, 0, dst, 0, src.byteSize());
            return;
        }
        for (long i = 0; i < n; i++) {
            float v = switch (from) {
                case FLOAT32 -> src.get(F32_LE, 4 * i);
                case FLOAT16 -> HalfFloats.float16ToFloat(src.get(I16_LE, 2 * i));
                case BFLOAT16 -> HalfFloats.bfloat16ToFloat(src.get(I16_LE, 2 * i));
            };
            switch (type) {
                case FLOAT32 -> dst.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
                case FLOAT16 -> dst.setAtIndex(ValueLayout.JAVA_SHORT, i, HalfFloats.floatToFloat16(v));
                case BFLOAT16 -> dst.setAtIndex(ValueLayout.JAVA_SHORT, i, HalfFloats.floatToBfloat16(v));
            }
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
    }
}
