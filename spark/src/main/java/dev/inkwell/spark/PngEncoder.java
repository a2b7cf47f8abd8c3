package dev.inkwell.spark;

import dev.inkwell.Image;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Lossless 8-bit PNG bytes of a host image: 1 channel as gray (color type 0), 3 as RGB
 * (color type 2), no interlacing. Written here rather than through ImageIO's PNG writer, which
 * takes about 3x as long per image (it tries the five row filters in generic raster code):
 * for a data set of millions of pairs the writing is a third of the work. Rows use one filter
 * each, fixed by kind (None for control maps, which are 0 and 255 and compress as runs;
 * Paeth for pictures, the best single filter for natural images), and zlib at level
 * {@value #LEVEL} as OpenCV's {@code imwrite} uses by default. Any PNG decoder reads the
 * pixels back exactly (the tests decode them with {@link Image#read}).
 */
public final class PngEncoder {
    /** zlib level: OpenCV's default for PNG (IMWRITE_PNG_COMPRESSION = 1). */
    static final int LEVEL = 1;
    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    private static final int FILTER_NONE = 0, FILTER_PAETH = 4;

    private PngEncoder() {}

    /**
     * The PNG file of {@code image}.
     *
     * @param image 1 or 3 channels, in host memory
     * @return the bytes of a complete PNG file
     * @throws IllegalArgumentException for another number of channels
     * @throws IllegalStateException if the image is closed (or too large for a Java array)
     */
    public static byte[] encode(Image image) {
        int h = image.height(), w = image.width(), c = image.channels();
        if (c != 1 && c != 3) {
            throw new IllegalArgumentException("PNG of 1 or 3 channels expected, got " + c);
        }
        byte[] pixels = image.toByteArray();
        int rowBytes = w * c;
        int filter = c == 1 ? FILTER_NONE : FILTER_PAETH;
        ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(1024, pixels.length / 3));
        out.writeBytes(SIGNATURE);
        byte[] header = new byte[13];
        putInt(header, 0, w);
        putInt(header, 4, h);
        header[8] = 8; // bits per sample
        header[9] = (byte) (c == 1 ? 0 : 2); // gray, RGB
        // compression 0 (deflate), filter method 0, interlace 0: already zero
        chunk(out, "IHDR", header, header.length);

        Deflater deflater = new Deflater(LEVEL);
        try {
            byte[] row = new byte[rowBytes + 1], buffer = new byte[64 * 1024];
            ByteArrayOutputStream idat = new ByteArrayOutputStream(Math.max(1024, pixels.length / 3));
            for (int y = 0; y < h; y++) {
                row[0] = (byte) filter;
                int at = y * rowBytes;
                if (filter == FILTER_NONE) {
                    System.arraycopy(pixels, at, row, 1, rowBytes);
                } else {
                    paeth(pixels, at, y == 0 ? -1 : at - rowBytes, rowBytes, c, row);
                }
                deflater.setInput(row);
                while (!deflater.needsInput()) {
                    idat.write(buffer, 0, deflater.deflate(buffer));
                }
            }
            deflater.finish();
            while (!deflater.finished()) {
                idat.write(buffer, 0, deflater.deflate(buffer));
            }
            byte[] data = idat.toByteArray();
            chunk(out, "IDAT", data, data.length);
        } finally {
            deflater.end();
        }
        chunk(out, "IEND", new byte[0], 0);
        return out.toByteArray();
    }

    /** PNG's Paeth filter of one row ({@code up} is -1 on the first row, whose row above is zeros). */
    private static void paeth(byte[] px, int at, int up, int rowBytes, int bpp, byte[] row) {
        for (int i = 0; i < rowBytes; i++) {
            int x = px[at + i] & 0xFF;
            int a = i >= bpp ? px[at + i - bpp] & 0xFF : 0;
            int b = up >= 0 ? px[up + i] & 0xFF : 0;
            int cc = up >= 0 && i >= bpp ? px[up + i - bpp] & 0xFF : 0;
            int p = a + b - cc, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - cc);
            int predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : cc;
            row[i + 1] = (byte) (x - predictor);
        }
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data, int length) {
        byte[] typeBytes = type.getBytes(StandardCharsets.US_ASCII), n = new byte[4];
        putInt(n, 0, length);
        out.writeBytes(n);
        out.writeBytes(typeBytes);
        out.write(data, 0, length);
        CRC32 crc = new CRC32();
        crc.update(typeBytes);
        crc.update(data, 0, length);
        putInt(n, 0, (int) crc.getValue());
        out.writeBytes(n);
    }

    private static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }
}
