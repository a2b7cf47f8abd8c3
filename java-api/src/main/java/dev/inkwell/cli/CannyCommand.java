package dev.inkwell.cli;

import dev.inkwell.BlurOptions;
import dev.inkwell.CannyOptions;
import dev.inkwell.Device;
import dev.inkwell.Image;
import dev.inkwell.Inkwell;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/** {@code inkwell canny IN OUT [options]}. */
final class CannyCommand implements Main.Command {
    @Override
    public String help() {
        return """
                usage: inkwell canny IN OUT [--low L] [--high H] [--aperture 3|5|7] [--l2] [--blur K,SIGMA] [--runs N] [--threads N] [--device cpu|cuda]

                Canny edges of IN (PNG or JPEG, gray or color; alpha composited over white as
                ControlNet does) written to OUT as an 8-bit PNG with pixels 0 and 255, identical to
                cv2.Canny(IN, L, H, apertureSize, L2gradient).
                Defaults are ControlNet's: --low 100 --high 200 --aperture 3, L1 magnitude.
                  --blur K,SIGMA   Gaussian blur first (K odd, or 0 to derive it from SIGMA)
                  --l2             use sqrt(dx^2 + dy^2) instead of |dx| + |dy|
                  --runs N         warm calls timed after the first (default 5; 0: time the first only)
                  --threads N      worker threads (default: all)
                  --device D       cpu (default) or cuda
                Prints the size (W x H), the share of edge pixels, the first call's time and the
                median of the warm calls (the kernel only: reading, writing and GPU copies are not
                timed).""";
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
        Args args = Args.parse("canny", argv, Set.of("--low", "--high", "--aperture", "--blur", "--device", "--threads",
                "--runs"), Set.of("--l2"));
        List<String> files = args.positional("IN", "OUT");
        CannyOptions options = new CannyOptions(args.number("--low", 100), args.number("--high", 200),
                args.integer("--aperture", 3), args.flag("--l2"), blur(args));
        int runs = args.integer("--runs", 5);
        if (runs < 0 || runs > 10000) {
            throw args.usage("--runs must be 0..10000, got " + runs);
        }
        Path in = Path.of(files.get(0)), outPath = Path.of(files.get(1));
        if (!outPath.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".png")) {
            throw args.usage("OUT must be a .png file (edges are written losslessly), got " + outPath);
        }
        try (Inkwell inkwell = Inkwell.builder().device(args.device()).threads(args.integer("--threads", 0)).build();
                Image host = Image.read(in);
                Image src = inkwell.device() == Device.CPU ? null : inkwell.copyToDevice(host)) {
            Image input = src == null ? host : src;
            long start = System.nanoTime(); // the kernel only: copies to and from a GPU are not timed
            try (Image edges = inkwell.canny(input, options)) {
                double firstMs = (System.nanoTime() - start) / 1e6;
                double medianMs = CliFormat.medianMs(runs, () -> inkwell.canny(input, edges, options));
                try (Image hostEdges = edges.device() == Device.CPU ? null : inkwell.copyToHost(edges)) {
                    Image written = hostEdges == null ? edges : hostEdges;
                    written.write(outPath);
                    out.printf("wrote %s: %s, %.2f%% edge pixels%n", outPath, CliFormat.size(host), 100.0
                            * EdgeStats.edgeFraction(written));
                    out.printf("canny: %s (%s, %d threads)%n", CliFormat.label(firstMs, medianMs, runs), inkwell.device(),
                            inkwell.threads());
                }
            }
        }
        return 0;
    }

    /** Parses --blur K,SIGMA. */
    static BlurOptions blur(Args args) {
        String v = args.string("--blur", null);
        if (v == null) {
            return null;
        }
        String[] parts = v.split(",", -1);
        if (parts.length != 2) {
            throw args.usage("--blur expects K,SIGMA (e.g. 5,1.4), got '" + v + "'");
        }
        try {
            return new BlurOptions(Integer.parseInt(parts[0].trim()), Double.parseDouble(parts[1].trim()));
        } catch (NumberFormatException e) {
            throw args.usage("--blur expects K,SIGMA with an integer K and a number SIGMA, got '" + v + "'");
        }
    }
}
