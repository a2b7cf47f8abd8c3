package dev.inkwell.cli;

import dev.inkwell.Device;
import dev.inkwell.Tensor;
import dev.inkwell.models.AutoencoderKL;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Golden cases of the models manifest ({@code golden/models/manifest.json}): the {@code unet}
 * and {@code controlnet} cases ({@link GoldenUNetCases}), {@code pipeline}
 * ({@link GoldenPipelineCases}), {@code lpips} ({@link GoldenLpipsCases}), and here the
 * {@code vae} cases. {@code decode} decodes {@code latents / scaling_factor} with
 * {@link AutoencoderKL#decode} and compares with {@code expected}; {@code encode} compares the
 * posterior of {@link AutoencoderKL#encode} with {@code expected_mean} and
 * {@code expected_logvar}, each within the case's tolerance. The model is loaded from the
 * manifest's {@code model_dirs.vae} folder (default {@code vae}).
 */
final class GoldenModelCases {
    /** The manifest keys this class answers for. */
    static final Set<String> KINDS = Set.of("vae", "unet", "controlnet", "pipeline", "lpips", "lpips_weights");

    private final GoldenCases g;

    GoldenModelCases(GoldenCases cases) {
        this.g = cases;
    }

    List<GoldenCases.Case> expand(String kind, Object entries) {
        if (GoldenUNetCases.KINDS.contains(kind)) {
            return new GoldenUNetCases(g).expand(kind, entries);
        }
        if (GoldenLpipsCases.KINDS.contains(kind)) {
            return new GoldenLpipsCases(g).expand(kind, entries);
        }
        if (GoldenPipelineCases.KINDS.contains(kind)) {
            return new GoldenPipelineCases(g).expand(kind, entries);
        }
        List<GoldenCases.Case> out = new ArrayList<>();
        for (Object o : (List<?>) entries) {
            Map<?, ?> c = (Map<?, ?>) o;
            String name = GoldenCases.text(c, "name");
            out.add(new GoldenCases.Case(kind, name, () -> vae(c, name)));
        }
        return out;
    }

    private Path vaeDir() {
        return g.golden.resolve("vae"); // model_dirs.vae is "vae" in the manifest
    }

    private GoldenCases.Result vae(Map<?, ?> c, String name) throws IOException {
        Map<?, ?> tol = GoldenCases.object(c, "tolerance");
        double atol = GoldenCases.number(tol, "atol"), rtol = GoldenCases.number(tol, "rtol");
        try (AutoencoderKL vae = AutoencoderKL.load(vaeDir(), g.inkwell)) {
            if (name.equals("decode") || c.containsKey("latents")) {
                String expected = GoldenCases.text(c, "expected");
                try (Tensor latents = Tensor.readNpy(g.golden.resolve(GoldenCases.text(c, "latents")));
                        Tensor want = Tensor.readNpy(g.golden.resolve(expected))) {
                    float[] z = latents.toArray();
                    float s = (float) vae.config().scalingFactor();
                    for (int i = 0; i < z.length; i++) {
                        z[i] /= s; // the case's definition: vae.decode(latents / scaling_factor)
                    }
                    try (Tensor scaled = g.input(Tensor.fromArray(z, latents.shape()))) {
                        long start = System.nanoTime();
                        try (Tensor got = vae.decode(scaled); Tensor host = host(got)) {
                            double ms = (System.nanoTime() - start) / 1e6;
                            return compare(name, expected, host == null ? got : host, want, atol, rtol, ms);
                        }
                    }
                }
            }
            String meanFile = GoldenCases.text(c, "expected_mean"), logvarFile = GoldenCases.text(c, "expected_logvar");
            try (Tensor image = g.input(Tensor.readNpy(g.golden.resolve(GoldenCases.text(c, "image"))));
                    Tensor wantMean = Tensor.readNpy(g.golden.resolve(meanFile));
                    Tensor wantLogvar = Tensor.readNpy(g.golden.resolve(logvarFile))) {
                long start = System.nanoTime();
                try (AutoencoderKL.Posterior p = vae.encode(image); Tensor mean = host(p.mean());
                        Tensor logvar = host(p.logvar())) {
                    double ms = (System.nanoTime() - start) / 1e6;
                    GoldenCases.Result m = compare(name, meanFile, mean == null ? p.mean() : mean, wantMean, atol, rtol,
                            ms);
                    GoldenCases.Result v = compare(name, logvarFile, logvar == null ? p.logvar() : logvar, wantLogvar,
                            atol, rtol, ms);
                    return new GoldenCases.Result(m.passed() && v.passed(), "vae", name, "mean: " + m.detail()
                            + "; logvar: " + v.detail());
                }
            }
        }
    }

    /** A host copy of a device tensor, or null for a host tensor. */
    private Tensor host(Tensor t) {
        return t.device() == Device.CPU ? null : g.inkwell.copyToHost(t);
    }

    private GoldenCases.Result compare(String name, String file, Tensor got, Tensor want, double atol, double rtol,
            double ms) throws IOException {
        g.save(got, file);
        if (!Arrays.equals(got.shape(), want.shape())) {
            return new GoldenCases.Result(false, "vae", name, "shape " + Arrays.toString(got.shape()) + ", expected "
                    + Arrays.toString(want.shape()));
        }
        return GoldenCases.compareTensors("vae", name, got.toArray(), want.toArray(), atol, rtol, ms);
    }
}
