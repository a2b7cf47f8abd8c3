package dev.inkwell.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * What must hold for any bytes given to the header parser (the fuzz target and the mutation
 * property test share it): either a header whose every promise is re-checked here, from the
 * raw bytes, or an {@link IOException} whose message names the file. Any other exception
 * fails.
 */
final class HeaderChecks {
    static final String FILE = "fuzz.safetensors";

    private HeaderChecks() {}

    /** Parses {@code file}; returns whether it was accepted. */
    static boolean check(byte[] file) {
        SafeTensorsHeader.Header h;
        try {
            h = SafeTensorsHeader.parse(FILE, MemorySegment.ofArray(file));
        } catch (IOException e) {
            assertTrue(e.getMessage() != null && e.getMessage().startsWith(FILE + ": "),
                    "the message names the file: " + e.getMessage());
            return false;
        } catch (RuntimeException | StackOverflowError | OutOfMemoryError e) {
            throw new AssertionError("the header parser threw " + e + " instead of an IOException", e);
        }
        long length = ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertTrue(length >= 2 && length <= SafeTensorsHeader.MAX_HEADER_BYTES && 8 + length <= file.length,
                "accepted header length " + length + " of a " + file.length + "-byte file");
        assertEquals(8 + length, h.dataStart());
        assertEquals(file.length - h.dataStart(), h.dataSize());
        List<SafeTensorsHeader.Entry> used = new ArrayList<>();
        for (SafeTensorsHeader.Entry e : h.entries().values()) {
            long count = 1;
            for (long d : e.shape()) {
                assertTrue(d >= 0, e.name() + ": dimension " + d);
                count = Math.multiplyExact(count, d);
            }
            assertEquals(count, e.elementCount(), e.name());
            assertTrue(0 <= e.begin() && e.begin() <= e.end() && e.end() <= h.dataSize(), e.name() + " inside the data");
            assertEquals(Math.multiplyExact(count, (long) e.dtype().bits), 8 * e.byteSize(), e.name() + " byte count");
            if (e.byteSize() > 0) {
                used.add(e);
            }
        }
        used.sort(Comparator.comparingLong(SafeTensorsHeader.Entry::begin));
        for (int i = 1; i < used.size(); i++) {
            if (used.get(i).begin() < used.get(i - 1).end()) {
                fail("accepted overlapping tensors " + used.get(i - 1).name() + " and " + used.get(i).name());
            }
        }
        return true;
    }
}
