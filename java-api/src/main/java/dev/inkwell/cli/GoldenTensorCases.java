package dev.inkwell.cli;

import dev.inkwell.Activation;
import dev.inkwell.AttentionOptions;
import dev.inkwell.Conv2dOptions;
import dev.inkwell.DdimSampler;
import dev.inkwell.DdimScheduler;
import dev.inkwell.Image;
import dev.inkwell.PredictionType;
import dev.inkwell.ResampleMode;
import dev.inkwell.Tensor;
import dev.inkwell.TimestepSpacing;
import dev.inkwell.internal.Npy;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Golden cases on float tensors (conv2d, attention, DDIM, resampling) and the image metrics. */
final class GoldenTensorCases {
    private final GoldenCases g;

    GoldenTensorCases(GoldenCases cases) {
        this.g = cases;
    }

    private Tensor load(Map<?, ?> c, String key) throws IOException {
        return g.input(Tensor.readNpy(g.golden.resolve(GoldenCases.text(c, key))));
    }

    private static int[] pair(Map<?, ?> c, String key) {
        List<?> l = (List<?>) c.get(key);
        return new int[] {((Double) l.get(0)).intValue(), ((Double) l.get(1)).intValue()};
    }

    private static double tol(Map<?, ?> c, String key) {
        return GoldenCases.number(GoldenCases.object(c, "tolerance"), key);
    }

    GoldenCases.Result conv2d(Map<?, ?> c) throws IOException {
        String name = GoldenCases.text(c, "name");
        int[] stride = pair(c, "stride"), padding = pair(c, "padding"), dilation = pair(c, "dilation");
        Conv2dOptions options = Conv2dOptions.defaults().withStride(stride[0], stride[1]).withPadding(padding[0], padding[1])
                .withDilation(dilation[0], dilation[1]).withGroups((int) GoldenCases.number(c, "groups"))
                .withActivation("silu".equals(c.get("activation")) ? Activation.SILU : Activation.NONE);
        try (Tensor x = load(c, "x");
                Tensor w = load(c, "weight");
                Tensor b = c.get("bias") == null ? null : load(c, "bias");
                Tensor want = load(c, "expected")) {
            long start = System.nanoTime();
            try (Tensor y = g.inkwell.conv2d(x, w, b, options)) {
                double ms = (System.nanoTime() - start) / 1e6;
                g.save(y, GoldenCases.text(c, "expected"));
                if (!Arrays.equals(y.shape(), want.shape())) {
                    return new GoldenCases.Result(false, "conv2d", name,
                            "shape " + Arrays.toString(y.shape()) + ", expected " + Arrays.toString(want.shape()));
                }
                return GoldenCases.compareTensors("conv2d", name, y.toArray(), want.toArray(), tol(c, "atol"), tol(c, "rtol"), ms);
            }
        }
    }

    GoldenCases.Result attention(Map<?, ?> c) throws IOException {
        String name = GoldenCases.text(c, "name");
        AttentionOptions options = AttentionOptions.defaults().withCausal(Boolean.TRUE.equals(c.get("causal")));
        if (c.get("scale") instanceof Double s) {
            options = options.withScale(s);
        }
        if (c.get("kv_lens") instanceof List<?> lens) {
            options = options.withKvLens(lens.stream().mapToInt(o -> ((Double) o).intValue()).toArray());
        }
        try (Tensor q = load(c, "q"); Tensor k = load(c, "k"); Tensor v = load(c, "v"); Tensor want = load(c, "expected")) {
            long start = System.nanoTime();
            try (Tensor o = g.inkwell.attention(q, k, v, options)) {
                double ms = (System.nanoTime() - start) / 1e6;
                g.save(o, GoldenCases.text(c, "expected"));
                return GoldenCases.compareTensors("attention", name, o.toArray(), want.toArray(), tol(c, "atol"), tol(c, "rtol"), ms);
            }
        }
    }

    GoldenCases.Result resample(Map<?, ?> c) throws IOException {
        String op = GoldenCases.text(c, "op");
        ResampleMode mode = switch (op) {
            case "upsample_nearest_x2" -> ResampleMode.UPSAMPLE_NEAREST_2X;
            case "upsample_bilinear_x2" -> ResampleMode.UPSAMPLE_BILINEAR_2X;
            case "maxpool_2x2_s2" -> ResampleMode.MAX_POOL_2X2;
            case "avgpool_2x2_s2" -> ResampleMode.AVG_POOL_2X2;
            default -> throw new IllegalArgumentException("unknown resample op '" + op + "'");
        };
        String expected = GoldenCases.text(c, "expected");
        try (Tensor x = load(c, "x"); Tensor want = load(c, "expected")) {
            long start = System.nanoTime();
            try (Tensor y = g.inkwell.resample(x, mode)) {
                double ms = (System.nanoTime() - start) / 1e6;
                g.save(y, expected);
                return GoldenCases.compareTensors("resample", expected, y.toArray(), want.toArray(), tol(c, "atol"), tol(c, "rtol"), ms);
            }
        }
    }

