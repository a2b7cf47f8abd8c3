package dev.inkwell;

import static dev.inkwell.RandomCases.between;
import static dev.inkwell.RandomCases.oneOf;
import static dev.inkwell.Tolerance.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Property tests of the public API (seeded random cases, see {@link RandomCases}): random
 * shapes, strides, sizes, options (including NaN, negative and overflowing values), closed
 * objects and devices thrown at every kernel. Each property decides on its own, from the documented rules, whether a call is valid, then
 * asserts that a valid call gives the reference result and an invalid one throws the
 * documented exception type (IllegalArgumentException for values, IllegalStateException for
 * closed objects, NullPointerException for nulls, InkwellException for what the native side
 * reports) naming the offending value. Every call runs under a timeout, so a hang fails too.
 */
class PublicApiPropertyTest {
    private static final Duration CALL_LIMIT = Duration.ofSeconds(20);
    private static Inkwell inkwell;

    @BeforeAll
    static void openContext() {
        inkwell = Inkwell.builder().threads(2).build();
    }

    @AfterAll
    static void closeContext() {
        inkwell.close();
    }

    /** The outcome of one call: a value, or the exception it threw. */
    private record Outcome<T>(T value, RuntimeException error) {
        static <T> Outcome<T> of(Supplier<T> call) {
            return assertTimeoutPreemptively(CALL_LIMIT, () -> {
                try {
                    return new Outcome<T>(call.get(), null);
                } catch (RuntimeException e) {
                    return new Outcome<T>(null, e);
                }
            });
        }

        /** Asserts the call failed with {@code type} and a message naming {@code offending}. */
        void assertRejected(Class<? extends RuntimeException> type, String offending, String what) {
            if (error == null) {
                fail(what + ": expected " + type.getSimpleName() + " mentioning '" + offending + "', got a result");
            }
            if (!type.isInstance(error)) {
                throw new AssertionError(what + ": expected " + type.getSimpleName() + ", got " + error, error);
            }
            String message = String.valueOf(error.getMessage());
            assertTrue(message.contains(offending), what + ": message '" + message + "' does not name '" + offending + "'");
        }

        T assertAccepted(String what) {
            if (error != null) {
                throw new AssertionError(what + ": a valid call threw " + error, error);
            }
            return value;
        }
    }

    // ---- Canny and blur --------------------------------------------------------------------

    /** A threshold: usually 0..1200 in steps of 0.1, one draw in three a value at or beyond an edge. */
    private static double threshold(Random rnd) {
        if (rnd.nextInt(3) == 0) {
            return oneOf(rnd, Double.NaN, -1.0, Double.POSITIVE_INFINITY, 0.0, 32767.5, 1e9);
        }
        return rnd.nextInt(12001) / 10.0;
    }

