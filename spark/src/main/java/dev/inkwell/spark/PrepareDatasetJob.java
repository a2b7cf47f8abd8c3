package dev.inkwell.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.io.BufferedWriter;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;

/**
 * The {@code prepare-dataset} job: lists the images on the driver, spreads them over tasks
 * of at most {@link PrepareOptions#imagesPerPartition()} images (a task holds one image at
 * a time, so memory stays bounded whatever the data set's size), makes each pair in the
 * executors with this JVM's one Inkwell context ({@link ExecutorInkwell}), and writes:
 *
 * <ul>
 *   <li>{@link OutputFormat#CONTROLNET}: {@code source/<name>.png} (the control map, 8-bit
 *       gray, 0 or 255) and {@code target/<name>.png} (the resized RGB image), written by
 *       the executors, then {@code prompt.json} by the driver;
 *   <li>{@link OutputFormat#PARQUET}: {@code data/train-NNNNN-of-NNNNN.parquet} (a file per
 *       task, rows in input order) and {@code README.md}, the dataset card that makes
 *       {@code load_dataset(OUT)} decode the image columns;
 *   <li>both: {@code rejects.json}, one {@code {"file", "reason"}} per image that could not
 *       be read (empty when none).
 * </ul>
 *
 * <p>Deterministic: the inputs are sorted by their path under the input folder, the JSON lines
 * come in that order, and a re-run writes the same files with the same bytes. What an earlier
 * run left in the output folder under these names is deleted first (nothing else there is
 * touched).
 */
public final class PrepareDatasetJob {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A line of the dataset card, to recognise (and replace) our own. */
    static final String CARD_MARKER = "<!-- written by inkwell prepare-dataset -->";

    private PrepareDatasetJob() {}

