package dev.inkwell.spark;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;

/**
 * Captions from one table instead of {@code .txt} files: JSON lines
 * ({@code {"file": "a/cat.png", "prompt": "a cat"}}) or CSV with a header row naming
 * {@code file} and {@code prompt} (quoted fields may hold commas, quotes as {@code ""} and
 * newlines). {@code file} is the image's path relative to the input folder; rows naming no
 * listed image are counted and ignored. Read with Spark's own readers, malformed rows failing
 * the run; the driver keeps one map of file to prompt (it keeps the file list too).
 */
final class CaptionTable {
    private CaptionTable() {}

    /** The images with their prompts from the table; those it does not name keep no prompt. */
    static Attached attach(SparkSession spark, String table, List<InputImage> images) {
        Dataset<Row> rows = read(spark, table);
        List<String> columns = Arrays.asList(rows.columns());
        if (!columns.contains("file") || !columns.contains("prompt")) {
            throw new IllegalArgumentException("--captions " + table + ": needs the columns 'file' and 'prompt', found "
                    + columns);
        }
        Map<String, String> prompts = new HashMap<>();
        Iterator<Row> it = rows.select(rows.col("file").cast(DataTypes.StringType),
                rows.col("prompt").cast(DataTypes.StringType)).toLocalIterator();
        while (it.hasNext()) {
            Row r = it.next();
            String file = r.isNullAt(0) ? null : normalize(r.getString(0));
            if (file == null || file.isEmpty()) {
                throw new IllegalArgumentException("--captions " + table + ": a row has no 'file'");
            }
            String prompt = r.isNullAt(1) ? null : r.getString(1);
            String before = prompts.put(file, prompt);
            if (before != null && !before.equals(prompt)) {
                throw new IllegalArgumentException("--captions " + table + ": '" + file + "' has two different prompts");
            }
        }
        List<InputImage> out = new ArrayList<>(images.size());
        int matched = 0;
        for (InputImage image : images) {
            String prompt = prompts.get(image.relative());
            matched += prompts.containsKey(image.relative()) ? 1 : 0;
            // A table replaces the .txt files: an image it does not name has no caption.
            out.add(new InputImage(image.file(), image.relative(), image.name(), null, prompt));
        }
        return new Attached(out, prompts.size() - matched);
    }

    /**
     * The images with their prompts.
     *
     * @param images the listing, prompts attached
     * @param unmatched rows of the table that name no listed image
     */
    record Attached(List<InputImage> images, int unmatched) {}

    private static Dataset<Row> read(SparkSession spark, String table) {
        String lower = table.toLowerCase(Locale.ROOT);
        if (lower.endsWith(".csv")) {
            return spark.read().option("header", "true").option("multiLine", "true").option("escape", "\"")
                    .option("mode", "FAILFAST").csv(table);
        }
        if (lower.endsWith(".jsonl") || lower.endsWith(".json")) {
            return spark.read().option("mode", "FAILFAST").json(table);
        }
        throw new IllegalArgumentException("--captions must be a .jsonl, .json (JSON lines) or .csv file, got " + table);
    }

    /** "./a/b.png" and "/a/b.png" name the same file as "a/b.png". */
    private static String normalize(String file) {
        String f = file.strip().replace('\\', '/');
        while (f.startsWith("./")) {
            f = f.substring(2);
        }
        while (f.startsWith("/")) {
            f = f.substring(1);
        }
        return f;
    }
}