    @Test
    void cannyMatchesTheReferenceOrRejectsTheInput() {
        RandomCases.check("cannyMatchesTheReferenceOrRejectsTheInput", 1000, rnd -> {
            int h = between(rnd, -1, 40);
            int w = between(rnd, -1, 40);
            int cn = between(rnd, 0, 5);
            double low = threshold(rnd);
            double high = threshold(rnd);
            int aperture = between(rnd, 1, 8);
            boolean l2 = rnd.nextBoolean();
            int blurSize = between(rnd, -1, 9);
            int blurSigmaTenths = between(rnd, 0, 3);
            boolean blur = rnd.nextBoolean();
            long seed = rnd.nextLong();
            String what = "canny " + h + "x" + w + "x" + cn + " low=" + low + " high=" + high + " aperture=" + aperture
                    + " l2=" + l2 + (blur ? " blur=" + blurSize + "/" + blurSigmaTenths / 10.0 : "");
            Outcome<Image> image = Outcome.of(() -> Image.allocate(h, w, cn));
            if (h < 1 || w < 1) {
                image.assertRejected(IllegalArgumentException.class, "got " + (h < 1 ? h : w), what);
                return;
            }
            if (cn < 1 || cn > 4) {
                image.assertRejected(IllegalArgumentException.class, String.valueOf(cn), what);
                return;
            }
            try (Image src = image.assertAccepted(what)) {
                byte[] pixels = CannyTest.randomImage(new Random(seed), h, w, cn);
                src.segment().copyFrom(java.lang.foreign.MemorySegment.ofArray(pixels));

                double sigma = blurSigmaTenths / 10.0;
                Outcome<BlurOptions> blurOptions = Outcome.of(() -> blur ? BlurOptions.of(blurSize, sigma) : null);
                if (blur && blurSize != 0 && (blurSize < 1 || blurSize % 2 == 0)) {
                    blurOptions.assertRejected(IllegalArgumentException.class, String.valueOf(blurSize), what);
                    return;
                }
                if (blur && blurSize == 0 && sigma == 0) {
                    blurOptions.assertRejected(IllegalArgumentException.class, "both 0", what);
                    return;
                }
                BlurOptions b = blurOptions.assertAccepted(what);

                Outcome<CannyOptions> options = Outcome.of(() -> new CannyOptions(low, high, aperture, l2, b));
                for (double t : new double[] {low, high}) {
                    if (!Double.isFinite(t) || t < 0) {
                        options.assertRejected(IllegalArgumentException.class, String.valueOf(t), what);
                        return;
                    }
                }
                if (aperture != 3 && aperture != 5 && aperture != 7) {
                    options.assertRejected(IllegalArgumentException.class, String.valueOf(aperture), what);
                    return;
                }
                CannyOptions o = options.assertAccepted(what);

                Outcome<byte[]> edges = Outcome.of(() -> {
                    try (Image e = inkwell.canny(src, o)) {
                        return e.toByteArray();
                    }
                });
                if (cn != 1 && cn != 3) {
                    edges.assertRejected(IllegalArgumentException.class, cn + " channels", what);
                    return;
                }
                byte[] input = b == null ? pixels : GaussianBlurReference.blur(pixels, h, w, cn, b.kernelSize(), b.sigma());
                assertArrayEquals(CannyReference.canny(input, h, w, cn, low, high, aperture, l2), edges.assertAccepted(what), what);
            }
        });
    }


    @Test
    void blurIntoAStridedImageMatchesTheReference() {
        RandomCases.check("blurIntoAStridedImageMatchesTheReference", 400, rnd -> {
            int h = between(rnd, 1, 30);
            int w = between(rnd, 1, 30);
            int cn = between(rnd, 1, 4);
            int extraStride = between(rnd, -2, 9);
            int k = between(rnd, 0, 4);
            long seed = rnd.nextLong();
            int size = 2 * k + 1;
            String what = "blur " + h + "x" + w + "x" + cn + " k=" + size + " row padding " + extraStride;
            byte[] pixels = CannyTest.randomImage(new Random(seed), h, w, cn);
            try (Arena arena = Arena.ofShared(); Image src = Image.fromBytes(pixels, h, w, cn)) { // shared: calls run on a timeout thread
                long stride = (long) w * cn + extraStride;
                Outcome<Image> dst = Outcome.of(() -> Image.wrap(arena.allocate(stride * h + 16), h, w, cn, stride));
                if (extraStride < 0) {
                    dst.assertRejected(IllegalArgumentException.class, String.valueOf(stride), what);
                    return;
                }
                Image out = dst.assertAccepted(what);
                inkwell.gaussianBlur(src, out, BlurOptions.of(size, 0));
                assertArrayEquals(GaussianBlurReference.blur(pixels, h, w, cn, size, 0), out.toByteArray(), what);
            }
        });
    }


    // ---- element types of conv2d and attention ------------------------------------------------

    /** float32 in half the cases, float16 and bfloat16 in a quarter each. */
    private static ElementType elementType(Random rnd) {
        int pick = between(rnd, 0, 3);
        return pick < 2 ? ElementType.FLOAT32 : pick == 2 ? ElementType.FLOAT16 : ElementType.BFLOAT16;
    }

