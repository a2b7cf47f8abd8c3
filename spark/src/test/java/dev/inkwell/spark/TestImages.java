package dev.inkwell.spark;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.GradientPaint;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;

/**
 * A generated input folder: drawings of mixed size and kind (gray, RGB, RGBA, palette PNGs;
 * RGB and gray JPEGs; smaller and larger than the resolution), most with a caption file, and
 * a few files that cannot be decoded or are cut short.
 */
final class TestImages {
    /** One good input: its path under the folder and its caption (null: no .txt). */
    record Good(String relative, String caption) {}

    final List<Good> good = new ArrayList<>();
    final List<String> bad = new ArrayList<>();

    static TestImages write(Path dir, long seed) throws IOException {
        TestImages t = new TestImages();
        Random random = new Random(seed);
        String[] kinds = {"gray.png", "rgb.png", "rgba.png", "palette.png", "rgb.jpg", "gray.jpg"};
        for (int i = 0; i < 36; i++) {
            String kind = kinds[i % kinds.length];
            // Mostly smaller than the resolution (resize_image enlarges with Lanczos-4), some
            // larger on both sides (it shrinks with area averaging).
            boolean large = i % 9 == 0;
            int w = large ? 560 + random.nextInt(200) : 24 + random.nextInt(600);
            int h = large ? 530 + random.nextInt(100) : 24 + random.nextInt(450);
            String folder = i % 4 == 3 ? "sub/deeper/" : i % 4 == 1 ? "sub/" : "";
            String relative = folder + String.format("img%02d_%s", i, kind);
            BufferedImage image = drawing(w, h, kind, random);
            writeImage(dir.resolve(relative), image, kind.endsWith(".png") ? "png" : "jpeg");
            String caption = null;
            if (i % 7 != 5) { // some images have no caption
                caption = "drawing " + i + ", " + kind + (i % 3 == 0 ? " — ünïcode\n" : "");
                Files.writeString(dir.resolve(InputListing.stem(relative) + ".txt"), caption + "\n",
                        StandardCharsets.UTF_8);
            }
            t.good.add(new Good(relative, caption == null ? null : caption.strip()));
        }
        // Two files that differ only by extension: both kept, as same_png and same_jpg.
        writeImage(dir.resolve("same.png"), drawing(300, 200, "rgb.png", random), "png");
        writeImage(dir.resolve("same.jpg"), drawing(200, 300, "rgb.jpg", random), "jpeg");
        Files.writeString(dir.resolve("same.txt"), "shared caption");
        t.good.add(new Good("same.jpg", "shared caption"));
        t.good.add(new Good("same.png", "shared caption"));

        // A JPEG with data after its EOI marker (as some cameras append): complete, kept.
        byte[] jpeg = encode(drawing(400, 300, "rgb.jpg", random), "jpeg");
        byte[] trailer = "appended trailer, not image data".getBytes(StandardCharsets.US_ASCII);
        byte[] withTrailer = Arrays.copyOf(jpeg, jpeg.length + trailer.length);
        System.arraycopy(trailer, 0, withTrailer, jpeg.length, trailer.length);
        Files.write(dir.resolve("sub/trailer.jpg"), withTrailer);
        t.good.add(new Good("sub/trailer.jpg", null));

        byte[] png = encode(drawing(320, 240, "rgb.png", random), "png");
        // ImageIO decodes a JPEG cut short without an exception (gray below the cut): the job refuses it.
        Files.write(dir.resolve("sub/bad_truncated.jpg"), Arrays.copyOf(jpeg, jpeg.length / 2));
        t.bad.add("sub/bad_truncated.jpg");
        byte[] random1 = new byte[2000];
        random.nextBytes(random1);
        Files.write(dir.resolve("bad_random.png"), random1);
        t.bad.add("bad_random.png");
        Files.write(dir.resolve("sub/bad_truncated.png"), Arrays.copyOf(png, png.length * 3 / 5));
        t.bad.add("sub/bad_truncated.png");
        Files.write(dir.resolve("bad_header_only.png"), Arrays.copyOf(png, 40));
        t.bad.add("bad_header_only.png");
        Files.write(dir.resolve("bad_empty.jpg"), new byte[0]);
        t.bad.add("bad_empty.jpg");
        Files.writeString(dir.resolve("bad_text.jpeg"), "this is not a JPEG");
        t.bad.add("bad_text.jpeg");
        // Neither images nor captions: ignored.
        Files.writeString(dir.resolve("notes.md"), "not an image");
        Files.createDirectories(dir.resolve(".hidden"));
        Files.write(dir.resolve(".hidden/skipped.png"), png);

        t.good.sort((a, b) -> a.relative().compareTo(b.relative()));
        t.bad.sort(String::compareTo);
        return t;
    }

