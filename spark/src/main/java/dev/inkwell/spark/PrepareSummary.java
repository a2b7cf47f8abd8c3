package dev.inkwell.spark;

import java.util.Locale;

/**
 * The counts of a {@code prepare-dataset} run.
 *
 * @param done images that became training pairs
 * @param rejected images that could not be read (listed in rejects.json)
 * @param withoutCaption pairs whose image had no caption (their prompt is empty)
 * @param seconds wall time of the whole job: listing, Spark tasks, the driver's files
 */
public record PrepareSummary(long done, long rejected, long withoutCaption, double seconds) {
    /**
     * Throughput over the whole job.
     *
     * @return images (done and rejected) per second
     */
    public double imagesPerSecond() {
        return seconds > 0 ? (done + rejected) / seconds : 0;
    }

    /**
     * The line the command prints.
     *
     * @return e.g. {@code "prepare-dataset: 40 images done, 2 rejected (rejects.json), 3 without caption, 12.1 s, 3.3 images/s"}
     */
    @Override
    public String toString() {
        return String.format(Locale.ROOT, "prepare-dataset: %d images done, %d rejected%s, %d without caption, %.1f s, %.2f images/s",
                done, rejected, rejected > 0 ? " (see rejects.json)" : "", withoutCaption, seconds, imagesPerSecond());
    }
}
