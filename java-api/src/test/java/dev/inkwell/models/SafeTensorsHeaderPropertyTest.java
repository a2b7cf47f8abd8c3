package dev.inkwell.models;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The header parser on thousands of seeded, mutated safetensors files (runs in every build;
 * the Jazzer target {@link SafeTensorsHeaderFuzzTest} explores further when run by hand).
 * Valid files are generated with random dtypes, shapes (scalars and empty tensors too), names
 * and metadata, then mutated: bytes flipped, the length field replaced by interesting values,
 * cuts, and edits of the JSON text (numbers swapped for negative, fractional, huge or NaN
 * ones, dtypes renamed, keys duplicated, nesting added) with the length fixed up so they reach
 * the validator. Every outcome must be a header that {@link HeaderChecks} re-verifies, or an
 * IOException naming the file, with no allocation much beyond the input's size.
 *
 * <p>{@code -Dinkwell.safetensors.cases=N} runs more; a failure prints the seed that replays
 * it ({@code -Dinkwell.safetensors.seed=S -Dinkwell.safetensors.cases=1}).
 */
class SafeTensorsHeaderPropertyTest {
    private static final String[] NUMBERS = {"-1", "-0", "0", "1", "2.5", "4.0", "1e3", "NaN", "Infinity",
            "99999999999999999999", "9223372036854775807", "9223372036854775808", "4294967296", "null", "\"3\"", "[]"};

    @Test
    void mutatedHeadersAreParsedOrRefusedWithAnIOException() throws IOException {
        int cases = Integer.getInteger("inkwell.safetensors.cases", 4000);
        long seed0 = Long.getLong("inkwell.safetensors.seed", 20261130L);
        List<byte[]> seeds = seedFiles();
        for (byte[] s : seeds) {
            HeaderChecks.check(s); // loads Jackson's classes and buffers before allocations are counted
        }
        int accepted = 0, refused = 0;
        for (int c = 0; c < cases; c++) {
            long seed = seed0 + c;
            SplittableRandom rnd = new SplittableRandom(seed);
            boolean fromSeedFile = rnd.nextInt(4) == 0;
            byte[] file = fromSeedFile ? seeds.get(rnd.nextInt(seeds.size())) : generate(rnd);
            boolean mutate = c % 8 != 0;
            if (mutate) {
                int n = 1 + rnd.nextInt(3);
                for (int m = 0; m < n; m++) {
                    file = mutate(file, rnd);
                }
            }
            long allocatedBefore = allocatedBytes();
            boolean ok;
            try {
                ok = HeaderChecks.check(file);
            } catch (AssertionError e) {
                throw new AssertionError("seed " + seed + " (-Dinkwell.safetensors.seed=" + seed
                        + " -Dinkwell.safetensors.cases=1): " + e.getMessage(), e);
            }
            long allocated = allocatedBytes() - allocatedBefore;
            assertTrue(allocated < (4L << 20) + 64L * file.length,
                    "seed " + seed + ": parsing " + file.length + " bytes allocated " + allocated);
            if (!mutate && !fromSeedFile) {
                assertTrue(ok, "seed " + seed + ": a generated valid file was refused");
            }
            if (ok) {
                accepted++;
            } else {
                refused++;
            }
        }
        System.out.printf("safetensors header: %d mutated and generated files, %d accepted, %d refused%n", cases,
                accepted, refused);
        if (cases >= 1000) { // both outcomes exercised, or the mutations are too weak or too strong
            assertTrue(accepted > cases / 10 && refused > cases / 4, accepted + " accepted, " + refused + " refused");
        }
    }

