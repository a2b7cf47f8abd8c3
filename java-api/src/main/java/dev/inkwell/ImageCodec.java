package dev.inkwell;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;
import javax.imageio.ImageIO;

/** PNG and JPEG through ImageIO, sample values copied exactly (no color management). */
final class ImageCodec {
    private ImageCodec() {}

    static Image read(Path path) throws IOException {
        if (!Files.exists(path)) {
            throw new NoSuchFileException(path.toString(), null, "no such file");
        }
        if (!Files.isRegularFile(path)) {
            throw new IOException(path + ": not a regular file");
        }
        if (!Files.isReadable(path)) {
            throw new IOException(path + ": not readable");
        }
        BufferedImage decoded;
        try (InputStream in = Files.newInputStream(path)) {
            decoded = ImageIO.read(in);
        } catch (IOException | RuntimeException e) {
            // ImageIO reports truncation and corruption as IIOException, EOFException or,
            // for some malformed files, runtime exceptions from inside the decoder.
            throw new IOException(path + ": corrupt or truncated image (" + describe(e) + ")", e);
        }
        if (decoded == null) {
            throw new IOException(path + ": not a PNG or JPEG image");
        }
        return fromBufferedImage(decoded);
    }

    private static String describe(Throwable e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }

    private static Image fromBufferedImage(BufferedImage decoded) {
        int h = decoded.getHeight(), w = decoded.getWidth();
        Raster raster = decoded.getRaster();
        if (decoded.getColorModel() instanceof IndexColorModel) {
            return fromArgb(decoded);
        }
        int bands = raster.getNumBands();
        int bits = raster.getSampleModel().getSampleSize(0);
        int channels = bands <= 2 ? 1 : 3; // gray(+alpha) -> 1, RGB(A) -> 3
        int shift = bits > 8 ? bits - 8 : 0;
        Image image = Image.allocate(h, w, channels);
        MemorySegment seg = image.segment();
        byte[] row = new byte[w * channels];
        int[] samples = new int[w];
        for (int y = 0; y < h; y++) {
            for (int c = 0; c < channels; c++) {
                raster.getSamples(0, y, w, 1, c, samples);
                for (int x = 0; x < w; x++) {
                    row[x * channels + c] = (byte) (samples[x] >>> shift);
                }
            }
            MemorySegment.copy(row, 0, seg, ValueLayout.JAVA_BYTE, (long) y * w * channels, row.length);
        }
        return image;
    }

    private static Image fromArgb(BufferedImage decoded) {
        int h = decoded.getHeight(), w = decoded.getWidth();
        Image image = Image.allocate(h, w, 3);
        MemorySegment seg = image.segment();
        int[] argb = new int[w];
        byte[] row = new byte[w * 3];
        for (int y = 0; y < h; y++) {
            decoded.getRGB(0, y, w, 1, argb, 0, w);
            for (int x = 0; x < w; x++) {
                row[3 * x] = (byte) (argb[x] >>> 16);
                row[3 * x + 1] = (byte) (argb[x] >>> 8);
                row[3 * x + 2] = (byte) argb[x];
            }
            MemorySegment.copy(row, 0, seg, ValueLayout.JAVA_BYTE, (long) y * w * 3, row.length);
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