    /** Shapes, lines and a gradient: edges for Canny, gray levels for the resize. */
    static BufferedImage drawing(int w, int h, String kind, Random random) {
        BufferedImage rgba = new BufferedImage(w, h, BufferedImage.TYPE_INT_ARGB);
        Graphics2D g = rgba.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setPaint(new GradientPaint(0, 0, new Color(random.nextInt(0xFFFFFF)), w, h,
                new Color(random.nextInt(0xFFFFFF))));
        g.fillRect(0, 0, w, h);
        for (int k = 0; k < 12; k++) {
            g.setColor(new Color(random.nextInt(256), random.nextInt(256), random.nextInt(256), 80 + random.nextInt(176)));
            g.setStroke(new BasicStroke(1 + random.nextInt(6)));
            int x = random.nextInt(w), y = random.nextInt(h), a = 1 + random.nextInt(w), b = 1 + random.nextInt(h);
            switch (k % 3) {
                case 0 -> g.fillOval(x - a / 4, y - b / 4, a / 2, b / 2);
                case 1 -> g.drawLine(x, y, random.nextInt(w), random.nextInt(h));
                default -> g.drawRect(x - a / 4, y - b / 4, a / 2, b / 2);
            }
        }
        if (kind.startsWith("rgba")) { // transparent holes: HWC3 composites them over white
            g.setComposite(java.awt.AlphaComposite.Clear);
            g.fillOval(w / 4, h / 4, w / 3, h / 3);
            g.setComposite(java.awt.AlphaComposite.getInstance(java.awt.AlphaComposite.SRC, 0.5f));
            g.setColor(new Color(10, 200, 30, 90));
            g.fillRect(w / 2, 0, w / 4, h);
        }
        g.dispose();
        if (kind.startsWith("rgba")) {
            return rgba;
        }
        int type = kind.startsWith("gray") ? BufferedImage.TYPE_BYTE_GRAY
                : kind.startsWith("palette") ? BufferedImage.TYPE_BYTE_INDEXED : BufferedImage.TYPE_3BYTE_BGR;
        BufferedImage out = type == BufferedImage.TYPE_BYTE_INDEXED
                ? new BufferedImage(w, h, type, palette()) : new BufferedImage(w, h, type);
        Graphics2D o = out.createGraphics();
        o.drawImage(rgba, 0, 0, null);
        o.dispose();
        return out;
    }

    private static IndexColorModel palette() {
        byte[] r = new byte[256], g = new byte[256], b = new byte[256];
        for (int i = 0; i < 256; i++) {
            r[i] = (byte) (i & 0xE0);
            g[i] = (byte) ((i << 3) & 0xE0);
            b[i] = (byte) ((i << 6) & 0xC0);
        }
        return new IndexColorModel(8, 256, r, g, b);
    }

    static void writeImage(Path path, BufferedImage image, String format) throws IOException {
        Files.createDirectories(path.getParent());
        Files.write(path, encode(image, format));
    }

    static byte[] encode(BufferedImage image, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (!ImageIO.write(image, format, out)) {
            throw new IOException("no writer for " + format);
        }
        return out.toByteArray();
    }
}
