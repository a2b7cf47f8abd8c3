package dev.inkwell;

import dev.inkwell.bindings.InkwellNative;
import dev.inkwell.bindings.inkwell_canny_params;
import dev.inkwell.bindings.inkwell_context_options;
import dev.inkwell.bindings.inkwell_gaussian_blur_params;
import dev.inkwell.bindings.inkwell_image_u8;
import dev.inkwell.internal.NativeCalls;
import dev.inkwell.internal.NativeLibrary;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Cleaner;
import java.util.Objects;

/**
 * The entry point: a native context (device and worker threads) and the kernels that run
 * on it.
 *
 * <pre>{@code
 * try (Inkwell inkwell = Inkwell.create();
 *      Image drawing = Image.read(Path.of("drawing.png"));
 *      Image edges = inkwell.canny(drawing)) {      // ControlNet's settings
 *     edges.write(Path.of("control.png"));
 * }
 * }</pre>
 *
 * <p>Thread safety: one context may be shared by any number of threads; its calls run one
 * at a time on its worker pool (give each thread its own context to run them side by
 * side). {@link #close()} waits for running calls and frees the context; later calls throw
 * {@link IllegalStateException}. A context that is never closed is freed when it becomes
 * unreachable, but close it: its worker threads hold memory until then.
 */
