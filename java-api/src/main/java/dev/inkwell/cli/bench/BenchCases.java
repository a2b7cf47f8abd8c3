package dev.inkwell.cli.bench;

import dev.inkwell.BlurOptions;
import dev.inkwell.DdimScheduler;
import dev.inkwell.Image;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The cases of {@code inkwell bench}: the shapes. The default pass is one case per
 * kernel family at its most common size (under two minutes on a 2-core machine, anchors
 * included); {@code --full} adds 4K Canny, every U-Net conv2d level, 1x1 convolutions and
 * 4096-token attention; the tiny set is for tests. Inputs are made on demand, from fixed
 * seeds, so anchors and Inkwell see the same data.
 */
final class BenchCases {
    private BenchCases() {}

    enum Size { TINY, DEFAULT, FULL }

    /** SD 1.x DDIM step 981 -> 961 of 50, as the JMH suite times it. */
    static final int DDIM_T = 981, DDIM_PREV = 961;

    /** Empty native calls per timed run of the "ffm noop call" case. */
    static final int NOOP_CALLS = 1000;

    static List<BenchCase> cases(Size size) {
        List<BenchCase> out = new ArrayList<>();
        if (size == Size.TINY) {
            canny(out, 48, 64, 1);
            canny(out, 48, 64, 3);
            conv2d(out, 8, 16, 8, 3, 1);
            attention(out, 1, 2, 64, 64, 40, "self");
            ddim(out, new long[] {2, 4, 8, 8});
            out.add(new BenchCase("ffm noop call", BenchCase.Unit.TIME, 0, () -> new BenchSpec.NativeCall(NOOP_CALLS)));
            return out;
        }
        canny(out, 1080, 1920, 1);
        canny(out, 1080, 1920, 3);
        if (size == Size.FULL) {
            canny(out, 2160, 3840, 1);
            canny(out, 2160, 3840, 3);
        }
        conv2d(out, 320, 64, 320, 3, 1);
        if (size == Size.FULL) {
            conv2d(out, 640, 32, 640, 3, 1);
            conv2d(out, 1280, 16, 1280, 3, 1);
            conv2d(out, 320, 64, 320, 3, 2);
            conv2d(out, 320, 64, 320, 1, 1);
        }
        int len = size == Size.FULL ? 4096 : 1024;
        for (int d : new int[] {40, 80, 160}) {
            attention(out, 1, 8, len, len, d, "self");
        }
        for (int d : size == Size.FULL ? new int[] {40, 80, 160} : new int[] {80}) {
            attention(out, 1, 8, len, 77, d, "cross");
        }
        ddim(out, new long[] {2, 4, 64, 64});
        out.add(new BenchCase("ffm noop call", BenchCase.Unit.TIME, 0, () -> new BenchSpec.NativeCall(NOOP_CALLS)));
        return out;
    }

    private static void canny(List<BenchCase> out, int h, int w, int channels) {
        out.add(new BenchCase(String.format("canny %dx%d %s", w, h, channels == 1 ? "gray" : "RGB"), BenchCase.Unit.TIME, 0,
                () -> new BenchSpec.Canny(picture(h, w, channels), h, w, channels, 100, 200)));
    }

    /** The demo's drawing, lightly blurred (as a photo of a drawing would be), gray or RGB. */
    private static byte[] picture(int h, int w, int channels) {
        try (Image drawing = dev.inkwell.cli.DemoDrawing.draw(w, h);
                dev.inkwell.Inkwell inkwell = dev.inkwell.Inkwell.create();
                Image soft = inkwell.gaussianBlur(drawing, BlurOptions.of(3, 0))) {
            byte[] rgb = soft.toByteArray();
            if (channels == 3) {
                return rgb;
            }
            byte[] gray = new byte[h * w];
            for (int i = 0; i < gray.length; i++) {
                int r = rgb[3 * i] & 0xFF, g = rgb[3 * i + 1] & 0xFF, b = rgb[3 * i + 2] & 0xFF;
                gray[i] = (byte) ((299 * r + 587 * g + 114 * b + 500) / 1000);
            }
            return gray;
        }
    }

    private static void conv2d(List<BenchCase> out, int c, int hw, int cout, int k, int stride) {
        int pad = k / 2, o = (hw + 2 * pad - k) / stride + 1;
        double flops = 2.0 * cout * c * k * k * o * o;
        out.add(new BenchCase(String.format("conv2d [1,%d,%d,%d] %dx%d%s -> %d", c, hw, hw, k, k,
                stride == 1 ? "" : " stride " + stride, cout), BenchCase.Unit.GFLOPS, flops, () -> {
                    Random rnd = new Random(c * 31L + k);
                    return new BenchSpec.Conv2d(gaussian(rnd, (long) c * hw * hw, 1), new long[] {1, c, hw, hw},
                            gaussian(rnd, (long) cout * c * k * k, 0.05), new long[] {cout, c, k, k},
                            gaussian(rnd, cout, 0.1), stride, pad);
                }));
    }

    private static void attention(List<BenchCase> out, int b, int h, int lq, int lk, int d, String kind) {
        double flops = 4.0 * b * h * lq * lk * d;
        out.add(new BenchCase(String.format("attention %s B%d H%d L%d%s D%d", kind, b, h, lq,
                lk == lq ? "" : " Lk" + lk, d), BenchCase.Unit.GFLOPS, flops, () -> {
                    Random rnd = new Random(lq * 7L + lk + d);
                    return new BenchSpec.Attention(gaussian(rnd, (long) b * h * lq * d, 1),
                            gaussian(rnd, (long) b * h * lk * d, 1), gaussian(rnd, (long) b * h * lk * d, 1), b, h, lq, lk, d);
                }));
    }

    private static void ddim(List<BenchCase> out, long[] shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        long count = n;
        DdimScheduler scheduler = DdimScheduler.stableDiffusion();
        out.add(new BenchCase(String.format("ddim step + guidance %s", java.util.Arrays.toString(shape)),
                BenchCase.Unit.GBPS, 4.0 * count * Float.BYTES, () -> {
                    Random rnd = new Random(21);
                    return new BenchSpec.DdimStep(gaussian(rnd, count, 1), gaussian(rnd, count, 1), gaussian(rnd, count, 1),
                            shape, 7.5, scheduler.alphaCumprod(DDIM_T), scheduler.alphaCumprod(DDIM_PREV));
                }));
    }

    static float[] gaussian(Random rnd, long n, double std) {
        float[] a = new float[Math.toIntExact(n)];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (rnd.nextGaussian() * std);
        }
        return a;
    }
}