    private static ElementType other(ElementType type) {
        return type == ElementType.FLOAT32 ? ElementType.FLOAT16 : ElementType.FLOAT32;
    }

    private static float[] rounded(ElementType type, float[] values) {
        return HalfPrecisionKernelsTest.rounded(type, values);
    }

    /** float32: the usual tolerance; 16-bit: one ulp of the type plus the float32 kernel's error (see HalfPrecisionKernelsTest). */
    private static void checkResult(ElementType type, float[] want, float[] got, double atol, double rtol, String what) {
        if (type == ElementType.FLOAT32) {
            assertClose(want, got, atol, rtol, what);
        } else {
            HalfPrecisionKernelsTest.assertWithinUlp(type, want, got, atol, what);
        }
    }

    // ---- conv2d ------------------------------------------------------------------------------

    @Test
    void conv2dMatchesTheReferenceOrRejectsTheShape() {
        RandomCases.check("conv2dMatchesTheReferenceOrRejectsTheShape", 800, rnd -> {
            int n = between(rnd, 1, 2);
            int cin = between(rnd, 1, 6);
            int cout = between(rnd, 1, 6);
            int groups = between(rnd, 1, 3);
            int weightCinOff = between(rnd, 0, 1);
            int kh = between(rnd, 1, 4);
            int kw = between(rnd, 1, 4);
            int stride = between(rnd, 0, 3);
            int pad = between(rnd, -1, 3);
            int dilation = between(rnd, 0, 3);
            int h = between(rnd, 1, 11);
            int w = between(rnd, 1, 11);
            int biasKind = between(rnd, 0, 2);
            boolean silu = rnd.nextBoolean();
            ElementType type = elementType(rnd);
            boolean typeMismatch = between(rnd, 0, 7) == 0; // the weight in another element type
            int weightCin = Math.max(1, cin / groups + weightCinOff);
            String what = "conv2d x[" + n + "," + cin + "," + h + "," + w + "] w[" + cout + "," + weightCin + "," + kh + "," + kw
                    + "] groups=" + groups + " stride=" + stride + " pad=" + pad + " dilation=" + dilation + " bias=" + biasKind
                    + " " + type + (typeMismatch ? " weight " + other(type) : "");
            Outcome<Conv2dOptions> options = Outcome.of(() -> Conv2dOptions.defaults().withStride(stride).withPadding(pad)
                    .withDilation(dilation).withGroups(groups).withActivation(silu ? Activation.SILU : Activation.NONE));
            // the options are built stride, padding, dilation, groups: the first bad one is reported
            if (stride < 1) {
                options.assertRejected(IllegalArgumentException.class, "stride must be >= 1, got " + stride, what);
                return;
            }
            if (pad < 0) {
                options.assertRejected(IllegalArgumentException.class, String.valueOf(pad), what);
                return;
            }
            if (dilation < 1) {
                options.assertRejected(IllegalArgumentException.class, "dilation must be >= 1, got " + dilation, what);
                return;
            }
            Conv2dOptions o = options.assertAccepted(what);
            long[] xs = {n, cin, h, w}, ws = {cout, weightCin, kh, kw};
            float[] x = rounded(type, Tolerance.random(rnd, n * cin * h * w, 1));
            float[] wt = rounded(type, Tolerance.random(rnd, cout * weightCin * kh * kw, 0.5));
            int biasLength = biasKind == 2 ? cout + 1 : cout;
            float[] bias = biasKind == 0 ? null : rounded(type, Tolerance.random(rnd, biasLength, 1));
            try (Tensor tx = Tensor.fromArray(x, type, xs); Tensor tw = Tensor.fromArray(wt, typeMismatch ? other(type) : type, ws);
                    Tensor tb = bias == null ? null : Tensor.fromArray(bias, type, biasLength)) {
                Outcome<float[]> y = Outcome.of(() -> {
                    try (Tensor out = inkwell.conv2d(tx, tw, tb, o)) {
                        return out.toArray();
                    }
                });
                if (cin % groups != 0 || cout % groups != 0) {
                    y.assertRejected(IllegalArgumentException.class, "groups " + groups, what);
                    return;
                }
                if (weightCin != cin / groups) {
                    y.assertRejected(IllegalArgumentException.class, "weight dim 1 is " + weightCin, what);
                    return;
                }
                long spanH = (long) dilation * (kh - 1) + 1, spanW = (long) dilation * (kw - 1) + 1;
                if (h + 2L * pad < spanH || w + 2L * pad < spanW) {
                    y.assertRejected(IllegalArgumentException.class, "larger than the padded input", what);
                    return;
                }
                if (biasKind == 2) {
                    y.assertRejected(IllegalArgumentException.class, String.valueOf(biasLength), what);
                    return;
                }
                if (typeMismatch) {
                    y.assertRejected(IllegalArgumentException.class, "weight is " + other(type) + " but input is " + type, what);
                    return;
                }
                float[] want = TensorReference.conv2d(x, xs, wt, ws, bias, o);
                checkResult(type, want, y.assertAccepted(what), 1e-5 * weightCin * kh * kw, 1e-4, what);
            }
        });
    }


