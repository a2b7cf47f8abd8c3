package dev.inkwell.spark;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Finds JPEGs cut short. ImageIO's JPEG decoders (the JDK's, TwelveMonkeys') decode a
 * truncated JPEG without an exception, filling what is missing with gray and only warning,
 * so {@link dev.inkwell.Image#read} accepts it; a training set must not. A JPEG whose last
 * bytes (less zero or white-space padding) are the EOI marker is complete, which is the
 * common case and costs a read of its tail; any other JPEG (truncated, or with data appended
 * after EOI, which is legal) is decoded once more with a warning listener, and rejected if the
 * decoder reports a missing EOI marker or a premature end of data.
 */
final class TruncatedJpeg {
    private TruncatedJpeg() {}

    /** Throws if {@code file} is a JPEG that ends early; anything else passes (the decoder judges it). */
    static void check(Path file) throws IOException {
        byte[] head = new byte[2], tail;
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            long length = f.length();
            if (length < 4) {
                return;
            }
            f.readFully(head);
            if ((head[0] & 0xFF) != 0xFF || (head[1] & 0xFF) != 0xD8) {
                return; // not a JPEG
            }
            tail = new byte[(int) Math.min(64, length)];
            f.seek(length - tail.length);
            f.readFully(tail);
        }
        int end = tail.length;
        while (end > 0 && (tail[end - 1] == 0 || Character.isWhitespace(tail[end - 1]))) {
            end--;
        }
        if (end >= 2 && (tail[end - 2] & 0xFF) == 0xFF && (tail[end - 1] & 0xFF) == 0xD9) {
            return;
        }
        String warning = truncationWarning(file);
        if (warning != null) {
            throw new IOException("truncated JPEG (" + warning + ")");
        }
    }

    private static String truncationWarning(Path file) throws IOException {
        List<String> warnings = new ArrayList<>();
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) {
                return null;
            }
            ImageReader reader = readers.next(); // the one Image.read uses
            try {
                reader.addIIOReadWarningListener((source, message) -> warnings.add(message));
                reader.setInput(in, true, true);
                reader.read(0);
            } catch (IOException | RuntimeException e) {
                return null; // undecodable: Image.read says why
            } finally {
                reader.dispose();
            }
        }
        for (String w : warnings) {
            String lower = w.toLowerCase(Locale.ROOT);
            if (lower.contains("missing eoi") || lower.contains("premature end") || lower.contains("truncated")) {
                return w;
            }
        }
        return null;
    }
}