public final class Inkwell implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();

    private final MemorySegment context;
    private final Device device;
    private final int threads;
    private final CloseGuard guard = new CloseGuard("Inkwell context");
    private final Cleaner.Cleanable cleanable;

    private Inkwell(Device device, int requestedThreads) {
        NativeLibrary.ensureLoaded();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment options = inkwell_context_options.allocate(arena);
            inkwell_context_options.device(options, device.code());
            inkwell_context_options.threads(options, requestedThreads);
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeCalls.check(InkwellNative.inkwell_context_create(options, out), "creating a " + device + " context");
            this.context = out.get(ValueLayout.ADDRESS, 0);
            MemorySegment count = arena.allocate(ValueLayout.JAVA_INT);
            NativeCalls.check(InkwellNative.inkwell_context_threads(context, count), "querying the context");
            this.threads = count.get(ValueLayout.JAVA_INT, 0);
        }
        this.device = device;
        MemorySegment handle = context;
        this.cleanable = CLEANER.register(this, () -> InkwellNative.inkwell_context_destroy(handle));
    }

    /** A CPU context using every hardware thread. */
    public static Inkwell create() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Chooses the device and the number of worker threads of a new context. */
    public static final class Builder {
        private Device device = Device.CPU;
        private int threads = 0;

        private Builder() {}

        public Builder device(Device value) {
            this.device = Objects.requireNonNull(value, "device");
            return this;
        }

        /** Worker threads for CPU kernels, 1..1024; 0 (the default) means all hardware threads. */
        public Builder threads(int value) {
            if (value < 0 || value > 1024) {
                throw new IllegalArgumentException("threads must be 0 (all) or 1..1024, got " + value);
            }
            this.threads = value;
            return this;
        }

        /**
         * Creates the context.
         *
         * @throws InkwellException with {@link Status#UNSUPPORTED} if the native library
         *     cannot be loaded or the device is not available here
         */
        public Inkwell build() {
            return new Inkwell(device, threads);
        }
    }

    /** Version of the native library, e.g. "0.1.0". */
    public static String version() {
        NativeLibrary.ensureLoaded();
        int v = InkwellNative.inkwell_version();
        return (v / 10000) + "." + (v / 100 % 100) + "." + (v % 100);
    }

    /** Widest SIMD instruction set the CPU kernels use here: SCALAR, SSE4_1, AVX2 or AVX512. */
    public static String cpuSimdLevel() {
        NativeLibrary.ensureLoaded();
        return switch (InkwellNative.inkwell_cpu_simd_level()) {
            case 1 -> "SSE4_1";
            case 2 -> "AVX2";
            case 3 -> "AVX512";
            default -> "SCALAR";
        };
    }

    public Device device() {
        return device;
    }

    /** Worker threads of this context. */
    public int threads() {
        return threads;
    }

    // ---- Canny --------------------------------------------------------------------------

    /** Canny edges of a 1- or 3-channel image with ControlNet's settings, as a new image. */
    public Image canny(Image src) {
        return canny(src, CannyOptions.defaults());
    }

    /** Canny edges as a new 1-channel image (0 or 255) that the caller closes. */
    public Image canny(Image src, CannyOptions options) {
        Objects.requireNonNull(src, "src");
        Image dst = Image.allocate(src.height(), src.width(), 1);
        try {
            canny(src, dst, options);
            return dst;
        } catch (RuntimeException e) {
            dst.close();
            throw e;
        }
    }

    /**
     * Canny edges into {@code dst}: 1 channel, same height and width as {@code src}, not
     * overlapping it. Pixels are 255 on edges and 0 elsewhere, identical to
     * {@code cv2.Canny} with the same parameters; 3-channel input takes, per pixel, the
     * channel with the largest gradient, as OpenCV does.
     */
    public void canny(Image src, Image dst, CannyOptions options) {
        Objects.requireNonNull(src, "src");
        Objects.requireNonNull(dst, "dst");
        Objects.requireNonNull(options, "options");
        if (src.channels() != 1 && src.channels() != 3) {
            throw new IllegalArgumentException("canny takes 1- or 3-channel images, got " + src.channels() + " channels");
        }
        if (dst.channels() != 1) {
            throw new IllegalArgumentException("canny writes a 1-channel image, dst has " + dst.channels() + " channels");
        }
        checkSameSize(src, dst, "canny");
        BlurOptions blur = options.blur();
        run(src, dst, "canny", arena -> {
            MemorySegment p = inkwell_canny_params.allocate(arena);
            describe(src, inkwell_canny_params.src(p));
            describe(dst, inkwell_canny_params.dst(p));
            inkwell_canny_params.low_threshold(p, options.lowThreshold());
            inkwell_canny_params.high_threshold(p, options.highThreshold());
            inkwell_canny_params.aperture_size(p, options.apertureSize());
            inkwell_canny_params.l2_gradient(p, options.l2Gradient() ? 1 : 0);
            inkwell_canny_params.blur_ksize(p, blur == null ? 0 : blur.kernelSize());
            inkwell_canny_params.blur_sigma(p, blur == null ? 0 : blur.sigma());
            return InkwellNative.inkwell_canny_u8(context, p);
        });
    }

    // ---- Gaussian blur ------------------------------------------------------------------

    /** A blurred copy of {@code src} (same channels) that the caller closes. */
    public Image gaussianBlur(Image src, BlurOptions blur) {
        Objects.requireNonNull(src, "src");
        Image dst = Image.allocate(src.height(), src.width(), src.channels());
        try {
            gaussianBlur(src, dst, blur);
            return dst;
        } catch (RuntimeException e) {
            dst.close();
            throw e;
        }
    }

    /**
     * Gaussian blur into {@code dst} (same shape as {@code src}, not overlapping it), as
     * {@code cv2.GaussianBlur} computes it for 8-bit images: bit-exact fixed point,
     * reflect-101 borders.
     */
    public void gaussianBlur(Image src, Image dst, BlurOptions blur) {
        Objects.requireNonNull(src, "src");
        Objects.requireNonNull(dst, "dst");
        Objects.requireNonNull(blur, "blur");
        if (dst.channels() != src.channels()) {
            throw new IllegalArgumentException(
                    "gaussianBlur: dst has " + dst.channels() + " channels but src has " + src.channels());
        }
        checkSameSize(src, dst, "gaussianBlur");
        run(src, dst, "gaussianBlur", arena -> {
            MemorySegment p = inkwell_gaussian_blur_params.allocate(arena);
            describe(src, inkwell_gaussian_blur_params.src(p));
            describe(dst, inkwell_gaussian_blur_params.dst(p));
            inkwell_gaussian_blur_params.ksize(p, blur.kernelSize());
            inkwell_gaussian_blur_params.sigma(p, blur.sigma());
            return InkwellNative.inkwell_gaussian_blur_u8(context, p);
        });
    }

    // ---- lifecycle ----------------------------------------------------------------------

    public boolean isClosed() {
        return guard.isClosed();
    }

    /** Waits for running calls, then frees the native context; idempotent. */
    @Override
    public void close() {
        if (guard.close()) {
            cleanable.clean();
        }
    }

    @Override
    public String toString() {
        return "Inkwell[" + device + ", " + threads + " threads" + (isClosed() ? ", closed]" : "]");
    }

    // ---- plumbing -----------------------------------------------------------------------

    @FunctionalInterface
    private interface NativeCall {
        int call(Arena arena);
    }

    /** Holds the context and both images open for the call, then maps the status. */
    private void run(Image src, Image dst, String operation, NativeCall call) {
        guard.enter();
        try {
            src.guard().enter();
            try {
                dst.guard().enter();
                try {
                    src.checkMemoryAlive();
                    dst.checkMemoryAlive();
                    if (src.overlaps(dst)) {
                        throw new IllegalArgumentException(operation + ": dst overlaps src; use a separate image");
                    }
                    try (Arena arena = Arena.ofConfined()) {
                        NativeCalls.check(call.call(arena), operation);
                    }
                } finally {
                    dst.guard().exit();
                }
            } finally {
                src.guard().exit();
            }
        } finally {
            guard.exit();
        }
    }

    private static void checkSameSize(Image src, Image dst, String operation) {
        if (src.height() != dst.height() || src.width() != dst.width()) {
            throw new IllegalArgumentException(operation + ": dst is " + dst.height() + "x" + dst.width() + " but src is "
                    + src.height() + "x" + src.width());
        }
    }

    private static void describe(Image image, MemorySegment struct) {
        inkwell_image_u8.data(struct, image.segment());
        inkwell_image_u8.height(struct, image.height());
        inkwell_image_u8.width(struct, image.width());
        inkwell_image_u8.channels(struct, image.channels());
        inkwell_image_u8.row_stride(struct, image.rowStride());
    }
}