    // ---- attention ---------------------------------------------------------------------------

    @Test
    void attentionMatchesTheReferenceOrRejectsTheShape() {
        RandomCases.check("attentionMatchesTheReferenceOrRejectsTheShape", 600, rnd -> {
            int b = between(rnd, 1, 2);
            int heads = between(rnd, 1, 2);
            int lq = between(rnd, 1, 9);
            int lk = between(rnd, 1, 70);
            int d = between(rnd, 1, 48);
            int mismatch = between(rnd, 0, 3);
            boolean causal = rnd.nextBoolean();
            int kvLen = between(rnd, -1, 71);
            int scaleKind = between(rnd, -2, 3);
            boolean hugeHead = rnd.nextBoolean();
            ElementType type = elementType(rnd);
            boolean typeMismatch = between(rnd, 0, 7) == 0; // v in another element type
            int dim = hugeHead && mismatch == 0 ? AttentionKernel.MAX_HEAD_DIM + 1 : d;
            int kd = mismatch == 1 ? dim + 1 : dim; // k with a different head size
            int vlk = mismatch == 2 ? lk + 1 : lk; // v with a different length than k
            String what = "attention b" + b + " h" + heads + " lq" + lq + " lk" + lk + " d" + dim + " mismatch=" + mismatch
                    + " causal=" + causal + " kvLen=" + kvLen + " scale=" + scaleKind + " " + type
                    + (typeMismatch ? " v " + other(type) : "");
            double scale = switch (scaleKind) {
                case -2 -> Double.NaN;
                case -1 -> -0.5;
                case 0 -> 0.0;
                default -> 0.05 * scaleKind;
            };
            Outcome<AttentionOptions> options = Outcome.of(() -> {
                AttentionOptions o = AttentionOptions.defaults().withCausal(causal).withScale(scale);
                if (kvLen >= 0) {
                    int[] lens = new int[b];
                    Arrays.fill(lens, kvLen);
                    o = o.withKvLens(lens);
                }
                return o;
            });
            if (!(scale > 0)) {
                options.assertRejected(IllegalArgumentException.class, String.valueOf(scale), what);
                return;
            }
            if (kvLen == 0) {
                options.assertRejected(IllegalArgumentException.class, "kv lengths must be >= 1", what);
                return;
            }
            AttentionOptions o = options.assertAccepted(what);
            float[] q = rounded(type, Tolerance.random(rnd, b * heads * lq * dim, 1));
            float[] k = rounded(type, Tolerance.random(rnd, b * heads * lk * kd, 1));
            float[] v = rounded(type, Tolerance.random(rnd, b * heads * vlk * dim, 1));
            try (Tensor tq = Tensor.fromArray(q, type, b, heads, lq, dim); Tensor tk = Tensor.fromArray(k, type, b, heads, lk, kd);
                    Tensor tv = Tensor.fromArray(v, typeMismatch ? other(type) : type, b, heads, vlk, dim)) {
                Outcome<float[]> out = Outcome.of(() -> {
                    try (Tensor t = inkwell.attention(tq, tk, tv, o)) {
                        return t.toArray();
                    }
                });
                if (kd != dim) {
                    out.assertRejected(IllegalArgumentException.class, "does not match", what);
                    return;
                }
                if (vlk != lk) {
                    out.assertRejected(IllegalArgumentException.class, "v", what);
                    return;
                }
                if (dim > AttentionKernel.MAX_HEAD_DIM) {
                    out.assertRejected(IllegalArgumentException.class, String.valueOf(dim), what);
                    return;
                }
                if (kvLen > lk) {
                    out.assertRejected(IllegalArgumentException.class, "kv length " + kvLen, what);
                    return;
                }
                if (typeMismatch) {
                    out.assertRejected(IllegalArgumentException.class, "v is " + other(type) + " but q is " + type, what);
                    return;
                }
                int[] lens = o.kvLens();
                float[] want = TensorReference.attention(q, k, v, b, heads, lq, lk, dim, scale, causal, lens);
                checkResult(type, want, out.assertAccepted(what), 2e-5, 1e-4, what);
            }
        });
    }


