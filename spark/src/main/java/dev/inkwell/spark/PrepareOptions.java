package dev.inkwell.spark;

import dev.inkwell.ControlNetAnnotator;
import java.io.Serializable;
import java.util.Objects;

/**
 * What one {@code prepare-dataset} run does.
 *
 * @param input the folder of images (any Hadoop path: a local folder, {@code file:}, {@code hdfs:},
 *     {@code s3a:}...), read recursively
 * @param output the folder written (created if missing); the files of an earlier run there are replaced
 * @param resolution {@code resize_image}'s short side, at least {@link ControlNetAnnotator#MIN_RESOLUTION}
 * @param low Canny's weak-edge threshold, finite and at least 0
 * @param high Canny's strong-edge threshold, finite and at least 0
 * @param format the output layout
 * @param captions a JSONL or CSV file of {@code file} + {@code prompt} (file relative to {@code input}),
 *     or null to read {@code <name>.txt} beside each image
 * @param imagesPerPartition the most images one Spark task handles (it holds one at a time)
 */
public record PrepareOptions(String input, String output, int resolution, double low, double high, OutputFormat format,
        String captions, int imagesPerPartition) implements Serializable {
    /** Images per Spark task unless asked otherwise: a Parquet file each, some 30 MB at 512 px. */
    public static final int DEFAULT_IMAGES_PER_PARTITION = 64;

    /**
     * Checks every value.
     *
     * @throws NullPointerException if input, output or format is null
     * @throws IllegalArgumentException naming the value out of range
     */
    public PrepareOptions {
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(output, "output");
        Objects.requireNonNull(format, "format");
        if (resolution < ControlNetAnnotator.MIN_RESOLUTION) {
            throw new IllegalArgumentException("--resolution must be at least " + ControlNetAnnotator.MIN_RESOLUTION
                    + ", got " + resolution);
        }
        if (!(Double.isFinite(low) && low >= 0)) {
            throw new IllegalArgumentException("--low must be finite and at least 0, got " + low);
        }
        if (!(Double.isFinite(high) && high >= 0)) {
            throw new IllegalArgumentException("--high must be finite and at least 0, got " + high);
        }
        if (imagesPerPartition < 1) {
            throw new IllegalArgumentException("--images-per-task must be at least 1, got " + imagesPerPartition);
        }
    }

    /**
     * The demo's settings (resolution 512, thresholds 100 and 200), ControlNet layout, captions beside the images.
     *
     * @param input the folder of images
     * @param output the folder written
     * @return the options
     */
    public static PrepareOptions defaults(String input, String output) {
        return new PrepareOptions(input, output, ControlNetAnnotator.DEFAULT_RESOLUTION,
                ControlNetAnnotator.DEFAULT_LOW_THRESHOLD, ControlNetAnnotator.DEFAULT_HIGH_THRESHOLD,
                OutputFormat.CONTROLNET, null, DEFAULT_IMAGES_PER_PARTITION);
    }
}