    /** The Jazzer target's seed corpus, so both start from the same files. */
    private static List<byte[]> seedFiles() throws IOException {
        Path dir = Path.of("src/test/resources/dev/inkwell/models/SafeTensorsHeaderFuzzTestInputs/header");
        List<byte[]> files = new ArrayList<>();
        if (Files.isDirectory(dir)) {
            try (Stream<Path> s = Files.list(dir)) {
                s.sorted().forEach(p -> {
                    try {
                        files.add(Files.readAllBytes(p));
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
            }
        }
        if (files.isEmpty()) {
            files.add(generate(new SplittableRandom(1)));
        }
        return files;
    }

    /**
     * com.sun.management.ThreadMXBean#getCurrentThreadAllocatedBytes, found reflectively: the
     * tests compile inside module dev.inkwell, which does not read jdk.management.
     */
    private static final MethodHandle ALLOCATED = allocatedBytesHandle();

    private static MethodHandle allocatedBytesHandle() {
        try {
            Object bean = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean").invoke(null);
            Class<?> type = Class.forName("com.sun.management.ThreadMXBean");
            return MethodHandles.publicLookup().findVirtual(type, "getCurrentThreadAllocatedBytes",
                    MethodType.methodType(long.class)).bindTo(bean);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("this JDK cannot count allocated bytes", e);
        }
    }

    private static long allocatedBytes() {
        try {
            return (long) ALLOCATED.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** A valid file: random tensors laid out in order, optionally with gaps, metadata and padding. */
    static byte[] generate(SplittableRandom rnd) {
        Dtype[] dtypes = Dtype.values();
        StringBuilder h = new StringBuilder("{");
        if (rnd.nextBoolean()) {
            h.append("\"__metadata__\":{\"format\":\"pt\",\"note\":\"\\u00e9\\n\"}");
        }
        long offset = 0;
        int tensors = rnd.nextInt(6);
        for (int t = 0; t < tensors; t++) {
            Dtype d = dtypes[rnd.nextInt(dtypes.length)];
            int rank = rnd.nextInt(4);
            long[] shape = new long[rank];
            long count = 1;
            for (int i = 0; i < rank; i++) {
                shape[i] = rnd.nextInt(10) == 0 ? 0 : 1 + rnd.nextInt(5);
                count *= shape[i];
            }
            if (count * d.bits % 8 != 0) { // sub-byte dtypes need whole bytes
                shape = new long[] {8};
                count = 8;
            }
            long bytes = count * d.bits / 8;
            offset += rnd.nextInt(4) == 0 ? rnd.nextInt(8) : 0; // gaps are allowed
            if (h.length() > 1) {
                h.append(',');
            }
            h.append("\"t").append(t).append(rnd.nextBoolean() ? ".w\\u00e9ight" : "").append("\":{\"dtype\":\"")
                    .append(d).append("\",\"shape\":").append(Arrays.toString(shape).replace(" ", ""))
                    .append(",\"data_offsets\":[").append(offset).append(',').append(offset + bytes).append("]}");
            offset += bytes;
        }
        h.append('}');
        if (rnd.nextBoolean()) {
            h.append(" ".repeat(rnd.nextInt(8)));
        }
        byte[] data = new byte[(int) offset + (rnd.nextInt(4) == 0 ? rnd.nextInt(16) : 0)];
        rnd.nextBytes(data);
        return SafeTensorsWriter.raw(h.toString(), data);
    }

    static byte[] mutate(byte[] file, SplittableRandom rnd) {
        if (file.length == 0) {
            return new byte[] {(byte) rnd.nextInt(256)};
        }
        switch (rnd.nextInt(6)) {
            case 0 -> { // flip bytes
                byte[] out = file.clone();
                for (int i = 0, n = 1 + rnd.nextInt(4); i < n; i++) {
                    out[rnd.nextInt(out.length)] ^= (byte) (1 << rnd.nextInt(8));
                }
                return out;
            }
            case 1 -> { // an interesting length field
                long length = file.length >= 8 ? ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong() : 0;
                long[] choices = {0, 1, 2, length - 1, length + 1, file.length - 8, file.length, 1L << 60, -1,
                        SafeTensorsHeader.MAX_HEADER_BYTES + 1, rnd.nextLong()};
                byte[] out = Arrays.copyOf(file, Math.max(8, file.length));
                ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(0, choices[rnd.nextInt(choices.length)]);
                return out;
            }
            case 2 -> { // cut
                return Arrays.copyOf(file, rnd.nextInt(file.length));
            }
            default -> { // edit the JSON text, then fix the length so the edit reaches the validator
                if (file.length < 8) {
                    return file;
                }
                long length = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong();
                if (length < 0 || length > file.length - 8) {
                    return file;
                }
                String header = new String(file, 8, (int) length, StandardCharsets.UTF_8);
                byte[] data = Arrays.copyOfRange(file, 8 + (int) length, file.length);
                return SafeTensorsWriter.raw(editJson(header, rnd), data);
            }
        }
    }

    private static String editJson(String h, SplittableRandom rnd) {
        if (h.isEmpty()) {
            return "{}";
        }
        int at = rnd.nextInt(h.length());
        switch (rnd.nextInt(6)) {
            case 0 -> { // swap a number for an interesting token
                int i = at;
                while (i < h.length() && !Character.isDigit(h.charAt(i))) {
                    i++;
                }
                int j = i;
                while (j < h.length() && Character.isDigit(h.charAt(j))) {
                    j++;
                }
                return i >= h.length() ? h : h.substring(0, i) + NUMBERS[rnd.nextInt(NUMBERS.length)] + h.substring(j);
            }
            case 1 -> { // rename a dtype, to a known or an unknown one
                int i = h.indexOf("\"dtype\":\"", at);
                if (i < 0) {
                    return h;
                }
                int s = i + 9, e = h.indexOf('"', s);
                String[] names = {"F32", "F16", "BF16", "I64", "F4", "F64", "f32", "F128", "", "BOOL"};
                return e < 0 ? h : h.substring(0, s) + names[rnd.nextInt(names.length)] + h.substring(e);
            }
            case 2 -> { // duplicate an entry (same name, same or other offsets)
                int i = h.indexOf("\"t", at);
                int e = i < 0 ? -1 : h.indexOf('}', i);
                return e < 0 ? h : h.substring(0, e + 1) + "," + h.substring(i, e + 1) + h.substring(e + 1);
            }
            case 3 -> { // nesting
                return h.substring(0, at) + "[".repeat(1 + rnd.nextInt(60)) + h.substring(at);
            }
            case 4 -> { // delete a span
                int end = Math.min(h.length(), at + 1 + rnd.nextInt(8));
                return h.substring(0, at) + h.substring(end);
            }
            default -> { // change a digit (offsets and shapes that disagree)
                int i = at;
                while (i < h.length() && !Character.isDigit(h.charAt(i))) {
                    i++;
                }
                return i >= h.length() ? h : h.substring(0, i) + (char) ('0' + rnd.nextInt(10)) + h.substring(i + 1);
            }
        }
    }
}
