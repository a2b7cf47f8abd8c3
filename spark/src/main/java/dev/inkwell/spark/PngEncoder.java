package dev.inkwell.spark;

import dev.inkwell.Image;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import javax.imageio.ImageIO;

/**
 * Lossless PNG bytes of a host image, through ImageIO as {@link Image#write} writes files:
 * 1 channel as 8-bit gray, 3 as RGB.
 */
final class PngEncoder {
    private PngEncoder() {}

    static byte[] encode(Image image) throws IOException {
        int h = image.height(), w = image.width(), c = image.channels();
        BufferedImage out = switch (c) {
            case 1 -> new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
            case 3 -> new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
            default -> throw new IllegalArgumentException("PNG of 1 or 3 channels expected, got " + c);
        };
        byte[] pixels = image.toByteArray();
        // Data elements come in band order (R, G, B), whatever order the raster keeps the bytes in.
        out.getRaster().setDataElements(0, 0, w, h, pixels);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(Math.max(1024, w * h * c / 4));
        if (!ImageIO.write(out, "png", bytes)) {
            throw new IOException("no ImageIO writer for PNG");
        }
        return bytes.toByteArray();
    }
}
