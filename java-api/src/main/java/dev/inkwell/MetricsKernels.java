package dev.inkwell;

import dev.inkwell.bindings.InkwellNative;
import dev.inkwell.bindings.inkwell_image_metric_params;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/** PSNR and SSIM of 8-bit images: checks and native calls. */
final class MetricsKernels {
    /** SSIM's Gaussian window is 11x11. */
    static final int SSIM_MIN_SIDE = 11;

    private MetricsKernels() {}

    static double psnr(Inkwell inkwell, Image reference, Image test) {
        check(reference, test, "psnr");
        return call(inkwell, reference, test, "psnr", true);
    }

    static double ssim(Inkwell inkwell, Image reference, Image test) {
        check(reference, test, "ssim");
        if (reference.height() < SSIM_MIN_SIDE || reference.width() < SSIM_MIN_SIDE) {
            throw new IllegalArgumentException("ssim needs images of at least " + SSIM_MIN_SIDE + "x" + SSIM_MIN_SIDE + ", got "
                    + reference.height() + "x" + reference.width());
        }
        return call(inkwell, reference, test, "ssim", false);
    }

    private static void check(Image reference, Image test, String what) {
        Objects.requireNonNull(reference, "reference");
        Objects.requireNonNull(test, "test");
        if (reference.height() != test.height() || reference.width() != test.width()
                || reference.channels() != test.channels()) {
            throw new IllegalArgumentException(what + ": test is " + test.height() + "x" + test.width() + "x" + test.channels()
                    + " but reference is " + reference.height() + "x" + reference.width() + "x" + reference.channels());
        }
    }

    private static double call(Inkwell inkwell, Image reference, Image test, String what, boolean psnr) {
        double[] result = new double[1];
        inkwell.run(what, Inkwell.names("reference", "test"), (arena, context) -> {
            MemorySegment p = inkwell_image_metric_params.allocate(arena);
            Inkwell.describe(reference, inkwell_image_metric_params.reference(p));
            Inkwell.describe(test, inkwell_image_metric_params.test(p));
            MemorySegment out = arena.allocate(ValueLayout.JAVA_DOUBLE);
            inkwell_image_metric_params.result(p, out);
            int status = psnr ? InkwellNative.inkwell_psnr_u8(context, p) : InkwellNative.inkwell_ssim_u8(context, p);
            result[0] = out.get(ValueLayout.JAVA_DOUBLE, 0);
            return status;
        }, reference, test);
        return result[0];
    }
}
