package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What Image.read does with alpha (ControlNet's HWC3: composite over white, or kept on
 * request), CMYK and YCCK JPEGs (through TwelveMonkeys), and an image too large for the heap.
 */
class ImageAlphaTest {
    @TempDir
    Path tmp;

    /**
     * CRC-32 of HWC3's result for every (color, alpha) pair, index color * 256 + alpha, computed
     * with NumPy 2.4 exactly as ControlNet's annotator/util.py does it:
     * {@code alpha = a.astype(np.float32) / 255.0; y = color * alpha + 255.0 * (1.0 - alpha);
     * y.clip(0, 255).astype(np.uint8)}. 32175 of the 65536 results differ from a rounded
     * exact value, so truncation and float32 order both matter.
     */
    private static final long HWC3_TABLE_CRC = 0xe76d852dL;

    @Test
    void compositeMatchesControlNetsHwc3ForEveryColorAndAlpha() {
        byte[] table = new byte[256 * 256];
        for (int c = 0; c < 256; c++) {
            for (int a = 0; a < 256; a++) {
                table[c * 256 + a] = (byte) ImageCodec.overWhite(c, a);
            }
        }
        CRC32 crc = new CRC32();
        crc.update(table);
        assertEquals(HWC3_TABLE_CRC, crc.getValue());
        // Spot values from the same NumPy run, for a readable failure.
        assertEquals(255, ImageCodec.overWhite(0, 0), "transparent is white");
        assertEquals(254, ImageCodec.overWhite(0, 1));
        assertEquals(0, ImageCodec.overWhite(0, 255));
        assertEquals(177, ImageCodec.overWhite(100, 128));
        assertEquals(254, ImageCodec.overWhite(255, 77), "float32 rounding, then truncation");
        assertEquals(17, ImageCodec.overWhite(17, 255), "opaque keeps its color");
    }

    private Path writeRgba(int h, int w, byte[] rgba) throws IOException {
        Path file = tmp.resolve("rgba.png");
        try (Image img = Image.fromBytes(rgba, h, w, 4)) {
            img.write(file);
        }
        return file;
    }

    @Test
    void rgbaIsCompositedOverWhiteByDefaultAndKeptOnRequest() throws IOException {
        int h = 7, w = 11;
        byte[] rgba = new byte[h * w * 4];
        new Random(3).nextBytes(rgba);
        rgba[3] = 0; // pixel (0, 0) fully transparent, its hidden color random
        rgba[7] = (byte) 255; // pixel (0, 1) opaque
        Path file = writeRgba(h, w, rgba);
        try (Image over = Image.read(file); Image kept = Image.read(file, AlphaMode.KEEP)) {
            assertEquals(3, over.channels());
            assertEquals(4, kept.channels());
            assertArrayEquals(rgba, kept.toByteArray(), "KEEP gives the file's samples");
            byte[] got = over.toByteArray();
            for (int i = 0; i < h * w; i++) {
                int a = rgba[4 * i + 3] & 0xFF;
                for (int c = 0; c < 3; c++) {
                    assertEquals(ImageCodec.overWhite(rgba[4 * i + c] & 0xFF, a), got[3 * i + c] & 0xFF, "pixel " + i);
                }
            }
            assertEquals(255, over.get(0, 0, 0));
            assertEquals(255, over.get(0, 0, 2), "a transparent pixel is white, not its hidden color");
            assertEquals(rgba[4] & 0xFF, over.get(0, 1, 0), "an opaque pixel keeps its color");
        }
    }

