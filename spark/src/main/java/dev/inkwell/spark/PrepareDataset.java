package dev.inkwell.spark;

import dev.inkwell.ControlNetAnnotator;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.SparkSession;

/**
 * {@code inkwell prepare-dataset IN OUT [options]}: the main class that {@code ./inkwell}
 * runs, and that {@code spark-submit --class dev.inkwell.spark.PrepareDataset} runs on a
 * cluster. Errors are one line on stderr: exit 2 for a command line or input to fix, 1 for
 * anything else.
 */
public final class PrepareDataset {
    static final String HELP = """
            usage: inkwell prepare-dataset IN OUT [--master local[*]] [--resolution 512] [--low 100] [--high 200]
                                          [--format controlnet|parquet] [--captions FILE] [--images-per-task 64]

            ControlNet training pairs from a folder of images, on Apache Spark: for each PNG/JPEG under
            IN (recursively; gray, RGB, RGBA, any size) the control map of ControlNet's Canny annotator
            (HWC3, resize_image, Canny: the same pixels as 'inkwell annotate'), the resized image and
            its prompt. IN and OUT are folders or any Hadoop path (hdfs://, s3a://...).
              --master M         Spark master (default local[*]; under spark-submit, its --master)
              --resolution R     short side before rounding to multiples of 64 (default 512, at least 64)
              --low L, --high H  Canny thresholds (default 100 and 200)
              --format F         controlnet (default): OUT/source/<name>.png (control map),
                                 OUT/target/<name>.png (resized image), OUT/prompt.json (JSON lines
                                 {"source", "target", "prompt"}), as ControlNet's training reads them;
                                 parquet: OUT/data/train-*.parquet with image, conditioning_image, text
                                 and a dataset card, as diffusers' train_controlnet.py --train_data_dir loads them
              --captions FILE    prompts from a JSONL ({"file": ..., "prompt": ...}) or CSV (header file,prompt)
                                 table, file relative to IN; default: <name>.txt beside each image
              --images-per-task N  images one Spark task handles, one at a time (default 64)
            Images that cannot be read go to OUT/rejects.json (JSON lines {"file", "reason"}) and the job
            goes on. Files of an earlier run in OUT are replaced. Prints the images done, rejected and
            images/s at the end.""";

    private static final Set<String> VALUED = Set.of("--master", "--resolution", "--low", "--high", "--format",
            "--captions", "--images-per-task");

    private PrepareDataset() {}

    /**
     * Runs the command and exits with its status.
     *
     * @param args the command line, without the command name
     */
    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /**
     * Runs the command.
     *
     * @param args the command line, without the command name
     * @param out where the summary goes
     * @param err where errors go
     * @return the exit status: 0, 1 (a failure) or 2 (a command line or input to fix)
     */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        List<String> argv = List.of(args);
        if (argv.contains("--help") || argv.contains("-h")) {
            out.println(HELP);
            return 0;
        }
        PrepareOptions options;
        String master;
        try {
            Map<String, String> values = new HashMap<>();
            List<String> positional = new ArrayList<>();
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                if (!a.startsWith("--")) {
                    positional.add(a);
                    continue;
                }
                String name = a, value = null;
                int eq = a.indexOf('=');
                if (eq > 0) {
                    name = a.substring(0, eq);
                    value = a.substring(eq + 1);
                }
                if (!VALUED.contains(name)) {
                    throw new IllegalArgumentException("unknown option " + name + " (see 'inkwell prepare-dataset --help')");
                }
                if (value == null) {
                    if (i + 1 >= args.length) {
                        throw new IllegalArgumentException(name + " needs a value");
                    }
                    value = args[++i];
                }
                values.put(name, value);
            }
            if (positional.size() != 2) {
                throw new IllegalArgumentException("expected IN and OUT, got " + positional.size() + " arguments "
                        + positional + " (see 'inkwell prepare-dataset --help')");
            }
            options = new PrepareOptions(positional.get(0), positional.get(1),
                    integer(values, "--resolution", ControlNetAnnotator.DEFAULT_RESOLUTION),
                    number(values, "--low", ControlNetAnnotator.DEFAULT_LOW_THRESHOLD),
                    number(values, "--high", ControlNetAnnotator.DEFAULT_HIGH_THRESHOLD),
                    OutputFormat.parse(values.getOrDefault("--format", "controlnet")), values.get("--captions"),
                    integer(values, "--images-per-task", PrepareOptions.DEFAULT_IMAGES_PER_PARTITION));
            master = values.get("--master");
        } catch (IllegalArgumentException e) {
            err.println("inkwell prepare-dataset: " + e.getMessage());
            return 2;
        }

        SparkSession.Builder builder = SparkSession.builder().appName("inkwell prepare-dataset");
        if (master != null) {
            builder.master(master);
        } else if (System.getProperty("spark.master") == null) { // spark-submit sets it
            builder.master("local[*]");
        }
        // A session already running in this JVM (a notebook's, a test's) is used as it is and left running.
        boolean ours = SparkSession.getDefaultSession().isEmpty();
        SparkSession spark = builder.getOrCreate();
        try {
            PrepareSummary summary = PrepareDatasetJob.run(spark, options);
            out.println(summary);
            return 0;
        } catch (IllegalArgumentException | FileNotFoundException e) {
            err.println("inkwell prepare-dataset: " + e.getMessage());
            return 2;
        } catch (IOException | RuntimeException e) {
            err.println("inkwell prepare-dataset: " + e + (System.getenv("INKWELL_DEBUG") == null
                    ? " (set INKWELL_DEBUG=1 for the stack trace)" : ""));
            if (System.getenv("INKWELL_DEBUG") != null) {
                e.printStackTrace(err);
            }
            return 1;
        } finally {
            if (ours) {
                spark.stop();
            }
        }
    }

    private static int integer(Map<String, String> values, String name, int fallback) {
        String v = values.get(name);
        try {
            return v == null ? fallback : Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be an integer, got '" + v + "'");
        }
    }

    private static double number(Map<String, String> values, String name, double fallback) {
        String v = values.get(name);
        try {
            return v == null ? fallback : Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a number, got '" + v + "'");
        }
    }
}