    GoldenCases.Result metrics(Map<?, ?> c) throws IOException {
        String name = GoldenCases.text(c, "test");
        try (Image reference = g.input(Image.read(g.golden.resolve(GoldenCases.text(c, "reference"))));
                Image test = g.input(Image.read(g.golden.resolve(name)))) {
            double psnr = g.inkwell.psnr(reference, test), ssim = g.inkwell.ssim(reference, test);
            double wantPsnr = GoldenCases.number(c, "psnr_db"), wantSsim = GoldenCases.number(c, "ssim");
            double dPsnr = Math.abs(psnr - wantPsnr), dSsim = Math.abs(ssim - wantSsim);
            boolean ok = dPsnr <= tol(c, "psnr_db") && dSsim <= tol(c, "ssim");
            return new GoldenCases.Result(ok, "metrics", name, String.format(Locale.ROOT,
                    "psnr %.6f dB (|err| %.2g), ssim %.8f (|err| %.2g)", psnr, dPsnr, ssim, dSsim));
        }
    }

    // ---- DDIM ---------------------------------------------------------------------------

    private static DdimScheduler scheduler(Map<?, ?> config) {
        DdimScheduler.Builder b = DdimScheduler.builder()
                .trainTimesteps((int) GoldenCases.number(config, "num_train_timesteps"))
                .betas(GoldenCases.number(config, "beta_start"), GoldenCases.number(config, "beta_end"))
                .betaSchedule(switch (GoldenCases.text(config, "beta_schedule")) {
                    case "scaled_linear" -> dev.inkwell.BetaSchedule.SCALED_LINEAR;
                    case "linear" -> dev.inkwell.BetaSchedule.LINEAR;
                    default -> throw new IllegalArgumentException("beta schedule " + config.get("beta_schedule"));
                })
                .stepsOffset((int) GoldenCases.number(config, "steps_offset"))
                .setAlphaToOne(Boolean.TRUE.equals(config.get("set_alpha_to_one")));
        return b.build();
    }

    List<GoldenCases.Case> ddim(Map<?, ?> d) {
        Map<?, ?> config = GoldenCases.object(d, "config");
        DdimScheduler base = scheduler(config);
        List<GoldenCases.Case> out = new ArrayList<>();
        String alphas = GoldenCases.text(d, "alphas_cumprod");
        out.add(new GoldenCases.Case("ddim", alphas, () -> alphas(base, alphas)));
        for (Map.Entry<?, ?> e : GoldenCases.object(d, "timesteps").entrySet()) {
            String key = String.valueOf(e.getKey());
            out.add(new GoldenCases.Case("ddim", "timesteps " + key, () -> timesteps(base, key, (List<?>) e.getValue())));
        }
        for (Object o : (List<?>) d.get("steps")) {
            Map<?, ?> s = (Map<?, ?>) o;
            out.add(new GoldenCases.Case("ddim", GoldenCases.text(s, "name"), () -> step(base, s)));
        }
        Map<?, ?> loop = GoldenCases.object(d, "loop");
        out.add(new GoldenCases.Case("ddim", GoldenCases.text(loop, "expected_x0"), () -> loop(base, loop)));
        return out;
    }

    private GoldenCases.Result alphas(DdimScheduler s, String file) throws IOException {
        double[] want = Npy.read(g.golden.resolve(file)).values();
        double[] got = s.alphasCumprod();
        double worst = 0;
        for (int i = 0; i < Math.min(want.length, got.length); i++) {
            worst = Math.max(worst, Math.abs(want[i] - got[i]));
        }
        boolean ok = want.length == got.length && worst <= 1e-12;
        return new GoldenCases.Result(ok, "ddim", file, String.format("%d values, max |err| %.3g (double precision)", got.length, worst));
    }

    private GoldenCases.Result timesteps(DdimScheduler base, String key, List<?> want) {
        String[] parts = key.split("_");
        int steps = Integer.parseInt(parts[0]);
        TimestepSpacing spacing = TimestepSpacing.valueOf(parts[1].toUpperCase(Locale.ROOT));
        int[] got = base.toBuilder().timestepSpacing(spacing).build().timesteps(steps);
        int[] expected = want.stream().mapToInt(o -> ((Double) o).intValue()).toArray();
        boolean ok = Arrays.equals(got, expected);
        return new GoldenCases.Result(ok, "ddim", "timesteps " + key, ok ? steps + " timesteps match"
                : "got " + Arrays.toString(got) + ", expected " + Arrays.toString(expected));
    }

