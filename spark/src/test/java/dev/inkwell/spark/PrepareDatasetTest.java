package dev.inkwell.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.inkwell.Image;
import dev.inkwell.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job in local mode on a generated folder (TestImages: 39 drawings of mixed size and kind,
 * 6 files that cannot be decoded or are cut short): every control map and resized image equals what
 * {@code inkwell annotate IN OUT --save-resized R} writes for the same file, the prompts and
 * the rejects are the expected ones, and a re-run writes the same bytes.
 */
class PrepareDatasetTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;
    static SparkSession spark;
    static Path in;
    static TestImages images;
    /** name -> {control, resized} as inkwell annotate writes them, decoded. */
    static Map<String, byte[][]> expected = new HashMap<>();

    @BeforeAll
    static void setUp() throws IOException {
        in = tmp.resolve("in");
        images = TestImages.write(in, 20261130L);
        spark = SparkSession.builder().master("local[2]").appName("PrepareDatasetTest")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate();
        Path ref = Files.createDirectories(tmp.resolve("annotate"));
        for (TestImages.Good g : images.good) {
            String name = name(g.relative());
            Path control = ref.resolve(name.replace('/', '_') + ".png"), resized = ref.resolve(name.replace('/', '_') + "-r.png");
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int status = Main.run(new String[] {"annotate", in.resolve(g.relative()).toString(), control.toString(),
                "--save-resized", resized.toString()}, new PrintStream(new ByteArrayOutputStream()), new PrintStream(err));
            assertEquals(0, status, g.relative() + ": inkwell annotate failed: " + err);
            expected.put(name, new byte[][] {pixels(control), pixels(resized)});
        }
    }

    @AfterAll
    static void tearDown() {
        if (spark != null) {
            spark.stop();
        }
    }

    /** The output name TestImages' files get: the stem, or stem_ext for same.png and same.jpg. */
    static String name(String relative) {
        String stem = InputListing.stem(relative);
        return stem.equals("same") ? stem + "_" + relative.substring(5) : stem;
    }

    /** Decoded with Inkwell's reader: height, width, channels, then the samples. */
    static byte[] pixels(Path png) throws IOException {
        try (Image image = Image.read(png)) {
            return withShape(image);
        }
    }

    static byte[] pixels(byte[] png) throws IOException {
        Path f = Files.createTempFile(tmp, "png", ".png");
        Files.write(f, png);
        return pixels(f);
    }

    private static byte[] withShape(Image image) {
        byte[] samples = image.toByteArray();
        String shape = image.height() + "x" + image.width() + "x" + image.channels() + ":";
        byte[] s = shape.getBytes(StandardCharsets.US_ASCII);
        byte[] out = Arrays.copyOf(s, s.length + samples.length);
        System.arraycopy(samples, 0, out, s.length, samples.length);
        return out;
    }

    static List<JsonNode> jsonLines(Path file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            out.add(JSON.readTree(line));
        }
        return out;
    }

    static Map<String, byte[]> allFiles(Path dir) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                out.put(dir.relativize(f).toString(), Files.readAllBytes(f));
            }
        }
        return out;
    }

    @Test
    void controlNetLayoutMatchesInkwellAnnotateWithPromptsAndRejects() throws IOException {
        Path out = tmp.resolve("out-controlnet");
        ByteArrayOutputStream stdout = new ByteArrayOutputStream(), stderr = new ByteArrayOutputStream();
        int status = PrepareDataset.run(new String[] {in.toString(), out.toString(), "--images-per-task", "7"},
                new PrintStream(stdout, true, StandardCharsets.UTF_8), new PrintStream(stderr, true, StandardCharsets.UTF_8));
        assertEquals(0, status, stderr.toString(StandardCharsets.UTF_8));
        long noCaption = images.good.stream().filter(g -> g.caption() == null).count();
        assertTrue(noCaption > 0 && noCaption < images.good.size());
        String summary = stdout.toString(StandardCharsets.UTF_8);
        assertTrue(summary.startsWith("prepare-dataset: " + images.good.size() + " images done, " + images.bad.size()
                + " rejected (see rejects.json), " + noCaption + " without caption, "), summary);
        assertTrue(summary.contains("images/s"), summary);

        // prompt.json: one line per good image, in the order of their paths, as ControlNet reads it.
        List<JsonNode> prompts = jsonLines(out.resolve("prompt.json"));
        assertEquals(images.good.size(), prompts.size());
        for (int i = 0; i < prompts.size(); i++) {
            TestImages.Good g = images.good.get(i);
            String name = name(g.relative());
            JsonNode line = prompts.get(i);
            assertEquals(List.of("source", "target", "prompt"), iterableNames(line));
            assertEquals("source/" + name + ".png", line.get("source").asText());
            assertEquals("target/" + name + ".png", line.get("target").asText());
            assertEquals(g.caption() == null ? "" : g.caption(), line.get("prompt").asText(), g.relative());
            // The pixels inkwell annotate gives on the same file.
            byte[][] want = expected.get(name);
            assertArrayEquals(want[0], pixels(out.resolve(line.get("source").asText())), "control map of " + g.relative());
            assertArrayEquals(want[1], pixels(out.resolve(line.get("target").asText())), "resized " + g.relative());
        }
        try (Stream<Path> s = Files.walk(out.resolve("source"))) {
            assertEquals(images.good.size(), s.filter(Files::isRegularFile).count(), "one control map per good image");
        }

        List<JsonNode> rejects = jsonLines(out.resolve("rejects.json"));
        assertEquals(images.bad, rejects.stream().map(r -> r.get("file").asText()).toList());
        for (JsonNode r : rejects) {
            assertFalse(r.get("reason").asText().isBlank(), r.toString());
            assertFalse(r.get("reason").asText().contains(in.toString()), "the reason names no local path: " + r);
            assertFalse(Files.exists(out.resolve("source/" + InputListing.stem(r.get("file").asText()) + ".png")));
        }

        // A re-run (other task sizes) replaces every file with the same bytes and leaves nothing stale.
        Map<String, byte[]> first = allFiles(out);
        Files.writeString(out.resolve("source/stale.png"), "left by an older run");
        status = PrepareDataset.run(new String[] {in.toString(), out.toString(), "--images-per-task", "64"},
                new PrintStream(new ByteArrayOutputStream()), new PrintStream(stderr));
        assertEquals(0, status, stderr.toString(StandardCharsets.UTF_8));
        Map<String, byte[]> second = allFiles(out);
        assertEquals(first.keySet(), second.keySet());
        for (String f : first.keySet()) {
            assertArrayEquals(first.get(f), second.get(f), f);
        }
    }

    private static List<String> iterableNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    @Test
    void parquetHasTheColumnsTrainControlnetLoads() throws IOException {
        Path out = tmp.resolve("out-parquet");
        PrepareOptions options = new PrepareOptions(in.toString(), out.toString(), 512, 100, 200, OutputFormat.PARQUET,
                null, 10);
        PrepareSummary summary = PrepareDatasetJob.run(spark, options);
        assertEquals(images.good.size(), summary.done());
        assertEquals(images.bad.size(), summary.rejected());

        List<String> files;
        try (Stream<Path> s = Files.list(out.resolve("data"))) {
            files = s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted().toList();
        }
        assertFalse(files.isEmpty());
        for (int i = 0; i < files.size(); i++) {
            assertEquals(String.format("train-%05d-of-%05d.parquet", i, files.size()), files.get(i));
        }
        String card = Files.readString(out.resolve("README.md"));
        assertTrue(card.startsWith("---\n"), "YAML header first");
        assertTrue(card.contains("- name: conditioning_image\n    dtype: image"), card);

        var df = spark.read().parquet(out.resolve("data").toString());
        assertEquals(List.of("image", "conditioning_image", "text"), Arrays.asList(df.columns()));
        for (String column : List.of("image", "conditioning_image")) {
            StructType t = (StructType) df.schema().apply(column).dataType();
            assertEquals(List.of("bytes", "path"), Arrays.asList(t.fieldNames()));
            assertTrue(t.apply("bytes").dataType() instanceof BinaryType);
            assertTrue(t.apply("path").dataType() instanceof StringType);
        }
        List<Row> rows = df.collectAsList();
        assertEquals(images.good.size(), rows.size());
        Map<String, String> captions = new HashMap<>();
        images.good.forEach(g -> captions.put(name(g.relative()), g.caption() == null ? "" : g.caption()));
        for (Row row : rows) {
            Row image = row.getStruct(0), control = row.getStruct(1);
            String path = control.getString(1);
            assertTrue(path.startsWith("source/") && path.endsWith(".png"), path);
            String name = path.substring("source/".length(), path.length() - 4);
            assertEquals("target/" + name + ".png", image.getString(1));
            assertArrayEquals(expected.get(name)[0], pixels((byte[]) control.get(0)), "control map of " + name);
            assertArrayEquals(expected.get(name)[1], pixels((byte[]) image.get(0)), "resized " + name);
            assertEquals(captions.get(name), row.getString(2), name);
        }
        assertEquals(images.bad, jsonLines(out.resolve("rejects.json")).stream().map(r -> r.get("file").asText()).toList());
    }

    @Test
    void captionsFromJsonLinesAndCsv() throws IOException {
        String tricky = "a cat, \"quoted\"\nsecond line";
        List<Map<String, String>> table = new ArrayList<>();
        StringBuilder csv = new StringBuilder("file,prompt\n");
        for (int i = 0; i < images.good.size(); i += 2) { // every other image
            String relative = images.good.get(i).relative();
            String prompt = i == 0 ? tricky : "prompt for " + relative;
            table.add(Map.of("file", relative, "prompt", prompt));
            csv.append('"').append(relative).append("\",\"").append(prompt.replace("\"", "\"\"")).append("\"\n");
        }
        StringBuilder jsonl = new StringBuilder();
        for (Map<String, String> row : table) {
            jsonl.append(JSON.writeValueAsString(row)).append('\n');
        }
        jsonl.append("{\"file\": \"not/listed.png\", \"prompt\": \"ignored\"}\n");
        Path jsonlFile = Files.writeString(tmp.resolve("captions.jsonl"), jsonl);
        Path csvFile = Files.writeString(tmp.resolve("captions.csv"), csv);
        for (Path captions : List.of(jsonlFile, csvFile)) {
            Path out = tmp.resolve("out-" + captions.getFileName());
            // The prompts are what is checked here: a small resolution keeps it quick.
            PrepareSummary summary = PrepareDatasetJob.run(spark, new PrepareOptions(in.toString(), out.toString(), 64,
                    100, 200, OutputFormat.CONTROLNET, captions.toString(), 64));
            List<JsonNode> prompts = jsonLines(out.resolve("prompt.json"));
            assertEquals(images.good.size(), prompts.size());
            for (int i = 0; i < prompts.size(); i++) {
                String relative = images.good.get(i).relative();
                String want = i % 2 == 1 ? "" : i == 0 ? tricky : "prompt for " + relative;
                assertEquals(want, prompts.get(i).get("prompt").asText(), captions + ": " + relative);
            }
            assertEquals(images.good.size() / 2, summary.withoutCaption(), captions.toString());
        }
    }

    @Test
    void badCommandLinesAreRefusedWithExitCode2() throws IOException {
        Path out = tmp.resolve("out-bad");
        String[][] cases = {
            {in.toString(), out.toString(), "--resolution", "32"},
            {in.toString(), out.toString(), "--low", "-1"},
            {in.toString(), out.toString(), "--format", "tfrecord"},
            {in.toString()},
            {in.toString(), out.toString(), "--bogus", "1"},
            {tmp.resolve("missing").toString(), out.toString()},
            {in.toString(), in.resolve("sub/out").toString()},
            {in.toString(), out.toString(), "--captions", tmp.resolve("captions.txt").toString()},
        };
        String[] says = {"--resolution must be at least 64", "--low must be finite", "--format must be controlnet or parquet",
            "expected IN and OUT", "unknown option --bogus", "no such folder", "is inside IN", "--captions must be"};
        for (int i = 0; i < cases.length; i++) {
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int status = PrepareDataset.run(cases[i], new PrintStream(new ByteArrayOutputStream()), new PrintStream(err));
            String message = err.toString(StandardCharsets.UTF_8);
            assertEquals(2, status, Arrays.toString(cases[i]) + ": " + message);
            assertTrue(message.startsWith("inkwell prepare-dataset: ") && message.contains(says[i]),
                    Arrays.toString(cases[i]) + ": " + message);
        }
        assertFalse(Files.exists(in.resolve("sub/out")));
    }

    @Test
    void otherFileSystemsAreReadThroughALocalCopy() throws IOException {
        spark.sparkContext().hadoopConfiguration().set("fs." + OtherSchemeFileSystem.SCHEME + ".impl",
                OtherSchemeFileSystem.class.getName());
        spark.sparkContext().hadoopConfiguration().setBoolean("fs." + OtherSchemeFileSystem.SCHEME + ".impl.disable.cache", true);
        Path out = tmp.resolve("out-otherfs");
        String scheme = OtherSchemeFileSystem.SCHEME + "://";
        PrepareSummary summary = PrepareDatasetJob.run(spark, new PrepareOptions(scheme + in, scheme + out, 512, 100, 200,
                OutputFormat.CONTROLNET, null, 16));
        assertEquals(images.good.size(), summary.done());
        List<JsonNode> prompts = jsonLines(out.resolve("prompt.json"));
        assertEquals(images.good.size(), prompts.size());
        for (JsonNode line : prompts) {
            String source = line.get("source").asText();
            String name = source.substring("source/".length(), source.length() - 4);
            assertArrayEquals(expected.get(name)[0], pixels(out.resolve(source)), "control map of " + name);
            assertArrayEquals(expected.get(name)[1], pixels(out.resolve(line.get("target").asText())), "resized " + name);
        }
        List<JsonNode> rejects = jsonLines(out.resolve("rejects.json"));
        assertEquals(images.bad, rejects.stream().map(r -> r.get("file").asText()).toList());
        for (JsonNode r : rejects) {
            assertFalse(r.get("reason").asText().contains("inkwell-input-"), "the reason names no temporary copy: " + r);
        }
        assertTrue(rejects.stream().anyMatch(r -> r.get("reason").asText().startsWith("truncated JPEG")), rejects.toString());
    }

    @Test
    void oneInkwellContextPerJvmSharedByAllTasks() {
        var jsc = org.apache.spark.api.java.JavaSparkContext.fromSparkContext(spark.sparkContext());
        List<Integer> ids = jsc.parallelize(List.of(1, 2, 3, 4, 5, 6, 7, 8), 8)
                .map(i -> System.identityHashCode(ExecutorInkwell.get())).distinct().collect();
        assertEquals(List.of(System.identityHashCode(ExecutorInkwell.get())), ids);
        assertFalse(ExecutorInkwell.get().isClosed());
    }

    @Test
    void partitionsKeepTasksSmallAndCoresBusy() {
        assertEquals(1, PrepareDatasetJob.partitions(0, 64, 4));
        assertEquals(3, PrepareDatasetJob.partitions(3, 64, 4));
        assertEquals(8, PrepareDatasetJob.partitions(40, 64, 4));
        assertEquals(157, PrepareDatasetJob.partitions(10_000, 64, 4));
    }
}
