package dev.inkwell.cli.bench;

import dev.inkwell.BlurOptions;
import dev.inkwell.DdimScheduler;
import dev.inkwell.Image;
import dev.inkwell.Tensor;
import dev.inkwell.models.ModelBlocks;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The cases of {@code inkwell bench}: the shapes. The default pass is one case per
 * kernel family at its most common size, and SD 1.5's linear, GEGLU and norm shapes (about
 * two minutes on a 2-core machine, anchors included); {@code --full} adds 4K Canny, gray, wide
 * and 4K blurs, every U-Net conv2d level, 1x1 convolutions and 4096-token attention; the tiny
 * set is for tests.
 * Inputs are made on demand, from fixed seeds, so anchors and Inkwell see the same data.
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
            gaussianBlur(out, 48, 64, 3, 5, 0);
            conv2d(out, 8, 16, 8, 3, 1);
            attention(out, 1, 2, 64, 64, 40, "self");
            linear(out, new long[] {2, 16, 24}, 40);
            geglu(out, new long[] {2, 16, 24}, 32);
            groupNorm(out, new long[] {2, 64, 8, 8}, 32);
            layerNorm(out, new long[] {2, 16, 40});
            ddim(out, new long[] {2, 4, 8, 8});
            resnetBlock(out, new long[] {2, 64, 8, 8}, 32, 32);
            transformerBlock(out, 2, 16, 2, 8, 7, 24);
            out.add(new BenchCase("ffm noop call", BenchCase.Unit.TIME, 0, () -> new BenchSpec.NativeCall(NOOP_CALLS)));
            return out;
        }
        canny(out, 1080, 1920, 1);
        canny(out, 1080, 1920, 3);
        if (size == Size.FULL) {
            canny(out, 2160, 3840, 1);
            canny(out, 2160, 3840, 3);
        }
        // The blur a ControlNet preprocessor may run before Canny (ksize 5), and a wider one
        // (sigma 2: ksize 13).
        gaussianBlur(out, 1080, 1920, 3, 5, 0);
        if (size == Size.FULL) {
            gaussianBlur(out, 1080, 1920, 1, 5, 0);
            gaussianBlur(out, 1080, 1920, 3, 13, 2);
            gaussianBlur(out, 2160, 3840, 3, 5, 0);
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
        // SD 1.5's transformer blocks at 512x512 (CFG batch 2, 4096 tokens of 320 at the top
        // level): proj_in/out and attention projections, GEGLU's proj, its down projection,
        // and the text projections of 77 CLIP tokens; then the ResNet group norms at the top
        // and bottom levels and the blocks' layer norm.
        linear(out, new long[] {2, 4096, 320}, 320);
        geglu(out, new long[] {2, 4096, 320}, 1280);
        linear(out, new long[] {2, 4096, 1280}, 320);
        linear(out, new long[] {2, 77, 768}, 320);
        groupNorm(out, new long[] {2, 320, 64, 64}, 32);
        groupNorm(out, new long[] {2, 1280, 8, 8}, 32);
        layerNorm(out, new long[] {2, 4096, 320});
        ddim(out, new long[] {2, 4, 64, 64});
        // The U-Net's own blocks at the top level of 512x512 (CFG batch 2): a ResnetBlock2D
        // 320 -> 320 with SD's 1280-wide time embedding, and a BasicTransformerBlock on 4096
        // tokens of 320 (8 heads of 40) attending to 77 CLIP tokens of 768.
        resnetBlock(out, new long[] {2, 320, 64, 64}, 1280, 32);
        transformerBlock(out, 2, 4096, 8, 40, 77, 768);
        out.add(new BenchCase("ffm noop call", BenchCase.Unit.TIME, 0, () -> new BenchSpec.NativeCall(NOOP_CALLS)));
        return out;
    }

    private static void canny(List<BenchCase> out, int h, int w, int channels) {
        out.add(new BenchCase(String.format("canny %dx%d %s", w, h, channels == 1 ? "gray" : "RGB"), BenchCase.Unit.TIME, 0,
                () -> new BenchSpec.Canny(picture(h, w, channels), h, w, channels, 100, 200)));
    }

    private static void gaussianBlur(List<BenchCase> out, int h, int w, int channels, int ksize, double sigma) {
        out.add(new BenchCase(String.format("gaussian_blur %dx%d %s %dx%d%s", w, h, channels == 1 ? "gray" : "RGB", ksize,
                ksize, sigma > 0 ? " sigma " + sigma : ""), BenchCase.Unit.TIME, 0,
                () -> new BenchSpec.GaussianBlur(picture(h, w, channels), h, w, channels, ksize, sigma)));
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

    private static void linear(List<BenchCase> out, long[] inputShape, int outFeatures) {
        long rows = count(inputShape) / inputShape[inputShape.length - 1];
        int in = Math.toIntExact(inputShape[inputShape.length - 1]);
        out.add(new BenchCase(String.format("linear %s -> %d", dims(inputShape), outFeatures), BenchCase.Unit.GFLOPS,
                2.0 * rows * outFeatures * in, () -> {
                    Random rnd = new Random(rows * 31L + in * 7L + outFeatures);
                    return new BenchSpec.Linear(gaussian(rnd, count(inputShape), 1), inputShape,
                            gaussian(rnd, (long) outFeatures * in, 1 / Math.sqrt(in)), outFeatures,
                            gaussian(rnd, outFeatures, 0.1));
                }));
    }

    /** GEGLU's rate counts its whole projection to 2 innerDim features (the gating is not counted). */
    private static void geglu(List<BenchCase> out, long[] inputShape, int innerDim) {
        long rows = count(inputShape) / inputShape[inputShape.length - 1];
        int in = Math.toIntExact(inputShape[inputShape.length - 1]);
        out.add(new BenchCase(String.format("geglu %s -> 2x%d -> %d", dims(inputShape), innerDim, innerDim),
                BenchCase.Unit.GFLOPS, 2.0 * rows * 2 * innerDim * in, () -> {
                    Random rnd = new Random(rows * 37L + in * 5L + innerDim);
                    return new BenchSpec.Geglu(gaussian(rnd, count(inputShape), 1), inputShape,
                            gaussian(rnd, 2L * innerDim * in, 1 / Math.sqrt(in)), innerDim,
                            gaussian(rnd, 2L * innerDim, 0.1));
                }));
    }

    /** Norms are memory-bound: their rate is the bytes one pass must move (x read, y written). */
    private static void groupNorm(List<BenchCase> out, long[] shape, int groups) {
        long n = count(shape);
        int channels = Math.toIntExact(shape[1]);
        out.add(new BenchCase(String.format("group_norm %s G%d", dims(shape), groups), BenchCase.Unit.GBPS,
                2.0 * n * Float.BYTES, () -> {
                    Random rnd = new Random(n + channels);
                    return new BenchSpec.GroupNorm(gaussian(rnd, n, 1), shape, groups, affine(rnd, channels, 1),
                            affine(rnd, channels, 0), 1e-5);
                }));
    }

    private static void layerNorm(List<BenchCase> out, long[] shape) {
        long n = count(shape);
        int dim = Math.toIntExact(shape[shape.length - 1]);
        out.add(new BenchCase(String.format("layer_norm %s", dims(shape)), BenchCase.Unit.GBPS, 2.0 * n * Float.BYTES,
                () -> {
                    Random rnd = new Random(n * 3 + dim);
                    return new BenchSpec.LayerNorm(gaussian(rnd, n, 1), shape, affine(rnd, dim, 1), affine(rnd, dim, 0),
                            1e-5);
                }));
    }

    /** A trained norm's weight (around 1) or bias (around 0). */
    private static float[] affine(Random rnd, int n, double center) {
        float[] a = gaussian(rnd, n, 0.1);
        for (int i = 0; i < n; i++) {
            a[i] += (float) center;
        }
        return a;
    }

    private static long count(long[] shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return n;
    }

    /** "[2,4096,320]", as the conv2d rows write shapes. */
    private static String dims(long[] shape) {
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < shape.length; i++) {
            s.append(i == 0 ? "" : ",").append(shape[i]);
        }
        return s.append(']').toString();
    }

    private static void ddim(List<BenchCase> out, long[] shape) {
        long count = count(shape);
        DdimScheduler scheduler = DdimScheduler.stableDiffusion();
        out.add(new BenchCase(String.format("ddim step + guidance %s", java.util.Arrays.toString(shape)),
                BenchCase.Unit.GBPS, 4.0 * count * Float.BYTES, () -> {
                    Random rnd = new Random(21);
                    return new BenchSpec.DdimStep(gaussian(rnd, count, 1), gaussian(rnd, count, 1), gaussian(rnd, count, 1),
                            shape, 7.5, scheduler.alphaCumprod(DDIM_T), scheduler.alphaCumprod(DDIM_PREV));
                }));
    }

    /** Seed of the blocks' weights (the Inkwell side rebuilds them from it). */
    private static final long BLOCK_SEED = 1234;

    /**
     * The model's ResnetBlock2D (in == out channels, eps 1e-5) on random weights; the rate
     * counts its two 3x3 convolutions. Inkwell's output is computed here once, on the CPU,
     * so that anchors can check theirs against it.
     */
    private static void resnetBlock(List<BenchCase> out, long[] shape, int tembChannels, int groups) {
        int c = Math.toIntExact(shape[1]);
        double flops = 2 * 2.0 * shape[0] * c * c * 9 * shape[2] * shape[3];
        out.add(new BenchCase(String.format("resnet block %s temb %d G%d", dims(shape), tembChannels, groups),
                BenchCase.Unit.GFLOPS, flops, () -> {
                    Random rnd = new Random(c * 13L + tembChannels);
                    float[] x = gaussian(rnd, count(shape), 1), temb = gaussian(rnd, shape[0] * (long) tembChannels, 1);
                    try (dev.inkwell.Inkwell cpu = dev.inkwell.Inkwell.create();
                            ModelBlocks block = ModelBlocks.resnetBlock2D(cpu, BLOCK_SEED, c, c, tembChannels, groups, 1e-5);
                            Tensor xt = Tensor.fromArray(x, shape);
                            Tensor tt = Tensor.fromArray(temb, shape[0], tembChannels);
                            Tensor y = block.forward(xt, tt)) {
                        return new BenchSpec.ResnetBlock(x, shape, temb, tembChannels, groups, 1e-5, BLOCK_SEED,
                                block.stateDict(), y.toArray());
                    }
                }));
    }

    /**
     * The model's BasicTransformerBlock on random weights; the rate counts its linear layers
     * (GEGLU's projection whole) and both attentions' two matrix products.
     */
    private static void transformerBlock(List<BenchCase> out, int batch, int tokens, int heads, int headDim,
            int contextTokens, int contextDim) {
        long dim = (long) heads * headDim, n = batch, l = tokens, s = contextTokens;
        double flops = 2.0 * n * l * dim * dim * 4 // attn1 q, k, v, out
                + 4.0 * n * l * l * dim // attn1 q k^T and p v
                + 2.0 * n * l * dim * dim * 2 + 2.0 * n * s * contextDim * dim * 2 // attn2 q, out; k, v
                + 4.0 * n * l * s * dim // attn2
                + 2.0 * n * l * dim * 8 * dim + 2.0 * n * l * 4 * dim * dim; // GEGLU proj, down projection
        long[] shape = {batch, tokens, dim}, contextShape = {batch, contextTokens, contextDim};
        out.add(new BenchCase(String.format("transformer block %s H%d D%d context %s", dims(shape), heads, headDim,
                dims(contextShape)), BenchCase.Unit.GFLOPS, flops, () -> {
                    Random rnd = new Random(tokens * 11L + dim);
                    float[] x = gaussian(rnd, count(shape), 1), context = gaussian(rnd, count(contextShape), 1);
                    try (dev.inkwell.Inkwell cpu = dev.inkwell.Inkwell.create();
                            ModelBlocks block = ModelBlocks.basicTransformerBlock(cpu, BLOCK_SEED, heads, headDim, contextDim);
                            Tensor xt = Tensor.fromArray(x, shape);
                            Tensor ct = Tensor.fromArray(context, contextShape);
                            Tensor y = block.forward(xt, ct)) {
                        return new BenchSpec.TransformerBlock(x, shape, context, contextShape, heads, headDim, BLOCK_SEED,
                                block.stateDict(), y.toArray());
                    }
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