    private GoldenCases.Result step(DdimScheduler base, Map<?, ?> s) throws IOException {
        String name = GoldenCases.text(s, "name");
        DdimScheduler.Builder b = base.toBuilder()
                .setAlphaToOne(Boolean.TRUE.equals(s.get("set_alpha_to_one")))
                .predictionType(switch (GoldenCases.text(s, "prediction_type")) {
                    case "epsilon" -> PredictionType.EPSILON;
                    case "v_prediction" -> PredictionType.V_PREDICTION;
                    case "sample" -> PredictionType.SAMPLE;
                    default -> throw new IllegalArgumentException("prediction type " + s.get("prediction_type"));
                });
        if (Boolean.TRUE.equals(s.get("clip_sample"))) {
            b.clipSample(true, GoldenCases.number(s, "clip_sample_range"));
        }
        DdimScheduler scheduler = b.build();
        int t = (int) GoldenCases.number(s, "timestep"), prev = (int) GoldenCases.number(s, "prev_timestep");
        double eta = GoldenCases.number(s, "eta");
        boolean guided = s.get("guidance_scale") instanceof Double;
        try (Tensor x = load(s, "sample");
                Tensor noise = load(s, "noise");
                Tensor cond = load(s, guided ? "model_output_cond" : "model_output");
                Tensor uncond = guided ? load(s, "model_output_uncond") : null;
                Tensor wantPrev = load(s, "expected_prev_sample");
                Tensor wantX0 = load(s, "expected_pred_original_sample");
                Tensor prevSample = Tensor.allocate(g.inkwell, x.shape());
                Tensor x0 = Tensor.allocate(g.inkwell, x.shape())) {
            long start = System.nanoTime();
            if (guided) {
                g.inkwell.ddimStepGuided(scheduler, t, prev, x, cond, uncond, GoldenCases.number(s, "guidance_scale"), eta, noise,
                        prevSample, x0);
            } else {
                g.inkwell.ddimStep(scheduler, t, prev, x, cond, eta, noise, prevSample, x0);
            }
            double ms = (System.nanoTime() - start) / 1e6;
            g.save(prevSample, GoldenCases.text(s, "expected_prev_sample"));
            g.save(x0, GoldenCases.text(s, "expected_pred_original_sample"));
            double atol = tol(s, "atol"), rtol = tol(s, "rtol");
            GoldenCases.Result a = GoldenCases.compareTensors("ddim", name, prevSample.toArray(), wantPrev.toArray(), atol, rtol, ms);
            GoldenCases.Result b0 = GoldenCases.compareTensors("ddim", name, x0.toArray(), wantX0.toArray(), atol, rtol, ms);
            return new GoldenCases.Result(a.passed() && b0.passed(), "ddim", name, "prev: " + a.detail() + "; x0: " + b0.detail());
        }
    }

    /** The manifest's 20-step loop with its analytic model. */
    private GoldenCases.Result loop(DdimScheduler base, Map<?, ?> loop) throws IOException {
        String expected = GoldenCases.text(loop, "expected_x0");
        DdimScheduler scheduler = base.toBuilder()
                .timestepSpacing(TimestepSpacing.valueOf(GoldenCases.text(loop, "spacing").toUpperCase(Locale.ROOT))).build();
        int steps = (int) GoldenCases.number(loop, "steps");
        double guidance = GoldenCases.number(loop, "guidance_scale"), eta = GoldenCases.number(loop, "eta");
        DdimSampler.GuidedModel model = (sample, t, condOut, uncondOut) -> {
            // eps_uncond = tanh(0.5 x) t / 1000; eps_cond = eps_uncond + 0.1 cos(x)
            float[] x = sample.toArray(), u = new float[x.length], c = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                double e = Math.tanh(0.5 * x[i]) * t / 1000.0;
                u[i] = (float) e;
                c[i] = (float) (e + 0.1 * Math.cos(x[i]));
            }
            uncondOut.copyFrom(u);
            condOut.copyFrom(c);
        };
        try (Tensor xT = load(loop, "x_T"); Tensor want = load(loop, "expected_x0")) {
            long start = System.nanoTime();
            try (Tensor x0 = new DdimSampler(g.inkwell, scheduler).sample(xT, steps, guidance, eta, 0, model)) {
                double ms = (System.nanoTime() - start) / 1e6;
                g.save(x0, expected);
                return GoldenCases.compareTensors("ddim", expected, x0.toArray(), want.toArray(), tol(loop, "atol"),
                        tol(loop, "rtol"), ms);
            }
        }
    }

}
