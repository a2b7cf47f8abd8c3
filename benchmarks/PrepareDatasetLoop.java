// The plain single-JVM side of benchmarks/prepare-dataset-bench.sh, run as a single-file
// program on the inkwell-spark class path:
//   java --enable-native-access=ALL-UNNAMED -cp CLASSPATH PrepareDatasetLoop.java IN OUT
// One Inkwell context (every hardware thread), one image after the other, the same work as a
// prepare-dataset task: Image.read (alpha kept), ControlNetAnnotator.annotate (HWC3,
// resize_image 512, Canny 100/200), source/ and target/ PNGs (the job's PngEncoder), prompt.json
// from <name>.txt. What it does not have: Spark's tasks, scheduling and parallel decoding.
import dev.inkwell.AlphaMode;
import dev.inkwell.ControlNetAnnotator;
import dev.inkwell.Image;
import dev.inkwell.Inkwell;
import dev.inkwell.spark.PngEncoder;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

public class PrepareDatasetLoop {
    public static void main(String[] args) throws IOException {
        Path in = Path.of(args[0]), out = Path.of(args[1]);
        List<Path> files;
        try (Stream<Path> s = Files.list(in)) {
            files = s.filter(p -> p.getFileName().toString().toLowerCase(Locale.ROOT).matches(".*\\.(png|jpe?g)"))
                    .sorted().toList();
        }
        Files.createDirectories(out.resolve("source"));
        Files.createDirectories(out.resolve("target"));
        try (Inkwell inkwell = Inkwell.create();
                Writer prompts = Files.newBufferedWriter(out.resolve("prompt.json"), StandardCharsets.UTF_8)) {
            ControlNetAnnotator annotator = new ControlNetAnnotator(inkwell);
            long start = System.nanoTime();
            int done = 0;
            for (Path f : files) {
                String name = f.getFileName().toString();
                String stem = name.substring(0, name.lastIndexOf('.'));
                try (Image drawing = Image.read(f, AlphaMode.KEEP);
                        ControlNetAnnotator.Annotation a = annotator.annotate(drawing, 512, 100, 200)) {
                    Files.write(out.resolve("source/" + stem + ".png"), PngEncoder.encode(a.control()));
                    Files.write(out.resolve("target/" + stem + ".png"), PngEncoder.encode(a.resized()));
                } catch (IOException e) {
                    continue; // a reject
                }
                Path caption = f.resolveSibling(stem + ".txt");
                String prompt = Files.exists(caption) ? Files.readString(caption).strip() : "";
                prompts.write("{\"source\":\"source/" + stem + ".png\",\"target\":\"target/" + stem
                        + ".png\",\"prompt\":\"" + prompt.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"}\n");
                done++;
            }
            double s = (System.nanoTime() - start) / 1e9;
            System.out.printf(Locale.ROOT, "jvm-loop: %d images in %.2f s, %.2f images/s (Inkwell, %d threads)%n",
                    done, s, done / s, inkwell.threads());
        }
    }
}
