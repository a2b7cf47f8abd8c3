package dev.inkwell.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.inkwell.AlphaMode;
import dev.inkwell.ControlNetAnnotator;
import dev.inkwell.Image;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import dev.inkwell.pipeline.Colorization;
import dev.inkwell.pipeline.ColorizeOptions;
import dev.inkwell.pipeline.ControlNetColorizer;
import dev.inkwell.pipeline.ModelFolders;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/** {@code inkwell colorize DRAWING --model DIR --controlnet DIR --prompt TEXT [options]}: the seed's pipeline. */
final class ColorizeCommand implements Main.Command {
    @Override
    public String help() {
        return """
                usage: inkwell colorize DRAWING --model DIR --controlnet DIR --prompt TEXT [--added-prompt TEXT] [--negative-prompt TEXT] [--steps N] [--guidance G] [--eta E] [--seed S] [--low L] [--high H] [--resolution R] [--strength S] [--guess-mode] [--control-start F] [--control-end F] [--latents FILE.npy] [--threads N] [--device cpu|cuda] [--out FILE.png] [--save-control FILE.png] [--json]

                Colors a line drawing as ControlNet's Canny demo does, with diffusers'
                StableDiffusionControlNetPipeline and DDIM: the drawing's Canny control map (HWC3,
                resize_image, Canny), the prompt (+ ", " + the added prompt) and the negative prompt
                through CLIP, DDIM steps with classifier-free guidance over the U-Net steered by
                ControlNet, and the VAE. The models are folders in diffusers' layout: --model a
                Stable Diffusion 1.x folder (model_index.json, unet/, vae/, text_encoder/,
                tokenizer/, scheduler/scheduler_config.json; safetensors, fp16 variants accepted),
                --controlnet a ControlNet folder (config.json, weights). They are checked to fit
                together before any weight is read.
                  --prompt TEXT            what the picture shows
                  --added-prompt TEXT      appended after ", " (default "best quality, extremely detailed";
                                           "" for none)
                  --negative-prompt TEXT   default ControlNet demo's ("longbody, lowres, bad anatomy, ...")
                  --steps N                DDIM steps (default 20)
                  --guidance G             classifier-free guidance scale (default 9; <= 1: none)
                  --eta E                  DDIM eta (default 0)
                  --seed S                 start noise (default: random, printed); Inkwell's noise stream,
                                           not PyTorch's: the same seed gives another picture than diffusers
                  --low L, --high H        Canny thresholds (default 100 and 200)
                  --resolution R           short side of the control map before rounding to 64 (default 512)
                  --strength S             ControlNet's conditioning scale (default 1)
                  --guess-mode             diffusers' guess mode (ControlNet on the conditional half only)
                  --control-start F, --control-end F   fraction of the steps ControlNet guides (0 and 1)
                  --latents FILE.npy       start latents [1, 4, H/8, W/8] instead of the seed's noise
                  --out FILE.png           the picture (default colorized.png), written when complete
                  --save-control FILE.png  also write the control map
                  --threads N              worker threads (default: all); the picture is the same for any N
                  --device D               cpu (default) or cuda
                  --json                   the result as JSON on stdout
                For comparisons with diffusers' prompt_embeds path (no DRAWING, no --prompt):
                  --prompt-embeds F.npy --negative-prompt-embeds F.npy --control-image F.npy
                                           [1, 77, hidden] each and the control image [1, 3, H, W] in [0, 1]
                Prints a progress line per step on stderr (step, time per step, ETA), then the
                output path and the time of each phase. Ctrl-C stops between steps and leaves no
                partial file.""";
    }

