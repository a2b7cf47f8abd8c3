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
import java.lang.ref.Reference;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

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
 *
 * <p>Arguments are checked in Java before any native call, and every message names the
 * argument and its value: shapes, element types, sizes and aliasing throw
 * {@link IllegalArgumentException}, nulls {@link NullPointerException}, closed contexts,
 * images and tensors {@link IllegalStateException} ("attention: k is closed"). Failures only
 * the native side can see throw {@link InkwellException}. Results returned by a kernel are
 * new images or tensors in this context's memory that the caller closes; the overloads that
 * take an output write into it instead, which must not overlap the inputs.
 *
 * <p>Native access: the library calls native code through the FFM API, which Java restricts.
 * Start the JVM with {@code --enable-native-access=ALL-UNNAMED} (class path) or
 * {@code --enable-native-access=dev.inkwell,dev.inkwell.bindings} (module path), or put
 * {@code Enable-Native-Access: ALL-UNNAMED} in an executable jar's manifest; without it the
 * JVM warns (and later releases refuse), and the message of the failure says so.
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

    /**
     * A CPU context using every hardware thread.
     *
     * @return a new context that the caller closes
     * @throws InkwellException with {@link Status#UNSUPPORTED} if the native library cannot
     *     be loaded (the message says why: platform, native access, missing file)
     */
    public static Inkwell create() {
        return builder().build();
    }

    /**
     * A builder for a context on another device or with fewer threads.
     *
     * @return a new builder: CPU, all hardware threads
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Chooses the device and the number of worker threads of a new context. */
    public static final class Builder {
        private Device device = Device.CPU;
        private int threads = 0;

        private Builder() {}

        /**
         * The device the kernels run on.
         *
         * @param value {@link Device#CPU} (the default) or {@link Device#CUDA}
         * @return this builder
         * @throws NullPointerException if {@code value} is null
         */
        public Builder device(Device value) {
            this.device = Objects.requireNonNull(value, "device");
            return this;
        }

        /**
         * Worker threads for CPU kernels. Results do not depend on it: every kernel gives the
         * same bits for any thread count.
         *
         * @param value 1..1024; 0 (the default) means all hardware threads
         * @return this builder
         * @throws IllegalArgumentException if {@code value} is out of range
         */
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
         * @return a new context that the caller closes
         * @throws InkwellException with {@link Status#UNSUPPORTED} if the native library
         *     cannot be loaded or the device is not available here
         */
        public Inkwell build() {
            return new Inkwell(device, threads);
        }
    }

    /**
     * Version of the native library.
     *
     * @return major.minor.patch, e.g. "0.1.0"
     * @throws InkwellException with {@link Status#UNSUPPORTED} if the library cannot be loaded
     */
    public static String version() {
        NativeLibrary.ensureLoaded();
        int v = InkwellNative.inkwell_version();
        return (v / 10000) + "." + (v / 100 % 100) + "." + (v % 100);
    }

    /**
     * Widest SIMD instruction set the CPU kernels use now: the CPU's own
     * ({@link #cpuSimdLevelSupported()}) unless a lower level is forced, by the system property
     * {@code inkwell.simd} (read when the native library loads, see {@link NativeLibrary#SIMD_PROPERTY})
     * or the environment variable {@code INKWELL_SIMD}; both take {@code scalar}, {@code sse4.1},
     * {@code avx2} or {@code avx512}. SSE4_1 runs the portable code (no kernel has an SSE4.1
     * variant); AVX2 means AVX2 + FMA; AVX512 means AVX-512 F, BW and VL besides. Results are
     * bit-identical between AVX2 and AVX512 where the kernels' multiply-add order is the same
     * (conv2d, linear) and may differ in the last bits from the portable code.
     *
     * @return SCALAR, SSE4_1, AVX2 or AVX512
     * @throws InkwellException with {@link Status#UNSUPPORTED} if the library cannot be loaded
     */
    public static String cpuSimdLevel() {
        NativeLibrary.ensureLoaded();
        return simdLevelName(InkwellNative.inkwell_cpu_simd_level());
    }

    /**
     * Widest SIMD instruction set this CPU (and OS) supports, whatever level is forced.
     *
     * @return SCALAR, SSE4_1, AVX2 or AVX512
     * @throws InkwellException with {@link Status#UNSUPPORTED} if the library cannot be loaded
     */
    public static String cpuSimdLevelSupported() {
        NativeLibrary.ensureLoaded();
        return simdLevelName(InkwellNative.inkwell_cpu_simd_level_supported());
    }

    private static String simdLevelName(int level) {
        return switch (level) {
            case 1 -> "SSE4_1";
            case 2 -> "AVX2";
            case 3 -> "AVX512";
            default -> "SCALAR";
        };
    }

    /**
     * The device this context runs on.
     *
     * @return its device
     */
    public Device device() {
        return device;
    }

    /**
     * Worker threads of this context.
     *
     * @return the number of threads CPU kernels use
     */
    public int threads() {
        return threads;
    }

    // ---- Canny --------------------------------------------------------------------------

    /**
     * Canny edges of a 1- or 3-channel image with ControlNet's settings, as a new image.
     *
     * @param src 1 or 3 channels
     * @return a new 1-channel image (0 or 255) that the caller closes
     * @throws NullPointerException if {@code src} is null
     * @throws IllegalArgumentException if {@code src} has 2 or 4 channels
     * @throws IllegalStateException if this context or an argument is closed (the message names it)
     */
    public Image canny(Image src) {
        return canny(src, CannyOptions.defaults());
    }

    /**
     * Canny edges as a new 1-channel image (0 or 255) that the caller closes.
     *
     * @param src 1 or 3 channels
     * @param options thresholds, aperture, magnitude and blur
     * @return a new 1-channel image that the caller closes
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if {@code src} has 2 or 4 channels
     * @throws IllegalStateException if this context or an argument is closed (the message names it)
     */
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
     *
     * @param src 1 or 3 channels
     * @param dst 1 channel, src's height and width
     * @param options thresholds, aperture, magnitude and blur
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the channels or sizes do not fit, dst overlaps src,
     *     or an image is in another device's memory
     * @throws IllegalStateException if this context or an argument is closed (the message names it)
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
        run("canny", names("src", "dst"), (arena, context) -> {
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

    /**
     * A blurred copy of {@code src} (same channels) that the caller closes.
     *
     * @param src any image
     * @param blur kernel size and sigma
     * @return a new image shaped like src that the caller closes
     * @throws NullPointerException if an argument is null
     * @throws IllegalStateException if this context or an argument is closed (the message names it)
     */
    public Image gaussianBlur(Image src, BlurOptions blur) {
        Objects.requireNonNull(src, "src");
        Image dst = newImage(src.height(), src.width(), src.channels());
        return closingOnFailure(dst, () -> gaussianBlur(src, dst, blur));
    }

    /**
     * Gaussian blur into {@code dst} (same shape as {@code src}, not overlapping it), as
     * {@code cv2.GaussianBlur} computes it for 8-bit images: bit-exact fixed point,
     * reflect-101 borders.
     *
     * @param src any image
     * @param dst src's height, width and channels
     * @param blur kernel size and sigma
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the shapes differ, dst overlaps src, or an image is
     *     in another device's memory
     * @throws IllegalStateException if this context or an argument is closed (the message names it)
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
        run("gaussianBlur", names("src", "dst"), (arena, context) -> {
            MemorySegment p = inkwell_gaussian_blur_params.allocate(arena);
            describe(src, inkwell_gaussian_blur_params.src(p));
            describe(dst, inkwell_gaussian_blur_params.dst(p));
            inkwell_gaussian_blur_params.ksize(p, blur.kernelSize());
            inkwell_gaussian_blur_params.sigma(p, blur.sigma());
            return InkwellNative.inkwell_gaussian_blur_u8(context, p);
        }, src, dst);
    }

    // ---- resize -------------------------------------------------------------------------

    /**
     * A width x height copy of {@code src} (same channels) that the caller closes, identical
     * to {@code cv2.resize(src, (width, height), interpolation=...)} of OpenCV 4.6 on 8-bit
     * images; see {@link ControlNetAnnotator} for ControlNet's use of it.
     *
     * @param src any image
     * @param width the new width, 1..{@value Image#MAX_SIDE}
     * @param height the new height, 1..{@value Image#MAX_SIDE}
     * @param interpolation how samples are computed
     * @return a new image in this context's memory that the caller closes
     * @throws NullPointerException if {@code src} or {@code interpolation} is null
     * @throws IllegalArgumentException if a size is out of range
     * @throws IllegalStateException if this context or an argument is closed (the message names it)
     */
    public Image resize(Image src, int width, int height, Interpolation interpolation) {
        return ResizeKernel.resize(this, src, width, height, interpolation);
    }

    /**
     * As {@link #resize(Image, int, int, Interpolation)}, into {@code dst} (its size, src's channels, not overlapping src).
     *
     * @param src any image
     * @param dst the output: any size, src's channels
     * @param interpolation how samples are computed
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the channels differ, dst overlaps src, or an image
     *     is in another device's memory
     * @throws IllegalStateException if this context or an argument is closed (the message names it)
     */
    public void resize(Image src, Image dst, Interpolation interpolation) {
        ResizeKernel.run(this, src, dst, interpolation);
    }

    // ---- conv2d -------------------------------------------------------------------------

    /**
     * conv2d of an NCHW input with weights [out_channels, in_channels / groups, kh, kw] and an
     * optional bias [out_channels] (null for none), as {@code torch.nn.functional.conv2d}
     * followed by the options' activation. Returns a new tensor the caller closes.
     * Float32, float16 or bfloat16, one type for all tensors of the call.
     *
     * @param input [batch, in_channels, height, width]
     * @param weight [out_channels, in_channels / groups, kh, kw]
     * @param bias [out_channels], or null for none
     * @param options stride, padding, dilation, groups and activation
     * @return a new tensor [batch, out_channels, out_height, out_width] of input's type
     * @throws NullPointerException if input, weight or options is null
     * @throws IllegalArgumentException if a shape does not fit (the message names the tensor
     *     and its shape), the element types differ, the kernel exceeds the padded input,
     *     or a tensor is in another device's memory
     * @throws IllegalStateException if this context or an argument is closed (the message names it)
     */
    public Tensor conv2d(Tensor input, Tensor weight, Tensor bias, Conv2dOptions options) {
        Objects.requireNonNull(options, "options");
        long[] shape = Conv2dKernel.outputShape(input, weight, options);
        Tensor out = newTensor(input.elementType(), shape);
        return closingOnFailure(out, () -> conv2d(input, weight, bias, out, options));
    }

    /**
     * conv2d into a preallocated output of shape [batch, out_channels, out_height, out_width].
     *
     * @param input [batch, in_channels, height, width]
     * @param weight [out_channels, in_channels / groups, kh, kw]
     * @param bias [out_channels], or null for none
     * @param output [batch, out_channels, out_height, out_width], overlapping no input
     * @param options stride, padding, dilation, groups and activation
     * @throws NullPointerException if input, weight, output or options is null
     * @throws IllegalArgumentException if a shape does not fit, the element types differ, the
     *     output overlaps an input,
     *     or a tensor is in another device's memory
     * @throws IllegalStateException if this context or an argument is closed (the message names it)
     */
    public void conv2d(Tensor input, Tensor weight, Tensor bias, Tensor output, Conv2dOptions options) {
        Objects.requireNonNull(options, "options");
        Conv2dKernel.run(this, input, weight, bias, output, options);
    }

    // ---- attention ----------------------------------------------------------------------

    /**
     * Fused attention softmax(q k^T scale + mask) v for q [batch, heads, q_len, head_dim] and
     * k, v [batch, heads, kv_len, head_dim] (head_dim up to 512), in one pass with an online
     * softmax; with {@link AttentionLayout#BLHD} in the options, q [batch, q_len, heads,
     * head_dim] and k, v [batch, kv_len, heads, head_dim]. Returns a new tensor shaped like q.
     * Float32, float16 or bfloat16, one type for all tensors of the call.
     *
     * @param q queries
     * @param k keys: q's batch, heads and head_dim
     * @param v values: k's shape
     * @param options scale, masks and layout
     * @return a new tensor shaped like q, of q's type, that the caller closes
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if a shape does not fit, head_dim exceeds 512, the kv
     *     lengths do not fit the batch or kv_len, the element types differ,
     *     or a tensor is in another device's memory
     * @throws IllegalStateException if this context or an argument is closed (the message names it)
     */
    public Tensor attention(Tensor q, Tensor k, Tensor v, AttentionOptions options) {
        Objects.requireNonNull(q, "q");
        Objects.requireNonNull(options, "options");
        Tensor out = newTensor(q.elementType(), q.shape());
        return closingOnFailure(out, () -> attention(q, k, v, out, options));
    }

    /**
     * Attention into a preallocated output shaped like q.
     *
     * @param q queries
     * @param k keys: q's batch, heads and head_dim
     * @param v values: k's shape
     * @param out q's shape and type, overlapping neither q, k nor v
     * @param options scale, masks and layout
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException as {@link #attention(Tensor, Tensor, Tensor, AttentionOptions)},
     *     or if out overlaps an input
     * @throws IllegalStateException if this context or an argument is closed (the message names it)
     */
    public void attention(Tensor q, Tensor k, Tensor v, Tensor out, AttentionOptions options) {
        Objects.requireNonNull(options, "options");
        AttentionKernel.run(this, q, k, v, out, options);
    }

    // ---- layers and tensor plumbing ------------------------------------------------------

    /**
     * Group and layer norm, linear, GEGLU, activations and the timestep embedding on this
     * context (float32, float16 or bfloat16). Cheap: a new view of this context per call.
     *
     * @return the layers on this context
     */
    public Layers layers() {
        return new Layers(this);
    }

    /**
     * add, cat, transpose and max pooling of float32 tensors on this context; cheap, as {@link #layers()}.
     *
     * @return the tensor operations on this context
     */
    public TensorOps ops() {
        return new TensorOps(this);
    }

    // ---- DDIM ---------------------------------------------------------------------------

    /**
     * One DDIM step from {@code timestep} to {@code prevTimestep} (negative after the last
     * step: the scheduler's final alpha), as diffusers' {@code DDIMScheduler.step}, in one
     * pass over memory.
     *
     * @param scheduler the schedule (alphas, prediction type, clipping)
     * @param timestep t, 0..trainTimesteps-1
     * @param prevTimestep the timestep stepped to, below t; negative after the last step
     * @param sample x_t, float32
     * @param modelOutput the model's prediction for x_t, sample's shape
     * @param eta DDIM eta, finite and &gt;= 0 (0: deterministic)
     * @param noise variance noise shaped like the sample; required when eta &gt; 0, else may be null
     * @param prevSample receives x_prev, sample's shape, overlapping no input
     * @param predOriginal receives the predicted x0, or null
     * @throws NullPointerException if the scheduler, sample, model output or previous sample is null
     * @throws IllegalArgumentException if a timestep or eta is out of range, a shape differs, a
     *     tensor is not float32, an output overlaps an input, or a tensor is in another
     *     device's memory
     * @throws IllegalStateException if this context or an argument is closed (the message names it)
     */
    public void ddimStep(DdimScheduler scheduler, int timestep, int prevTimestep, Tensor sample, Tensor modelOutput,
            double eta, Tensor noise, Tensor prevSample, Tensor predOriginal) {
        DdimKernels.step(this, scheduler, timestep, prevTimestep, sample, modelOutput, null, 1.0, eta, noise, prevSample,
                predOriginal);
    }

    /**
     * One DDIM step with classifier-free guidance: the model output is
     * {@code uncond + guidanceScale (cond - uncond)}, combined in the same pass.
     *
     * @param scheduler the schedule (alphas, prediction type, clipping)
     * @param timestep t, 0..trainTimesteps-1
     * @param prevTimestep the timestep stepped to, below t; negative after the last step
     * @param sample x_t, float32
     * @param cond the conditional model output, sample's shape
     * @param uncond the unconditional model output, sample's shape
     * @param guidanceScale the guidance scale, finite
     * @param eta DDIM eta, finite and &gt;= 0 (0: deterministic)
     * @param noise variance noise shaped like the sample; required when eta &gt; 0, else may be null
     * @param prevSample receives x_prev, sample's shape, overlapping no input
     * @param predOriginal receives the predicted x0, or null
     * @throws NullPointerException if the scheduler, sample, cond, uncond or previous sample is null
     * @throws IllegalArgumentException as {@link #ddimStep}, or if the guidance scale is not finite
     * @throws IllegalStateException if this context or an argument is closed (the message names it)
     */
    public void ddimStepGuided(DdimScheduler scheduler, int timestep, int prevTimestep, Tensor sample, Tensor cond,
            Tensor uncond, double guidanceScale, double eta, Tensor noise, Tensor prevSample, Tensor predOriginal) {
        Objects.requireNonNull(uncond, "uncond");
        DdimKernels.step(this, scheduler, timestep, prevTimestep, sample, cond, uncond, guidanceScale, eta, noise,
                prevSample, predOriginal);
    }

    /**
     * Forward noising: {@code out = sqrt(a) original + sqrt(1 - a) noise} with a = alphas_cumprod[timestep].
     *
     * @param scheduler the schedule of alphas
     * @param original x_0, float32
     * @param noise original's shape, float32
     * @param timestep t, 0..trainTimesteps-1
     * @param out original's shape, float32; may not partly overlap an input
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the timestep is out of range, a shape differs, a
     *     tensor is not float32, out overlaps an input, or a tensor is in another device's memory
     * @throws IllegalStateException if this context or an argument is closed (the message names it)
     */
    public void addNoise(DdimScheduler scheduler, Tensor original, Tensor noise, int timestep, Tensor out) {
        DdimKernels.addNoise(this, scheduler, original, noise, timestep, out);
    }

    /**
     * Fills {@code out} with standard normal noise, elements 0.. of the stream of {@code seed}:
     * the same numbers for any thread count and on every backend.
     *
     * @param out the tensor to fill, float32
     * @param seed the stream
     * @throws NullPointerException if {@code out} is null
     * @throws IllegalArgumentException if {@code out} is not float32 or in another device's memory
     * @throws IllegalStateException if this context or an argument is closed (the message names it)
     */
    public void randn(Tensor out, long seed) {
        DdimKernels.randn(this, out, seed, 0);
    }

    /**
     * As {@link #randn(Tensor, long)}, starting at element {@code offset} of the stream.
     *
     * @param out the tensor to fill, float32
     * @param seed the stream
     * @param offset the first element of the stream used, at least 0
     * @throws NullPointerException if {@code out} is null
     * @throws IllegalArgumentException if {@code offset} is negative, {@code out} is not
     *     float32 or in another device's memory
     * @throws IllegalStateException if this context or an argument is closed (the message names it)
     */
    public void randn(Tensor out, long seed, long offset) {
        DdimKernels.randn(this, out, seed, offset);
    }

    // ---- resampling ---------------------------------------------------------------------

    /**
     * 2x up- or down-sampling of an NCHW float32 tensor.
     *
     * @param input [batch, channels, height, width], float32
     * @param mode the resampling
     * @return a new tensor that the caller closes
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if input is not rank 4 or float32, smaller than 2x2
     *     for a downsampling mode, or in another device's memory
     * @throws IllegalStateException if this context or an argument is closed (the message names it)
     */
    public Tensor resample(Tensor input, ResampleMode mode) {
        Objects.requireNonNull(mode, "mode");
        ShapeChecks.rank(input, 4, "input", "[batch, channels, height, width]");
        ShapeChecks.float32("resample", "input", input);
        Tensor out = newTensor(ElementType.FLOAT32, mode.outputShape(input.shape()));
        return closingOnFailure(out, () -> resample(input, out, mode));
    }

    /**
     * 2x up- or down-sampling into a preallocated output.
     *
     * @param input [batch, channels, height, width], float32
     * @param output the mode's output shape, float32, not overlapping input
     * @param mode the resampling
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if a shape does not fit, a tensor is not float32,
     *     output overlaps input, or a tensor is in another device's memory
     * @throws IllegalStateException if this context or an argument is closed (the message names it)
     */
    public void resample(Tensor input, Tensor output, ResampleMode mode) {
        ResampleKernel.run(this, input, output, mode);
    }

    /**
     * Nearest-neighbour resampling of an NCHW tensor to any size, up or down: PyTorch's
     * {@code F.interpolate(input, size=(outHeight, outWidth), mode="nearest")}
     * ({@code upsample_nearest2d}, not "nearest-exact"), as diffusers' Upsample2D calls it when
     * the U-Net's sample size is not a multiple of its upsampling factor. Per axis, in float32
     * as PyTorch computes it: an equal size copies, twice the size takes {@code dst / 2},
     * otherwise {@code src = min(floor(dst * (float) in / out), in - 1)}. Every output element
     * is a copy of an input element, bit for bit (NaN included), on every device and for every
     * element type (float16 and bfloat16 give what PyTorch gives in that type, or through
     * float32 as diffusers casts bfloat16).
     *
     * @param input [batch, channels, height, width], float32, float16 or bfloat16
     * @param outHeight output height, at least 1
     * @param outWidth output width, at least 1
     * @return a new tensor [batch, channels, outHeight, outWidth] of input's element type that
     *     the caller closes
     * @throws NullPointerException if input is null
     * @throws IllegalArgumentException if input is not rank 4, an output side is below 1, the
     *     output would have more than 2^40 elements, or input is in another device's memory
     * @throws IllegalStateException if this context or input is closed (the message names it)
     */
    public Tensor upsampleNearest2d(Tensor input, long outHeight, long outWidth) {
        long[] shape = ResampleKernel.nearestOutputShape(input, outHeight, outWidth);
        Tensor out = newTensor(input.elementType(), shape);
        return closingOnFailure(out, () -> upsampleNearest2d(input, out));
    }

    /**
     * {@link #upsampleNearest2d(Tensor, long, long)} into a preallocated output, whose last two
     * dimensions give the size.
     *
     * @param input [batch, channels, height, width], float32, float16 or bfloat16
     * @param output [batch, channels, out_height, out_width] of input's element type, not
     *     overlapping input
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if a tensor is not rank 4, the batch or channels or the
     *     element types differ, output overlaps input, or a tensor is in another device's memory
     * @throws IllegalStateException if this context or an argument is closed (the message names it)
     */
    public void upsampleNearest2d(Tensor input, Tensor output) {
        ResampleKernel.upsampleNearest2d(this, input, output);
    }

    // ---- metrics ------------------------------------------------------------------------

    /**
     * PSNR in dB (data range 255) over all samples.
     *
     * @param reference the reference image
     * @param test reference's height, width and channels
     * @return the PSNR; +infinity for identical images
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the shapes differ or an image is in another device's memory
     * @throws IllegalStateException if this context or an argument is closed (the message names it)
     */
    public double psnr(Image reference, Image test) {
        return MetricsKernels.psnr(this, reference, test);
    }

    /**
     * SSIM as scikit-image computes it with {@code gaussian_weights=True, sigma=1.5,
     * use_sample_covariance=False, data_range=255}: mean over the valid region, channels
     * averaged. Images of at least 11x11.
     *
     * @param reference the reference image
     * @param test reference's height, width and channels
     * @return the SSIM, at most 1
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the shapes differ, an image is smaller than 11x11 or
     *     in another device's memory
     * @throws IllegalStateException if this context or an argument is closed (the message names it)
     */
    public double ssim(Image reference, Image test) {
        return MetricsKernels.ssim(this, reference, test);
    }

    /** A result image in this context's memory (the host's for a CPU context). */
    private Image newImage(int height, int width, int channels) {
        return device == Device.CPU ? Image.allocate(height, width, channels) : Image.allocate(this, height, width, channels);
    }

    /**
     * A result tensor in this context's memory (the host's for a CPU context), from the
     * {@link Workspace} bound on this thread for this context if there is one. Its contents
     * are unspecified: every kernel writes its whole result.
     */
    Tensor newTensor(ElementType type, long[] shape) {
        return device == Device.CPU && Workspace.bound(this) == null ? Tensor.allocate(type, shape)
                : Tensor.allocate(this, type, shape);
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
     *
     * @param src host memory or this context's
     * @param dst src's shape and element type, host memory or this context's, not overlapping src
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the shapes or types differ, they overlap, or a tensor
     *     is in another device's memory
     * @throws IllegalStateException if this context or an argument is closed (the message names it)
     */
    public void copy(Tensor src, Tensor dst) {
        Objects.requireNonNull(src, "src");
        Objects.requireNonNull(dst, "dst");
        ShapeChecks.shape(dst, src.shape(), "copy destination");
        ShapeChecks.sameElementType("copy", src, "source", dst, "destination");
        ShapeChecks.noOverlap("copy", dst, "destination", src);
        runCopy("copy", names("src", "dst"), dst::nativeSegment, src::nativeSegment,
                src.elementCount() * src.elementType().byteSize(), src, dst);
    }

    /**
     * Copies the pixels of {@code src} into {@code dst} (same size, channels and row stride), as {@link #copy(Tensor, Tensor)}.
     *
     * @param src host memory or this context's
     * @param dst src's height, width, channels and row stride, not overlapping src
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the shapes differ, they overlap, or an image is in
     *     another device's memory
     * @throws IllegalStateException if this context or an argument is closed (the message names it)
     */
    public void copy(Image src, Image dst) {
        Objects.requireNonNull(src, "src");
        Objects.requireNonNull(dst, "dst");
        if (src.height() != dst.height() || src.width() != dst.width() || src.channels() != dst.channels()
                || src.rowStride() != dst.rowStride()) {
            throw new IllegalArgumentException("copy: dst is " + dst + " but src is " + src
                    + " (height, width, channels and row stride must match)");
        }
        checkNoOverlap(src, dst, "copy");
        long bytes = Image.checkShape(src.height(), src.width(), src.channels(), src.rowStride());
        runCopy("copy", names("src", "dst"), dst::nativeSegment, src::nativeSegment, bytes, src, dst);
    }

    /**
     * A copy of {@code src} in this context's memory (GPU memory for a CUDA context, host
     * memory allocated through the context for a CPU one) that the caller closes: the usual
     * way to hand host data to a CUDA context's kernels.
     *
     * @param src host memory or this context's
     * @return a new tensor in this context's memory that the caller closes
     * @throws NullPointerException if {@code src} is null
     * @throws IllegalArgumentException if {@code src} is in another device's memory
     * @throws IllegalStateException if this context or an argument is closed (the message names it)
     * @throws InkwellException with {@link Status#OUT_OF_MEMORY} if the device memory cannot
     *     be allocated
     */
    public Tensor copyToDevice(Tensor src) {
        Objects.requireNonNull(src, "src");
        Tensor dst = Tensor.allocate(this, src.elementType(), src.shape());
        return closingOnFailure(dst, () -> copy(src, dst));
    }

    /**
     * A tightly packed copy of {@code src} in this context's memory, as {@link #copyToDevice(Tensor)}.
     *
     * @param src host memory or this context's
     * @return a new image in this context's memory that the caller closes
     * @throws NullPointerException if {@code src} is null
     * @throws IllegalArgumentException if {@code src} is in another device's memory
     * @throws IllegalStateException if this context or an argument is closed (the message names it)
     * @throws InkwellException with {@link Status#OUT_OF_MEMORY} if the device memory cannot
     *     be allocated
     */
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

    /**
     * A copy of {@code src} (in this context's memory or the host's) in owned host memory.
     *
     * @param src host memory or this context's
     * @return a new host tensor that the caller closes
     * @throws NullPointerException if {@code src} is null
     * @throws IllegalArgumentException if {@code src} is in another device's memory
     * @throws IllegalStateException if this context or an argument is closed (the message names it)
     */
    public Tensor copyToHost(Tensor src) {
        Objects.requireNonNull(src, "src");
        Tensor dst = Tensor.allocate(src.elementType(), src.shape());
        return closingOnFailure(dst, () -> copy(src, dst));
    }

    /**
     * A tightly packed copy of {@code src} in owned host memory.
     *
     * @param src host memory or this context's
     * @return a new host image that the caller closes
     * @throws NullPointerException if {@code src} is null
     * @throws IllegalStateException if {@code src} is closed
     */
    public Image copyToHost(Image src) {
        Objects.requireNonNull(src, "src");
        return Image.fromBytes(src.toByteArray(), src.height(), src.width(), src.channels());
    }

    /**
     * Host memory the device can copy from and to at full speed (page-locked for a CUDA
     * context; ordinary aligned memory for a CPU one), owned by {@code arena}: freed when it
     * closes, which must come before this context's close. Wrap it with
     * {@link Tensor#wrap} or {@link Image#wrap}.
     *
     * @param arena the arena that owns the memory (a shared or confined one of this thread)
     * @param bytes at least 1
     * @return the memory, 64-byte aligned
     * @throws NullPointerException if {@code arena} is null
     * @throws IllegalArgumentException if {@code bytes} is below 1
     * @throws IllegalStateException if this context or the arena is closed
     * @throws InkwellException with {@link Status#OUT_OF_MEMORY} if it cannot be allocated
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
        runCopy(operation, names(resource instanceof Image ? "image" : "tensor"), toDevice ? () -> memory : () -> host,
                toDevice ? () -> host : () -> memory, memory.byteSize(), resource);
    }

    /** A copy of {@code bytes}; the segments are taken once the resources are held open. */
    private void runCopy(String operation, String[] names, Supplier<MemorySegment> dst, Supplier<MemorySegment> src,
            long bytes, Object... resources) {
        checkDevices(operation, resources, true);
        enterAndCall(operation, names, (arena, ctx) -> InkwellNative.inkwell_copy(ctx, dst.get(), src.get(), bytes,
                InkwellNative.INKWELL_COPY_DEFAULT()), resources);
    }

    // ---- lifecycle ----------------------------------------------------------------------

    /**
     * Whether {@link #close()} was called.
     *
     * @return true once closed
     */
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
        run(operation, null, call, resources);
    }

    /**
     * As {@link #run(String, NativeCall, Object...)}, with the names of the resources (one
     * per resource, in order; see {@link #names}) for messages: "attention: k is closed".
     */
    void run(String operation, String[] names, NativeCall call, Object... resources) {
        if (names != null && names.length != resources.length) {
            throw new IllegalArgumentException(operation + ": " + names.length + " names for " + resources.length
                    + " resources"); // a kernel class's mistake, not the user's
        }
        checkDevices(operation, resources, false);
        enterAndCall(operation, names, call, resources);
    }

    /** The names of a call's images and tensors, in the order they are passed to {@link #run}. */
    static String[] names(String... names) {
        return names;
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

    private void enterAndCall(String operation, String[] names, NativeCall call, Object[] resources) {
        guard.enter();
        try {
            enterAll(resources, names, 0, operation, call);
        } finally {
            guard.exit();
            // The native call sees only addresses: without these fences the JIT may treat this
            // context and the images and tensors as unreachable while it runs, and the
            // cleaners (the context's, and the safety net of unclosed images and tensors)
            // could free them under it.
            for (Object r : resources) {
                Reference.reachabilityFence(r);
            }
            Reference.reachabilityFence(this);
        }
    }

    /**
     * Enters the guard of each image or tensor in turn, checks its memory is alive, then
     * makes the call; a closed one is reported by its name ("attention: k is closed").
     */
    private void enterAll(Object[] resources, String[] names, int i, String operation, NativeCall call) {
        if (i == resources.length) {
            try (Arena arena = Arena.ofConfined()) {
                NativeCalls.check(call.call(arena, context), operation);
            }
            return;
        }
        Object r = resources[i];
        if (r == null) { // optional inputs (bias, noise, ...)
            enterAll(resources, names, i + 1, operation, call);
            return;
        }
        String name = names != null ? names[i] : (r instanceof Image ? "image" : "tensor") + " (argument " + (i + 1) + ")";
        CloseGuard g = r instanceof Image image ? image.guard() : ((Tensor) r).guard();
        if (!g.tryEnter()) {
            throw new IllegalStateException(operation + ": " + name
                    + (r instanceof Tensor t && !t.isClosed() ? " is a view whose tensor is closed" : " is closed"));
        }
        try {
            if (r instanceof Tensor t && t.isClosed()) { // a closed view of an open tensor
                throw new IllegalStateException(operation + ": " + name + " is closed");
            }
            if (!(r instanceof Image image ? image.memoryAlive() : ((Tensor) r).memoryAlive())) {
                throw new IllegalStateException(operation + ": " + name + "'s " + (r instanceof Image ? "image" : "tensor")
                        + " memory was freed: the arena it was allocated in or wrapped from is closed");
            }
            enterAll(resources, names, i + 1, operation, call);
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

    /** Reads no pixel, so closed images pass: run() then names the closed one. */
    private static void checkNoOverlap(Image src, Image dst, String operation) {
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
