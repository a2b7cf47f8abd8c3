package dev.inkwell.spark;

import java.io.Serializable;

/**
 * What the executor did with one image: a training pair or a reject.
 *
 * @param name the output name (see {@link InputImage#name()})
 * @param relative the input's path under the input folder
 * @param prompt the caption, {@code ""} when the image has none; null for a reject
 * @param captionMissing whether no caption was found (the prompt is then empty)
 * @param reject why the image was rejected, or null
 * @param control the control map as PNG bytes in the Parquet layout, else null (written already)
 * @param target the resized image as PNG bytes in the Parquet layout, else null
 */
public record PairResult(String name, String relative, String prompt, boolean captionMissing, String reject,
        byte[] control, byte[] target) implements Serializable {
    /**
     * Whether the image became a pair.
     *
     * @return true unless rejected
     */
    public boolean ok() {
        return reject == null;
    }

    /**
     * The same result without the image bytes, for the driver's listing.
     *
     * @return a copy whose control and target are null
     */
    public PairResult withoutImages() {
        return new PairResult(name, relative, prompt, captionMissing, reject, null, null);
    }
}
