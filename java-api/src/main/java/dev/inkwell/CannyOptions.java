package dev.inkwell;

import java.util.Objects;
import java.util.Optional;

/**
 * Parameters of {@link Inkwell#canny}, identical in meaning to
 * {@code cv2.Canny(img, low, high, apertureSize, L2gradient)}. Immutable; the defaults are
 * ControlNet's Canny preprocessor: low 100, high 200, aperture 3, L1 magnitude, no blur.
 *
 * @param lowThreshold weak-edge threshold, finite and at least 0
 * @param highThreshold strong-edge threshold, finite and at least 0 (swapped with low if smaller)
 * @param apertureSize Sobel aperture: 3, 5 or 7
 * @param l2Gradient true for sqrt(dx^2 + dy^2), false for |dx| + |dy|
 * @param blur an optional Gaussian blur applied first, or null for none
 */
public record CannyOptions(
        double lowThreshold, double highThreshold, int apertureSize, boolean l2Gradient, BlurOptions blur) {

    private static final CannyOptions DEFAULTS = new CannyOptions(100, 200, 3, false, null);

    /**
     * Checks the parameters.
     *
     * @throws IllegalArgumentException if a threshold is negative or not finite, or the
     *     aperture size is not 3, 5 or 7
     */
    public CannyOptions {
        checkThreshold("low threshold", lowThreshold);
        checkThreshold("high threshold", highThreshold);
        if (apertureSize != 3 && apertureSize != 5 && apertureSize != 7) {
            throw new IllegalArgumentException("aperture size must be 3, 5 or 7, got " + apertureSize);
        }
    }

    /**
     * ControlNet's settings: low 100, high 200, aperture 3, L1, no blur.
     *
     * @return the default options
     */
    public static CannyOptions defaults() {
        return DEFAULTS;
    }

    /**
     * Other hysteresis thresholds.
     *
     * @param low weak-edge threshold, finite and at least 0
     * @param high strong-edge threshold, finite and at least 0 (swapped with low if smaller)
     * @return a copy of these options with those thresholds
     * @throws IllegalArgumentException if a threshold is negative or not finite
     */
    public CannyOptions withThresholds(double low, double high) {
        return new CannyOptions(low, high, apertureSize, l2Gradient, blur);
    }

    /**
     * Another Sobel aperture.
     *
     * @param aperture 3, 5 or 7
     * @return a copy of these options with that aperture
     * @throws IllegalArgumentException for any other size
     */
    public CannyOptions withApertureSize(int aperture) {
        return new CannyOptions(lowThreshold, highThreshold, aperture, l2Gradient, blur);
    }

    /**
     * The gradient magnitude used.
     *
     * @param l2 true for sqrt(dx^2 + dy^2), false for |dx| + |dy|
     * @return a copy of these options with that magnitude
     */
    public CannyOptions withL2Gradient(boolean l2) {
        return new CannyOptions(lowThreshold, highThreshold, apertureSize, l2, blur);
    }

    /**
     * A Gaussian blur applied before the edge detection.
     *
     * @param newBlur the blur
     * @return a copy of these options with that blur
     * @throws NullPointerException if {@code newBlur} is null (use {@link #withoutBlur()})
     */
    public CannyOptions withBlur(BlurOptions newBlur) {
        return new CannyOptions(lowThreshold, highThreshold, apertureSize, l2Gradient,
                Objects.requireNonNull(newBlur, "blur (use withoutBlur() for none)"));
    }

    /**
     * No blur before the edge detection.
     *
     * @return a copy of these options without a blur
     */
    public CannyOptions withoutBlur() {
        return new CannyOptions(lowThreshold, highThreshold, apertureSize, l2Gradient, null);
    }

    /**
     * The pre-blur, if any.
     *
     * @return the blur, or empty for none
     */
    public Optional<BlurOptions> blurOptions() {
        return Optional.ofNullable(blur);
    }

    private static void checkThreshold(String name, double value) {
        if (!Double.isFinite(value) || value < 0) {
            throw new IllegalArgumentException(name + " must be finite and >= 0, got " + value);
        }
    }
}
