package dev.inkwell.cli;

import dev.inkwell.BlurOptions;
import dev.inkwell.CannyOptions;
import dev.inkwell.Device;
import dev.inkwell.Image;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The cases of a golden manifest as runnable checks through the public API: one method per
 * kind of case, comparison helpers shared by all. {@link #SUPPORTED} lists the kinds.
 */
final class GoldenCases {
    static final Set<String> SUPPORTED;

    static {
        Set<String> kinds = new java.util.HashSet<>(
                Set.of("canny", "gaussian_blur", "conv2d", "attention", "ddim", "resample", "metrics"));
        kinds.addAll(GoldenLayerCases.KINDS);
        kinds.addAll(GoldenAnnotatorCases.KINDS);
        kinds.addAll(GoldenClipCases.KINDS);
        kinds.addAll(GoldenModelCases.KINDS);
        SUPPORTED = Set.copyOf(kinds);
    }

    /** Outcome of one case, printed as one line. */
    record Result(boolean passed, String kind, String name, String detail) {
        String line() {
            return String.format("%s %-13s %-52s %s", passed ? "PASS" : "FAIL", kind, name, detail);
        }
    }

    /** One check, run on demand. */
    record Case(String kind, String name, Check check) {
        Result run() {
            try {
                return check.run();
            } catch (IOException e) {
                return new Result(false, kind, name, "error: " + Main.describe(e));
            } catch (RuntimeException e) {
                return new Result(false, kind, name, "error: " + e);
            }
        }
    }

    @FunctionalInterface
    interface Check {
        Result run() throws IOException;
    }

    final Inkwell inkwell;
    final Path golden;
    final Path save; // null: do not save outputs
    private final GoldenTensorCases tensors;
    private final GoldenLayerCases layers;

    GoldenCases(Inkwell inkwell, Path golden, Path save) {
        this.inkwell = inkwell;
        this.golden = golden;
        this.save = save;
        this.tensors = new GoldenTensorCases(this);
        this.layers = new GoldenLayerCases(this);
    }

    /** The checks of one kind of the manifest. */
    List<Case> expand(String kind, Object entries) {
        if (GoldenAnnotatorCases.KINDS.contains(kind)) {
            return new GoldenAnnotatorCases(this).expand(kind, entries);
        }
        if (GoldenClipCases.KINDS.contains(kind)) {
            return new GoldenClipCases(this).expand(kind, entries);
        }
        if (GoldenModelCases.KINDS.contains(kind)) {
            return new GoldenModelCases(this).expand(kind, entries);
        }
        if (kind.equals("ddim")) {
            return tensors.ddim((Map<?, ?>) entries);
        }
        List<Case> out = new ArrayList<>();
        for (Object o : (List<?>) entries) {
            Map<?, ?> c = (Map<?, ?>) o;
            if (GoldenLayerCases.KINDS.contains(kind)) {
                out.add(new Case(kind, text(c, "name"), layers.check(kind, c)));
                continue;
            }
            String name = switch (kind) {
                case "conv2d", "attention" -> text(c, "name");
                case "metrics" -> text(c, "test");
                default -> text(c, "expected");
            };
            Check check = switch (kind) {
                case "canny" -> () -> canny(c, name);
                case "gaussian_blur" -> () -> gaussianBlur(c, name);
                case "conv2d" -> () -> tensors.conv2d(c);
                case "attention" -> () -> tensors.attention(c);
                case "resample" -> () -> tensors.resample(c);
                case "metrics" -> () -> tensors.metrics(c);
                default -> throw new IllegalArgumentException("unsupported kind " + kind);
            };
            out.add(new Case(kind, name, check));
        }
        return out;
    }

    private Result canny(Map<?, ?> c, String expected) throws IOException {
        CannyOptions options = new CannyOptions(number(c, "low"), number(c, "high"), (int) number(c, "aperture"),
                Boolean.TRUE.equals(c.get("l2gradient")), null);
        try (Image src = input(Image.read(golden.resolve(text(c, "input"))));
                Image want = Image.read(golden.resolve(expected))) {
            int h = (int) number(c, "height"), w = (int) number(c, "width"), ch = (int) number(c, "channels");
            if (src.height() != h || src.width() != w || src.channels() != ch) {
                return new Result(false, "canny", expected, "input is " + src.height() + "x" + src.width() + "x"
                        + src.channels() + ", manifest says " + h + "x" + w + "x" + ch);
            }
            long start = System.nanoTime();
            try (Image got = inkwell.canny(src, options)) {
                double ms = (System.nanoTime() - start) / 1e6;
                save(got, expected);
                return compareImages("canny", expected, got, want, 0, ms);
            }
        }
    }

    private Result gaussianBlur(Map<?, ?> c, String expected) throws IOException {
        BlurOptions blur = new BlurOptions((int) number(c, "ksize"), number(c, "sigma"));
        String border = String.valueOf(c.get("border"));
        if (!border.equals("reflect101")) {
            return new Result(false, "gaussian_blur", expected, "unsupported border '" + border + "'");
        }
        try (Image src = input(Image.read(golden.resolve(text(c, "input"))));
                Image want = Image.read(golden.resolve(expected))) {
            long start = System.nanoTime();
            try (Image got = inkwell.gaussianBlur(src, blur)) {
                double ms = (System.nanoTime() - start) / 1e6;
                save(got, expected);
                return compareImages("gaussian_blur", expected, got, want, (int) number(c, "max_abs_diff"), ms);
            }
        }
    }

    static Result compareImages(String kind, String name, Image got, Image want, int tolerance, double ms) {
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

    /** |got - want| &lt;= atol + rtol |want| elementwise (non-finite references skipped). */
    static Result compareTensors(String kind, String name, float[] got, float[] want, double atol, double rtol, double ms) {
        if (got.length != want.length) {
            return new Result(false, kind, name, got.length + " elements, expected " + want.length);
        }
        double worst = 0, worstExcess = 0;
        long bad = 0;
        for (int i = 0; i < got.length; i++) {
            if (!Float.isFinite(want[i])) {
                continue;
            }
            double err = Math.abs((double) got[i] - want[i]);
            double allowed = atol + rtol * Math.abs(want[i]);
            worst = Math.max(worst, Double.isNaN(err) ? Double.POSITIVE_INFINITY : err);
            if (!(err <= allowed)) {
                bad++;
                worstExcess = Math.max(worstExcess, err / allowed);
            }
        }
        String detail = String.format("max |err| %.3g (atol %.2g, rtol %.2g), %d of %d out of tolerance, %.2f ms", worst,
                atol, rtol, bad, got.length, ms);
        return new Result(bad == 0, kind, name, detail);
    }

    /** An input in the memory of the context under test: moved there unless it is the host's. */
    Image input(Image host) {
        if (inkwell.device() == Device.CPU) {
            return host;
        }
        try (host) {
            return inkwell.copyToDevice(host);
        }
    }

    /** As {@link #input(Image)}. */
    Tensor input(Tensor host) {
        if (inkwell.device() == Device.CPU) {
            return host;
        }
        try (host) {
            return inkwell.copyToDevice(host);
        }
    }

    void save(Image image, String relative) throws IOException {
        if (save != null) {
            try (Image host = image.device() == Device.CPU ? null : inkwell.copyToHost(image)) {
                (host == null ? image : host).write(save.resolve(relative));
            }
        }
    }

    void save(Tensor tensor, String relative) throws IOException {
        if (save != null) {
            tensor.writeNpy(save.resolve(relative));
        }
    }

    static String text(Map<?, ?> c, String key) {
        Object v = c.get(key);
        if (!(v instanceof String s)) {
            throw new IllegalArgumentException("manifest case has no string '" + key + "'");
        }
        return s;
    }

    static double number(Map<?, ?> c, String key) {
        Object v = c.get(key);
        if (!(v instanceof Double d)) {
            throw new IllegalArgumentException("manifest case has no number '" + key + "'");
        }
        return d;
    }

    static Map<?, ?> object(Map<?, ?> c, String key) {
        Object v = c.get(key);
        if (!(v instanceof Map<?, ?> m)) {
            throw new IllegalArgumentException("manifest case has no object '" + key + "'");
        }
        return m;
    }
}
