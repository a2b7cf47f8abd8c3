package dev.inkwell;

/**
 * A Gaussian blur as {@code cv2.GaussianBlur(img, (k, k), sigma)} with reflect-101 borders.
 *
 * @param kernelSize odd, 1 to {@value #MAX_KERNEL_SIZE}; 0 derives it from sigma (round(6 sigma + 1) | 1)
 * @param sigma standard deviation in pixels, finite and at least 0; 0 derives it from the kernel
 *     size (0.3 ((k - 1) / 2 - 1) + 0.8) as OpenCV does
 */
public record BlurOptions(int kernelSize, double sigma) {
    /** Largest kernel accepted. */
    public static final int MAX_KERNEL_SIZE = 127;
    /** Largest sigma accepted when the kernel size is derived from it. */
    public static final double MAX_DERIVED_SIGMA = 20;

    /**
     * Checks the parameters.
     *
     * @throws IllegalArgumentException if sigma is negative or not finite, both are 0, the
     *     kernel size is even, negative or above {@value #MAX_KERNEL_SIZE}, or sigma is above
     *     {@value #MAX_DERIVED_SIGMA} with a derived kernel size
     */
    public BlurOptions {
        if (!Double.isFinite(sigma) || sigma < 0) {
            throw new IllegalArgumentException("blur sigma must be finite and >= 0, got " + sigma);
        }
        if (kernelSize == 0 && sigma == 0) {
            throw new IllegalArgumentException("blur kernel size and sigma are both 0: give at least one");
        }
        if (kernelSize == 0 && sigma > MAX_DERIVED_SIGMA) {
            throw new IllegalArgumentException(
                    "blur sigma must be at most " + MAX_DERIVED_SIGMA + " when the kernel size is derived, got " + sigma);
        }
        if (kernelSize != 0 && (kernelSize < 1 || kernelSize % 2 == 0 || kernelSize > MAX_KERNEL_SIZE)) {
            throw new IllegalArgumentException(
                    "blur kernel size must be odd and 1.." + MAX_KERNEL_SIZE + " (or 0), got " + kernelSize);
        }
    }

    /**
     * A k x k blur with the given sigma.
     *
     * @param kernelSize k: odd, 1 to {@value #MAX_KERNEL_SIZE}, or 0 to derive it from sigma
     * @param sigma finite and at least 0; 0 derives it from the kernel size
     * @return the options
     * @throws IllegalArgumentException as {@link #BlurOptions(int, double)}
     */
    public static BlurOptions of(int kernelSize, double sigma) {
        return new BlurOptions(kernelSize, sigma);
    }
}
