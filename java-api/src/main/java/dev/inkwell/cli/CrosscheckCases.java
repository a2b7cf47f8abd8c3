package dev.inkwell.cli;

import dev.inkwell.Activation;
import dev.inkwell.AttentionOptions;
import dev.inkwell.BlurOptions;
import dev.inkwell.CannyOptions;
import dev.inkwell.Conv2dOptions;
import dev.inkwell.DdimScheduler;
import dev.inkwell.ElementType;
import dev.inkwell.Image;
import dev.inkwell.Inkwell;
import dev.inkwell.Interpolation;
import dev.inkwell.PredictionType;
import dev.inkwell.ResampleMode;
import dev.inkwell.Tensor;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Random;

/**
 * The cases of {@code inkwell crosscheck}: every public kernel on seeded random inputs, run
 * through the Java API on the device under test (inputs copied there, results copied back)
 * and on a one-thread CPU context, compared element by element.
 *
 * <p>What must match: Canny, blur, randn, resampling, PSNR, the DDIM step and add_noise bit
 * for bit (the backends compute them with the same integer or separately rounded float
 * operations). conv2d, attention and SSIM sum in another order on another device, so they
 * are held to a bound derived from the inputs, the same the native CUDA tests use (see
 * {@link #conv2dBound} and {@link #attentionBound}); on a CPU device the whole check is bit for
 * bit, since CPU results do not depend on the thread count.
 */
final class CrosscheckCases {
    /** float32 unit roundoff, 2^-24. */
    private static final double U32 = 0x1p-24;

    /** One case: its name and what comparing the two runs gave. */
    record Result(String name, boolean passed, String detail) {}

    private final Inkwell device;
    private final Inkwell cpu;
    private final boolean exactEverywhere;

    /** boundsOnCpu: hold a CPU device to the cross-device bounds too (to test the check itself). */
    CrosscheckCases(Inkwell device, Inkwell cpu, boolean boundsOnCpu) {
        this.device = device;
        this.cpu = cpu;
        this.exactEverywhere = device.device() == dev.inkwell.Device.CPU && !boundsOnCpu;
    }

    /** Named cases, each run with its own Random(seed + index). */
    interface Case {
        Result run(Random rnd, Scope scope);
    }

    record Named(String name, Case body) {}

