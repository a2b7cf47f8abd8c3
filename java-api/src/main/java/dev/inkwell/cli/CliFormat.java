package dev.inkwell.cli;

import dev.inkwell.Image;
import java.util.Arrays;
import java.util.Locale;

/** The CLI's shared conventions for what it prints: sizes as W x H, labelled timings. */
final class CliFormat {
    private CliFormat() {}

    /** "1920x1080 RGB": width first, as image tools print sizes, then the channels. */
    static String size(Image image) {
        String channels = switch (image.channels()) {
            case 1 -> "gray";
            case 3 -> "RGB";
            case 4 -> "RGBA";
            default -> image.channels() + " channels";
        };
        return image.width() + "x" + image.height() + " " + channels;
    }

    /** Median time of {@code runs} calls in milliseconds (NaN for none). */
    static double medianMs(int runs, Runnable call) {
        if (runs <= 0) {
            return Double.NaN;
        }
        double[] t = new double[runs];
        for (int i = 0; i < runs; i++) {
            long start = System.nanoTime();
            call.run();
            t[i] = (System.nanoTime() - start) / 1e6;
        }
        Arrays.sort(t);
        return runs % 2 == 1 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2;
    }

    /** "median 12.30 ms of 5 warm calls, first call 20.10 ms" (or the first call alone). */
    static String label(double firstMs, double medianMs, int runs) {
        String first = String.format(Locale.ROOT, "first call %.2f ms", firstMs);
        if (runs <= 0) {
            return first + " (cold: includes one-time set-up)";
        }
        return String.format(Locale.ROOT, "median %.2f ms of %d warm call%s, %s", medianMs, runs, runs == 1 ? "" : "s",
                first);
    }
}
