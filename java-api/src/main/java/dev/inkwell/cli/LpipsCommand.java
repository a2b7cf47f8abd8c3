package dev.inkwell.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.inkwell.Device;
import dev.inkwell.Image;
import dev.inkwell.Inkwell;
import dev.inkwell.models.Lpips;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** {@code inkwell lpips A B --weights FILE}: the LPIPS distance (v0.1, AlexNet) of two images. */
final class LpipsCommand implements Main.Command {
    @Override
    public String help() {
        return """
                usage: inkwell lpips A B --weights FILE [--json] [--threads N] [--device cpu|cuda]

                The LPIPS distance (v0.1, AlexNet) of two images of one size, as
                lpips.LPIPS(net='alex', version='0.1') computes it with images scaled to [-1, 1]
                (x / 127.5 - 1): 0 for identical images, larger for perceptually more different ones.
                A and B are PNG or JPEG files, RGB (gray is repeated on 3 channels, alpha composited
                over white), at least 31x31.
                  --weights FILE  the LPIPS weights as one safetensors file with the LPIPS module's
                                  key names (net.slice1.0.weight, ..., lin0.model.1.weight, ...)
                  --json          print the result as one JSON object
                  --threads N     worker threads (default: all)
                  --device D      cpu (default) or cuda
                Prints the distance, then its five terms (relu1..relu5 of AlexNet, summing to it), and
                the time of the distance (reading the files and loading the weights are not timed).""";
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
        Args args = Args.parse("lpips", argv, Set.of("--weights", "--device", "--threads"), Set.of("--json"));
        List<String> files = args.positional("A", "B");
        Path weights = args.path("--weights");
        if (weights == null) {
            throw args.usage("--weights FILE is required (the LPIPS safetensors file; see 'inkwell lpips --help')");
        }
        Path pathA = Path.of(files.get(0)), pathB = Path.of(files.get(1));
        try (Inkwell inkwell = Inkwell.builder().device(args.device()).threads(args.integer("--threads", 0)).build();
                Image a = rgb(inkwell, Image.read(pathA));
                Image b = rgb(inkwell, Image.read(pathB));
                Lpips lpips = Lpips.load(weights, inkwell)) {
            if (a.width() != b.width() || a.height() != b.height()) {
                throw new IllegalArgumentException("the images differ in size: " + pathA + " is " + CliFormat.size(a)
                        + ", " + pathB + " is " + CliFormat.size(b) + " (LPIPS compares images of one size)");
            }
            long start = System.nanoTime();
            Lpips.Distance d = lpips.distance(a, b);
            double ms = (System.nanoTime() - start) / 1e6;
            double[] terms = d.perLayer();
            if (args.flag("--json")) {
                out.println(json(pathA, pathB, a, inkwell, d, ms));
                return 0;
            }
            out.printf(Locale.ROOT, "lpips %.8g (v0.1, alex) of %s and %s, %s%n", d.total(), pathA, pathB,
                    CliFormat.size(a));
            for (int k = 0; k < terms.length; k++) {
                out.printf(Locale.ROOT, "  %s %.8g%n", Lpips.LAYERS.get(k), terms[k]);
            }
            out.printf(Locale.ROOT, "lpips: %.2f ms (%s, %d threads)%n", ms, inkwell.device(), inkwell.threads());
        }
        return 0;
    }

    /**
     * The image as 3 channels in the context's memory: gray repeated on R, G and B (as
     * {@code cv2.imread}, which lpips' own scripts use, reads a gray file). Frees {@code read}
     * when it makes a new image.
     */
    static Image rgb(Inkwell inkwell, Image read) {
        Image three = read.channels() == 1 ? grayToRgb(read) : read;
        if (inkwell.device() == Device.CPU) {
            return three;
        }
        try (three) {
            return inkwell.copyToDevice(three);
        }
    }

    /** A new 3-channel copy of a gray image; frees the gray one. */
    private static Image grayToRgb(Image gray) {
        try (gray) {
            byte[] g = gray.toByteArray(), px = new byte[g.length * 3];
            for (int i = 0; i < g.length; i++) {
                px[3 * i] = px[3 * i + 1] = px[3 * i + 2] = g[i];
            }
            return Image.fromBytes(px, gray.height(), gray.width(), 3);
        }
    }

    private static String json(Path a, Path b, Image image, Inkwell inkwell, Lpips.Distance d, double ms) {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode o = mapper.createObjectNode();
        o.put("a", a.toString());
        o.put("b", b.toString());
        o.put("width", image.width());
        o.put("height", image.height());
        o.put("net", "alex");
        o.put("version", "0.1");
        o.put("distance", d.total());
        ArrayNode terms = o.putArray("per_layer");
        for (double v : d.perLayer()) {
            terms.add(v);
        }
        ArrayNode names = o.putArray("layers");
        Lpips.LAYERS.forEach(names::add);
        o.put("ms", ms);
        o.put("device", inkwell.device().toString().toLowerCase(Locale.ROOT));
        o.put("threads", inkwell.threads());
        try {
            return mapper.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
