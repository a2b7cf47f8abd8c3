package dev.inkwell.models;

import dev.inkwell.internal.HalfFloats;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * A tiny safetensors writer for the tests: tensors laid out one after the other, as the
 * reference implementation writes them (header padded with spaces to a multiple of 8 unless
 * told not to), plus {@link #raw} for hand-made hostile files.
 */
final class SafeTensorsWriter {
    private record Item(String name, String dtype, long[] shape, byte[] data) {}

    private final List<Item> items = new ArrayList<>();
    private String metadata = "{\"format\":\"pt\"}";
    private boolean pad = true;

    SafeTensorsWriter f32(String name, float[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return bytes(name, "F32", b.array(), shape);
    }

    SafeTensorsWriter f16(String name, float[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putShort(HalfFloats.floatToFloat16(v));
        }
        return bytes(name, "F16", b.array(), shape);
    }

    SafeTensorsWriter bf16(String name, float[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putShort(HalfFloats.floatToBfloat16(v));
        }
        return bytes(name, "BF16", b.array(), shape);
    }

    SafeTensorsWriter i64(String name, long[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        return bytes(name, "I64", b.array(), shape);
    }

    /** Any dtype, the caller's bytes. */
    SafeTensorsWriter bytes(String name, String dtype, byte[] data, long... shape) {
        items.add(new Item(name, dtype, shape.clone(), data.clone()));
        return this;
    }

    /** No padding: the data section then starts wherever the header ends (often misaligned). */
    SafeTensorsWriter unpadded() {
        pad = false;
        return this;
    }

    SafeTensorsWriter metadata(String json) {
        metadata = json;
        return this;
    }

    /** The header JSON this writer would write (before padding). */
    String header() {
        StringBuilder h = new StringBuilder("{");
        if (metadata != null) {
            h.append("\"__metadata__\":").append(metadata);
        }
        long offset = 0;
        for (Item it : items) {
            if (h.length() > 1) {
                h.append(',');
            }
            String shape = Arrays.stream(it.shape).mapToObj(Long::toString).collect(Collectors.joining(","));
            h.append('"').append(it.name).append("\":{\"dtype\":\"").append(it.dtype).append("\",\"shape\":[")
                    .append(shape).append("],\"data_offsets\":[").append(offset).append(',')
                    .append(offset + it.data.length).append("]}");
            offset += it.data.length;
        }
        return h.append('}').toString();
    }

    byte[] toBytes() {
        String header = header();
        if (pad) {
            header += " ".repeat((8 - (header.length() + 8) % 8) % 8);
        }
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (Item it : items) {
            data.writeBytes(it.data);
        }
        return raw(header, data.toByteArray());
    }

    Path write(Path file) throws IOException {
        Files.write(file, toBytes());
        return file;
    }

    /** A file of a given header text and data section, the length field computed. */
    static byte[] raw(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return raw(h.length, h, data);
    }

    /** A file with any header length field (for lying lengths). */
    static byte[] raw(long lengthField, byte[] header, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(lengthField).put(header).put(data);
        return b.array();
    }
}
