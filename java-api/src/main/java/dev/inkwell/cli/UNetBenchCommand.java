package dev.inkwell.cli;

import dev.inkwell.Device;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import dev.inkwell.Workspace;
import dev.inkwell.models.ControlNetModel;
import dev.inkwell.models.ControlNetModelConfig;
import dev.inkwell.models.UNet2DConditionModel;
import dev.inkwell.models.UNet2DConditionModelConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * {@code inkwell unet-bench}: one ControlNet + U-Net evaluation at Stable Diffusion 1.5 size (the
 * real {@code runwayml/stable-diffusion-v1-5} unet and {@code lllyasviel/sd-controlnet-canny}
 * configurations, weights made up in memory), as one denoising step of the colorization
 * pipeline runs it: a classifier-free-guidance batch, latents, 77 text tokens, the control image
 * 8 times the latents' size.
 */
final class UNetBenchCommand implements Main.Command {
    /** runwayml/stable-diffusion-v1-5's unet/config.json. */
    static UNet2DConditionModelConfig sd15UNet() {
        List<Integer> four2 = Collections.nCopies(4, 2), four1 = Collections.nCopies(4, 1);
        return new UNet2DConditionModelConfig(4, 4, List.of(320, 640, 1280, 1280),
                List.of("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
                "UNetMidBlock2DCrossAttn",
                List.of("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"), four2, four1,
                Collections.nCopies(4, 8), 768, 32, 1e-5, "silu", true, 0, 1, 1, false, false, "default", null);
    }

    /** lllyasviel/sd-controlnet-canny's config.json. */
    static ControlNetModelConfig sd15ControlNetCanny() {
        return new ControlNetModelConfig(4, 3, List.of(320, 640, 1280, 1280),
                List.of("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"), 2,
                Collections.nCopies(4, 1), Collections.nCopies(4, 8), null, 768, 32, 1e-5, "silu", true, 0, 1, 1, false,
                false, "default", List.of(16, 32, 96, 256), "rgb", false);
    }

    @Override
    public String help() {
        return """
                usage: inkwell unet-bench [--batch 2] [--latent 64] [--tokens 77] [--runs 3] [--warmup 1] [--threads N] [--device cpu|cuda] [--no-workspace]

                Times one ControlNet + U-Net evaluation at Stable Diffusion 1.5 size: the real SD 1.5 unet
                and sd-controlnet-canny configurations (860M + 361M parameters) with weights made up in
                memory (no download; float32, about 4.9 GB), a classifier-free-guidance batch of 2 at 64x64
                latents (512x512 images), 77 text tokens, a 512x512 control image. One evaluation is
                ControlNetModel.forward then UNet2DConditionModel.forward with its residuals, as one
                denoising step runs them.

                Prints the load time, the median of --runs timed evaluations (after --warmup untimed ones)
                with each run's time, the operations of one evaluation (convolutions, Linear layers, GEGLU
                and attention counted from the configuration; norms and adds not) as GFLOP/s, and the peak
                resident memory of the process (VmHWM). The activations live in one workspace: it prints the
                blocks the first evaluation allocated and those the later ones did (0 when every block is reused).

                  --batch N      batch size (default 2: classifier-free guidance)
                  --latent N     latent height and width (default 64), any N >= 1
                  --tokens N     text tokens (default 77)
                  --runs N       timed evaluations (default 3)
                  --warmup N     untimed evaluations first (default 1)
                  --threads N    worker threads (default: all)
                  --device D     cpu (default) or cuda: the weights are copied to the device once
                  --no-workspace every result a fresh allocation, freed on close (the anchor to compare with)""";
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
        Args args = Args.parse("unet-bench", argv, Set.of("--batch", "--latent", "--tokens", "--runs", "--warmup",
                "--threads", "--device"), Set.of("--no-workspace"));
        if (!args.positional().isEmpty()) {
            throw args.usage("takes no positional arguments, got " + args.positional());
        }
        int batch = args.integer("--batch", 2), latent = args.integer("--latent", 64);
        int tokens = args.integer("--tokens", 77), runs = args.integer("--runs", 3);
        int warmup = args.integer("--warmup", 1), threads = args.integer("--threads", 0);
        if (batch < 1 || latent < 1 || tokens < 1 || runs < 1 || warmup < 0 || threads < 0) {
            throw args.usage("--batch, --latent, --tokens and --runs must be >= 1, --warmup and "
                    + "--threads >= 0");
        }
        UNet2DConditionModelConfig unetConfig = sd15UNet();
        ControlNetModelConfig cnConfig = sd15ControlNetCanny();
        double flops = UNetFlops.controlnet(cnConfig, batch, latent, latent, tokens)
                + UNetFlops.unet(unetConfig, batch, latent, latent, tokens);
        try (Inkwell inkwell = Inkwell.builder().device(args.device()).threads(threads).build()) {
            out.printf(Locale.ROOT, "unet-bench: SD 1.5 unet + sd-controlnet-canny (random weights), batch %d, "
                    + "latents %dx%d, %d tokens, control %dx%d, %s, %d threads%n", batch, latent, latent, tokens,
                    8 * latent, 8 * latent, inkwell.device(), inkwell.threads());
            long start = System.nanoTime();
            try (UNet2DConditionModel unet = UNet2DConditionModel.random(unetConfig, 1, inkwell);
                    ControlNetModel controlnet = ControlNetModel.random(cnConfig, 2, inkwell);
                    Tensor sample = input(inkwell, 3, 1, batch, 4, latent, latent);
                    Tensor text = input(inkwell, 4, 1, batch, tokens, 768);
                    Tensor cond = input(inkwell, 5, 0, batch, 3, 8 * latent, 8 * latent);
                    Workspace ws = args.flag("--no-workspace") ? null : Workspace.create(inkwell)) {
                out.printf(Locale.ROOT, "load: %.1f s (weights made up in memory)%n",
                        (System.nanoTime() - start) / 1e9);
                double[] ms = new double[runs];
                long[] newBlocks = new long[warmup + runs];
                Workspace.Stats first = null;
                for (int i = -warmup; i < runs; i++) {
                    long before = ws == null ? 0 : ws.stats().blocksAllocated();
                    long t0 = System.nanoTime();
                    Runnable evaluation = () -> {
                        try (ControlNetModel.Output control = controlnet.forward(sample, 951, text, cond, 1.0, false);
                                Tensor noise = unet.forward(sample, 951, text, control.downBlockResSamples(),
                                        control.midBlockResSample())) {
                            if (inkwell.device() != Device.CPU) {
                                inkwell.copyToHost(noise).close(); // the time includes the work, not only its launch
                            }
                        }
                    };
                    if (ws == null) {
                        evaluation.run();
                    } else {
                        ws.run(evaluation); // every evaluation's activations in the same blocks
                    }
                    double t = (System.nanoTime() - t0) / 1e6;
                    newBlocks[i + warmup] = ws == null ? 0 : ws.stats().blocksAllocated() - before;
                    first = first != null || ws == null ? first : ws.stats();
                    err.printf(Locale.ROOT, "  %s %d: %.0f ms%s%n", i < 0 ? "warmup" : "run",
                            i < 0 ? i + warmup + 1 : i + 1, t,
                            ws == null ? "" : ", " + newBlocks[i + warmup] + " new workspace blocks");
                    if (i >= 0) {
                        ms[i] = t;
                    }
                }
                double[] sorted = ms.clone();
                Arrays.sort(sorted);
                double median = sorted.length % 2 == 1 ? sorted[sorted.length / 2]
                        : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
                out.printf(Locale.ROOT, "ControlNet + U-Net: median %.0f ms of %d runs %s, %.1f GFLOP per evaluation, "
                        + "%.1f GFLOP/s%n", median, runs, Arrays.toString(Arrays.stream(ms).mapToLong(Math::round)
                                .toArray()), flops / 1e9, flops / (median * 1e-3) / 1e9);
                if (ws == null) {
                    out.printf(Locale.ROOT, "workspace: none (--no-workspace): every result allocated and freed%n");
                } else {
                    long later = Arrays.stream(newBlocks, 1, newBlocks.length).sum();
                    out.printf(Locale.ROOT, "workspace: the first evaluation allocated %d blocks (%.1f MiB), the %d"
                            + " later ones %d; %d reuses in all%n", first.blocksAllocated(),
                            first.bytesHeld() / 1048576.0, newBlocks.length - 1, later, ws.stats().blocksReused());
                }
                out.printf(Locale.ROOT, "peak resident memory: %s%n", peakRss());
            }
        }
        return 0;
    }

    /** A tensor of the context with values N(0, 1) (latents, text) or uniform in [0, 1) (the control image). */
    private static Tensor input(Inkwell inkwell, long seed, int gaussian, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (gaussian == 1 ? gaussian(rnd) : rnd.nextDouble());
        }
        Tensor host = Tensor.fromArray(v, shape);
        if (inkwell.device() == Device.CPU) {
            return host;
        }
        try (host) {
            return inkwell.copyToDevice(host);
        }
    }

    private static double gaussian(SplittableRandom rnd) { // Box-Muller
        return Math.sqrt(-2 * Math.log(1 - rnd.nextDouble())) * Math.cos(2 * Math.PI * rnd.nextDouble());
    }

    /** VmHWM from /proc/self/status (Linux), or "unknown". */
    static String peakRss() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    long kb = Long.parseLong(line.replaceAll("[^0-9]", ""));
                    return String.format(Locale.ROOT, "%.2f GiB (VmHWM)", kb / (1024.0 * 1024));
                }
            }
        } catch (IOException | RuntimeException e) {
            return "unknown (" + e.getMessage() + ")";
        }
        return "unknown (no VmHWM in /proc/self/status)";
    }
}
