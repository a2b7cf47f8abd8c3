package dev.inkwell;

import java.util.Objects;

/**
 * ControlNet's Canny annotator, pixel for pixel: what {@code gradio_canny2image.py} does to
 * a drawing before sampling,
 * {@code control = HWC3(Canny(resize_image(HWC3(image), resolution), low, high))}, with
 * {@code HWC3} and {@code resize_image} as {@code annotator/util.py} defines them and
 * {@code cv2.Canny} / {@code cv2.resize} as OpenCV 4.6 computes them.
 *
 * <pre>{@code
 * try (Inkwell inkwell = Inkwell.create();
 *      Image drawing = Image.read(Path.of("drawing.png"), AlphaMode.KEEP);
 *      Image control = new ControlNetAnnotator(inkwell).canny(drawing)) {  // 512, 100, 200
 *     control.write(Path.of("control.png"));
 * }
 * }</pre>
 *
 * <p>The control map is returned with 1 channel, as {@code cv2.Canny} gives it; ControlNet's
 * final {@code HWC3} only repeats it on 3 channels ({@link #hwc3(Image)} does the same), and
 * the pipeline divides by 255. Results live in the memory of the annotator's context.
 */
public final class ControlNetAnnotator {
    /** The demo's default resolution (the short side of the control map). */
    public static final int DEFAULT_RESOLUTION = 512;
    /** The smallest resolution accepted: the short side must round to at least one 64-pixel block. */
    public static final int MIN_RESOLUTION = 64;
    /** The demo's default Canny thresholds. */
    public static final double DEFAULT_LOW_THRESHOLD = 100, DEFAULT_HIGH_THRESHOLD = 200;

    private final Inkwell inkwell;

    /**
     * An annotator whose kernels run on {@code inkwell}.
     *
     * @param inkwell the context (CPU or CUDA); results live in its memory
     * @throws NullPointerException if {@code inkwell} is null
     */
    public ControlNetAnnotator(Inkwell inkwell) {
        this.inkwell = Objects.requireNonNull(inkwell, "inkwell");
    }

    /**
     * The size {@code resize_image} gives an image and the interpolation it uses: with
     * {@code k = resolution / min(height, width)} in double, each side becomes
     * {@code round(side * k / 64) * 64} (round half to even, as NumPy), by
     * {@link Interpolation#LANCZOS4} when {@code k > 1}, else {@link Interpolation#AREA}.
     *
     * @param height the output height, a multiple of 64
     * @param width the output width, a multiple of 64
     * @param interpolation how {@code resize_image} samples
     */
    public record ResizePlan(int height, int width, Interpolation interpolation) {}

    /**
     * {@code resize_image}'s output size for a height x width input.
     *
     * @param height the input height, at least 1
     * @param width the input width, at least 1
     * @param resolution the short side asked for, at least {@link #MIN_RESOLUTION}
     * @return the output size and interpolation
     * @throws IllegalArgumentException if a side is below 1, the resolution is below {@link #MIN_RESOLUTION},
     *     or the result would exceed {@link Image#MAX_SIDE} on a side
     */
    public static ResizePlan plan(int height, int width, int resolution) {
        if (height < 1 || width < 1) {
            throw new IllegalArgumentException("image must be at least 1x1, got " + height + "x" + width);
        }
        if (resolution < MIN_RESOLUTION) {
            throw new IllegalArgumentException("resolution must be at least " + MIN_RESOLUTION + ", got " + resolution);
        }
        double k = (double) resolution / Math.min(height, width);
        double h = Math.rint(height * k / 64.0) * 64, w = Math.rint(width * k / 64.0) * 64;
        if (h > Image.MAX_SIDE || w > Image.MAX_SIDE) {
            throw new IllegalArgumentException("resolution " + resolution + " makes a " + width + "x" + height
                    + " image " + (long) w + "x" + (long) h + " (W x H), more than " + Image.MAX_SIDE + " per side");
        }
        return new ResizePlan((int) h, (int) w, k > 1 ? Interpolation.LANCZOS4 : Interpolation.AREA);
    }

    /**
     * {@code HWC3}: a new 3-channel host image. Gray is repeated on 3 channels, RGB copied,
     * RGBA composited over white, {@code color * a + 255 * (1 - a)} with {@code a = alpha / 255}
     * in float32, truncated (as NumPy's {@code astype(np.uint8)}). Read files with
     * {@link AlphaMode#KEEP} to give it the alpha channel (the default read composites the same way).
     *
     * @param image 1, 3 or 4 channels, in host or device memory
     * @return a new 3-channel host image that the caller closes
     * @throws NullPointerException if {@code image} is null
     * @throws IllegalArgumentException for 2 channels, which HWC3 refuses, or an image too
     *     large for Java arrays
     * @throws IllegalStateException if the image is closed
     */
    public static Image hwc3(Image image) {
        Objects.requireNonNull(image, "image");
        int c = image.channels();
        if (c == 2) {
            throw new IllegalArgumentException("HWC3 takes 1, 3 or 4 channels, got 2");
        }
        byte[] in = image.toByteArray(); // copies from a device, too
        long pixels = (long) image.height() * image.width();
        if (pixels * 3 > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("image of " + image.width() + "x" + image.height()
                    + " (W x H) is too large for HWC3 in Java arrays");
        }
        byte[] out = new byte[(int) (pixels * 3)];
        for (int p = 0; p < pixels; p++) {
            for (int k = 0; k < 3; k++) {
                int v = switch (c) {
                    case 1 -> Byte.toUnsignedInt(in[p]);
                    case 3 -> Byte.toUnsignedInt(in[p * 3 + k]);
                    default -> ImageCodec.overWhite(Byte.toUnsignedInt(in[p * 4 + k]), Byte.toUnsignedInt(in[p * 4 + 3]));
                };
                out[p * 3 + k] = (byte) v;
            }
        }
        return Image.fromBytes(out, image.height(), image.width(), 3);
    }

