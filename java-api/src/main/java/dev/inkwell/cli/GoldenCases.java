package dev.inkwell.cli;

import dev.inkwell.BlurOptions;
import dev.inkwell.CannyOptions;
import dev.inkwell.Image;
import dev.inkwell.Inkwell;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Runs one case of a golden manifest through the public API and compares it with the
 * expected file. One method per kind of case; {@link #supports} lists the kinds.
 */
final class GoldenCases {
    /** Outcome of one case, printed as one line. */
    record Result(boolean passed, String kind, String name, String detail) {
        String line() {
            return String.format("%s %-13s %-52s %s", passed ? "PASS" : "FAIL", kind, name, detail);
        }
    }

    private final Inkwell inkwell;
    private final Path golden;
    private final Path save; // null: do not save outputs

    GoldenCases(Inkwell inkwell, Path golden, Path save) {
        this.inkwell = inkwell;
        this.golden = golden;
        this.save = save;
    }

    boolean supports(String kind) {
        return kind.equals("canny") || kind.equals("gaussian_blur");
    }

    Result run(String kind, Map<?, ?> entry) {
        String expected = text(entry, "expected");
        try {
            return switch (kind) {
                case "canny" -> canny(entry, expected);
                case "gaussian_blur" -> gaussianBlur(entry, expected);
                default -> throw new IllegalArgumentException("unsupported kind " + kind);
            };
        } catch (IOException e) {
            return new Result(false, kind, expected, "error: " + Main.describe(e));
        } catch (RuntimeException e) {
            return new Result(false, kind, expected, "error: " + e);
        }
    }

    private Result canny(Map<?, ?> c, String expected) throws IOException {
        CannyOptions options = new CannyOptions(number(c, "low"), number(c, "high"), (int) number(c, "aperture"),
                Boolean.TRUE.equals(c.get("l2gradient")), null);
        try (Image src = Image.read(golden.resolve(text(c, "input")));
                Image want = Image.read(golden.resolve(expected))) {
            String shape = checkShape(src, c);
            if (shape != null) {
                return new Result(false, "canny", expected, shape);
            }
            long start = System.nanoTime();
            try (Image got = inkwell.canny(src, options)) {
                double ms = (System.nanoTime() - start) / 1e6;
                saveOutput(got, expected);
                return compare("canny", expected, got, want, 0, ms);
            }
        }
    }

    private Result gaussianBlur(Map<?, ?> c, String expected) throws IOException {
        BlurOptions blur = new BlurOptions((int) number(c, "ksize"), number(c, "sigma"));
        String border = String.valueOf(c.get("border"));
        if (!border.equals("reflect101")) {
            return new Result(false, "gaussian_blur", expected, "unsupported border '" + border + "'");
        }
        int tolerance = (int) number(c, "max_abs_diff");
        try (Image src = Image.read(golden.resolve(text(c, "input")));
                Image want = Image.read(golden.resolve(expected))) {
            long start = System.nanoTime();
            try (Image got = inkwell.gaussianBlur(src, blur)) {
                double ms = (System.nanoTime() - start) / 1e6;
                saveOutput(got, expected);
                return compare("gaussian_blur", expected, got, want, tolerance, ms);
            }
        }
    }

    private static String checkShape(Image src, Map<?, ?> c) {
        int h = (int) number(c, "height"), w = (int) number(c, "width"), ch = (int) number(c, "channels");
        if (src.height() != h || src.width() != w || src.channels() != ch) {
            return "input is " + src.height() + "x" + src.width() + "x" + src.channels() + ", manifest says " + h + "x" + w
                    + "x" + ch;
        }
        return null;
    }

    private static Result compare(String kind, String name, Image got, Image want, int tolerance, double ms) {
        if (got.height() != want.height() || got.width() != want.width() || got.channels() != want.channels()) {
            return new Result(false, kind, name, "shape " + got.height() + "x" + got.width() + "x" + got.channels()
                    + ", expected " + want.height() + "x" + want.width() + "x" + want.channels());
        }
        byte[] a = got.toByteArray(), b = want.toByteArray();
        int worst = 0;
        long differing = 0;
        for (int i = 0; i < a.length; i++) {
            int d = Math.abs(Byte.toUnsignedInt(a[i]) - Byte.toUnsignedInt(b[i]));
            if (d != 0) {
                differing++;
                worst = Math.max(worst, d);
            }
        }
        String detail = String.format("worst |diff| %d (allowed %d), %d of %d samples differ, %.2f ms", worst, tolerance,
                differing, a.length, ms);
        return new Result(worst <= tolerance, kind, name, detail);
    }

    private void saveOutput(Image image, String expected) {
        if (save == null) {
            return;
        }
        try {
            image.write(save.resolve(expected));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String text(Map<?, ?> c, String key) {
        Object v = c.get(key);
        if (!(v instanceof String s)) {
            throw new IllegalArgumentException("manifest case has no string '" + key + "'");
        }
        return s;
    }

    private static double number(Map<?, ?> c, String key) {
        Object v = c.get(key);
        if (!(v instanceof Double d)) {
            throw new IllegalArgumentException("manifest case has no number '" + key + "'");
        }
        return d;
    }
}
