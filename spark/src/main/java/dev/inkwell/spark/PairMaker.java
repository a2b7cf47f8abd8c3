package dev.inkwell.spark;

import dev.inkwell.AlphaMode;
import dev.inkwell.ControlNetAnnotator;
import dev.inkwell.Image;
import dev.inkwell.Inkwell;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Makes one training pair inside an executor, exactly as {@code inkwell annotate} does:
 * {@link Image#read(java.nio.file.Path, AlphaMode) Image.read(file, KEEP)} (gray, RGB, RGBA,
 * palette, CMYK JPEG; JPEGs cut short refused, see {@link TruncatedJpeg}), then {@link ControlNetAnnotator#annotate}: HWC3 (alpha over white),
 * {@code resize_image}, Canny. Files that cannot be decoded (corrupt, truncated, not an
 * image, too large for the heap) and unreadable captions become rejects with the reason; a
 * failure to write the outputs fails the task (Spark retries it; outputs are overwritten).
 */
final class PairMaker {
    private final PrepareOptions options;
    private final Configuration conf;
    private final Path outRoot;

    PairMaker(PrepareOptions options, Configuration conf) {
        this.options = options;
        this.conf = conf;
        this.outRoot = new Path(options.output());
    }

    /** Source (control map) path of a pair, relative to the output folder. */
    static String sourceName(String name) {
        return "source/" + name + ".png";
    }

    /** Target (resized image) path of a pair, relative to the output folder. */
    static String targetName(String name) {
        return "target/" + name + ".png";
    }

    PairResult make(InputImage in) throws IOException {
        String prompt = in.prompt();
        if (prompt == null && in.captionFile() != null) {
            try {
                prompt = readCaption(new Path(in.captionFile()));
            } catch (IOException e) {
                return reject(in, "caption " + in.captionFile() + " unreadable: " + message(e));
            }
        }
        boolean missing = prompt == null;
        Inkwell inkwell = ExecutorInkwell.get();
        byte[] control, target;
        try (Image drawing = read(new Path(in.file()));
                ControlNetAnnotator.Annotation a = new ControlNetAnnotator(inkwell)
                        .annotate(drawing, options.resolution(), options.low(), options.high())) {
            control = PngEncoder.encode(a.control());
            target = PngEncoder.encode(a.resized());
        } catch (IOException e) { // corrupt, truncated, not a PNG/JPEG, unsupported color space
            return reject(in, message(e));
        } catch (IllegalArgumentException e) { // a size resize_image cannot make
            return reject(in, message(e));
        } catch (OutOfMemoryError e) { // decoding a huge image: the message names its size and the heap
            return reject(in, message(e));
        }
        String text = missing ? "" : prompt;
        if (options.format() == OutputFormat.PARQUET) {
            return new PairResult(in.name(), in.relative(), text, missing, null, control, target);
        }
        write(new Path(outRoot, sourceName(in.name())), control);
        write(new Path(outRoot, targetName(in.name())), target);
        return new PairResult(in.name(), in.relative(), text, missing, null, null, null);
    }

    private static PairResult reject(InputImage in, String reason) {
        return new PairResult(in.name(), in.relative(), null, false, reason, null, null);
    }

    /** Decodes the file where it lies when it is local (as inkwell annotate reads it), else from a local copy. */
    private Image read(Path file) throws IOException {
        FileSystem fs = file.getFileSystem(conf);
        if ("file".equals(fs.getScheme())) {
            java.nio.file.Path local = java.nio.file.Path.of(fs.makeQualified(file).toUri());
            try {
                TruncatedJpeg.check(local);
                return Image.read(local, AlphaMode.KEEP);
            } catch (IOException e) {
                throw withoutPath(e, local);
            }
        }
        java.nio.file.Path copy = Files.createTempFile("inkwell-input-", ".img");
        try {
            try (InputStream s = fs.open(file)) {
                Files.copy(s, copy, StandardCopyOption.REPLACE_EXISTING);
            }
            TruncatedJpeg.check(copy);
            return Image.read(copy, AlphaMode.KEEP);
        } catch (IOException e) {
            throw withoutPath(e, copy);
        } finally {
            Files.deleteIfExists(copy);
        }
    }

    /** The decoder's message less its "PATH: " prefix: rejects.json names the input beside it. */
    private static IOException withoutPath(IOException e, java.nio.file.Path path) {
        String m = message(e), prefix = path + ": ";
        return new IOException(m.startsWith(prefix) ? m.substring(prefix.length()) : m, e);
    }

    /** The caption file's text, UTF-8, without surrounding white space (editors add a final newline). */
    private String readCaption(Path file) throws IOException {
        try (InputStream s = file.getFileSystem(conf).open(file)) {
            return new String(s.readAllBytes(), StandardCharsets.UTF_8).strip();
        }
    }

    private void write(Path path, byte[] bytes) throws IOException {
        FileSystem fs = path.getFileSystem(conf);
        fs.setWriteChecksum(false); // no .crc files beside the PNGs on a local disk
        try (OutputStream s = fs.create(path, true)) {
            s.write(bytes);
        }
    }

    private static String message(Throwable e) {
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
