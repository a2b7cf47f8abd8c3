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
                usage: inkwell canny IN OUT [--low L] [--high H] [--aperture 3|5|7] [--l2] [--blur K,SIGMA] [--device cpu|cuda]

                Canny edges of IN (PNG or JPEG, gray or color) written to OUT as an 8-bit PNG with
                pixels 0 and 255, identical to cv2.Canny(IN, L, H, apertureSize, L2gradient).
                Defaults are ControlNet's: --low 100 --high 200 --aperture 3, L1 magnitude.
                  --blur K,SIGMA   Gaussian blur first (K odd, or 0 to derive it from SIGMA)
                  --l2             use sqrt(dx^2 + dy^2) instead of |dx| + |dy|
                  --threads N      worker threads (default: all)""";
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
        Args args = Args.parse("canny", argv, Set.of("--low", "--high", "--aperture", "--blur", "--device", "--threads"),
                Set.of("--l2"));
        List<String> files = args.positional("IN", "OUT");
        CannyOptions options = new CannyOptions(args.number("--low", 100), args.number("--high", 200),
                args.integer("--aperture", 3), args.flag("--l2"), blur(args));
        Path in = Path.of(files.get(0)), outPath = Path.of(files.get(1));
        if (!outPath.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".png")) {
            throw args.usage("OUT must be a .png file (edges are written losslessly), got " + outPath);
        }
        try (Inkwell inkwell = Inkwell.builder().device(args.device()).threads(args.integer("--threads", 0)).build();
                Image host = Image.read(in);
                Image src = inkwell.device() == Device.CPU ? null : inkwell.copyToDevice(host)) {
            long start = System.nanoTime(); // the kernel only: copies to and from a GPU are not timed
            try (Image edges = inkwell.canny(src == null ? host : src, options)) {
                double ms = (System.nanoTime() - start) / 1e6;
                try (Image hostEdges = edges.device() == Device.CPU ? null : inkwell.copyToHost(edges)) {
                    Image written = hostEdges == null ? edges : hostEdges;
                    written.write(outPath);
                    out.printf("wrote %s: %dx%d, %.2f%% edge pixels, canny %.2f ms (%s, %d threads)%n", outPath,
                            host.height(), host.width(), 100.0 * EdgeStats.edgeFraction(written), ms, inkwell.device(),
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
