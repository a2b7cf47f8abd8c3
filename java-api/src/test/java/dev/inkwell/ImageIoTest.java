package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PNG and JPEG in and out, and clear errors for files that are not images. */
class ImageIoTest {
    @TempDir
    Path tmp;

    @Test
    void pngRoundTripIsExactForGrayRgbAndRgba() throws IOException {
        Random rnd = new Random(9);
        for (int cn : new int[] {1, 3, 4}) {
            byte[] pixels = new byte[13 * 17 * cn];
            rnd.nextBytes(pixels);
            Path file = tmp.resolve("img" + cn + ".png");
            try (Image img = Image.fromBytes(pixels, 13, 17, cn)) {
                img.write(file);
            }
            try (Image back = Image.read(file, AlphaMode.KEEP)) {
                assertEquals(cn, back.channels());
                assertArrayEquals(pixels, back.toByteArray());
                assertEquals(pixels[0] & 0xFF, back.get(0, 0, 0)); // channel order survives: R first
            }
            try (Image back = Image.read(file)) {
                int expectedChannels = cn == 4 ? 3 : cn; // alpha is composited over white (ImageAlphaTest)
                assertEquals(expectedChannels, back.channels());
                int r = cn == 4 ? ImageCodec.overWhite(pixels[0] & 0xFF, pixels[3] & 0xFF) : pixels[0] & 0xFF;
                assertEquals(r, back.get(0, 0, 0));
            }
        }
    }

    @Test
    void jpegIsReadAndWritten() throws IOException {
        Path file = tmp.resolve("flat.jpg");
        byte[] pixels = new byte[32 * 32 * 3];
        Arrays.fill(pixels, (byte) 128);
        try (Image img = Image.fromBytes(pixels, 32, 32, 3)) {
            img.write(file);
        }
        try (Image back = Image.read(file)) {
            assertEquals(3, back.channels());
            assertTrue(Math.abs(back.get(16, 16, 1) - 128) <= 2, "flat gray survives JPEG: " + back.get(16, 16, 1));
        }
    }

    @Test
    void missingCorruptAndTruncatedFiles() throws IOException {
        assertThrows(NoSuchFileException.class, () -> Image.read(tmp.resolve("nope.png")));
        Path text = tmp.resolve("text.png");
        Files.writeString(text, "this is not an image");
        IOException e = assertThrows(IOException.class, () -> Image.read(text));
        assertTrue(e.getMessage().contains("not a PNG or JPEG image"), e.getMessage());

        Path good = tmp.resolve("good.png");
        byte[] pixels = new byte[64 * 64];
        new Random(1).nextBytes(pixels);
        try (Image img = Image.fromBytes(pixels, 64, 64, 1)) {
            img.write(good);
        }
        byte[] bytes = Files.readAllBytes(good);
        Path truncated = tmp.resolve("truncated.png");
        Files.write(truncated, Arrays.copyOf(bytes, bytes.length / 2));
        e = assertThrows(IOException.class, () -> Image.read(truncated));
        assertTrue(e.getMessage().contains("truncated.png"), e.getMessage());
        assertThrows(IOException.class, () -> Image.read(tmp)); // a directory
        try (Image img = Image.allocate(2, 2, 1)) {
            e = assertThrows(IOException.class, () -> img.write(tmp.resolve("x.bmp")));
            assertTrue(e.getMessage().contains("unknown image format"), e.getMessage());
        }
    }
}