    /**
     * {@code resize_image(image, resolution)}: a new image (same channels) in the context's
     * memory, sized and sampled as {@link #plan} says, identical to {@code cv2.resize}.
     *
     * @param image any image in host memory or the context's
     * @param resolution the short side asked for, at least {@link #MIN_RESOLUTION}
     * @return a new image that the caller closes
     * @throws NullPointerException if {@code image} is null
     * @throws IllegalArgumentException as {@link #plan}
     * @throws IllegalStateException if the context or the image is closed
     */
    public Image resizeImage(Image image, int resolution) {
        Objects.requireNonNull(image, "image");
        ResizePlan p = plan(image.height(), image.width(), resolution);
        return inkwell.resize(image, p.width(), p.height(), p.interpolation());
    }

    /**
     * The control map with the demo's defaults: resolution 512, thresholds 100 and 200.
     *
     * @param image the drawing: 1, 3 or 4 channels
     * @return a new 1-channel image (0 or 255) that the caller closes
     * @throws NullPointerException if {@code image} is null
     * @throws IllegalArgumentException as {@link #canny(Image, int, double, double)}
     * @throws IllegalStateException if the context or the image is closed
     */
    public Image canny(Image image) {
        return canny(image, DEFAULT_RESOLUTION, DEFAULT_LOW_THRESHOLD, DEFAULT_HIGH_THRESHOLD);
    }

    /**
     * The control map, {@code cv2.Canny(resize_image(HWC3(image), resolution), low, high)}:
     * 1 channel, 0 or 255, in the context's memory; the caller closes it.
     *
     * @param image the drawing: 1, 3 or 4 channels
     * @param resolution the short side of the control map, at least {@link #MIN_RESOLUTION}
     * @param low Canny's weak-edge threshold, finite and at least 0
     * @param high Canny's strong-edge threshold, finite and at least 0
     * @return a new 1-channel image (0 or 255) that the caller closes
     * @throws NullPointerException if {@code image} is null
     * @throws IllegalArgumentException for 2 channels, a threshold or resolution out of range
     * @throws IllegalStateException if the context or the image is closed
     */
    public Image canny(Image image, int resolution, double low, double high) {
        try (Annotation a = annotate(image, resolution, low, high)) {
            return a.takeControl();
        }
    }

    /**
     * The resized 3-channel image and its control map, both in the context's memory, for
     * callers that keep the resized drawing too ({@code inkwell annotate --save-resized}).
     *
     * @param image the drawing: 1, 3 or 4 channels
     * @param resolution the short side of the control map, at least {@link #MIN_RESOLUTION}
     * @param low Canny's weak-edge threshold, finite and at least 0
     * @param high Canny's strong-edge threshold, finite and at least 0
     * @return both results, which the caller closes
     * @throws NullPointerException if {@code image} is null
     * @throws IllegalArgumentException for 2 channels, a threshold or resolution out of range
     * @throws IllegalStateException if the context or the image is closed
     */
    public Annotation annotate(Image image, int resolution, double low, double high) {
        Objects.requireNonNull(image, "image");
        CannyOptions options = CannyOptions.defaults().withThresholds(low, high); // checks them first
        ResizePlan p = plan(image.height(), image.width(), resolution);
        Image resized;
        try (Image rgb = hwc3(image); Image onDevice = inkwell.device() == Device.CPU ? null : inkwell.copyToDevice(rgb)) {
            resized = inkwell.resize(onDevice == null ? rgb : onDevice, p.width(), p.height(), p.interpolation());
        }
        try {
            return new Annotation(resized, inkwell.canny(resized, options));
        } catch (RuntimeException e) {
            resized.close();
            throw e;
        }
    }

    /** The two results of {@link #annotate}; closing it closes both (unless taken). */
    public static final class Annotation implements AutoCloseable {
        private final Image resized;
        private Image control;

        Annotation(Image resized, Image control) {
            this.resized = resized;
            this.control = control;
        }

        /**
         * The resized drawing.
         *
         * @return {@code resize_image(HWC3(image), resolution)}: 3 channels, owned by this annotation
         */
        public Image resized() {
            return resized;
        }

        /**
         * The control map.
         *
         * @return the Canny map of {@link #resized()}: 1 channel, 0 or 255, owned by this annotation
         * @throws IllegalStateException if it was handed over by {@link ControlNetAnnotator#canny}
         */
        public Image control() {
            if (control == null) {
                throw new IllegalStateException("the control map was taken");
            }
            return control;
        }

        /** Hands the control map to the caller, who closes it; close() then leaves it open. */
        Image takeControl() {
            Image c = control();
            control = null;
            return c;
        }

        @Override
        public void close() {
            resized.close();
            if (control != null) {
                control.close();
            }
        }
    }
}
