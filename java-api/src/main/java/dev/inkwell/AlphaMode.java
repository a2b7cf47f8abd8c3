package dev.inkwell;

/**
 * What {@link Image#read(java.nio.file.Path, AlphaMode)} does with a file's alpha channel
 * (RGBA or gray + alpha PNGs, palette PNGs with transparency).
 */
public enum AlphaMode {
    /**
     * Composite over white, as ControlNet's annotator does ({@code HWC3} in
     * {@code annotator/util.py}): each color sample becomes
     * {@code color * a + 255 * (1 - a)} with {@code a = alpha / 255}, in float32, clipped to
     * 0..255 and truncated to an integer, so a transparent pixel is white whatever its hidden
     * color. Gray + alpha stays 1 channel, RGBA becomes 3. The default of
     * {@link Image#read(java.nio.file.Path)}.
     */
    OVER_WHITE,
    /**
     * Keep alpha as a 4th channel: RGBA stays RGBA, gray + alpha becomes RGBA (the gray
     * repeated), samples unchanged. Images without alpha are read as without.
     */
    KEEP
}
