package dev.inkwell.internal;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy's {@code .npy} format, versions 1 to 3: little-endian float16 ({@code <f2}), float32
 * ({@code <f4}) and float64 ({@code <f8}), C order. Enough for reference vectors, weights and
 * saved outputs.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {}

    /** A parsed array: its shape, its values widened to double, and its dtype ({@code <f2}, {@code <f4}, {@code <f8}). */
    public record Array(long[] shape, double[] values, String descr) {}

    /** Reads a float16, float32 or float64 array; values are exact in double. */
    public static Array read(Path path) throws IOException {
        byte[] bytes = Files.readAllBytes(path);
        if (bytes.length < 10 || !Arrays.equals(Arrays.copyOf(bytes, 6), MAGIC)) {
            throw new IOException(path + ": not a .npy file");
        }
        int major = bytes[6];
        int headerLength;
        int headerStart;
        if (major == 1) {
            headerLength = (bytes[8] & 0xFF) | (bytes[9] & 0xFF) << 8;
            headerStart = 10;
        } else if (major == 2 || major == 3) {
            headerLength = (bytes[8] & 0xFF) | (bytes[9] & 0xFF) << 8 | (bytes[10] & 0xFF) << 16 | (bytes[11] & 0xFF) << 24;
            headerStart = 12;
        } else {
            throw new IOException(path + ": unsupported .npy version " + major);
        }
        if (headerStart + headerLength > bytes.length || headerLength < 0) {
            throw new IOException(path + ": truncated .npy header");
        }
        String header = new String(bytes, headerStart, headerLength, StandardCharsets.ISO_8859_1);
        String descr = group(DESCR, header, path, "descr");
        if ("True".equals(group(FORTRAN, header, path, "fortran_order"))) {
            throw new IOException(path + ": Fortran-order arrays are not supported");
        }
        List<Long> dims = new ArrayList<>();
        for (String part : group(SHAPE, header, path, "shape").split(",")) {
            if (!part.isBlank()) {
                dims.add(Long.parseLong(part.trim()));
            }
        }
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        long count = 1;
        for (long d : shape) {
            count = Math.multiplyExact(count, d);
        }
        int width = switch (descr) {
            case "<f2" -> 2;
            case "<f4" -> 4;
            case "<f8" -> 8;
            default -> throw new IOException(path + ": unsupported dtype '" + descr
                    + "' (float16, float32 or float64, little-endian)");
        };
        int dataStart = headerStart + headerLength;
        if ((long) bytes.length - dataStart < count * width || count > Integer.MAX_VALUE) {
            throw new IOException(path + ": truncated: " + count + " elements of " + width + " bytes expected");
        }
        MemorySegment data = MemorySegment.ofArray(bytes);
        double[] values = new double[(int) count];
        for (int i = 0; i < values.length; i++) {
            long at = dataStart + (long) i * width;
            values[i] = switch (width) {
                case 2 -> HalfFloats.float16ToFloat(data.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), at));
                case 4 -> data.get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), at);
                default -> data.get(ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), at);
            };
        }
        return new Array(shape, values, descr);
    }

    /** Writes float32 values (a native segment of shape's element count) as a .npy file. */
    public static void writeFloat32(long[] dims, MemorySegment src, Path path) throws IOException {
        write(dims, src, "<f4", Float.BYTES, path);
    }

    /** Writes float16 values (bit patterns, a native segment of shape's element count) as a .npy file. */
    public static void writeFloat16(long[] dims, MemorySegment src, Path path) throws IOException {
        write(dims, src, "<f2", Short.BYTES, path);
    }

    private static void write(long[] dims, MemorySegment src, String descr, int width, Path path) throws IOException {
        long count = 1;
        StringBuilder shape = new StringBuilder();
        for (long d : dims) {
            shape.append(d).append(", ");
            count *= d;
        }
        if (dims.length > 1) {
            shape.setLength(shape.length() - 2);
        } else {
            shape.setLength(shape.length() - 1);
        }
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }";
        int unpadded = MAGIC.length + 4 + dict.length() + 1;
        String header = dict + " ".repeat((64 - unpadded % 64) % 64) + "\n";
        byte[] head = new byte[MAGIC.length + 4 + header.length()];
        System.arraycopy(MAGIC, 0, head, 0, MAGIC.length);
        head[6] = 1;
        head[7] = 0;
        head[8] = (byte) header.length();
        head[9] = (byte) (header.length() >> 8);
        System.arraycopy(header.getBytes(StandardCharsets.ISO_8859_1), 0, head, 10, header.length());
        Path parent = path.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE); Arena arena = Arena.ofConfined()) {
            ch.write(java.nio.ByteBuffer.wrap(head));
            MemorySegment le = arena.allocate(count * width);
            for (long i = 0; i < count; i++) {
                if (width == Short.BYTES) {
                    le.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i,
                            src.getAtIndex(ValueLayout.JAVA_SHORT, i));
                } else {
                    le.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i,
                            src.getAtIndex(ValueLayout.JAVA_FLOAT, i));
                }
            }
            java.nio.ByteBuffer buffer = le.asByteBuffer();
            while (buffer.hasRemaining()) {
                ch.write(buffer);
            }
        }
    }

    private static String group(Pattern p, String header, Path path, String what) throws IOException {
        Matcher m = p.matcher(header);
        if (!m.find()) {
            throw new IOException(path + ": .npy header has no " + what + ": " + header.strip());
        }
        return m.group(1);
    }
}