    private static final Set<String> VALUED = Set.of("--model", "--controlnet", "--prompt", "--added-prompt",
            "--negative-prompt", "--steps", "--guidance", "--eta", "--seed", "--low", "--high", "--resolution",
            "--strength", "--control-start", "--control-end", "--latents", "--out", "--save-control", "--threads",
            "--device", "--prompt-embeds", "--negative-prompt-embeds", "--control-image");

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
        Args args = Args.parse("colorize", argv, VALUED, Set.of("--guess-mode", "--json"));
        boolean embedsMode = args.path("--prompt-embeds") != null || args.path("--control-image") != null;
        Path model = required(args, "--model"), controlnetDir = required(args, "--controlnet");
        Path drawingPath = embedsMode ? null : Path.of(args.positional("DRAWING").get(0));
        if (embedsMode) {
            args.positional();
            required(args, "--prompt-embeds");
            required(args, "--control-image");
        }
        String prompt = embedsMode ? args.string("--prompt", "") : args.string("--prompt", null);
        if (prompt == null) {
            throw args.usage("--prompt is required (what the picture shows)");
        }
        boolean randomSeed = args.string("--seed", null) == null;
        long seed = randomSeed ? new SplittableRandom().nextLong() & Long.MAX_VALUE : parseSeed(args);
        ColorizeOptions options = ColorizeOptions.builder(prompt)
                .addedPrompt(args.string("--added-prompt", ColorizeOptions.DEFAULT_ADDED_PROMPT))
                .negativePrompt(args.string("--negative-prompt", ColorizeOptions.DEFAULT_NEGATIVE_PROMPT))
                .steps(args.integer("--steps", 20)).guidanceScale(args.number("--guidance", 9))
                .eta(args.number("--eta", 0)).seed(seed)
                .cannyThresholds(args.number("--low", ControlNetAnnotator.DEFAULT_LOW_THRESHOLD),
                        args.number("--high", ControlNetAnnotator.DEFAULT_HIGH_THRESHOLD))
                .resolution(args.integer("--resolution", ControlNetAnnotator.DEFAULT_RESOLUTION))
                .controlStrength(args.number("--strength", 1)).guessMode(args.flag("--guess-mode"))
                .controlGuidance(args.number("--control-start", 0), args.number("--control-end", 1))
                .build(); // bad steps, guidance, eta, resolution: one line, before anything is read
        Path outPath = args.path("--out") == null ? Path.of("colorized.png") : args.path("--out");
        Path controlPath = args.path("--save-control");
        requirePng(args, "--out", outPath);
        if (controlPath != null) {
            requirePng(args, "--save-control", controlPath);
            if (embedsMode) {
                throw args.usage("--save-control needs a DRAWING (with --control-image the control map is given)");
            }
        }
        int threads = args.integer("--threads", 0);
        if (threads < 0) {
            throw args.usage("--threads must be at least 1 (or 0: all cores), got " + threads);
        }
        // Everything cheap first: the folders' JSON files, the drawing, the .npy inputs.
        ModelFolders folders = ModelFolders.check(model, controlnetDir);
        int factor = 1 << (folders.vae().blockOutChannels().size() - 1);
        List<AutoCloseable> inputs = new ArrayList<>();
        try {
            Image drawing = null;
            Tensor promptEmbeds = null, negativeEmbeds = null, controlImage = null;
            long height, width;
            if (embedsMode) {
                promptEmbeds = keep(inputs, npy(args.path("--prompt-embeds")));
                negativeEmbeds = args.path("--negative-prompt-embeds") == null ? null
                        : keep(inputs, npy(args.path("--negative-prompt-embeds")));
                if (negativeEmbeds == null && options.classifierFreeGuidance()) {
                    throw args.usage("--negative-prompt-embeds is required when --guidance is above 1");
                }
                controlImage = keep(inputs, npy(args.path("--control-image")));
                long[] c = controlImage.shape();
                checkShape(args, "--control-image", promptEmbeds, folders, c);
                height = c[2];
                width = c[3];
            } else {
                drawing = keep(inputs, Image.read(drawingPath, AlphaMode.KEEP));
                ControlNetAnnotator.ResizePlan plan = ControlNetAnnotator.plan(drawing.height(), drawing.width(),
                        options.resolution());
                height = plan.height();
                width = plan.width();
            }
            Tensor latents = args.path("--latents") == null ? null : keep(inputs, npy(args.path("--latents")));
            if (latents != null) {
                long[] want = {1, folders.vae().latentChannels(), height / factor, width / factor};
                if (!Arrays.equals(latents.shape(), want)) {
                    throw new IOException(args.path("--latents") + ": shape " + Arrays.toString(latents.shape())
                            + ", expected " + Arrays.toString(want) + " for a " + width + "x" + height + " picture");
                }
            }
            return colorize(args, out, err, options, randomSeed, folders, drawing, promptEmbeds, negativeEmbeds,
                    controlImage, latents, outPath, controlPath, threads);
        } finally {
            for (AutoCloseable c : inputs) {
                try {
                    c.close();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
        }
    }

    private int colorize(Args args, PrintStream out, PrintStream err, ColorizeOptions options, boolean randomSeed,
            ModelFolders folders, Image drawing, Tensor promptEmbeds, Tensor negativeEmbeds, Tensor controlImage,
            Tensor latents, Path outPath, Path controlPath, int threads) throws IOException {
        boolean json = args.flag("--json");
        for (String note : folders.notes()) {
            err.println("note: " + note);
        }
        AtomicBoolean cancelled = new AtomicBoolean();
        Set<Path> pending = ConcurrentHashMap.newKeySet();
        Thread hook = new Thread(() -> { // Ctrl-C: stop between steps, remove a half-written file
            cancelled.set(true);
            for (Path p : pending) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // nothing more to do while the JVM exits
                }
            }
        }, "inkwell-colorize-cancel");
        Runtime.getRuntime().addShutdownHook(hook);
        long start = System.nanoTime();
        try (Inkwell inkwell = Inkwell.builder().device(args.device()).threads(threads).build()) {
            err.printf("loading models from %s and %s ...%n", folders.stableDiffusion(), folders.controlnet());
            long t0 = System.nanoTime();
            try (ControlNetColorizer colorizer = ControlNetColorizer.open(folders.stableDiffusion(),
                    folders.controlnet(), inkwell)) {
                long loadNanos = System.nanoTime() - t0;
                err.printf(Locale.ROOT, "loaded in %.1f s; %s%s%n", loadNanos / 1e9,
                        randomSeed ? "seed " + options.seed() + " (random), " : "", options.steps() + " steps");
                ProgressBar bar = new ProgressBar(err, err == System.err && System.console() != null
                        && System.console().isTerminal());
                Map<String, Object> result = new LinkedHashMap<>();
                long annotate = 0, encode = 0, denoise, decode;
                int w, h;
                try {
                    if (drawing == null) {
                        long d0 = System.nanoTime();
                        try (Tensor pixels = colorizer.generate(promptEmbeds, negativeEmbeds, controlImage, latents,
                                options, bar, cancelled::get);
                                Image image = ControlNetColorizer.toImage(pixels)) {
                            decode = 0;
                            denoise = System.nanoTime() - d0;
                            writeAtomically(image, outPath, pending);
                            w = image.width();
                            h = image.height();
                        }
                    } else {
                        try (Colorization c = colorizer.colorize(drawing, options, latents, bar, cancelled::get)) {
                            annotate = c.annotateNanos();
                            encode = c.encodeNanos();
                            denoise = c.denoiseNanos();
                            decode = c.decodeNanos();
                            writeAtomically(c.image(), outPath, pending);
                            if (controlPath != null) {
                                writeAtomically(c.control(), controlPath, pending);
                            }
                            w = c.image().width();
                            h = c.image().height();
                        }
                    }
                } catch (CancellationException e) {
                    bar.finish();
                    err.println("inkwell colorize: cancelled; nothing written");
                    return 130;
                }
                bar.finish();
                double total = (System.nanoTime() - start) / 1e9;
                if (json) {
                    result.put("output", outPath.toString());
                    if (controlPath != null) {
                        result.put("control", controlPath.toString());
                    }
                    result.put("width", w);
                    result.put("height", h);
                    result.put("seed", options.seed());
                    result.put("steps", options.steps());
                    result.put("device", inkwell.device().toString());
                    result.put("threads", inkwell.threads());
                    Map<String, Object> t = new LinkedHashMap<>();
                    t.put("load_s", loadNanos / 1e9);
                    t.put("annotate_s", annotate / 1e9);
                    t.put("encode_s", encode / 1e9);
                    t.put("denoise_s", denoise / 1e9);
                    t.put("per_step_s", denoise / 1e9 / options.steps());
                    t.put("decode_s", decode / 1e9);
                    t.put("total_s", total);
                    result.put("timings", t);
                    result.put("notes", folders.notes());
                    out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                            .writeValueAsString(result));
                } else {
                    out.printf(Locale.ROOT, "wrote %s: %dx%d, seed %d, %d steps, guidance %s%n", outPath, w, h,
                            options.seed(), options.steps(), options.guidanceScale());
                    if (controlPath != null) {
                        out.printf("wrote %s: the control map%n", controlPath);
                    }
                    out.printf(Locale.ROOT, "timings: load %.2f s, annotate %.3f s, text encoder %.3f s, denoise %.2f s"
                            + " (%.3f s/step), decode %.2f s, total %.2f s (%s, %d threads)%n", loadNanos / 1e9,
                            annotate / 1e9, encode / 1e9, denoise / 1e9, denoise / 1e9 / options.steps(),
                            decode / 1e9, total, inkwell.device(), inkwell.threads());
                }
                return 0;
            }
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running: it cleans up
            }
        }
    }

    /** Writes next to the target, then renames: a reader never sees half a file, Ctrl-C leaves none. */
    static void writeAtomically(Image image, Path target, Set<Path> pending) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".partial.png");
        pending.add(tmp);
        try {
            image.write(tmp);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
            pending.remove(tmp);
        }
    }

    private static void checkShape(Args args, String what, Tensor embeds, ModelFolders f, long[] c) {
        int factor = 1 << (f.vae().blockOutChannels().size() - 1);
        if (c.length != 4 || c[0] != 1 || c[1] != 3 || c[2] % factor != 0 || c[3] % factor != 0) {
            throw args.usage(what + " must be [1, 3, H, W] with H and W multiples of " + factor + ", got "
                    + Arrays.toString(c));
        }
        long[] e = embeds.shape();
        if (e.length != 3 || e[0] != 1 || e[2] != f.textEncoder().hiddenSize()) {
            throw args.usage("--prompt-embeds must be [1, L, " + f.textEncoder().hiddenSize() + "], got "
                    + Arrays.toString(e));
        }
    }

    private static Tensor npy(Path p) throws IOException {
        if (!Files.isRegularFile(p)) {
            throw new IOException(p + ": no such file");
        }
        try (Tensor t = Tensor.readNpy(p)) {
            return t.to(dev.inkwell.ElementType.FLOAT32);
        }
    }

    private static <T extends AutoCloseable> T keep(List<AutoCloseable> list, T t) {
        list.add(t);
        return t;
    }

    private static Path required(Args args, String name) {
        Path p = args.path(name);
        if (p == null) {
            throw args.usage(name + " is required (see 'inkwell colorize --help')");
        }
        return p;
    }

    private static long parseSeed(Args args) {
        String v = args.string("--seed", "0");
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw args.usage("--seed expects an integer, got '" + v + "'");
        }
    }

    private static void requirePng(Args args, String what, Path path) {
        if (!path.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png")) {
            throw args.usage(what + " must be a .png file (written losslessly), got " + path);
        }
    }

    /** Step, time per step and ETA on stderr: in place on a terminal, a line per step otherwise. */
    private static final class ProgressBar implements dev.inkwell.pipeline.ColorizeProgress {
        private static final int WIDTH = 24;
        private final PrintStream err;
        private final boolean inPlace;
        private long sum;
        private boolean open;

        ProgressBar(PrintStream err, boolean inPlace) {
            this.err = err;
            this.inPlace = inPlace;
        }

        @Override
        public void stepDone(int step, int steps, int timestep, long stepNanos) {
            sum += stepNanos;
            double perStep = sum / 1e9 / step;
            int filled = (int) ((long) WIDTH * step / steps);
            String line = String.format(Locale.ROOT, "step %d/%d [%s%s] t=%d  %.2f s/step  ETA %.1f s", step, steps,
                    "#".repeat(filled), " ".repeat(WIDTH - filled), timestep, perStep, perStep * (steps - step));
            if (inPlace) {
                err.print("\r" + line);
                open = true;
            } else {
                err.println(line);
            }
            err.flush();
        }

        void finish() {
            if (open) {
                err.println();
                open = false;
            }
        }
    }
}