    /**
     * Runs the job on {@code spark}.
     *
     * @param spark the session (local or a cluster's)
     * @param options what to prepare
     * @return the counts and the wall time
     * @throws IOException if the input folder or the caption table cannot be listed or read,
     *     or the output cannot be written
     * @throws IllegalArgumentException if the output is inside the input, two images would get
     *     the same output name, or the caption table lacks its columns
     */
    public static PrepareSummary run(SparkSession spark, PrepareOptions options) throws IOException {
        long start = System.nanoTime();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Configuration conf = jsc.hadoopConfiguration();
        List<InputImage> images = InputListing.list(conf, options.input(), options.output());
        if (options.captions() != null) {
            images = CaptionTable.attach(spark, options.captions(), images).images();
        }
        Path out = new Path(options.output());
        FileSystem fs = out.getFileSystem(conf);
        clearEarlierRun(fs, out);
        fs.mkdirs(out);

        HadoopConf hadoop = new HadoopConf(conf);
        int slices = partitions(images.size(), options.imagesPerPartition(), jsc.defaultParallelism());
        JavaRDD<PairResult> results = jsc.parallelize(images, slices).mapPartitions(part -> {
            PairMaker maker = new PairMaker(options, hadoop.get());
            return new Iterator<PairResult>() { // lazily: one image in flight per task
                @Override
                public boolean hasNext() {
                    return part.hasNext();
                }

                @Override
                public PairResult next() {
                    try {
                        return maker.make(part.next());
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
            };
        });

        List<PairResult> listing;
        if (options.format() == OutputFormat.PARQUET) {
            // The pairs are needed twice (the Parquet rows, the driver's listing): computed once,
            // kept on the executors' local disks meanwhile.
            results.persist(StorageLevel.DISK_ONLY());
            try {
                writeParquet(spark, results.filter(PairResult::ok), new Path(out, "data"), fs);
                listing = results.map(PairResult::withoutImages).collect();
            } finally {
                results.unpersist(false);
            }
            writeCard(fs, new Path(out, "README.md"));
        } else {
            listing = results.collect(); // in partition order: the sorted input order
            writeJsonLines(fs, new Path(out, "prompt.json"), listing.stream().filter(PairResult::ok).map(r -> {
                Map<String, String> line = new LinkedHashMap<>();
                line.put("source", PairMaker.sourceName(r.name()));
                line.put("target", PairMaker.targetName(r.name()));
                line.put("prompt", r.prompt());
                return line;
            }).iterator());
        }
        writeJsonLines(fs, new Path(out, "rejects.json"), listing.stream().filter(r -> !r.ok()).map(r -> {
            Map<String, String> line = new LinkedHashMap<>();
            line.put("file", r.relative());
            line.put("reason", r.reject());
            return line;
        }).iterator());
        long done = listing.stream().filter(PairResult::ok).count();
        long missing = listing.stream().filter(PairResult::captionMissing).count();
        return new PrepareSummary(done, listing.size() - done, missing, (System.nanoTime() - start) / 1e9);
    }

    /** Enough tasks to keep every core busy on small sets, tasks of at most {@code perTask} images on large ones. */
    static int partitions(int images, int perTask, int parallelism) {
        int bySize = (int) ((images + (long) perTask - 1) / perTask);
        return Math.max(1, Math.max(bySize, Math.min(images, 2 * parallelism)));
    }

    private static void clearEarlierRun(FileSystem fs, Path out) throws IOException {
        for (String name : List.of("source", "target", "data", "prompt.json", "rejects.json")) {
            fs.delete(new Path(out, name), true);
        }
        Path card = new Path(out, "README.md");
        if (fs.exists(card)) {
            try (InputStream s = fs.open(card)) {
                if (new String(s.readNBytes(4096), StandardCharsets.UTF_8).contains(CARD_MARKER)) {
                    fs.delete(card, false);
                }
            }
        }
    }

    private static void writeJsonLines(FileSystem fs, Path path, Iterator<Map<String, String>> lines) throws IOException {
        fs.setWriteChecksum(false);
        try (Writer w = new BufferedWriter(new OutputStreamWriter(fs.create(path, true), StandardCharsets.UTF_8))) {
            while (lines.hasNext()) {
                w.write(JSON.writeValueAsString(lines.next()));
                w.write('\n');
            }
        }
    }

    /** The Hugging Face {@code Image} feature's Arrow layout: the encoded file and a name. */
    private static final StructType IMAGE = new StructType()
            .add("bytes", DataTypes.BinaryType)
            .add("path", DataTypes.StringType);
    private static final StructType SCHEMA = new StructType()
            .add("image", IMAGE)
            .add("conditioning_image", IMAGE)
            .add("text", DataTypes.StringType);

    private static void writeParquet(SparkSession spark, JavaRDD<PairResult> pairs, Path data, FileSystem fs)
            throws IOException {
        JavaRDD<Row> rows = pairs.map(r -> RowFactory.create(
                RowFactory.create(r.target(), PairMaker.targetName(r.name())),
                RowFactory.create(r.control(), PairMaker.sourceName(r.name())),
                r.prompt()));
        spark.createDataFrame(rows, SCHEMA).write().mode(SaveMode.Overwrite).parquet(data.toString());
        // Spark names its files part-NNNNN-<a UUID per job>; give them the Hub's deterministic
        // names instead, in task order (which is input order).
        FileStatus[] parts = fs.listStatus(data, p -> p.getName().startsWith("part-") && p.getName().endsWith(".parquet"));
        Arrays.sort(parts, (a, b) -> a.getPath().getName().compareTo(b.getPath().getName()));
        for (int i = 0; i < parts.length; i++) {
            Path to = new Path(data, String.format(Locale.ROOT, "train-%05d-of-%05d.parquet", i, parts.length));
            if (!fs.rename(parts[i].getPath(), to)) {
                throw new IOException("could not rename " + parts[i].getPath() + " to " + to);
            }
        }
        List<Path> leftovers = new ArrayList<>();
        for (FileStatus f : fs.listStatus(data)) {
            String n = f.getPath().getName();
            if (n.equals("_SUCCESS") || n.endsWith(".crc")) {
                leftovers.add(f.getPath());
            }
        }
        for (Path p : leftovers) {
            fs.delete(p, false);
        }
    }

    /**
     * The dataset card: its YAML header declares the two image columns as the {@code Image}
     * feature (the Parquet files alone would load them as plain structs, since Spark cannot
     * write the Arrow schema metadata where {@code datasets} looks for features), so that
     * {@code load_dataset(OUT)}, which {@code train_controlnet.py --train_data_dir OUT} calls,
     * gives PIL images.
     */
    private static void writeCard(FileSystem fs, Path card) throws IOException {
        String text = """
                ---
                configs:
                - config_name: default
                  data_files:
                  - split: train
                    path: data/train-*.parquet
                dataset_info:
                  features:
                  - name: image
                    dtype: image
                  - name: conditioning_image
                    dtype: image
                  - name: text
                    dtype: string
                ---

                ControlNet training pairs made by `inkwell prepare-dataset --format parquet`:
                `image` is the resized picture, `conditioning_image` its Canny control map
                (ControlNet's annotator: HWC3, resize_image, Canny), `text` the prompt. Load
                with `datasets.load_dataset(this_folder)` or train with diffusers'
                `train_controlnet.py --train_data_dir this_folder`.
                """ + CARD_MARKER + "\n";
        fs.setWriteChecksum(false);
        try (OutputStream s = fs.create(card, true)) {
            s.write(text.getBytes(StandardCharsets.UTF_8));
        }
    }
}