    // ---- DDIM, noise, resampling -------------------------------------------------------------

    /** A shape of rank 1 to 4 with dimensions 1 to 7. */
    private static long[] shape(Random rnd) {
        long[] shape = new long[between(rnd, 1, 4)];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = between(rnd, 1, 7);
        }
        return shape;
    }

    @Test
    void ddimStepMatchesTheReferenceOrRejectsTheInput() {
        RandomCases.check("ddimStepMatchesTheReferenceOrRejectsTheInput", 600, rnd -> {
            long[] shape = shape(rnd);
            int timestep = between(rnd, -2, 1001);
            int back = between(rnd, -60, 20);
            int etaTenths = between(rnd, -1, 3);
            boolean withNoise = rnd.nextBoolean();
            boolean guided = rnd.nextBoolean();
            boolean nanGuidance = rnd.nextBoolean();
            int wrongShape = between(rnd, 0, 3);
            PredictionType type = oneOf(rnd, PredictionType.values());
            DdimScheduler scheduler = DdimScheduler.builder().predictionType(type).build();
            int prev = timestep - back;
            double eta = etaTenths / 10.0, g = nanGuidance ? Double.NaN : 7.5;
            String what = "ddim " + Arrays.toString(shape) + " t=" + timestep + " prev=" + prev + " eta=" + eta + " noise="
                    + withNoise + " guided=" + guided + " g=" + g + " wrongShape=" + wrongShape + " " + type;
            int count = (int) Arrays.stream(shape).reduce(1, (a, c) -> a * c);
            float[] x = Tolerance.random(rnd, count, 1), m = Tolerance.random(rnd, count, 1), u = Tolerance.random(rnd, count, 1),
                    z = Tolerance.random(rnd, count, 1);
            long[] odd = wrongShape == 0 ? shape : withExtraElement(shape);
            try (Tensor tx = Tensor.fromArray(x, shape); Tensor tm = Tensor.fromArray(wrongShape == 1 ? resized(m, odd) : m,
                    wrongShape == 1 ? odd : shape); Tensor tu = Tensor.fromArray(u, shape);
                    Tensor tz = Tensor.fromArray(wrongShape == 2 ? resized(z, odd) : z, wrongShape == 2 ? odd : shape);
                    Tensor out = Tensor.allocate(wrongShape == 3 ? odd : shape); Tensor x0 = Tensor.allocate(shape)) {
                Tensor noise = withNoise ? tz : null;
                Outcome<Void> step = Outcome.of(() -> {
                    if (guided) {
                        inkwell.ddimStepGuided(scheduler, timestep, prev, tx, tm, tu, g, eta, noise, out, x0);
                    } else {
                        inkwell.ddimStep(scheduler, timestep, prev, tx, tm, eta, noise, out, x0);
                    }
                    return null;
                });
                if (wrongShape == 1) {
                    step.assertRejected(IllegalArgumentException.class, Arrays.toString(odd), what);
                    return;
                }
                if (guided && nanGuidance) {
                    step.assertRejected(IllegalArgumentException.class, "NaN", what);
                    return;
                }
                if (eta < 0) {
                    step.assertRejected(IllegalArgumentException.class, String.valueOf(eta), what);
                    return;
                }
                if (eta > 0 && !withNoise) {
                    step.assertRejected(IllegalArgumentException.class, "needs a noise tensor", what);
                    return;
                }
                if (eta > 0 && wrongShape == 2) {
                    step.assertRejected(IllegalArgumentException.class, Arrays.toString(odd), what);
                    return;
                }
                if (timestep < 0 || timestep >= scheduler.trainTimesteps()) {
                    step.assertRejected(IllegalArgumentException.class, String.valueOf(timestep), what);
                    return;
                }
                if (prev >= timestep) {
                    step.assertRejected(IllegalArgumentException.class, String.valueOf(prev), what);
                    return;
                }
                if (wrongShape == 3) {
                    step.assertRejected(IllegalArgumentException.class, Arrays.toString(odd), what);
                    return;
                }
                step.assertAccepted(what);
                float[][] want = TensorReference.ddimStep(x, m, guided ? u : null, g, z, scheduler.alphaCumprod(timestep),
                        scheduler.alphaCumprod(prev), eta, type, scheduler.clipSample(), scheduler.clipSampleRange());
                assertClose(want[0], out.toArray(), 1e-5, 1e-5, what + " prev");
                assertClose(want[1], x0.toArray(), 1e-5, 1e-5, what + " x0");
            }
        });
    }


    @Test
    void resampleMatchesTheReferenceOrRejectsTheShape() {
        RandomCases.check("resampleMatchesTheReferenceOrRejectsTheShape", 400, rnd -> {
            long[] shape = shape(rnd);
            ResampleMode mode = oneOf(rnd, ResampleMode.values());
            boolean wrongOutput = rnd.nextBoolean();
            long seed = rnd.nextLong();
            String what = mode + " " + Arrays.toString(shape) + (wrongOutput ? " into a wrong output" : "");
            int count = (int) Arrays.stream(shape).reduce(1, (a, c) -> a * c);
            float[] x = Tolerance.random(new Random(seed), count, 1);
            try (Tensor in = Tensor.fromArray(x, shape)) {
                Outcome<float[]> y = Outcome.of(() -> {
                    if (wrongOutput) {
                        try (Tensor out = Tensor.allocate(shape)) {
                            inkwell.resample(in, out, mode);
                            return out.toArray();
                        }
                    }
                    try (Tensor out = inkwell.resample(in, mode)) {
                        return out.toArray();
                    }
                });
                if (shape.length != 4) {
                    y.assertRejected(IllegalArgumentException.class, Arrays.toString(shape), what);
                    return;
                }
                boolean up = mode == ResampleMode.UPSAMPLE_NEAREST_2X || mode == ResampleMode.UPSAMPLE_BILINEAR_2X;
                if (!up && (shape[2] < 2 || shape[3] < 2)) {
                    y.assertRejected(IllegalArgumentException.class, shape[2] + "x" + shape[3], what);
                    return;
                }
                if (wrongOutput) {
                    y.assertRejected(IllegalArgumentException.class, "output", what);
                    return;
                }
                float[] want = TensorReference.resample(x, (int) shape[0], (int) shape[1], (int) shape[2], (int) shape[3], mode);
                assertClose(want, y.assertAccepted(what), 1e-6, 1e-6, what);
            }
        });
    }


    @Test
    void randnIsTheSameStreamForAnySplit() {
        RandomCases.check("randnIsTheSameStreamForAnySplit", 200, rnd -> {
            int count = between(rnd, 1, 3000);
            int split = between(rnd, 0, 3000);
            long seed = rnd.nextLong();
            int cut = Math.min(split, count);
            try (Tensor whole = Tensor.allocate(count); Tensor head = Tensor.allocate(Math.max(1, cut));
                    Tensor tail = Tensor.allocate(Math.max(1, count - cut))) {
                inkwell.randn(whole, seed);
                inkwell.randn(head, seed, 0);
                inkwell.randn(tail, seed, cut);
                float[] all = whole.toArray();
                float[] joined = new float[count];
                System.arraycopy(head.toArray(), 0, joined, 0, cut);
                System.arraycopy(tail.toArray(), 0, joined, cut, count - cut);
                assertArrayEquals(all, joined, "randn count=" + count + " split=" + cut + " seed=" + seed);
            }
        });
    }


    // ---- metrics -------------------------------------------------------------------------------

    @Test
    void metricsMatchTheReferenceOrRejectTheSizes() {
        RandomCases.check("metricsMatchTheReferenceOrRejectTheSizes", 300, rnd -> {
            int h = between(rnd, 1, 24);
            int w = between(rnd, 1, 24);
            int cn = between(rnd, 1, 4);
            int mismatch = between(rnd, 0, 2);
            boolean ssim = rnd.nextBoolean();
            int h2 = mismatch == 1 ? h + 1 : h, cn2 = mismatch == 2 ? (cn % 4) + 1 : cn;
            String what = (ssim ? "ssim " : "psnr ") + h + "x" + w + "x" + cn + " vs " + h2 + "x" + w + "x" + cn2;
            byte[] a = CannyTest.randomImage(rnd, h, w, cn), b = CannyTest.randomImage(rnd, h2, w, cn2);
            try (Image ia = Image.fromBytes(a, h, w, cn); Image ib = Image.fromBytes(b, h2, w, cn2)) {
                Outcome<Double> value = Outcome.of(() -> ssim ? inkwell.ssim(ia, ib) : inkwell.psnr(ia, ib));
                if (mismatch != 0) {
                    value.assertRejected(IllegalArgumentException.class, h2 + "x" + w + "x" + cn2, what);
                    return;
                }
                if (ssim && (h < 11 || w < 11)) {
                    value.assertRejected(IllegalArgumentException.class, h + "x" + w, what);
                    return;
                }
                double want = ssim ? TensorReference.ssim(a, b, h, w, cn) : TensorReference.psnr(a, b);
                double got = value.assertAccepted(what);
                assertEquals(want, got, 1e-9 * Math.max(1, Math.abs(want)), what);
            }
        });
    }


    // ---- closed objects and devices ------------------------------------------------------------

    /** Which of a call's objects is closed before the call. */
    enum Closed { NONE, CONTEXT, INPUT, OUTPUT, ARENA }

    @Test
    void closedObjectsAreRejectedNeverDereferenced() {
        RandomCases.check("closedObjectsAreRejectedNeverDereferenced", 120, rnd -> {
            Closed closed = oneOf(rnd, Closed.values());
            int kernel = between(rnd, 0, 5);
            String what = "kernel " + kernel + " with " + closed + " closed";
            Inkwell context = Inkwell.builder().threads(1).build();
            Arena arena = Arena.ofShared(); // calls run on a timeout thread
            List<AutoCloseable> owned = new ArrayList<>();
            try {
                boolean borrowed = closed == Closed.ARENA;
                Image img = borrowed ? Image.allocate(arena, 16, 16, 1) : Image.allocate(16, 16, 1);
                Image imgOut = Image.allocate(16, 16, 1);
                Tensor x = borrowed ? Tensor.allocate(arena, 1, 2, 8, 8) : Tensor.allocate(1, 2, 8, 8);
                Tensor y = Tensor.allocate(1, 2, 8, 8);
                Tensor w = Tensor.allocate(2, 2, 1, 1);
                Tensor q = borrowed ? Tensor.allocate(arena, 1, 1, 4, 8) : Tensor.allocate(1, 1, 4, 8);
                Tensor qOut = Tensor.allocate(1, 1, 4, 8);
                owned.addAll(List.of(imgOut, y, w, qOut));
                if (!borrowed) {
                    owned.addAll(List.of(img, x, q));
                }
                switch (closed) {
                    case CONTEXT -> context.close();
                    case INPUT -> {
                        img.close();
                        x.close();
                        q.close();
                    }
                    case OUTPUT -> {
                        imgOut.close();
                        y.close();
                        qOut.close();
                    }
                    case ARENA -> arena.close();
                    case NONE -> { }
                }
                DdimScheduler s = DdimScheduler.stableDiffusion();
                Outcome<Object> call = Outcome.of(() -> {
                    switch (kernel) {
                        case 0 -> context.canny(img, imgOut, CannyOptions.defaults());
                        case 1 -> context.gaussianBlur(img, imgOut, BlurOptions.of(3, 0));
                        case 2 -> context.conv2d(x, w, null, y, Conv2dOptions.defaults());
                        case 3 -> context.attention(q, q, q, qOut, AttentionOptions.defaults());
                        case 4 -> context.ddimStep(s, 500, 480, x, x, 0, null, y, null);
                        default -> context.psnr(img, imgOut);
                    }
                    return null;
                });
                switch (closed) {
                    case NONE -> call.assertAccepted(what);
                    case CONTEXT -> call.assertRejected(IllegalStateException.class, "context is closed", what);
                    case ARENA -> call.assertRejected(IllegalStateException.class, "closed", what);
                    // The message names the operation and the argument (issue 16).
                    case INPUT -> call.assertRejected(IllegalStateException.class, new String[] {"canny: src",
                            "gaussianBlur: src", "conv2d: input", "attention: q", "ddimStep: sample",
                            "psnr: reference"}[kernel] + " is closed", what);
                    case OUTPUT -> call.assertRejected(IllegalStateException.class, new String[] {"canny: dst",
                            "gaussianBlur: dst", "conv2d: output", "attention: out", "ddimStep: previous sample",
                            "psnr: test"}[kernel] + " is closed", what);
                }
            } finally {
                for (AutoCloseable c : owned) {
                    try {
                        c.close();
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                }
                context.close();
                if (arena.scope().isAlive()) {
                    arena.close();
                }
            }
        });
    }


    @Test
    void aDeviceThisMachineLacksIsAClearError() {
        RandomCases.check("aDeviceThisMachineLacksIsAClearError", 40, rnd -> {
            Device device = oneOf(rnd, Device.values());
            int threads = between(rnd, -1, 3);
            Outcome<Inkwell> built = Outcome.of(() -> Inkwell.builder().device(device).threads(threads).build());
            String what = "device " + device + " threads " + threads;
            if (threads < 0) {
                built.assertRejected(IllegalArgumentException.class, String.valueOf(threads), what);
                return;
            }
            if (device == Device.CPU) {
                try (Inkwell ok = built.assertAccepted(what)) {
                    assertEquals(Device.CPU, ok.device(), what);
                }
                return;
            }
            if (built.error() == null) { // a CUDA machine: the context works like any other
                try (Inkwell ok = built.value()) {
                    assertEquals(device, ok.device(), what);
                }
                return;
            }
            built.assertRejected(InkwellException.class, "CUDA", what);
            assertEquals(Status.UNSUPPORTED, ((InkwellException) built.error()).status(), what);
        });
    }


    private static long[] withExtraElement(long[] shape) {
        long[] s = shape.clone();
        s[s.length - 1] += 1;
        return s;
    }

    /** {@code a} padded with zeros to the element count of {@code shape}. */
    private static float[] resized(float[] a, long[] shape) {
        return Arrays.copyOf(a, (int) Arrays.stream(shape).reduce(1, (x, y) -> x * y));
    }
}
