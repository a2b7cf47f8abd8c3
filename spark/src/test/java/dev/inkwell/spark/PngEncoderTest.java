package dev.inkwell.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.inkwell.Image;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PngEncoder's files decode to the same samples, with ImageIO and with Inkwell's reader. */
class PngEncoderTest {
    @TempDir
    Path tmp;

    @Test
    void decodersReadBackEverySample() throws IOException {
        Random random = new Random(7);
        int[][] sizes = {{1, 1}, {1, 9}, {5, 1}, {3, 7}, {64, 37}, {129, 300}};
        for (int channels : new int[] {1, 3}) {
            for (int[] size : sizes) {
                int h = size[0], w = size[1];
                byte[] pixels = new byte[h * w * channels];
                random.nextBytes(pixels);
                if (h > 4) { // flat and binary stretches too: runs, and Paeth's ties
                    java.util.Arrays.fill(pixels, 0, pixels.length / 4, (byte) 255);
                }
                try (Image image = Image.fromBytes(pixels, h, w, channels)) {
                    byte[] png = PngEncoder.encode(image);
                    BufferedImage decoded = ImageIO.read(new ByteArrayInputStream(png));
                    assertEquals(w, decoded.getWidth());
                    assertEquals(h, decoded.getHeight());
                    assertEquals(channels, decoded.getRaster().getNumBands());
                    Path file = Files.write(tmp.resolve("p" + channels + "_" + h + "x" + w + ".png"), png);
                    try (Image back = Image.read(file)) {
                        assertEquals(channels, back.channels());
                        assertArrayEquals(pixels, back.toByteArray(), channels + " channels, " + h + "x" + w);
                    }
                }
            }
        }
    }

    @Test
    void refusesOtherChannelCounts() {
        try (Image image = Image.allocate(2, 2, 4)) {
            assertThrows(IllegalArgumentException.class, () -> PngEncoder.encode(image));
        }
    }
}
