package dev.inkwell.cli;

import dev.inkwell.AlphaMode;
import dev.inkwell.ControlNetAnnotator;
import dev.inkwell.Device;
import dev.inkwell.Image;
import dev.inkwell.Inkwell;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** {@code inkwell annotate IN OUT [options]}: ControlNet's Canny annotator. */
final class AnnotateCommand implements Main.Command {
    @Override
    public String help() {
        return """
                usage: inkwell annotate IN OUT [--resolution 512] [--low 100] [--high 200] [--save-resized FILE] [--threads N] [--device cpu|cuda]

                The control map ControlNet's Canny demo makes of IN (PNG or JPEG; alpha composited
                over white), pixel for pixel: HWC3, resize_image (the short side to the resolution,
                both sides rounded to multiples of 64, Lanczos-4 when enlarging and area when
                shrinking, as cv2.resize), then cv2.Canny(low, high). OUT is an 8-bit gray PNG of 0
                and 255 (ControlNet repeats it on 3 channels).
                  --resolution R     short side before rounding (default 512, at least 64)
                  --low L, --high H  Canny thresholds (default 100 and 200)
                  --save-resized F   also write the resized RGB image Canny ran on (PNG)
                  --threads N        worker threads (default: all)
                  --device D         cpu (default) or cuda
                Prints the sizes (W x H), the share of edge pixels and the time of the annotator
                (resize and Canny; reading, writing and GPU copies of the files are not timed).""";
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
        Args args = Args.parse("annotate", argv, Set.of("--resolution", "--low", "--high", "--save-resized", "--device",
                "--threads"), Set.of());
        List<String> files = args.positional("IN", "OUT");
        int resolution = args.integer("--resolution", ControlNetAnnotator.DEFAULT_RESOLUTION);
        double low = args.number("--low", ControlNetAnnotator.DEFAULT_LOW_THRESHOLD);
        double high = args.number("--high", ControlNetAnnotator.DEFAULT_HIGH_THRESHOLD);
        Path in = Path.of(files.get(0)), outPath = Path.of(files.get(1)), resizedPath = args.path("--save-resized");
        requirePng(args, "OUT", outPath);
        if (resizedPath != null) {
            requirePng(args, "--save-resized", resizedPath);
        }
        if (resolution < ControlNetAnnotator.MIN_RESOLUTION) {
            throw args.usage("--resolution must be at least " + ControlNetAnnotator.MIN_RESOLUTION + ", got " + resolution);
        }
        try (Inkwell inkwell = Inkwell.builder().device(args.device()).threads(args.integer("--threads", 0)).build();
                Image drawing = Image.read(in, AlphaMode.KEEP)) {
            ControlNetAnnotator annotator = new ControlNetAnnotator(inkwell);
            ControlNetAnnotator.ResizePlan plan = ControlNetAnnotator.plan(drawing.height(), drawing.width(), resolution);
            long start = System.nanoTime();
            try (ControlNetAnnotator.Annotation a = annotator.annotate(drawing, resolution, low, high)) {
                double ms = (System.nanoTime() - start) / 1e6;
                write(inkwell, a.control(), outPath);
                if (resizedPath != null) {
                    write(inkwell, a.resized(), resizedPath);
                }
                out.printf(Locale.ROOT, "wrote %s: %dx%d control map of %s (resized with %s), %.2f%% edge pixels%n",
                        outPath, plan.width(), plan.height(), CliFormat.size(drawing), plan.interpolation(),
                        100.0 * EdgeStats.edgeFraction(a.control()));
                if (resizedPath != null) {
                    out.printf("wrote %s: the resized image%n", resizedPath);
                }
                out.printf(Locale.ROOT, "annotate: %.2f ms (%s, %d threads)%n", ms, inkwell.device(), inkwell.threads());
            }
        }
        return 0;
    }

    private static void requirePng(Args args, String what, Path path) {
        if (!path.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png")) {
            throw args.usage(what + " must be a .png file (written losslessly), got " + path);
        }
    }

    private static void write(Inkwell inkwell, Image image, Path path) throws IOException {
        try (Image host = image.device() == Device.CPU ? null : inkwell.copyToHost(image)) {
            (host == null ? image : host).write(path);
        }
    }
}
