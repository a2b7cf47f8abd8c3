package dev.inkwell;

/**
 * How {@link Inkwell#resize(Image, int, int, Interpolation)} samples, named and numbered as
 * OpenCV's {@code cv2.INTER_*} constants; both are what ControlNet's {@code resize_image} uses.
 */
public enum Interpolation {
    /**
     * {@code cv2.INTER_AREA}: the mean of the source area each output pixel covers (the
     * plain box mean for integer factors) when neither side grows; OpenCV's bilinear
     * emulation when a side grows. ControlNet's choice when shrinking.
     */
    AREA(3),
    /** {@code cv2.INTER_LANCZOS4}: the 8x8 Lanczos window, replicated borders. ControlNet's choice when enlarging. */
    LANCZOS4(4);

    private final int code;

    Interpolation(int code) {
        this.code = code;
    }

    /** The value of OpenCV's constant (and of inkwell_interpolation). */
    int code() {
        return code;
    }
}
