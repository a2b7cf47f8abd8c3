package dev.inkwell;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * PNG and JPEG through ImageIO, sample values copied exactly (no color management), alpha
 * composited over white or kept ({@link AlphaMode}). JPEGs in CMYK or YCCK are read through
 * TwelveMonkeys' ImageIO plugin (a dependency), which converts them to RGB with the file's
 * ICC profile (or a generic CMYK one).
 */
final class ImageCodec {
    private ImageCodec() {}

    static Image read(Path path, AlphaMode alpha) throws IOException {
        if (!Files.exists(path)) {
            throw new NoSuchFileException(path.toString(), null, "no such file");
        }
        if (!Files.isRegularFile(path)) {
            throw new IOException(path + ": not a regular file");
        }
        if (!Files.isReadable(path)) {
            throw new IOException(path + ": not readable");
        }
        return fromBufferedImage(decode(path), alpha, path);
    }

    /** Decodes with the first ImageIO reader for the file, reading from the file itself (no cache file). */
    private static BufferedImage decode(Path path) throws IOException {
        BufferedImage decoded = null;
        int width = -1, height = -1;
        try (ImageInputStream in = ImageIO.createImageInputStream(path.toFile())) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers != null && readers.hasNext()) {
                ImageReader reader = readers.next();
                try {
                    reader.setInput(in, true, true);
                    width = reader.getWidth(0);
                    height = reader.getHeight(0);
                    decoded = reader.read(0);
                } finally {
                    reader.dispose();
                }
            }
        } catch (OutOfMemoryError e) {
            throw heapTooSmall(path, width, height, e);
        } catch (IOException | RuntimeException e) {
            // A decoder may wrap running out of heap into its own exception (the JDK's PNG
            // reader does: "Caught exception during read").
            for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
                if (t instanceof OutOfMemoryError oom) {
                    throw heapTooSmall(path, width, height, oom);
                }
            }
            // ImageIO reports truncation and corruption as IIOException, EOFException or,
            // for some malformed files, runtime exceptions from inside the decoder.
            throw new IOException(path + ": corrupt or truncated image (" + describe(e) + ")", e);
        }
        if (decoded == null) {
            throw new IOException(path + ": not a PNG or JPEG image");
        }
        return decoded;
    }

    /** The Java heap, not the file, is the problem: say so, with the image's size and the heap's. */
    static OutOfMemoryError heapTooSmall(Path path, int width, int height, Throwable cause) {
        String size = width > 0 && height > 0 ? "a " + width + "x" + height + " image" : "this image";
        OutOfMemoryError e = new OutOfMemoryError(path + ": not enough Java heap to decode " + size + " (maximum heap "
                + Runtime.getRuntime().maxMemory() / (1024 * 1024) + " MB): raise -Xmx");
        e.initCause(cause);
        return e;
    }

    private static String describe(Throwable e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }

    private static Image fromBufferedImage(BufferedImage decoded, AlphaMode alpha, Path path) throws IOException {
        if (decoded.getColorModel() instanceof IndexColorModel) {
            return fromArgb(decoded, alpha);
        }
        if (decoded.isAlphaPremultiplied()) {
            decoded.coerceData(false); // straight alpha, as the file stores it
        }
        int h = decoded.getHeight(), w = decoded.getWidth();
        Raster raster = decoded.getRaster();
        int bands = raster.getNumBands();
        int colorSpace = decoded.getColorModel().getColorSpace().getType();
        boolean hasAlpha = decoded.getColorModel().hasAlpha();
        int colors = bands - (hasAlpha ? 1 : 0);
        if (!(colors == 1 && colorSpace == ColorSpace.TYPE_GRAY) && !(colors == 3 && colorSpace == ColorSpace.TYPE_RGB)) {
            throw new IOException(path + ": unsupported color space (" + colors + " color channels, ColorSpace type "
                    + colorSpace + "); convert it to RGB or gray first");
        }
        int bits = raster.getSampleModel().getSampleSize(0);
        int shift = bits > 8 ? bits - 8 : 0;
        boolean keep = hasAlpha && alpha == AlphaMode.KEEP;
        int channels = keep ? 4 : colors;
        Image image = Image.allocate(h, w, channels);
        try {
            MemorySegment seg = image.segment();
            byte[] row = new byte[w * channels];
            int[][] samples = new int[bands][w];
            for (int y = 0; y < h; y++) {
                for (int b = 0; b < bands; b++) {
                    raster.getSamples(0, y, w, 1, b, samples[b]);
                }
                for (int x = 0; x < w; x++) {
                    int a = hasAlpha ? samples[bands - 1][x] >>> shift : 255;
                    for (int c = 0; c < channels; c++) {
                        int v;
                        if (c == 3) {
                            v = a;
                        } else {
                            v = samples[colors == 1 ? 0 : c][x] >>> shift;
                            if (hasAlpha && !keep) {
                                v = overWhite(v, a);
                            }
                        }
                        row[x * channels + c] = (byte) v;
                    }
                }
                MemorySegment.copy(row, 0, seg, ValueLayout.JAVA_BYTE, (long) y * w * channels, row.length);
            }
            return image;
        } catch (RuntimeException | Error e) {
            image.close();
            throw e;
        }
    }

    /**
     * ControlNet's HWC3 for one sample: {@code color * a + 255 * (1 - a)}, {@code a = alpha / 255},
     * every operation in float32 as NumPy does it, clipped to 0..255, truncated as
     * {@code astype(np.uint8)} truncates.
     */
    static int overWhite(int color, int alpha) {
        float a = (float) alpha / 255.0f;
        float y = (float) color * a + 255.0f * (1.0f - a);
        return (int) Math.min(255.0f, Math.max(0.0f, y));
    }

    /** Palette images: through ARGB (the palette's alpha, if any, handled as above). */
    private static Image fromArgb(BufferedImage decoded, AlphaMode alpha) {
        int h = decoded.getHeight(), w = decoded.getWidth();
        boolean keep = decoded.getColorModel().hasAlpha() && alpha == AlphaMode.KEEP;
        boolean composite = decoded.getColorModel().hasAlpha() && !keep;
        int channels = keep ? 4 : 3;
        Image image = Image.allocate(h, w, channels);
        MemorySegment seg = image.segment();
        int[] argb = new int[w];
        byte[] row = new byte[w * channels];
        for (int y = 0; y < h; y++) {
            decoded.getRGB(0, y, w, 1, argb, 0, w);
            for (int x = 0; x < w; x++) {
                int a = argb[x] >>> 24;
                for (int c = 0; c < 3; c++) {
                    int v = (argb[x] >>> (16 - 8 * c)) & 0xFF;
                    row[channels * x + c] = (byte) (composite ? overWhite(v, a) : v);
                }
                if (keep) {
                    row[channels * x + 3] = (byte) a;
                }
            }
            MemorySegment.copy(row, 0, seg, ValueLayout.JAVA_BYTE, (long) y * w * channels, row.length);
        }
        return image;
    }

    static void write(Image image, Path path) throws IOException {
        String name = path.getFileName() == null ? "" : path.getFileName().toString().toLowerCase(Locale.ROOT);
        String format;
        if (name.endsWith(".png")) {
            format = "png";
        } else if (name.endsWith(".jpg") || name.endsWith(".jpeg")) {
            format = "jpeg";
        } else {
            throw new IOException(path + ": unknown image format (use .png, .jpg or .jpeg)");
        }
        int channels = image.channels();
        int type = switch (channels) {
            case 1 -> BufferedImage.TYPE_BYTE_GRAY;
            case 3 -> BufferedImage.TYPE_3BYTE_BGR;
            case 4 -> BufferedImage.TYPE_4BYTE_ABGR;
            default -> throw new IOException("cannot write a " + channels + "-channel image; 1, 3 or 4 channels can be written");
        };
        if (channels == 4 && format.equals("jpeg")) {
            throw new IOException("JPEG has no alpha: write a 4-channel image as .png");
        }
        int h = image.height(), w = image.width();
        BufferedImage out = new BufferedImage(w, h, type);
        WritableRaster raster = out.getRaster();
        MemorySegment seg = image.segment();
        int[] samples = new int[w];
        for (int y = 0; y < h; y++) {
            for (int c = 0; c < channels; c++) {
                long base = y * image.rowStride() + c;
                for (int x = 0; x < w; x++) {
                    samples[x] = Byte.toUnsignedInt(seg.get(ValueLayout.JAVA_BYTE, base + (long) x * channels));
                }
                raster.setSamples(0, y, w, 1, c, samples);
            }
        }
        Path parent = path.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        if (!ImageIO.write(out, format, path.toFile())) {
            throw new IOException(path + ": no ImageIO writer for " + format);
        }
    }
}
