package dev.inkwell.cli;

import dev.inkwell.BlurOptions;
import dev.inkwell.CannyOptions;
import dev.inkwell.Image;
import dev.inkwell.Inkwell;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;

/**
 * The main job: draws a picture, turns it into ControlNet's Canny control map with the
 * preprocessor's settings, and times the kernel.
 */
final class DemoCommand implements Main.Command {
    @Override
    public String help() {
        return """
                usage: inkwell demo [--out DIR] [--width W] [--height H] [--runs N] [--device cpu|cuda]

                Generates a colored drawing (W x H, default 1920 x 1080), computes its ControlNet Canny
                control map (low 100, high 200, aperture 3, L1, as the preprocessor calls cv2.Canny),
                also with a 5x5 Gaussian pre-blur, writes the three PNGs to DIR (default out/demo)
                and prints the median kernel time over N runs (default 20).""";
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
                Image control = inkwell.canny(drawing, controlNet);
                Image controlBlurred = inkwell.canny(drawing, blurred)) {
            out.printf("inkwell demo: a ControlNet Canny control map from a generated drawing%n");
            out.printf("  library   inkwell %s, %s, SIMD %s, %d threads%n", Inkwell.version(), inkwell.device(),
                    Inkwell.cpuSimdLevel(), inkwell.threads());
            Path drawingFile = dir.resolve("drawing.png"), controlFile = dir.resolve("control.png");
            Path blurredFile = dir.resolve("control_blur5.png");
            drawing.write(drawingFile);
            control.write(controlFile);
            controlBlurred.write(blurredFile);
            out.printf("  drawing   %-28s %dx%d RGB%n", drawingFile, width, height);
            out.printf("  control   %-28s low 100, high 200, aperture 3, L1: %.2f%% edge pixels%n", controlFile,
                    100 * EdgeStats.edgeFraction(control));
            out.printf("  blurred   %-28s 5x5 Gaussian (sigma 1.4) first: %.2f%% edge pixels%n", blurredFile,
                    100 * EdgeStats.edgeFraction(controlBlurred));
            double[] ms = time(inkwell, drawing, control, controlNet, runs);
            out.printf("  timing    canny %dx%d RGB: median %.2f ms, min %.2f ms over %d runs%n", width, height, ms[0], ms[1],
                    runs);
        }
        out.println("next: ./inkwell canny YOUR.png control.png   or   ./inkwell verify --golden ../shared/golden");
        return 0;
    }

    /** Median and minimum of N runs into a preallocated output, in milliseconds. */
    private static double[] time(Inkwell inkwell, Image src, Image dst, CannyOptions options, int runs) {
        inkwell.canny(src, dst, options); // warm-up
        double[] t = new double[runs];
        for (int i = 0; i < runs; i++) {
            long start = System.nanoTime();
            inkwell.canny(src, dst, options);
            t[i] = (System.nanoTime() - start) / 1e6;
        }
        Arrays.sort(t);
        return new double[] {t[runs / 2], t[0]};
    }
}
