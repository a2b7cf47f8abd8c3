package dev.inkwell.example;

import dev.inkwell.Image;
import dev.inkwell.Inkwell;

/**
 * One Canny call on a generated image, as a user's program makes it: a vertical step from
 * black to white must give an edge in every row, next to the step, and nowhere else.
 * Exits with 1 if not.
 */
public final class Consumer {
    private Consumer() {}

    public static void main(String[] args) {
        int width = 64, height = 48, step = 32;
        byte[] pixels = new byte[width * height];
        for (int y = 0; y < height; y++) {
            for (int x = step; x < width; x++) {
                pixels[y * width + x] = (byte) 255;
            }
        }
        int rowsWithEdge = 0, stray = 0;
        try (Inkwell inkwell = Inkwell.create();
                Image drawing = Image.fromBytes(pixels, height, width, 1);
                Image edges = inkwell.canny(drawing)) {
            byte[] e = edges.toByteArray();
            for (int y = 0; y < height; y++) {
                boolean found = false;
                for (int x = 0; x < width; x++) {
                    if (e[y * width + x] != 0) {
                        if (Math.abs(x - step) <= 1) {
                            found = true;
                        } else {
                            stray++;
                        }
                    }
                }
                rowsWithEdge += found ? 1 : 0;
            }
            String where = Consumer.class.getModule().isNamed() ? "module path" : "class path";
            System.out.printf("consumer (%s): inkwell %s, canny found the step in %d of %d rows, %d stray edge pixels%n",
                    where, Inkwell.version(), rowsWithEdge, height, stray);
        }
        if (rowsWithEdge != height || stray != 0) {
            System.exit(1);
        }
    }
}
