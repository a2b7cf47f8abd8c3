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
import java.util.concurrent.atomic.AtomicLong;

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
    private final AtomicLong liveAllocations = new AtomicLong(); // device memory not yet freed
    private final Cleaner.Cleanable cleanable;

    private Inkwell(Device device, int requestedThreads) {
        NativeLibrary.ensureLoaded();
        if (device == Device.CUDA) NativeLibrary.ensureCudaBackendAvailable(); // beside the core, only when asked for
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
        Image dst = newImage(src.height(), src.width(), 1);
        return closingOnFailure(dst, () -> canny(src, dst, options));
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
        checkNoOverlap(src, dst, "canny");
        run("canny", (arena, context) -> {
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
        }, src, dst);
    }

    // ---- Gaussian blur ------------------------------------------------------------------

    /** A blurred copy of {@code src} (same channels) that the caller closes. */
    public Image gaussianBlur(Image src, BlurOptions blur) {
        Objects.requireNonNull(src, "src");
        Image dst = newImage(src.height(), src.width(), src.channels());
        return closingOnFailure(dst, () -> gaussianBlur(src, dst, blur));
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
        checkNoOverlap(src, dst, "gaussianBlur");
        run("gaussianBlur", (arena, context) -> {
            MemorySegment p = inkwell_gaussian_blur_params.allocate(arena);
            describe(src, inkwell_gaussian_blur_params.src(p));
            describe(dst, inkwell_gaussian_blur_params.dst(p));
            inkwell_gaussian_blur_params.ksize(p, blur.kernelSize());
            inkwell_gaussian_blur_params.sigma(p, blur.sigma());
            return InkwellNative.inkwell_gaussian_blur_u8(context, p);
        }, src, dst);
    }

    // ---- conv2d -------------------------------------------------------------------------

    /**
     * conv2d of an NCHW input with weights [out_channels, in_channels / groups, kh, kw] and an
     * optional bias [out_channels] (null for none), as {@code torch.nn.functional.conv2d}
     * followed by the options' activation. Returns a new tensor the caller closes.
     */
    public Tensor conv2d(Tensor input, Tensor weight, Tensor bias, Conv2dOptions options) {
        Objects.requireNonNull(options, "options");
        long[] shape = Conv2dKernel.outputShape(input, weight, options);
        Tensor out = newTensor(input.elementType(), shape);
        return closingOnFailure(out, () -> conv2d(input, weight, bias, out, options));
    }

    /** conv2d into a preallocated output of shape [batch, out_channels, out_height, out_width]. */
    public void conv2d(Tensor input, Tensor weight, Tensor bias, Tensor output, Conv2dOptions options) {
        Objects.requireNonNull(options, "options");
        Conv2dKernel.run(this, input, weight, bias, output, options);
    }

    // ---- attention ----------------------------------------------------------------------

    /**
     * Fused attention softmax(q k^T scale + mask) v for q [batch, heads, q_len, head_dim] and
     * k, v [batch, heads, kv_len, head_dim] (head_dim up to 256), in one pass with an online
     * softmax; with {@link AttentionLayout#BLHD} in the options, q [batch, q_len, heads,
     * head_dim] and k, v [batch, kv_len, heads, head_dim]. Returns a new tensor shaped like q.
     */
    public Tensor attention(Tensor q, Tensor k, Tensor v, AttentionOptions options) {
        Objects.requireNonNull(q, "q");
        Objects.requireNonNull(options, "options");
        Tensor out = newTensor(q.elementType(), q.shape());
        return closingOnFailure(out, () -> attention(q, k, v, out, options));
    }

    /** Attention into a preallocated output shaped like q. */
    public void attention(Tensor q, Tensor k, Tensor v, Tensor out, AttentionOptions options) {
        Objects.requireNonNull(options, "options");
        AttentionKernel.run(this, q, k, v, out, options);
    }

    // ---- layers and tensor plumbing ------------------------------------------------------

    /**
     * Group and layer norm, linear, GEGLU, activations and the timestep embedding on this
     * context (float32, float16 or bfloat16). Cheap: a new view of this context per call.
     */
    public Layers layers() {
        return new Layers(this);
    }

    /** add, cat, transpose and max pooling of float32 tensors on this context; cheap, as {@link #layers()}. */
    public TensorOps ops() {
        return new TensorOps(this);
    }

    // ---- DDIM ---------------------------------------------------------------------------

    /**
     * One DDIM step from {@code timestep} to {@code prevTimestep} (negative after the last
     * step: the scheduler's final alpha), as diffusers' {@code DDIMScheduler.step}, in one
     * pass over memory.
     *
     * @param noise variance noise shaped like the sample; required when eta &gt; 0, else may be null
     * @param predOriginal receives the predicted x0, or null
     */
    public void ddimStep(DdimScheduler scheduler, int timestep, int prevTimestep, Tensor sample, Tensor modelOutput,
            double eta, Tensor noise, Tensor prevSample, Tensor predOriginal) {
        DdimKernels.step(this, scheduler, timestep, prevTimestep, sample, modelOutput, null, 1.0, eta, noise, prevSample,
                predOriginal);
    }

    /**
     * One DDIM step with classifier-free guidance: the model output is
     * {@code uncond + guidanceScale (cond - uncond)}, combined in the same pass.
     */
    public void ddimStepGuided(DdimScheduler scheduler, int timestep, int prevTimestep, Tensor sample, Tensor cond,
            Tensor uncond, double guidanceScale, double eta, Tensor noise, Tensor prevSample, Tensor predOriginal) {
        Objects.requireNonNull(uncond, "uncond");
        DdimKernels.step(this, scheduler, timestep, prevTimestep, sample, cond, uncond, guidanceScale, eta, noise,
                prevSample, predOriginal);
    }

    /** Forward noising: {@code out = sqrt(a) original + sqrt(1 - a) noise} with a = alphas_cumprod[timestep]. */
    public void addNoise(DdimScheduler scheduler, Tensor original, Tensor noise, int timestep, Tensor out) {
        DdimKernels.addNoise(this, scheduler, original, noise, timestep, out);
    }

    /**
     * Fills {@code out} with standard normal noise, elements 0.. of the stream of {@code seed}:
     * the same numbers for any thread count and on every backend.
     */
    public void randn(Tensor out, long seed) {
        DdimKernels.randn(this, out, seed, 0);
    }

    /** As {@link #randn(Tensor, long)}, starting at element {@code offset} of the stream. */
    public void randn(Tensor out, long seed, long offset) {
        DdimKernels.randn(this, out, seed, offset);
    }

    // ---- resampling ---------------------------------------------------------------------

    /** 2x up- or down-sampling of an NCHW tensor; returns a new tensor. */
    public Tensor resample(Tensor input, ResampleMode mode) {
        Objects.requireNonNull(mode, "mode");
        ShapeChecks.rank(input, 4, "input", "[batch, channels, height, width]");
        ShapeChecks.float32("resample", "input", input);
        Tensor out = newTensor(ElementType.FLOAT32, mode.outputShape(input.shape()));
        return closingOnFailure(out, () -> resample(input, out, mode));
    }

    /** 2x up- or down-sampling into a preallocated output. */
    public void resample(Tensor input, Tensor output, ResampleMode mode) {
        ResampleKernel.run(this, input, output, mode);
    }

    // ---- metrics ------------------------------------------------------------------------

    /** PSNR in dB (data range 255) over all samples; +infinity for identical images. */
    public double psnr(Image reference, Image test) {
        return MetricsKernels.psnr(this, reference, test);
    }

    /**
     * SSIM as scikit-image computes it with {@code gaussian_weights=True, sigma=1.5,
     * use_sample_covariance=False, data_range=255}: mean over the valid region, channels
     * averaged. Images of at least 11x11.
     */
    public double ssim(Image reference, Image test) {
        return MetricsKernels.ssim(this, reference, test);
    }

    /** A result image in this context's memory (the host's for a CPU context). */
    private Image newImage(int height, int width, int channels) {
        return device == Device.CPU ? Image.allocate(height, width, channels) : Image.allocate(this, height, width, channels);
    }

    /** A result tensor in this context's memory (the host's for a CPU context). */
    Tensor newTensor(ElementType type, long[] shape) {
        return device == Device.CPU ? Tensor.allocate(type, shape) : Tensor.allocate(this, type, shape);
    }

    /** Returns a freshly allocated result once filled; frees it if filling fails. */
    static <T extends AutoCloseable> T closingOnFailure(T out, Runnable fill) {
        try {
            fill.run();
            return out;
        } catch (RuntimeException e) {
            try {
                out.close(); // Image and Tensor never throw here; AutoCloseable's signature does
            } catch (Exception suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    // ---- memory of the device -----------------------------------------------------------

    /**
     * Copies {@code src} into {@code dst} (same shape), between host memory and this
     * context's device memory in either direction, or within one of them. Returns when the
     * copy is done.
     */
    public void copy(Tensor src, Tensor dst) {
        Objects.requireNonNull(src, "src");
        Objects.requireNonNull(dst, "dst");
        ShapeChecks.shape(dst, src.shape(), "copy destination");
        ShapeChecks.sameElementType("copy", src, "source", dst, "destination");
        ShapeChecks.noOverlap("copy", dst, "destination", src);
        runCopy("copy", dst.nativeSegment(), src.nativeSegment(), src.elementCount() * src.elementType().byteSize(), src,
                dst);
    }

    /** Copies the pixels of {@code src} into {@code dst} (same size, channels and row stride), as {@link #copy(Tensor, Tensor)}. */
    public void copy(Image src, Image dst) {
        Objects.requireNonNull(src, "src");
        Objects.requireNonNull(dst, "dst");
        if (src.height() != dst.height() || src.width() != dst.width() || src.channels() != dst.channels()
                || src.rowStride() != dst.rowStride()) {
            throw new IllegalArgumentException("copy: dst is " + dst + " but src is " + src
                    + " (height, width, channels and row stride must match)");
        }
        checkNoOverlap(src, dst, "copy");
        runCopy("copy", dst.nativeSegment(), src.nativeSegment(), src.nativeSegment().byteSize(), src, dst);
    }

    /**
     * A copy of {@code src} in this context's memory (GPU memory for a CUDA context, host
     * memory allocated through the context for a CPU one) that the caller closes: the usual
     * way to hand host data to a CUDA context's kernels.
     */
    public Tensor copyToDevice(Tensor src) {
        Objects.requireNonNull(src, "src");
        Tensor dst = Tensor.allocate(this, src.elementType(), src.shape());
        return closingOnFailure(dst, () -> copy(src, dst));
    }

    /** A tightly packed copy of {@code src} in this context's memory, as {@link #copyToDevice(Tensor)}. */
    public Image copyToDevice(Image src) {
        Objects.requireNonNull(src, "src");
        Image dst = Image.allocate(this, src.height(), src.width(), src.channels());
        if (src.rowStride() == (long) src.width() * src.channels()) {
            return closingOnFailure(dst, () -> copy(src, dst));
        }
        return closingOnFailure(dst, () -> { // a padded host image: pack it first
            try (Image packed = Image.fromBytes(src.toByteArray(), src.height(), src.width(), src.channels())) {
                copy(packed, dst);
            }
        });
    }

    /** A copy of {@code src} (in this context's memory or the host's) in owned host memory. */
    public Tensor copyToHost(Tensor src) {
        Objects.requireNonNull(src, "src");
        Tensor dst = Tensor.allocate(src.elementType(), src.shape());
        return closingOnFailure(dst, () -> copy(src, dst));
    }

    /** A tightly packed copy of {@code src} in owned host memory. */
    public Image copyToHost(Image src) {
        Objects.requireNonNull(src, "src");
        return Image.fromBytes(src.toByteArray(), src.height(), src.width(), src.channels());
    }

    /**
     * Host memory the device can copy from and to at full speed (page-locked for a CUDA
     * context; ordinary aligned memory for a CPU one), owned by {@code arena}: freed when it
     * closes, which must come before this context's close. Wrap it with
     * {@link Tensor#wrap} or {@link Image#wrap}.
     */
    public MemorySegment allocatePinned(Arena arena, long bytes) {
        Objects.requireNonNull(arena, "arena");
        return allocate(bytes, arena, true);
    }

    /** Device memory owned by {@code owner}, freed through this context when it closes. */
    MemorySegment allocateDeviceMemory(long bytes, Arena owner) {
        return allocate(bytes, owner, false);
    }

    private MemorySegment allocate(long bytes, Arena owner, boolean pinned) {
        if (bytes < 1) {
            throw new IllegalArgumentException("allocation size must be >= 1 byte, got " + bytes);
        }
        guard.enter();
        try {
            MemorySegment address;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
                int status = pinned ? InkwellNative.inkwell_host_alloc_pinned(context, bytes, out)
                        : InkwellNative.inkwell_device_alloc(context, bytes, out);
                NativeCalls.check(status, "allocating " + bytes + " bytes of " + (pinned ? "pinned host" : device + " device")
                        + " memory");
                address = out.get(ValueLayout.ADDRESS, 0);
            }
            liveAllocations.incrementAndGet();
            try {
                return address.reinterpret(bytes, owner, s -> free(s, pinned));
            } catch (RuntimeException e) { // the owner arena is closed, or confined to another thread
                free(address, pinned);
                throw e;
            }
        } finally {
            guard.exit();
        }
    }

    private void free(MemorySegment memory, boolean pinned) {
        // Runs when the owner closes, on its thread; a CPU free cannot fail and a CUDA one only
        // with a broken device, which the next call on the context reports.
        int unused = pinned ? InkwellNative.inkwell_host_free_pinned(context, memory)
                : InkwellNative.inkwell_device_free(context, memory);
        liveAllocations.decrementAndGet();
    }

    /** Copies bytes between a host segment and a tensor's or image's memory on this context's device. */
    void copyBytes(String operation, MemorySegment host, Object resource, MemorySegment memory, boolean toDevice) {
        runCopy(operation, toDevice ? memory : host, toDevice ? host : memory, memory.byteSize(), resource);
    }

    private void runCopy(String operation, MemorySegment dst, MemorySegment src, long bytes, Object... resources) {
        checkDevices(operation, resources, true);
        enterAndCall(operation, (arena, ctx) -> InkwellNative.inkwell_copy(ctx, dst, src, bytes,
                InkwellNative.INKWELL_COPY_DEFAULT()), resources);
    }

    // ---- lifecycle ----------------------------------------------------------------------

    public boolean isClosed() {
        return guard.isClosed();
    }

    /**
     * Waits for running calls, then frees the native context; idempotent.
     *
     * @throws IllegalStateException if tensors or images in memory this context allocated
     *     ({@link Tensor#allocate(Inkwell, long...)} and the like) are still open: they are
     *     freed through the context, so close them (or their arena) first
     */
    @Override
    public void close() {
        if (guard.close(() -> liveAllocations.get() == 0 ? null
                : "Inkwell context still owns " + liveAllocations.get() + " device allocation(s): close the tensors,"
                        + " images or arenas holding them first")) {
            cleanable.clean();
        }
    }

    @Override
    public String toString() {
        return "Inkwell[" + device + ", " + threads + " threads" + (isClosed() ? ", closed]" : "]");
    }

    // ---- plumbing -----------------------------------------------------------------------

    /** Fills a params struct in the call's arena and makes the native call; returns its status. */
    @FunctionalInterface
    interface NativeCall {
        int call(Arena arena, MemorySegment context);
    }

    /**
     * Runs one native call: holds the context and every image or tensor it touches open
     * (so close() waits), checks their memory is alive, then maps the status to an
     * exception. Outputs must already be checked not to overlap inputs.
     */
    void run(String operation, NativeCall call, Object... resources) {
        checkDevices(operation, resources, false);
        enterAndCall(operation, call, resources);
    }

    /**
     * Every image or tensor must be in this context's memory; with {@code hostToo} (copies)
     * host memory is allowed as well. Null entries are absent optional inputs.
     */
    private void checkDevices(String operation, Object[] resources, boolean hostToo) {
        for (Object r : resources) {
            Device d = r == null ? device : r instanceof Image image ? image.device() : ((Tensor) r).device();
            if (d != device && !(hostToo && d == Device.CPU)) {
                throw new IllegalArgumentException(operation + ": " + r + " is in " + d + " memory but this context runs on "
                        + device + (hostToo ? "" : "; allocate it with this context or move it with Inkwell.copy"));
            }
        }
    }

    private void enterAndCall(String operation, NativeCall call, Object[] resources) {
        guard.enter();
        try {
            enterAll(resources, 0, operation, call);
        } finally {
            guard.exit();
        }
    }

    private void enterAll(Object[] resources, int i, String operation, NativeCall call) {
        if (i == resources.length) {
            try (Arena arena = Arena.ofConfined()) {
                NativeCalls.check(call.call(arena, context), operation);
            }
            return;
        }
        if (resources[i] == null) { // optional inputs (bias, noise, ...)
            enterAll(resources, i + 1, operation, call);
            return;
        }
        CloseGuard g = resources[i] instanceof Image image ? image.guard() : ((Tensor) resources[i]).guard();
        g.enter();
        try {
            if (resources[i] instanceof Image image) {
                image.checkMemoryAlive();
            } else {
                ((Tensor) resources[i]).checkMemoryAlive();
            }
            enterAll(resources, i + 1, operation, call);
        } finally {
            g.exit();
        }
    }

    private static void checkSameSize(Image src, Image dst, String operation) {
        if (src.height() != dst.height() || src.width() != dst.width()) {
            throw new IllegalArgumentException(operation + ": dst is " + dst.height() + "x" + dst.width() + " but src is "
                    + src.height() + "x" + src.width());
        }
    }

    private static void checkNoOverlap(Image src, Image dst, String operation) {
        src.guard().checkOpen();
        dst.guard().checkOpen();
        if (src.overlaps(dst)) {
            throw new IllegalArgumentException(operation + ": dst overlaps src; use a separate image");
        }
    }

    static void describe(Image image, MemorySegment struct) {
        inkwell_image_u8.data(struct, image.nativeSegment());
        inkwell_image_u8.height(struct, image.height());
        inkwell_image_u8.width(struct, image.width());
        inkwell_image_u8.channels(struct, image.channels());
        inkwell_image_u8.row_stride(struct, image.rowStride());
    }
}
