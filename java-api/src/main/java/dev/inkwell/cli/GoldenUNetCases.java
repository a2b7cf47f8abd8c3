package dev.inkwell.cli;

import dev.inkwell.Device;
import dev.inkwell.Tensor;
import dev.inkwell.models.ControlNetModel;
import dev.inkwell.models.UNet2DConditionModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Golden cases of the models manifest ({@code golden/models/manifest.json}) for the U-Net and
 * the ControlNet, through the public API:
 * <ul>
 * <li>{@code unet}: {@link UNet2DConditionModel#forward} on the case's sample, timestep and
 * encoder_hidden_states with the given ControlNet residuals, compared with {@code expected},
 * and without them, compared with {@code expected_without_control};
 * <li>{@code controlnet}: {@link ControlNetModel#forward} with the case's control image,
 * conditioning_scale and guess_mode, each of the 12 down residuals and the mid residual compared
 * with {@code down_block_res_samples} / {@code mid_block_res_sample}.
 * </ul>
 * Each within the case's tolerance; one line per case with the worst comparison. The models
 * are loaded per case from the {@code unet} and {@code controlnet} folders next to the manifest
 * (its {@code model_dirs}). {@code --save} writes every output at its expected file's path.
 */
final class GoldenUNetCases {
    /** The manifest keys this class answers for. */
    static final Set<String> KINDS = Set.of("unet", "controlnet");

    private final GoldenCases g;

    GoldenUNetCases(GoldenCases cases) {
        this.g = cases;
    }

    List<GoldenCases.Case> expand(String kind, Object entries) {
        List<GoldenCases.Case> out = new ArrayList<>();
        for (Object o : (List<?>) entries) {
            Map<?, ?> c = (Map<?, ?>) o;
            String name = GoldenCases.text(c, "name");
            out.add(new GoldenCases.Case(kind, name, kind.equals("unet") ? () -> unet(c, name)
                    : () -> controlnet(c, name)));
        }
        return out;
    }

    /** One comparison's outcome, kept to report the worst of a case. */
    private record Check(String file, GoldenCases.Result result, double worstRatio) {}

    private GoldenCases.Result unet(Map<?, ?> c, String name) throws IOException {
        double atol = atol(c), rtol = rtol(c), t = GoldenCases.number(c, "timestep");
        List<Tensor> down = new ArrayList<>();
        try (UNet2DConditionModel unet = UNet2DConditionModel.load(g.golden.resolve("unet"), g.inkwell);
                Tensor sample = read(c, "sample"); Tensor ehs = read(c, "encoder_hidden_states");
                Tensor mid = read(c, "mid_block_additional_residual")) {
            for (Object f : list(c, "down_block_additional_residuals")) {
                down.add(g.input(Tensor.readNpy(g.golden.resolve((String) f))));
            }
            long start = System.nanoTime();
            List<Check> checks = new ArrayList<>();
            try (Tensor got = unet.forward(sample, t, ehs, down, mid)) {
                checks.add(compare("unet", name, GoldenCases.text(c, "expected"), got, atol, rtol));
            }
            try (Tensor got = unet.forward(sample, t, ehs)) {
                checks.add(compare("unet", name, GoldenCases.text(c, "expected_without_control"), got, atol, rtol));
            }
            return summary("unet", name, checks, (System.nanoTime() - start) / 1e6);
        } finally {
            down.forEach(Tensor::close);
        }
    }

    private GoldenCases.Result controlnet(Map<?, ?> c, String name) throws IOException {
        double atol = atol(c), rtol = rtol(c), t = GoldenCases.number(c, "timestep");
        double scale = GoldenCases.number(c, "conditioning_scale");
        if (!(c.get("guess_mode") instanceof Boolean guess)) {
            throw new IllegalArgumentException("manifest case has no boolean 'guess_mode'");
        }
        List<?> downFiles = list(c, "down_block_res_samples");
        try (ControlNetModel cn = ControlNetModel.load(g.golden.resolve("controlnet"), g.inkwell);
                Tensor sample = read(c, "sample"); Tensor ehs = read(c, "encoder_hidden_states");
                Tensor cond = read(c, "controlnet_cond")) {
            long start = System.nanoTime();
            try (ControlNetModel.Output out = cn.forward(sample, t, ehs, cond, scale, guess)) {
                double ms = (System.nanoTime() - start) / 1e6;
                List<Check> checks = new ArrayList<>();
                List<Tensor> got = out.downBlockResSamples();
                if (got.size() != downFiles.size()) {
                    return new GoldenCases.Result(false, "controlnet", name, got.size() + " down residuals, expected "
                            + downFiles.size());
                }
                for (int i = 0; i < got.size(); i++) {
                    checks.add(compare("controlnet", name, (String) downFiles.get(i), got.get(i), atol, rtol));
                }
                checks.add(compare("controlnet", name, GoldenCases.text(c, "mid_block_res_sample"),
                        out.midBlockResSample(), atol, rtol));
                return summary("controlnet", name, checks, ms);
            }
        }
    }

    /** Saves got (with --save), then compares it with the file. */
    private Check compare(String kind, String name, String file, Tensor got, double atol, double rtol)
            throws IOException {
        try (Tensor host = got.device() == Device.CPU ? null : g.inkwell.copyToHost(got);
                Tensor want = Tensor.readNpy(g.golden.resolve(file))) {
            Tensor h = host == null ? got : host;
            g.save(h, file);
            if (!Arrays.equals(h.shape(), want.shape())) {
                return new Check(file, new GoldenCases.Result(false, kind, name, file + ": shape "
                        + Arrays.toString(h.shape()) + ", expected " + Arrays.toString(want.shape())),
                        Double.POSITIVE_INFINITY);
            }
            float[] gv = h.toArray(), wv = want.toArray();
            double ratio = 0;
            for (int i = 0; i < gv.length; i++) {
                if (Float.isFinite(wv[i])) {
                    double r = Math.abs((double) gv[i] - wv[i]) / (atol + rtol * Math.abs(wv[i]));
                    ratio = Math.max(ratio, Double.isNaN(r) ? Double.POSITIVE_INFINITY : r);
                }
            }
            return new Check(file, GoldenCases.compareTensors(kind, name, gv, wv, atol, rtol, 0), ratio);
        }
    }

    /** All comparisons must pass; the line shows the worst (largest error / allowed) and the time. */
    private static GoldenCases.Result summary(String kind, String name, List<Check> checks, double ms) {
        Check worst = checks.getFirst();
        boolean passed = true;
        for (Check k : checks) {
            passed &= k.result().passed();
            if (k.worstRatio() > worst.worstRatio()) {
                worst = k;
            }
        }
        String file = Path.of(worst.file()).getFileName().toString();
        String detail = String.format("%d arrays, worst %s: %s; %.1f ms", checks.size(), file,
                worst.result().detail().replaceFirst(", [0-9.]+ ms$", ""), ms);
        return new GoldenCases.Result(passed, kind, name, detail);
    }

    private Tensor read(Map<?, ?> c, String key) throws IOException {
        return g.input(Tensor.readNpy(g.golden.resolve(GoldenCases.text(c, key))));
    }

    private static List<?> list(Map<?, ?> c, String key) {
        if (!(c.get(key) instanceof List<?> l)) {
            throw new IllegalArgumentException("manifest case has no list '" + key + "'");
        }
        return l;
    }

    private static double atol(Map<?, ?> c) {
        return GoldenCases.number(GoldenCases.object(c, "tolerance"), "atol");
    }

    private static double rtol(Map<?, ?> c) {
        return GoldenCases.number(GoldenCases.object(c, "tolerance"), "rtol");
    }
}