    @Test
    void grayWithAlphaAndPalettesWithTransparency() throws IOException {
        // gray + alpha: 1 channel composited, or RGBA with the gray repeated.
        BufferedImage ga = new BufferedImage(3, 2, BufferedImage.TYPE_INT_ARGB);
        WritableRaster r = ga.getRaster();
        int[][] px = {{10, 0}, {10, 255}, {200, 128}, {0, 1}, {255, 0}, {77, 77}}; // {gray, alpha}
        for (int i = 0; i < px.length; i++) {
            r.setPixel(i % 3, i / 3, new int[] {px[i][0], px[i][0], px[i][0], px[i][1]});
        }
        // Written through ImageIO as gray+alpha (PNG color type 4).
        BufferedImage grayAlpha = toGrayAlpha(ga);
        Path file = tmp.resolve("ga.png");
        ImageIO.write(grayAlpha, "png", file.toFile());
        try (Image over = Image.read(file); Image kept = Image.read(file, AlphaMode.KEEP)) {
            assertEquals(1, over.channels());
            assertEquals(4, kept.channels());
            for (int i = 0; i < px.length; i++) {
                int y = i / 3, x = i % 3;
                assertEquals(ImageCodec.overWhite(px[i][0], px[i][1]), over.get(y, x, 0), "pixel " + i);
                for (int c = 0; c < 3; c++) {
                    assertEquals(px[i][0], kept.get(y, x, c));
                }
                assertEquals(px[i][1], kept.get(y, x, 3));
            }
        }

        // A palette with a transparent entry (PNG tRNS).
        byte[] red = {(byte) 255, 0}, green = {0, (byte) 200}, blue = {0, 30}, alpha = {0, (byte) 255};
        BufferedImage indexed = new BufferedImage(2, 1, BufferedImage.TYPE_BYTE_INDEXED,
                new IndexColorModel(1, 2, red, green, blue, alpha));
        indexed.getRaster().setSample(0, 0, 0, 0);
        indexed.getRaster().setSample(1, 0, 0, 1);
        Path pal = tmp.resolve("palette.png");
        ImageIO.write(indexed, "png", pal.toFile());
        try (Image over = Image.read(pal); Image kept = Image.read(pal, AlphaMode.KEEP)) {
            assertArrayEquals(new byte[] {(byte) 255, (byte) 255, (byte) 255, 0, (byte) 200, 30}, over.toByteArray());
            assertArrayEquals(new byte[] {(byte) 255, 0, 0, 0, 0, (byte) 200, 30, (byte) 255}, kept.toByteArray());
        }

        // No alpha: KEEP changes nothing.
        Path rgb = tmp.resolve("rgb.png");
        byte[] pixels = new byte[5 * 4 * 3];
        new Random(5).nextBytes(pixels);
        try (Image img = Image.fromBytes(pixels, 5, 4, 3)) {
            img.write(rgb);
        }
        try (Image kept = Image.read(rgb, AlphaMode.KEEP)) {
            assertEquals(3, kept.channels());
            assertArrayEquals(pixels, kept.toByteArray());
        }
    }

    private static BufferedImage toGrayAlpha(BufferedImage argb) {
        java.awt.color.ColorSpace gray = java.awt.color.ColorSpace.getInstance(java.awt.color.ColorSpace.CS_GRAY);
        java.awt.image.ComponentColorModel cm = new java.awt.image.ComponentColorModel(gray, true, false,
                java.awt.Transparency.TRANSLUCENT, java.awt.image.DataBuffer.TYPE_BYTE);
        WritableRaster raster = cm.createCompatibleWritableRaster(argb.getWidth(), argb.getHeight());
        for (int y = 0; y < argb.getHeight(); y++) {
            for (int x = 0; x < argb.getWidth(); x++) {
                int[] p = argb.getRaster().getPixel(x, y, (int[]) null);
                raster.setPixel(x, y, new int[] {p[0], p[3]});
            }
        }
        return new BufferedImage(cm, raster, false, null);
    }

    private Path resource(String name) throws IOException {
        Path file = tmp.resolve(name);
        try (InputStream in = ImageAlphaTest.class.getResourceAsStream("/images/" + name)) {
            Files.copy(in, file);
        }
        return file;
    }