    List<Named> all() {
        List<Named> cases = new ArrayList<>();
        int[][] cannySizes = {{1, 1}, {7, 5}, {64, 97}, {240, 320}, {1080, 1920}};
        for (int[] size : cannySizes) {
            for (int channels : new int[] {1, 3}) {
                String n = "canny " + size[1] + "x" + size[0] + "x" + channels;
                cases.add(new Named(n, (rnd, s) -> canny(n, rnd, s, size[0], size[1], channels, CannyOptions.defaults())));
            }
        }
        cases.add(new Named("canny L2 aperture 5 blur 5", (rnd, s) -> canny("canny L2 aperture 5 blur 5", rnd, s, 131, 203, 3,
                CannyOptions.defaults().withThresholds(60, 180).withApertureSize(5).withL2Gradient(true)
                        .withBlur(BlurOptions.of(5, 1.4)))));
        cases.add(new Named("canny aperture 7", (rnd, s) -> canny("canny aperture 7", rnd, s, 90, 77, 1,
                CannyOptions.defaults().withThresholds(2000, 9000).withApertureSize(7))));
        for (int k : new int[] {3, 7, 31, 127}) {
            String n = "gaussian blur k" + k;
            cases.add(new Named(n, (rnd, s) -> blur(n, rnd, s, 45, 61, k == 7 ? 3 : 1, BlurOptions.of(k, 0))));
        }
        int[][] resizes = {{1080, 1920, 512, 912}, {333, 500, 512, 768}, {530, 500, 512, 512}, {64, 64, 7, 5}};
        for (int[] r : resizes) {
            for (Interpolation interpolation : Interpolation.values()) {
                String n = "resize " + r[1] + "x" + r[0] + " -> " + r[3] + "x" + r[2] + " " + interpolation.name().toLowerCase();
                cases.add(new Named(n, (rnd, s) -> resize(n, rnd, s, r, interpolation)));
            }
        }
        Conv2dOptions pad1 = Conv2dOptions.defaults().withPadding(1);
        for (ElementType type : ElementType.values()) {
            String t = " " + type.name().toLowerCase();
            cases.add(conv("conv2d 3x3 320->320 16x16 silu" + t, type, 1, 320, 16, 16, 320, 3,
                    pad1.withActivation(Activation.SILU), true));
            cases.add(conv("conv2d 3x3 stride 2 64->64 33x31" + t, type, 2, 64, 33, 31, 64, 3, pad1.withStride(2), true));
            cases.add(conv("conv2d 1x1 320->320 (zero conv)" + t, type, 1, 320, 12, 12, 320, 1, Conv2dOptions.defaults(), true));
            cases.add(conv("conv2d 3x3 groups 4 dilation 2 odd" + t, type, 1, 36, 19, 23, 20, 3,
                    pad1.withGroups(4).withDilation(2).withPadding(2), false));
            cases.add(conv("conv2d 3x3 depthwise 40" + t, type, 1, 40, 15, 15, 40, 3, pad1.withGroups(40), true));
            cases.add(conv("conv2d 4->320 64x64 (conv_in)" + t, type, 1, 4, 64, 64, 320, 3, pad1, true));
            for (int d : new int[] {40, 80, 160}) {
                cases.add(attn("attention self L256 D" + d + t, type, 2, 8, 256, 256, d, AttentionOptions.defaults()));
                cases.add(attn("attention cross Lk77 D" + d + t, type, 2, 8, 256, 77, d,
                        AttentionOptions.defaults().withKvLens(77, 12)));
            }
            cases.add(attn("attention causal L100 D64" + t, type, 1, 2, 100, 100, 64, AttentionOptions.defaults().withCausal(true)));
            cases.add(attn("attention D1 Lk1" + t, type, 3, 1, 5, 1, 1, AttentionOptions.defaults()));
        }
        for (PredictionType p : PredictionType.values()) {
            String n = "ddim step guided " + p.name().toLowerCase();
            cases.add(new Named(n, (rnd, s) -> ddim(n, rnd, s, p, 0.0)));
        }
        cases.add(new Named("ddim step eta 1", (rnd, s) -> ddim("ddim step eta 1", rnd, s, PredictionType.EPSILON, 1.0)));
        cases.add(new Named("add noise", this::addNoise));
        cases.add(new Named("randn offset 0", (rnd, s) -> randn("randn offset 0", s, 2 * 4 * 64 * 64, 0)));
        cases.add(new Named("randn odd offset", (rnd, s) -> randn("randn odd offset", s, 1001, 12_345_677)));
        for (ResampleMode m : ResampleMode.values()) {
            String n = "resample " + m.name().toLowerCase();
            cases.add(new Named(n, (rnd, s) -> resample(n, rnd, s, m)));
        }
        cases.add(new Named("upsample_nearest2d 17x22 to 33x41", (rnd, s) -> upsampleNearest2d(
                "upsample_nearest2d 17x22 to 33x41", rnd, s, ElementType.FLOAT32, 33, 41)));
        cases.add(new Named("upsample_nearest2d 17x22 to 9x50", (rnd, s) -> upsampleNearest2d(
                "upsample_nearest2d 17x22 to 9x50", rnd, s, ElementType.FLOAT32, 9, 50)));
        cases.add(new Named("upsample_nearest2d bfloat16 17x22 to 33x41", (rnd, s) -> upsampleNearest2d(
                "upsample_nearest2d bfloat16 17x22 to 33x41", rnd, s, ElementType.BFLOAT16, 33, 41)));
        cases.add(new Named("psnr rgb", (rnd, s) -> metric("psnr rgb", rnd, s, false)));
        cases.add(new Named("ssim rgb", (rnd, s) -> metric("ssim rgb", rnd, s, true)));
        new CrosscheckLayerCases(device, cpu, exactEverywhere).addTo(cases);
        return cases;
    }

