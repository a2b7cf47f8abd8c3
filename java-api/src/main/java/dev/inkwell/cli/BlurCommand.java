package dev.inkwell.cli;

import dev.inkwell.BlurOptions;
import dev.inkwell.Image;
import dev.inkwell.Inkwell;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/** {@code inkwell blur IN OUT --ksize K --sigma S}. */
final class BlurCommand implements Main.Command {
    @Override
    public String help() {
        return """
                usage: inkwell blur IN OUT [--ksize K] [--sigma S] [--threads N] [--device cpu|cuda]

                Gaussian blur of IN (PNG or JPEG; alpha composited over white) written to OUT
                (.png or .jpg), identical to cv2.GaussianBlur(IN, (K, K), S) with reflect-101 borders.
                  --ksize K     odd kernel size, or 0 to derive it from S (default 5)
                  --sigma S     standard deviation, or 0 to derive it from K (default 0)
                  --threads N   worker threads (default: all)
                  --device D    cpu (default) or cuda""";
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
        Args args = Args.parse("blur", argv, Set.of("--ksize", "--sigma", "--device", "--threads"), Set.of());
        List<String> files = args.positional("IN", "OUT");
        BlurOptions blur = new BlurOptions(args.integer("--ksize", 5), args.number("--sigma", 0));
        Path outPath = Path.of(files.get(1));
        try (Inkwell inkwell = Inkwell.builder().device(args.device()).threads(args.integer("--threads", 0)).build();
                Image src = Image.read(Path.of(files.get(0)));
                Image blurred = inkwell.gaussianBlur(src, blur)) {
            blurred.write(outPath);
            out.printf("wrote %s: %s%n", outPath, CliFormat.size(src));
        }
        return 0;
    }
}
