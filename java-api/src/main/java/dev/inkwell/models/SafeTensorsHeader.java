package dev.inkwell.models;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The header of one safetensors file, validated in full before anything reads a tensor.
 *
 * <p>Layout: 8 bytes, a little-endian unsigned header length N; N bytes of UTF-8 JSON, an
 * object (possibly padded with spaces) mapping each tensor name to {@code {"dtype": "F32",
 * "shape": [..], "data_offsets": [begin, end]}} plus an optional {@code "__metadata__"}
 * string map; then the data section, which the offsets index (relative to its start).
 *
 * <p>Everything a hostile file could use against the reader is checked here, each failure an
 * {@link IOException} naming the file and, where there is one, the tensor: the header length
 * (at most {@link #MAX_HEADER_BYTES} and inside the file, so a length of 2^60 allocates
 * nothing), the JSON (Jackson, duplicate keys refused, nesting bounded), each entry (a known
 * dtype; a shape of at most {@link #MAX_RANK} non-negative integers whose product does not
 * overflow; offsets {@code begin <= end} inside the data section holding exactly
 * shape x dtype bytes), and that no two tensors share a byte. Pure: it reads the bytes it is
 * given and allocates at most the header's size, so the fuzz target calls it directly.
 */
final class SafeTensorsHeader {
    /** Largest header accepted, as the reference implementation's limit (100 MB). */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    /** Most dimensions a header may give a tensor (bounds the parse; Tensor takes up to 8). */
    static final int MAX_RANK = 64;

    private static final ValueLayout.OfLong LENGTH = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Entries are 3 levels deep; a little room for unknown fields, which are skipped. */
    private static final int MAX_NESTING = 32;
    private static final JsonFactory JSON = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_NESTING).build())
            .build();

    /** One tensor's entry; {@code begin} and {@code end} are offsets into the data section. */
    record Entry(String name, Dtype dtype, long[] shape, long elementCount, long begin, long end) {
        long byteSize() {
            return end - begin;
        }
    }

    /** The entries in header order, the metadata, and where the data section starts in the file. */
    record Header(Map<String, Entry> entries, Map<String, String> metadata, long dataStart, long dataSize) {}

    private SafeTensorsHeader() {}

    /**
     * Reads and validates the header of {@code contents}, a whole safetensors file.
     *
     * @param file how errors name the file
     * @param contents the file's bytes
     * @return the validated header
     * @throws IOException naming {@code file} (and the tensor) if anything is wrong
     */
    static Header parse(String file, MemorySegment contents) throws IOException {
        long size = contents.byteSize();
        if (size < 8) {
            throw error(file, "is " + size + " bytes long, too short for a safetensors file (an 8-byte header length"
                    + " comes first)");
        }
        long length = contents.get(LENGTH, 0);
        long rest = size - 8;
        if (length < 0 || length > MAX_HEADER_BYTES) { // negative: above 2^63 as unsigned
            throw error(file, "header length " + Long.toUnsignedString(length) + " (the first 8 bytes) is over the "
                    + MAX_HEADER_BYTES + "-byte limit: not a safetensors file, or a damaged one");
        }
        if (length > rest) {
            throw error(file, "header length " + length + " (the first 8 bytes) is more than the " + rest
                    + " bytes after it: the file is truncated or not a safetensors file");
        }
        if (length < 2 || contents.get(ValueLayout.JAVA_BYTE, 8) != '{') {
            throw error(file, "header does not start with '{' (header length " + length
                    + "): not a safetensors file");
        }
        String json = utf8(file, contents.asSlice(8, length).toArray(ValueLayout.JAVA_BYTE));
        long dataSize = rest - length;
        Map<String, Entry> entries = new LinkedHashMap<>();
        Map<String, String> metadata = Map.of();
        String current = null; // the entry being read, for messages
        try (JsonParser p = JSON.createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw error(file, "header is not a JSON object");
            }
            JsonToken t;
            while ((t = nextOrDuplicate(file, p, null)) == JsonToken.FIELD_NAME) {
                current = p.currentName();
                p.nextToken();
                if (current.equals("__metadata__")) {
                    metadata = readMetadata(file, p);
                } else {
                    entries.put(current, readEntry(file, current, p, dataSize));
                }
                current = null;
            }
            if (t != JsonToken.END_OBJECT) {
                throw error(file, "header: expected a tensor name, got " + t);
            }
            if (p.nextToken() != null) { // only padding (spaces) may follow the object
                throw error(file, "header has data after its JSON object, at character "
                        + p.currentTokenLocation().getCharOffset());
            }
        } catch (JacksonException e) {
            String in = current == null ? "" : " in tensor " + current;
            String at = e.getLocation() == null ? "" : " (at character " + e.getLocation().getCharOffset() + " of the header)";
            throw error(file, "header is not valid JSON" + in + ": " + e.getOriginalMessage() + at);
        }
        checkNoOverlap(file, entries);
        return new Header(Collections.unmodifiableMap(entries), metadata, 8 + length, dataSize);
    }

    /**
     * The header as text, strictly UTF-8 as the format says. Decoded here rather than by
     * Jackson, whose byte parser guesses the encoding ("{" and three NULs read as UTF-32).
     */
    private static String utf8(String file, byte[] bytes) throws IOException {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            throw error(file, "header is not valid UTF-8 (" + e + ")");
        }
    }

    /** The next token; a duplicate key (refused by Jackson) named as such: {@code entry} null at the top. */
    private static JsonToken nextOrDuplicate(String file, JsonParser p, String entry) throws IOException {
        try {
            return p.nextToken();
        } catch (JacksonException e) {
            String name = p.currentName(); // set before Jackson checks it against the others
            if (e.getOriginalMessage().startsWith("Duplicate") && name != null) {
                throw error(file, entry == null ? "tensor " + name + " appears twice in the header"
                        : "tensor " + entry + " has \"" + name + "\" twice");
            }
            throw e;
        }
    }

    private static Map<String, String> readMetadata(String file, JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw error(file, "__metadata__ is not an object of strings (got " + p.currentToken() + ")");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        while (nextOrDuplicate(file, p, "__metadata__") == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            if (p.nextToken() != JsonToken.VALUE_STRING) {
                throw error(file, "__metadata__ entry " + key + " is not a string (got " + p.currentToken() + ")");
            }
            metadata.put(key, p.getText());
        }
        return Collections.unmodifiableMap(metadata);
    }

    private static Entry readEntry(String file, String name, JsonParser p, long dataSize) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw error(file, "tensor " + name + ": entry is not an object (got " + p.currentToken() + ")");
        }
        String dtypeName = null;
        long[] shape = null;
        long[] offsets = null;
        while (nextOrDuplicate(file, p, name) == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            switch (field) {
                case "dtype" -> {
                    if (value != JsonToken.VALUE_STRING) {
                        throw error(file, "tensor " + name + ": dtype is not a string (got " + value + ")");
                    }
                    dtypeName = p.getText();
                }
                case "shape" -> shape = readIntegers(file, name, "shape", p, MAX_RANK);
                case "data_offsets" -> offsets = readIntegers(file, name, "data_offsets", p, 2);
                default -> p.skipChildren(); // as the reference implementation: extra fields ignored
            }
        }
        if (dtypeName == null || shape == null || offsets == null) {
            throw error(file, "tensor " + name + " has no " + (dtypeName == null ? "dtype" : shape == null ? "shape"
                    : "data_offsets"));
        }
        Dtype dtype = Dtype.byName(dtypeName);
        if (dtype == null) {
            throw error(file, "tensor " + name + " has unknown dtype \"" + dtypeName + "\" (safetensors dtypes: "
                    + Arrays.toString(Dtype.values()) + ")");
        }
        if (offsets.length != 2) {
            throw error(file, "tensor " + name + ": data_offsets " + Arrays.toString(offsets)
                    + " must be two numbers [begin, end]");
        }
        long count = 1;
        long bits;
        try {
            for (long d : shape) {
                count = Math.multiplyExact(count, d);
            }
            bits = Math.multiplyExact(count, (long) dtype.bits);
        } catch (ArithmeticException overflow) {
            throw error(file, "tensor " + name + ": shape " + Arrays.toString(shape) + " of " + dtype
                    + " has more bytes than a file can hold");
        }
        if (bits % 8 != 0) {
            throw error(file, "tensor " + name + ": shape " + Arrays.toString(shape) + " of " + dtype + " is "
                    + bits + " bits, not a whole number of bytes");
        }
        long begin = offsets[0], end = offsets[1];
        if (begin > end) {
            throw error(file, "tensor " + name + ": data_offsets [" + begin + ", " + end + "] begin after they end");
        }
        if (end > dataSize) {
            throw error(file, "tensor " + name + ": data_offsets [" + begin + ", " + end
                    + "] lie past the end of the data section (" + dataSize + " bytes): the file is truncated or damaged");
        }
        if (end - begin != bits / 8) {
            throw error(file, "tensor " + name + ": data_offsets [" + begin + ", " + end + "] hold " + (end - begin)
                    + " bytes but shape " + Arrays.toString(shape) + " of " + dtype + " needs " + bits / 8);
        }
        return new Entry(name, dtype, shape, count, begin, end);
    }

    /** A JSON array of at most {@code limit} non-negative integers that fit a long. */
    private static long[] readIntegers(String file, String name, String field, JsonParser p, int limit)
            throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw error(file, "tensor " + name + ": " + field + " is not an array (got " + p.currentToken() + ")");
        }
        List<Long> values = new ArrayList<>();
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (values.size() == limit) {
                throw error(file, "tensor " + name + ": " + field + " has more than " + limit + " entries");
            }
            if (t == JsonToken.VALUE_NUMBER_FLOAT) {
                throw error(file, "tensor " + name + ": " + field + " holds " + p.getText() + ", not an integer");
            }
            if (t != JsonToken.VALUE_NUMBER_INT) {
                throw error(file, "tensor " + name + ": " + field + " holds " + t + ", not an integer");
            }
            if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                throw error(file, "tensor " + name + ": " + field + " holds " + p.getText() + ", too large");
            }
            long v = p.getLongValue();
            if (v < 0) {
                throw error(file, "tensor " + name + ": " + field + " holds " + v + ", a negative number");
            }
            values.add(v);
        }
        return values.stream().mapToLong(Long::longValue).toArray();
    }

    /** No byte of the data section belongs to two tensors (empty tensors own no byte). */
    private static void checkNoOverlap(String file, Map<String, Entry> entries) throws IOException {
        List<Entry> sorted = new ArrayList<>(entries.values());
        sorted.removeIf(e -> e.begin() == e.end());
        sorted.sort(Comparator.comparingLong(Entry::begin));
        for (int i = 1; i < sorted.size(); i++) {
            Entry a = sorted.get(i - 1), b = sorted.get(i);
            if (b.begin() < a.end()) {
                throw error(file, "tensors " + a.name() + " [" + a.begin() + ", " + a.end() + "] and " + b.name() + " ["
                        + b.begin() + ", " + b.end() + "] overlap in the data section");
            }
        }
    }

    static IOException error(String file, String message) {
        return new IOException(file + ": " + message);
    }
}
