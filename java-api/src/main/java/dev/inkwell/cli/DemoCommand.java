package dev.inkwell.cli;

import dev.inkwell.BlurOptions;
import dev.inkwell.CannyOptions;
import dev.inkwell.Image;
import dev.inkwell.Inkwell;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;

/**
 * The main job: draws a picture, turns it into ControlNet's Canny control map with the
 * preprocessor's settings, and times the kernel.
 */
final class DemoCommand implements Main.Command {
    @Override
    public String help() {
        return """
                usage: inkwell demo [--out DIR] [--width W] [--height H] [--runs N] [--threads N] [--device cpu|cuda]

                What 'inkwell' with no command runs. Generates a colored drawing (W x H, default
                1920x1080), computes its ControlNet Canny control map (low 100, high 200, aperture 3,
                L1, as the preprocessor calls cv2.Canny), also with a 5x5 Gaussian pre-blur, writes
                the three PNGs to DIR (default out/demo) and prints the median time of N warm calls
                (default 20, after one untimed call) of the kernel alone.
                  --threads N   worker threads (default: all)
                  --device D    cpu (default) or cuda""";
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
        Args args = Args.parse("demo", argv, Set.of("--out", "--width", "--height", "--runs", "--device", "--threads"),
                Set.of());
        args.positional();
        Path dir = args.path("--out") == null ? Path.of("out", "demo") : args.path("--out");
        int width = args.integer("--width", 1920), height = args.integer("--height", 1080);
        int runs = args.integer("--runs", 20);
        if (width < 16 || height < 16 || width > 8192 || height > 8192) {
            throw args.usage("--width and --height must be 16..8192, got " + width + "x" + height);
        }
        if (runs < 1 || runs > 10000) {
            throw args.usage("--runs must be 1..10000, got " + runs);
        }
        CannyOptions controlNet = CannyOptions.defaults();
        CannyOptions blurred = controlNet.withBlur(BlurOptions.of(5, 1.4));
        try (Inkwell inkwell = Inkwell.builder().device(args.device()).threads(args.integer("--threads", 0)).build();
                Image drawing = DemoDrawing.draw(width, height);
                Image input = inkwell.copyToDevice(drawing); // the context's memory (GPU memory for --device cuda)
                Image control = inkwell.canny(input, controlNet);
                Image controlBlurred = inkwell.canny(input, blurred);
                Image controlHost = inkwell.copyToHost(control);
                Image blurredHost = inkwell.copyToHost(controlBlurred)) {
            out.printf("inkwell demo: a ControlNet Canny control map from a generated drawing%n");
            out.printf("  library   inkwell %s, %s, SIMD %s, %d threads%n", Inkwell.version(), inkwell.device(),
                    Inkwell.cpuSimdLevel(), inkwell.threads());
            Path drawingFile = dir.resolve("drawing.png"), controlFile = dir.resolve("control.png");
            Path blurredFile = dir.resolve("control_blur5.png");
            drawing.write(drawingFile);
            controlHost.write(controlFile);
            blurredHost.write(blurredFile);
            out.printf("  drawing   %-28s %s%n", drawingFile, CliFormat.size(drawing));
            out.printf("  control   %-28s low 100, high 200, aperture 3, L1: %.2f%% edge pixels%n", controlFile,
                    100 * EdgeStats.edgeFraction(controlHost));
            out.printf("  blurred   %-28s 5x5 Gaussian (sigma 1.4) first: %.2f%% edge pixels%n", blurredFile,
                    100 * EdgeStats.edgeFraction(blurredHost));
            inkwell.canny(input, control, controlNet); // warm-up, untimed
            double median = CliFormat.medianMs(runs, () -> inkwell.canny(input, control, controlNet));
            out.printf(Locale.ROOT, "  timing    canny %s: median %.2f ms of %d warm call%s (kernel only)%n",
                    CliFormat.size(drawing), median, runs, runs == 1 ? "" : "s");
        }
        out.println("next: ./inkwell canny YOUR.png control.png   or   ./inkwell verify --golden ../shared/golden");
        return 0;
    }
}