    // ---- images --------------------------------------------------------------------------

    /** A drawing-like test image: smooth shading, noise, and some hard strokes. */
    private static byte[] pixels(Random rnd, int h, int w, int c) {
        byte[] p = new byte[h * w * c];
        int strokes = 3 + rnd.nextInt(5);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                for (int ch = 0; ch < c; ch++) {
                    double v = 128 + 60 * Math.sin(x * 0.05 + ch) * Math.cos(y * 0.07) + rnd.nextGaussian() * 12;
                    for (int s = 0; s < strokes; s++) {
                        if (Math.abs((x * (s + 1) + y * 3 + s * 17) % 97) < 2) {
                            v = 20;
                        }
                    }
                    p[(y * w + x) * c + ch] = (byte) Math.max(0, Math.min(255, (int) Math.round(v)));
                }
            }
        }
        return p;
    }

    private Result canny(String name, Random rnd, Scope s, int h, int w, int c, CannyOptions options) {
        Image host = s.add(Image.fromBytes(pixels(rnd, h, w, c), h, w, c));
        Image want = s.add(cpu.canny(host, options));
        Image onDevice = s.add(device.copyToDevice(host));
        Image got = s.add(device.canny(onDevice, options));
        return exactBytes(name, want.toByteArray(), got.toByteArray());
    }

    private Result blur(String name, Random rnd, Scope s, int h, int w, int c, BlurOptions options) {
        Image host = s.add(Image.fromBytes(pixels(rnd, h, w, c), h, w, c));
        Image want = s.add(cpu.gaussianBlur(host, options));
        Image got = s.add(device.gaussianBlur(s.add(device.copyToDevice(host)), options));
        return exactBytes(name, want.toByteArray(), got.toByteArray());
    }

    /** cv2.resize on 8-bit RGB: both backends use the host's tap tables and the same rounding, so bytes must match. */
    private Result resize(String name, Random rnd, Scope s, int[] size, Interpolation interpolation) {
        Image host = s.add(Image.fromBytes(pixels(rnd, size[0], size[1], 3), size[0], size[1], 3));
        Image want = s.add(cpu.resize(host, size[3], size[2], interpolation));
        Image got = s.add(device.resize(s.add(device.copyToDevice(host)), size[3], size[2], interpolation));
        return exactBytes(name, want.toByteArray(), got.toByteArray());
    }

    private Result metric(String name, Random rnd, Scope s, boolean ssim) {
        int h = 97, w = 130, c = 3;
        byte[] a = pixels(rnd, h, w, c), b = a.clone();
        for (int i = 0; i < b.length; i += 7) {
            b[i] = (byte) (b[i] + rnd.nextInt(21) - 10);
        }
        Image ha = s.add(Image.fromBytes(a, h, w, c)), hb = s.add(Image.fromBytes(b, h, w, c));
        Image da = s.add(device.copyToDevice(ha)), db = s.add(device.copyToDevice(hb));
        double want = ssim ? cpu.ssim(ha, hb) : cpu.psnr(ha, hb);
        double got = ssim ? device.ssim(da, db) : device.psnr(da, db);
        // SSIM: sums of ~10^5 double terms in another order differ by far less than 1e-12.
        double bound = ssim && !exactEverywhere ? 1e-12 : 0;
        double err = Math.abs(got - want);
        boolean ok = ssim && !exactEverywhere ? err <= bound : Double.doubleToLongBits(got) == Double.doubleToLongBits(want);
        return new Result(name, ok, String.format("cpu %.15g device %.15g |diff| %.3g%s", want, got, err,
                bound > 0 ? String.format(" (bound %.1g)", bound) : " (bit for bit)"));
    }

    // ---- tensors -------------------------------------------------------------------------

    private static float[] gaussian(Random rnd, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (rnd.nextGaussian() * scale);
        }
        return a;
    }

    private static float[] abs(float[] a) {
        float[] r = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = Math.abs(a[i]);
        }
        return r;
    }

    private Named conv(String name, ElementType type, int n, int cin, int h, int w, int cout, int k, Conv2dOptions o,
            boolean withBias) {
        return new Named(name, (rnd, s) -> {
            int k2 = cin / o.groups() * k * k;
            long[] xs = {n, cin, h, w}, ws = {cout, cin / o.groups(), k, k};
            Tensor x = s.add(Tensor.fromArray(gaussian(rnd, n * cin * h * w, 1), type, xs));
            Tensor wt = s.add(Tensor.fromArray(gaussian(rnd, cout * k2, 1 / Math.sqrt(k2)), type, ws));
            Tensor b = withBias ? s.add(Tensor.fromArray(gaussian(rnd, cout, 0.5), type, cout)) : null;
            float[] want = s.add(cpu.conv2d(x, wt, b, o)).toArray();
            Tensor dx = s.add(device.copyToDevice(x)), dw = s.add(device.copyToDevice(wt));
            Tensor db = b == null ? null : s.add(device.copyToDevice(b));
            float[] got = s.add(device.copyToHost(s.add(device.conv2d(dx, dw, db, o)))).toArray();
            if (exactEverywhere) {
                return exactFloats(name, want, got);
            }
            // S = sum |x w| + |bias| per output: the CPU's float32 conv2d of |x|, |w|, |bias|.
            try (Tensor ax = Tensor.fromArray(abs(x.toArray()), xs); Tensor aw = Tensor.fromArray(abs(wt.toArray()), ws);
                    Tensor ab = b == null ? null : Tensor.fromArray(abs(b.toArray()), cout);
                    Tensor magnitude = cpu.conv2d(ax, aw, ab, o.withActivation(Activation.NONE))) {
                return bounded(name, type, want, got,
                        conv2dBound(magnitude.toArray(), k2, o.activation() == Activation.SILU), 0);
            }
        });
    }

    /** float32 summation error of `terms` products on the CPU, any order: (terms + 1) 2^-24 of sum |terms|. */
    static double gammaCpu(long terms) {
        return (terms + 1) * U32;
    }

    /**
     * The same on the GPU, the larger of its two paths: float32 FMA chains (as the CPU), or
     * tensor-core mma.sync m16n8k16, which aligns its 16 products and the accumulator to the
     * largest and truncates (Fasi et al., "Numerical behavior of NVIDIA tensor cores", 2021):
     * 17 2^-23 per instruction, ceil(terms / 16) instructions, plus one epilogue rounding.
     */
    static double gammaGpu(long terms) {
        return 17 * ((terms + 15) / 16) * 2 * U32 + U32;
    }

    /**
     * conv2d on two devices (as native/tests/test_cuda_conv2d.cpp): both sum the same exact
     * products (16-bit products are exact in float32) in float32, in different orders; SiLU's
     * slope is below 1.1. The outputs' own rounding is added by {@link #bounded}.
     */
    static double[] conv2dBound(float[] magnitude, int k, boolean silu) {
        double slope = silu ? 1.1 : 1.0;
        double[] bound = new double[magnitude.length];
        for (int i = 0; i < bound.length; i++) {
            bound[i] = slope * (gammaGpu(k) + gammaCpu(k)) * 1.001 * magnitude[i];
        }
        return bound;
    }

    private Named attn(String name, ElementType type, int b, int heads, int lq, int lk, int d, AttentionOptions o) {
        return new Named(name, (rnd, s) -> {
            Tensor q = s.add(Tensor.fromArray(gaussian(rnd, b * heads * lq * d, 1), type, b, heads, lq, d));
            Tensor k = s.add(Tensor.fromArray(gaussian(rnd, b * heads * lk * d, 1), type, b, heads, lk, d));
            Tensor v = s.add(Tensor.fromArray(gaussian(rnd, b * heads * lk * d, 1), type, b, heads, lk, d));
            float[] want = s.add(cpu.attention(q, k, v, o)).toArray();
            Tensor dq = s.add(device.copyToDevice(q)), dk = s.add(device.copyToDevice(k)), dv = s.add(device.copyToDevice(v));
            float[] got = s.add(device.copyToHost(s.add(device.attention(dq, dk, dv, o)))).toArray();
            if (exactEverywhere) {
                return exactFloats(name, want, got);
            }
            float[] qf = q.toArray(), kf = k.toArray(), vf = v.toArray();
            // A = sum_j w_j |v_j|: the CPU's float32 attention on the widened q, k and |v|.
            try (Tensor fq = Tensor.fromArray(qf, b, heads, lq, d); Tensor fk = Tensor.fromArray(kf, b, heads, lk, d);
                    Tensor fv = Tensor.fromArray(abs(vf), b, heads, lk, d); Tensor weighted = cpu.attention(fq, fk, fv, o)) {
                return bounded(name, type, want, got,
                        attentionBound(qf, kf, vf, weighted.toArray(), b, heads, lq, lk, d, o, type), sumAbsV(vf, b * heads, lk, d));
            }
        });
    }

    /** Per (batch, head, column): sum_j |v_j|, for f16's subnormal floor. */
    private static double sumAbsV(float[] v, int bh, int lk, int d) {
        double worst = 0;
        for (int h = 0; h < bh; h++) {
            for (int e = 0; e < d; e++) {
                double sum = 0;
                for (int j = 0; j < lk; j++) {
                    sum += Math.abs(v[(h * lk + j) * d + e]);
                }
                worst = Math.max(worst, sum);
            }
        }
        return worst;
    }

    /**
     * Attention on two devices, as native/tests/test_cuda_attention.cpp derives it. Per
     * output, with A = sum_j w_j |v_j| and Sigma_i = scale |q_i| max_j |k_j| (Euclidean norms,
     * a Cauchy-Schwarz bound on every score's terms):
     * <ul>
     *   <li>scores: each side's float32 q.k within gamma(D) Sigma_i, plus 2^-21 Sigma_i for the
     *       scale, max and exp2 argument roundings and 2^-19 for the two exp2s: each weight is
     *       off by a factor 1 + eta, the output by 2.02 eta A;</li>
     *   <li>the GPU rounds P to the 16-bit type before P V (as flash-attention does): 1.01 u A;</li>
     *   <li>P V and the row sums: gamma_gpu(Lk) + gamma_cpu(Lk) + (2 Lk + 2 tiles + 4) 2^-24, of A.</li>
     * </ul>
     * A carries a factor 1.001 for its own float32 error; {@link #bounded} adds the outputs' rounding.
     */
    static double[] attentionBound(float[] q, float[] k, float[] v, float[] weighted, int b, int heads, int lq, int lk,
            int d, AttentionOptions o, ElementType type) {
        double scale = o.scaleFor(d);
        double u = unitRoundoff(type);
        double pv = gammaGpu(lk) + gammaCpu(lk) + (2.0 * lk + 2.0 * ((lk + 63) / 64) + 4) * U32;
        double scoreGamma = gammaGpu(d) + gammaCpu(d) + 0x1p-21;
        double[] bound = new double[b * heads * lq * d];
        for (int bh = 0; bh < b * heads; bh++) {
            double kNormMax = 0;
            for (int j = 0; j < lk; j++) {
                kNormMax = Math.max(kNormMax, norm(k, (bh * lk + j) * d, d));
            }
            for (int i = 0; i < lq; i++) {
                int row = (bh * lq + i) * d;
                double eta = scoreGamma * scale * norm(q, row, d) * kNormMax + 0x1p-19;
                double weightTerms = (2.02 * eta + 1.01 * u + pv) * 1.001;
                for (int e = 0; e < d; e++) {
                    bound[row + e] = weightTerms * weighted[row + e];
                }
            }
        }
        return bound;
    }

    private static double norm(float[] a, int from, int n) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += (double) a[from + i] * a[from + i];
        }
        return Math.sqrt(sum);
    }

    /** Half the relative spacing of the type: 2^-24, 2^-11, 2^-8. */
    static double unitRoundoff(ElementType type) {
        return switch (type) {
            case FLOAT32 -> U32;
            case FLOAT16 -> 0x1p-11;
            case BFLOAT16 -> 0x1p-8;
        };
    }

    private Result ddim(String name, Random rnd, Scope s, PredictionType prediction, double eta) {
        DdimScheduler scheduler = DdimScheduler.stableDiffusion().toBuilder().predictionType(prediction)
                .clipSample(prediction == PredictionType.SAMPLE, 1.0).build();
        long[] shape = {2, 4, 64, 64};
        int n = 2 * 4 * 64 * 64;
        Tensor[] in = new Tensor[4];
        for (int i = 0; i < in.length; i++) {
            in[i] = s.add(Tensor.fromArray(gaussian(rnd, n, 1), shape));
        }
        Tensor want = s.add(Tensor.allocate(shape)), wantX0 = s.add(Tensor.allocate(shape));
        cpu.ddimStepGuided(scheduler, 501, 451, in[0], in[1], in[2], 7.5, eta, in[3], want, wantX0);
        Tensor[] d = new Tensor[4];
        for (int i = 0; i < d.length; i++) {
            d[i] = s.add(device.copyToDevice(in[i]));
        }
        Tensor got = s.add(Tensor.allocate(device, shape)), gotX0 = s.add(Tensor.allocate(device, shape));
        device.ddimStepGuided(scheduler, 501, 451, d[0], d[1], d[2], 7.5, eta, d[3], got, gotX0);
        Result prev = exactFloats(name, want.toArray(), got.toArray());
        Result x0 = exactFloats(name, wantX0.toArray(), gotX0.toArray());
        return new Result(name, prev.passed() && x0.passed(), "prev " + prev.detail() + "; x0 " + x0.detail());
    }

    private Result addNoise(Random rnd, Scope s) {
        DdimScheduler scheduler = DdimScheduler.stableDiffusion();
        long[] shape = {1, 4, 64, 64};
        Tensor x = s.add(Tensor.fromArray(gaussian(rnd, 4 * 64 * 64, 1), shape));
        Tensor z = s.add(Tensor.fromArray(gaussian(rnd, 4 * 64 * 64, 1), shape));
        Tensor want = s.add(Tensor.allocate(shape));
        cpu.addNoise(scheduler, x, z, 700, want);
        Tensor got = s.add(Tensor.allocate(device, shape));
        device.addNoise(scheduler, s.add(device.copyToDevice(x)), s.add(device.copyToDevice(z)), 700, got);
        return exactFloats("add noise", want.toArray(), got.toArray());
    }

    private Result randn(String name, Scope s, int count, long offset) {
        Tensor want = s.add(Tensor.allocate(count));
        cpu.randn(want, 1234, offset);
        Tensor got = s.add(Tensor.allocate(device, count));
        device.randn(got, 1234, offset);
        return exactFloats(name, want.toArray(), got.toArray());
    }

    private Result resample(String name, Random rnd, Scope s, ResampleMode mode) {
        Tensor x = s.add(Tensor.fromArray(gaussian(rnd, 2 * 3 * 17 * 22, 1), 2, 3, 17, 22));
        float[] want = s.add(cpu.resample(x, mode)).toArray();
        float[] got = s.add(device.resample(s.add(device.copyToDevice(x)), mode)).toArray();
        return exactFloats(name, want, got);
    }

    private Result upsampleNearest2d(String name, Random rnd, Scope s, ElementType type, long outHeight,
            long outWidth) {
        Tensor x = s.add(Tensor.fromArray(gaussian(rnd, 2 * 3 * 17 * 22, 1), type, 2, 3, 17, 22));
        float[] want = s.add(cpu.upsampleNearest2d(x, outHeight, outWidth)).toArray();
        float[] got = s.add(device.upsampleNearest2d(s.add(device.copyToDevice(x)), outHeight, outWidth)).toArray();
        return exactFloats(name, want, got);
    }

    // ---- comparisons ---------------------------------------------------------------------

    private static Result exactBytes(String name, byte[] want, byte[] got) {
        int differ = 0, first = -1;
        for (int i = 0; i < want.length; i++) {
            if (want[i] != got[i]) {
                differ++;
                first = first < 0 ? i : first;
            }
        }
        return new Result(name, differ == 0 && want.length == got.length, differ == 0 ? "identical, " + want.length + " bytes"
                : differ + " of " + want.length + " bytes differ, first at " + first);
    }

    static Result exactFloats(String name, float[] want, float[] got) {
        if (want.length != got.length) {
            return new Result(name, false, "device gave " + got.length + " values, cpu " + want.length);
        }
        int differ = 0, first = -1;
        for (int i = 0; i < want.length; i++) {
            if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
                differ++;
                first = first < 0 ? i : first;
            }
        }
        return new Result(name, differ == 0, differ == 0 ? "identical, " + want.length + " values"
                : differ + " of " + want.length + " values differ, first [" + first + "] cpu " + want[first] + " device "
                        + got[first]);
    }

    /**
     * |device - cpu| within bound[i] plus both outputs' rounding to the type, (u + 2^-20)
     * (|device| + |cpu|) (the 2^-20 covers the two backends' float32 expf and division), plus,
     * for float16, its subnormal spacing 2^-25 (vSum + 2) (vSum: attention's sum |v|, else 0).
     */
    static Result bounded(String name, ElementType type, float[] want, float[] got, double[] bound, double vSum) {
        double rounding = unitRoundoff(type) + 0x1p-20;
        double floor = type == ElementType.FLOAT16 ? 0x1p-25 * (vSum + 2) : 0;
        double worst = 0;
        int misses = 0, first = -1;
        for (int i = 0; i < want.length; i++) {
            double allowed = bound[i] + rounding * (Math.abs((double) got[i]) + Math.abs(want[i])) + floor;
            double err = Math.abs((double) got[i] - want[i]);
            if (!(err <= allowed)) {
                misses++;
                first = first < 0 ? i : first;
            }
            worst = Math.max(worst, allowed > 0 ? err / allowed : err);
        }
        String detail = String.format("worst |diff| / bound %.3f over %d values", worst, want.length);
        return new Result(name, misses == 0, misses == 0 ? detail
                : misses + " beyond the bound, first [" + first + "] cpu " + want[first] + " device " + got[first] + "; " + detail);
    }

    /** Closes what a case allocated, last first. */
    static final class Scope implements AutoCloseable {
        private final Deque<AutoCloseable> owned = new ArrayDeque<>();

        <T extends AutoCloseable> T add(T resource) {
            if (resource != null) {
                owned.push(resource);
            }
            return resource;
        }

        @Override
        public void close() {
            RuntimeException failure = null;
            while (!owned.isEmpty()) {
                try {
                    owned.pop().close();
                } catch (Exception e) {
                    if (failure == null) {
                        failure = new IllegalStateException("closing a crosscheck resource failed", e);
                    } else {
                        failure.addSuppressed(e);
                    }
                }
            }
            if (failure != null) {
                throw failure;
            }
        }
    }
}