    /**
     * 16x16 JPEGs of four 8x8 quadrants, red, green, blue and white, stored as CMYK with an
     * Adobe marker: cmyk-adobe.jpg (transform 0, written by the JDK's JPEG writer from inverted
     * CMYK samples, the Adobe APP14 segment added by hand) and ycck-adobe.jpg (transform 2,
     * ImageMagick 6: {@code convert quad.png -colorspace CMYK ycck-adobe.jpg}). The JDK alone
     * decodes them to a CMYK raster, whose first three bands read as RGB gave inverted colors.
     */
    @Test
    void cmykAndYcckJpegsReadAsTheirColors() throws IOException {
        for (String name : new String[] {"cmyk-adobe.jpg", "ycck-adobe.jpg"}) {
            try (Image img = Image.read(resource(name))) {
                assertEquals(3, img.channels(), name);
                assertEquals(16, img.width());
                int[][] want = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};
                int[][] at = {{3, 3}, {3, 11}, {11, 3}, {11, 11}}; // quadrant centres (y, x)
                for (int q = 0; q < 4; q++) {
                    for (int c = 0; c < 3; c++) {
                        int got = img.get(at[q][0], at[q][1], c);
                        // JPEG loss is a few levels; an inverted read is off by ~255.
                        assertTrue(Math.abs(got - want[q][c]) <= 12,
                                name + " quadrant " + q + " channel " + c + ": " + got + ", want " + want[q][c]);
                    }
                }
            }
        }
    }

    @Test
    void plainJpegsDecodeAsTheJdkDecodesThem() throws IOException {
        // TwelveMonkeys comes first for JPEGs: it must hand YCbCr and gray files to the JDK's
        // decoder unchanged, so results stay those of the JPEG library everyone else uses.
        for (int channels : new int[] {1, 3}) {
            byte[] pixels = new byte[37 * 53 * channels];
            new Random(channels).nextBytes(pixels);
            Path file = tmp.resolve("plain" + channels + ".jpg");
            try (Image img = Image.fromBytes(pixels, 37, 53, channels)) {
                img.write(file);
            }
            BufferedImage jdk = decodeWithJdk(file);
            try (Image img = Image.read(file)) {
                assertEquals(channels, img.channels());
                int[] samples = jdk.getRaster().getPixels(0, 0, 53, 37, (int[]) null);
                byte[] got = img.toByteArray();
                for (int i = 0; i < samples.length; i++) {
                    assertEquals(samples[i], got[i] & 0xFF, "sample " + i + " of " + file.getFileName());
                }
            }
        }
    }

    private static BufferedImage decodeWithJdk(Path file) throws IOException {
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            var readers = ImageIO.getImageReaders(in);
            while (readers.hasNext()) {
                ImageReader reader = readers.next();
                if (reader.getClass().getName().startsWith("com.sun.imageio")) {
                    reader.setInput(in);
                    return reader.read(0);
                }
            }
        }
        throw new AssertionError("no JDK JPEG reader");
    }

    @Test
    void anImageTooLargeForTheHeapIsReportedAsSuch() throws Exception {
        // 6000x5000 gray of zeros: a few kB of PNG, 30 MB decoded; the child JVM has 24 MB.
        Path big = tmp.resolve("big.png");
        try (Image img = Image.allocate(5000, 6000, 1)) {
            img.write(big);
        }
        assertTrue(Files.size(big) < 1_000_000, "the file itself is small: " + Files.size(big));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx24m", "-XX:-UsePerfData", "--enable-native-access=ALL-UNNAMED", "-Djava.awt.headless=true",
                "-cp", System.getProperty("java.class.path"), "dev.inkwell.cli.Main", "canny", big.toString(),
                tmp.resolve("out.png").toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(1, p.exitValue(), out);
        assertTrue(out.contains("not enough Java heap to decode a 6000x5000 image"), out);
        assertTrue(out.contains("raise -Xmx"), out);
        assertTrue(!out.contains("corrupt or truncated"), out);
        assertEquals(1, out.strip().lines().count(), "one line: " + out);
    }

    @Test
    void heapMessageNamesSizeAndHeap() {
        OutOfMemoryError e = ImageCodec.heapTooSmall(Path.of("x.png"), 8000, 8000, new OutOfMemoryError("Java heap space"));
        assertTrue(e.getMessage().startsWith("x.png: not enough Java heap to decode a 8000x8000 image (maximum heap "),
                e.getMessage());
        assertTrue(e.getMessage().endsWith("MB): raise -Xmx"), e.getMessage());
        assertEquals("Java heap space", e.getCause().getMessage());
    }

    @Test
    void otherColorSpacesAreRefusedClearly() throws IOException {
        // A TIFF in CMYK (not a JPEG, so TwelveMonkeys does not convert it): refused by name.
        java.awt.color.ColorSpace cmyk = new java.awt.color.ColorSpace(java.awt.color.ColorSpace.TYPE_CMYK, 4) {
            private static final long serialVersionUID = 1L;

            @Override
            public float[] toRGB(float[] v) {
                return new float[] {1 - v[0], 1 - v[1], 1 - v[2]};
            }

            @Override
            public float[] fromRGB(float[] v) {
                return new float[] {1 - v[0], 1 - v[1], 1 - v[2], 0};
            }

            @Override
            public float[] toCIEXYZ(float[] v) {
                return new float[3];
            }

            @Override
            public float[] fromCIEXYZ(float[] v) {
                return new float[4];
            }
        };
        java.awt.image.ComponentColorModel cm = new java.awt.image.ComponentColorModel(cmyk, false, false,
                java.awt.Transparency.OPAQUE, java.awt.image.DataBuffer.TYPE_BYTE);
        BufferedImage img = new BufferedImage(cm, cm.createCompatibleWritableRaster(4, 4), false, null);
        Path file = tmp.resolve("cmyk.tif");
        assertTrue(ImageIO.write(img, "tiff", file.toFile()), "the JDK's TIFF writer takes CMYK");
        IOException e = assertThrows(IOException.class, () -> Image.read(file).close());
        assertTrue(e.getMessage().contains("unsupported color space"), e.getMessage());
    }

    @Test
    void textIsStillNotAnImage() throws IOException {
        Path text = tmp.resolve("text.png");
        Files.writeString(text, "not an image", StandardCharsets.UTF_8);
        IOException e = assertThrows(IOException.class, () -> Image.read(text));
        assertTrue(e.getMessage().contains("not a PNG or JPEG image"), e.getMessage());
    }
}
