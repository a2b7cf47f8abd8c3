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

    public CannyOptions {
        checkThreshold("low threshold", lowThreshold);
        checkThreshold("high threshold", highThreshold);
        if (apertureSize != 3 && apertureSize != 5 && apertureSize != 7) {
            throw new IllegalArgumentException("aperture size must be 3, 5 or 7, got " + apertureSize);
        }
    }

    /** ControlNet's settings: low 100, high 200, aperture 3, L1, no blur. */
    public static CannyOptions defaults() {
        return DEFAULTS;
    }

    public CannyOptions withThresholds(double low, double high) {
        return new CannyOptions(low, high, apertureSize, l2Gradient, blur);
    }

    public CannyOptions withApertureSize(int aperture) {
        return new CannyOptions(lowThreshold, highThreshold, aperture, l2Gradient, blur);
    }

    public CannyOptions withL2Gradient(boolean l2) {
        return new CannyOptions(lowThreshold, highThreshold, apertureSize, l2, blur);
    }

    public CannyOptions withBlur(BlurOptions newBlur) {
        return new CannyOptions(lowThreshold, highThreshold, apertureSize, l2Gradient,
                Objects.requireNonNull(newBlur, "blur (use withoutBlur() for none)"));
    }

    public CannyOptions withoutBlur() {
        return new CannyOptions(lowThreshold, highThreshold, apertureSize, l2Gradient, null);
    }

    /** The pre-blur, if any. */
    public Optional<BlurOptions> blurOptions() {
        return Optional.ofNullable(blur);
    }

    private static void checkThreshold(String name, double value) {
        if (!Double.isFinite(value) || value < 0) {
            throw new IllegalArgumentException(name + " must be finite and >= 0, got " + value);
        }
    }
}
