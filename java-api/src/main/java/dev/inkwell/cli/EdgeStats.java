package dev.inkwell.cli;

import dev.inkwell.Image;

/** Small summaries of edge maps for the commands' output. */
final class EdgeStats {
    private EdgeStats() {}

    /** Fraction of non-zero pixels of a 1-channel image. */
    static double edgeFraction(Image edges) {
        byte[] pixels = edges.toByteArray();
        long n = 0;
        for (byte b : pixels) {
            if (b != 0) {
                n++;
            }
        }
        return (double) n / pixels.length;
    }
}
