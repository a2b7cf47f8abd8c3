package dev.inkwell.models;

import dev.inkwell.Device;
import dev.inkwell.ElementType;
import dev.inkwell.Image;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * LPIPS, the learned perceptual image distance of Zhang et al. (2018), version 0.1 with the
 * AlexNet trunk: {@code lpips.LPIPS(net='alex', version='0.1')(in0, in1, retPerLayer=True)} of
 * the lpips package (richzhang/PerceptualSimilarity). Lower is more similar; identical images
 * give 0. Next to PSNR and SSIM ({@link Inkwell#psnr}, {@link Inkwell#ssim}) it is the third
 * metric of a colorization against its reference.
 *
 * <pre>{@code
 * try (Lpips lpips = Lpips.load(Path.of("lpips_alex_v0.1.safetensors"), inkwell);
 *      Image a = Image.read(Path.of("colorized.png"));
 *      Image b = Image.read(Path.of("reference.png"))) {
 *     Lpips.Distance d = lpips.distance(a, b);   // d.total(), d.perLayer()[0..4]
 * }
 * }</pre>
 *
 * <p><b>Definition.</b> Each image, scaled to [-1, 1], goes through lpips' {@code ScalingLayer}
 * ({@code (x - shift) / scale} per channel, shift (-0.030, -0.088, -0.188), scale (0.458, 0.448,
 * 0.450)) and AlexNet's {@code features} (conv 11x11 stride 4 padding 2, ReLU, max pool 3 stride
 * 2, conv 5x5 padding 2, ReLU, max pool, three conv 3x3 padding 1 with ReLUs), tapped after each
 * ReLU (relu1..relu5). For each tap, the features of each pixel are divided by their norm over
 * the channels plus 1e-10 ({@code lpips.normalize_tensor}), the two images' normalized
 * features are subtracted and squared, weighted by the tap's linear layer
 * ({@code lin<k>.model.1}, a 1x1 convolution without bias, C -&gt; 1) and averaged over the
 * pixels: that is the layer's term. The distance is the sum of the five terms.
 *
 * <p><b>Weights.</b> One safetensors file with the LPIPS module's own key names, as
 * {@code LPIPS.state_dict()} has them: {@code net.slice1.0.weight} [64, 3, 11, 11] and
 * {@code .bias}, {@code net.slice2.3.*} [192, 64, 5, 5], {@code net.slice3.6.*} [384, 192, 3, 3],
 * {@code net.slice4.8.*} [256, 384, 3, 3], {@code net.slice5.10.*} [256, 256, 3, 3], and the linear
 * layers {@code lin0..lin4.model.1.weight} [1, C, 1, 1] (C = 64, 192, 384, 256, 256). The state
 * dict names each linear layer twice ({@code lin0} and {@code lins.0}, the same module); either
 * name is accepted, and where a file has both they must hold the same values. The scaling
 * layer's buffers {@code scaling_layer.shift} and {@code .scale} [1, 3, 1, 1] are used when the
 * file has them (both, finite, scale not 0), lpips' constants otherwise. F32, F16 and BF16 are
 * read; everything computes in float32 on the context, the normalization and averages in double
 * on the host. Other tensors are ignored.
 *
 * <p><b>Inputs.</b> Two 8-bit RGB images of one size, at least {@value #MIN_SIZE}x{@value #MIN_SIZE}
 * (AlexNet's second max pool needs a 3x3 input), scaled as {@code x / 127.5 - 1} (lpips'
 * {@code normalize=False} convention, as {@code lpips.im2tensor}); or two float32 tensors
 * [N, 3, H, W] with values in [-1, 1] for N pairs at once.
 *
 * <p><b>Memory and threads.</b> The convolution weights live in the context's memory, owned by
 * the model and freed by {@link #close()}. A call allocates its activations, frees each once
 * used, and only reads the weights: several threads may call {@link #distance} at once, as far
 * as the context may be shared between threads. {@link #close()} must not run during a call.
 * The result does not depend on the thread count (the reductions on the host run in a fixed order).
 */
public final class Lpips implements AutoCloseable {
    /** The smallest height and width of an input: 31 (smaller images leave AlexNet's second pool less than its window). */
    public static final int MIN_SIZE = AlexNet.MIN_SIZE;

    /** The names of the five terms, in {@link Distance#perLayer()} order: lpips' {@code AlexnetOutputs} fields. */
    public static final List<String> LAYERS = List.of("relu1", "relu2", "relu3", "relu4", "relu5");

    /** ScalingLayer's buffers, registered by lpips as float32 tensors, widened exactly. */
    private static final float[] SHIFT = {-.030f, -.088f, -.188f}, SCALE = {.458f, .448f, .450f};
    /** lpips.normalize_tensor's eps. */
    private static final double EPS = 1e-10;

    /**
     * One LPIPS distance and its five terms.
     *
     * @param total the distance: the sum of the per-layer terms, &gt;= 0 for non-negative linear weights
     * @param perLayer the terms of relu1..relu5 ({@link #LAYERS}), 5 values
     */
    public record Distance(double total, double[] perLayer) {
        /**
         * Copies the terms.
         *
         * @throws NullPointerException if perLayer is null
         * @throws IllegalArgumentException if perLayer does not have 5 values
         */
        public Distance {
            perLayer = Objects.requireNonNull(perLayer, "perLayer").clone();
            if (perLayer.length != LAYERS.size()) {
                throw new IllegalArgumentException("perLayer has " + perLayer.length + " values, expected "
                        + LAYERS.size());
            }
        }

        /**
         * The per-layer terms.
         *
         * @return a copy of the 5 terms, relu1 first
         */
        @Override
        public double[] perLayer() {
            return perLayer.clone();
        }

        /**
         * Equal totals and terms (as {@link Double#compare}).
         *
         * @param o another object
         * @return whether o is a Distance with the same values
         */
        @Override
        public boolean equals(Object o) {
            return o instanceof Distance d && Double.compare(total, d.total) == 0 && Arrays.equals(perLayer, d.perLayer);
        }

        /**
         * A hash of the values.
         *
         * @return the hash
         */
        @Override
        public int hashCode() {
            return 31 * Double.hashCode(total) + Arrays.hashCode(perLayer);
        }

        /**
         * The values.
         *
         * @return a readable form
         */
        @Override
        public String toString() {
            return "Distance[total " + total + ", perLayer " + Arrays.toString(perLayer) + "]";
        }
    }

    private final Inkwell context;
    private final ModuleWeights weights;
    private final AlexNet net;
    private final double[][] lin; // lin<k>.model.1.weight as [C_k]
    private final double[] shift, scale;
    private volatile boolean closed;

    private Lpips(Inkwell context, ModuleWeights weights, AlexNet net, double[][] lin, double[] shift, double[] scale) {
        this.context = context;
        this.weights = weights;
        this.net = net;
        this.lin = lin;
        this.shift = shift;
        this.scale = scale;
    }

    /**
     * Loads LPIPS v0.1 (AlexNet) from one safetensors file with the LPIPS module's key names (see
     * the class comment).
     *
     * @param file the {@code .safetensors} file
     * @param context where the weights live and the passes run
     * @return the model, which the caller closes
     * @throws IOException naming the file (and the tensor) if the file is missing or invalid, or a
     *     weight is missing, misshaped, of an unsupported dtype, non-finite where it is read on the
     *     host, or given twice with different values
     * @throws NullPointerException if an argument is null
     * @throws IllegalStateException if the context is closed
     */
    public static Lpips load(Path file, Inkwell context) throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(context, "context");
        try (SafeTensors checkpoint = SafeTensors.open(file)) {
            return load(checkpoint, context);
        }
    }

    /**
     * Builds the model from an open checkpoint (copying what it needs: the checkpoint may be
     * closed afterwards).
     *
     * @param checkpoint the weights, with the LPIPS module's key names; extra tensors are ignored
     * @param context where the weights live and the passes run
     * @return the model, which the caller closes
     * @throws IOException as {@link #load(Path, Inkwell)}
     * @throws NullPointerException if an argument is null
     * @throws IllegalStateException if the context or the checkpoint is closed
     */
    public static Lpips load(SafeTensors checkpoint, Inkwell context) throws IOException {
        Objects.requireNonNull(checkpoint, "checkpoint");
        Objects.requireNonNull(context, "context");
        ModuleWeights w = new ModuleWeights(checkpoint, context, ElementType.FLOAT32);
        try {
            AlexNet net = AlexNet.load(w);
            double[][] lin = new double[LAYERS.size()][];
            for (int k = 0; k < lin.length; k++) {
                lin[k] = linearLayer(checkpoint, context, k);
            }
            double[] shift = new double[3], scale = new double[3];
            scalingLayer(checkpoint, context, shift, scale);
            return new Lpips(context, w, net, lin, shift, scale);
        } catch (IOException | RuntimeException | Error e) {
            w.close();
            throw e;
        }
    }

    /** lin{k}.model.1.weight and/or lins.{k}.model.1.weight [1, C, 1, 1]: the same values where both exist. */
    private static double[] linearLayer(SafeTensors checkpoint, Inkwell context, int k) throws IOException {
        String name = "lin" + k + ".model.1.weight", alias = "lins." + k + ".model.1.weight";
        boolean hasName = checkpoint.names().contains(name), hasAlias = checkpoint.names().contains(alias);
        long c = AlexNet.CHANNELS[k];
        if (!hasName && !hasAlias) {
            throw new IOException(checkpoint.path() + ": no tensor " + name + " (nor " + alias
                    + "): not an LPIPS (AlexNet) checkpoint?");
        }
        double[] w = hasName ? hostValues(checkpoint, context, name, 1, c, 1, 1) : null;
        if (hasAlias) {
            double[] other = hostValues(checkpoint, context, alias, 1, c, 1, 1);
            if (w != null && !Arrays.equals(w, other)) {
                int i = Arrays.mismatch(w, other);
                throw new IOException(checkpoint.path() + ": tensors " + name + " and " + alias
                        + " (the same layer under its two names) differ: element " + i + " is " + w[i] + " and "
                        + other[i]);
            }
            w = other;
        }
        return w;
    }

    /** scaling_layer.shift/scale [1, 3, 1, 1] where the file has them, lpips' constants otherwise. */
    private static void scalingLayer(SafeTensors checkpoint, Inkwell context, double[] shift, double[] scale)
            throws IOException {
        String shiftName = "scaling_layer.shift", scaleName = "scaling_layer.scale";
        boolean hasShift = checkpoint.names().contains(shiftName), hasScale = checkpoint.names().contains(scaleName);
        if (!hasShift && !hasScale) {
            for (int c = 0; c < 3; c++) {
                shift[c] = SHIFT[c];
                scale[c] = SCALE[c];
            }
            return;
        }
        if (hasShift != hasScale) {
            throw new IOException(checkpoint.path() + ": has " + (hasShift ? shiftName : scaleName) + " but no "
                    + (hasShift ? scaleName : shiftName) + " (the scaling layer needs both or neither)");
        }
        System.arraycopy(hostValues(checkpoint, context, shiftName, 1, 3, 1, 1), 0, shift, 0, 3);
        System.arraycopy(hostValues(checkpoint, context, scaleName, 1, 3, 1, 1), 0, scale, 0, 3);
        for (int c = 0; c < 3; c++) {
            if (scale[c] == 0) {
                throw new IOException(checkpoint.path() + ": tensor " + scaleName + " has a 0 at channel " + c);
            }
        }
    }

    /** A small tensor's values on the host, shape checked, each finite. */
    private static double[] hostValues(SafeTensors checkpoint, Inkwell context, String name, long... shape)
            throws IOException {
        float[] v;
        try (Tensor t = checkpoint.load(name, context, ElementType.FLOAT32, shape)) {
            v = t.toArray();
        }
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                throw new IOException(checkpoint.path() + ": tensor " + name + " has " + v[i] + " at element " + i);
            }
            out[i] = v[i];
        }
        return out;
    }

    /**
     * The LPIPS distance of two 8-bit RGB images of one size, each scaled as {@code x / 127.5 - 1}.
     * Symmetric: {@code distance(a, b)} equals {@code distance(b, a)}.
     *
     * @param a an RGB image (3 channels), in the host's or the context's memory
     * @param b an RGB image of a's size
     * @return the distance and its five terms
     * @throws NullPointerException if an image is null
     * @throws IllegalArgumentException naming both sizes if they differ, or if an image does not
     *     have 3 channels or is smaller than {@value #MIN_SIZE} pixels on a side
     * @throws IllegalStateException if the model, an image or the context is closed
     */
    public Distance distance(Image a, Image b) {
        Objects.requireNonNull(a, "a");
        Objects.requireNonNull(b, "b");
        checkOpen();
        for (Image img : new Image[] {a, b}) {
            if (img.channels() != 3) {
                throw new IllegalArgumentException("LPIPS needs RGB images (3 channels); " + (img == a ? "a" : "b")
                        + " has " + img.channels());
            }
        }
        if (a.height() != b.height() || a.width() != b.width()) {
            throw new IllegalArgumentException("LPIPS needs two images of one size: a is " + a.width() + "x"
                    + a.height() + ", b is " + b.width() + "x" + b.height() + " (width x height)");
        }
        checkSize(a.height(), a.width(), a.width() + "x" + a.height() + " image");
        int h = a.height(), w = a.width();
        try (Tensor x = Tensor.allocate(ElementType.FLOAT32, 2, 3, h, w)) {
            MemorySegment dst = x.segment();
            long plane = (long) h * w;
            for (int i = 0; i < 2; i++) {
                Image img = i == 0 ? a : b;
                try (Image copy = img.device() == Device.CPU ? null : context.copyToHost(img)) {
                    Image host = copy == null ? img : copy;
                    MemorySegment src = host.segment();
                    long stride = host.rowStride();
                    byte[] row = new byte[3 * w];
                    float[] out = new float[w];
                    for (int y = 0; y < h; y++) {
                        MemorySegment.copy(src, ValueLayout.JAVA_BYTE, y * stride, row, 0, row.length);
                        for (int c = 0; c < 3; c++) {
                            for (int xx = 0; xx < w; xx++) {
                                out[xx] = scaled(Byte.toUnsignedInt(row[3 * xx + c]) / 127.5 - 1, c);
                            }
                            long at = (i * 3L + c) * plane + (long) y * w;
                            MemorySegment.copy(out, 0, dst, ValueLayout.JAVA_FLOAT, at * Float.BYTES, w);
                        }
                    }
                }
            }
            return distances(x, 1).getFirst();
        }
    }

    /**
     * The LPIPS distances of N pairs of images given as tensors, as lpips computes them for a
     * batch: pair n is {@code a[n]} and {@code b[n]}.
     *
     * @param a [N, 3, H, W] with values in [-1, 1] (lpips' {@code normalize=False} range; other
     *     finite values are computed as they are), of any element type, in any memory
     * @param b a's shape
     * @return N distances, pair 0 first
     * @throws NullPointerException if a tensor is null
     * @throws IllegalArgumentException naming both shapes if they differ, or if a is not
     *     [N, 3, H, W], H or W is less than {@value #MIN_SIZE}, or a value is NaN or infinite
     * @throws IllegalStateException if the model, a tensor or the context is closed
     */
    public List<Distance> distance(Tensor a, Tensor b) {
        Objects.requireNonNull(a, "a");
        Objects.requireNonNull(b, "b");
        checkOpen();
        if (a.rank() != 4 || a.dim(1) != 3) {
            throw new IllegalArgumentException("a is " + Arrays.toString(a.shape()) + ", expected [N, 3, H, W]");
        }
        if (!Arrays.equals(a.shape(), b.shape())) {
            throw new IllegalArgumentException("LPIPS needs tensors of one shape: a is " + Arrays.toString(a.shape())
                    + ", b is " + Arrays.toString(b.shape()));
        }
        long n = a.dim(0), h = a.dim(2), w = a.dim(3);
        checkSize(h, w, Arrays.toString(a.shape()) + " tensor");
        long half = a.elementCount();
        try (Tensor x = Tensor.allocate(ElementType.FLOAT32, 2 * n, 3, h, w)) {
            MemorySegment dst = x.segment();
            long plane = h * w;
            for (int i = 0; i < 2; i++) {
                float[] v = (i == 0 ? a : b).toArray(); // a copy from any memory; a tensor is at most 2^31 elements
                for (int j = 0; j < v.length; j++) {
                    if (!Float.isFinite(v[j])) {
                        throw new IllegalArgumentException((i == 0 ? "a" : "b") + " has " + v[j] + " at "
                                + Arrays.toString(index(j, a.shape())));
                    }
                    v[j] = scaled(v[j], (int) (j / plane % 3));
                }
                MemorySegment.copy(v, 0, dst, ValueLayout.JAVA_FLOAT, i * half * Float.BYTES, v.length);
            }
            return distances(x, Math.toIntExact(n));
        }
    }

    /** ScalingLayer: (x - shift) / scale, in double, rounded once to float32. */
    private float scaled(double x, int c) {
        return (float) ((x - shift[c]) / scale[c]);
    }

    private static void checkSize(long h, long w, String what) {
        if (h < MIN_SIZE || w < MIN_SIZE) {
            throw new IllegalArgumentException("LPIPS (AlexNet) needs at least " + MIN_SIZE + "x" + MIN_SIZE
                    + " pixels (its second max pool needs a 3x3 input), got a " + what);
        }
    }

    private static long[] index(long flat, long[] shape) {
        long[] idx = new long[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            idx[d] = flat % shape[d];
            flat /= shape[d];
        }
        return idx;
    }

    /**
     * x: [2 * pairs, 3, H, W] on the host, already scaled: the first images of the pairs, then the
     * second ones, so that one pass of the trunk serves both sides.
     */
    private List<Distance> distances(Tensor hostInput, int pairs) {
        double[][] terms = new double[pairs][LAYERS.size()];
        try (Tensor x = context.device() == Device.CPU ? null : context.copyToDevice(hostInput)) {
            net.forward(context, x == null ? hostInput : x, (layer, relu) -> {
                try (Tensor copy = relu.device() == Device.CPU ? null : context.copyToHost(relu)) {
                    Tensor f = copy == null ? relu : copy;
                    for (int p = 0; p < pairs; p++) {
                        terms[p][layer] = layerTerm(f, p, pairs, lin[layer]);
                    }
                }
            });
        }
        List<Distance> out = new ArrayList<>(pairs);
        for (double[] t : terms) {
            double total = t[0];
            for (int k = 1; k < t.length; k++) {
                total += t[k]; // lpips: val = res[0]; val += res[l], in layer order
            }
            out.add(new Distance(total, t));
        }
        return out;
    }

    /**
     * One layer's term of pair p: the mean over pixels of sum_c lin[c] (f0 / (|f0| + eps) -
     * f1 / (|f1| + eps))^2, |f| the norm over channels, f0 image p and f1 image pairs + p of the
     * tap f [2 * pairs, C, H, W] (host memory). In double, channels in order, then pixels in
     * order. Each channel plane is bulk-copied into a float[] first (element-wise segment reads
     * are slow until the JIT compiles them, and a single CLI call runs mostly cold).
     */
    private static double layerTerm(Tensor f, int p, int pairs, double[] lin) {
        int channels = Math.toIntExact(f.dim(1));
        int hw = Math.toIntExact(f.dim(2) * f.dim(3));
        MemorySegment s = f.segment();
        long base0 = (long) p * channels * hw, base1 = (long) (pairs + p) * channels * hw;
        float[] plane0 = new float[hw], plane1 = new float[hw];
        double[] norm0 = new double[hw], norm1 = new double[hw];
        for (int c = 0; c < channels; c++) {
            MemorySegment.copy(s, ValueLayout.JAVA_FLOAT, (base0 + (long) c * hw) * Float.BYTES, plane0, 0, hw);
            MemorySegment.copy(s, ValueLayout.JAVA_FLOAT, (base1 + (long) c * hw) * Float.BYTES, plane1, 0, hw);
            for (int i = 0; i < hw; i++) {
                norm0[i] += (double) plane0[i] * plane0[i];
                norm1[i] += (double) plane1[i] * plane1[i];
            }
        }
        for (int i = 0; i < hw; i++) {
            norm0[i] = Math.sqrt(norm0[i]) + EPS;
            norm1[i] = Math.sqrt(norm1[i]) + EPS;
        }
        double[] acc = new double[hw];
        for (int c = 0; c < channels; c++) {
            MemorySegment.copy(s, ValueLayout.JAVA_FLOAT, (base0 + (long) c * hw) * Float.BYTES, plane0, 0, hw);
            MemorySegment.copy(s, ValueLayout.JAVA_FLOAT, (base1 + (long) c * hw) * Float.BYTES, plane1, 0, hw);
            double weight = lin[c];
            for (int i = 0; i < hw; i++) {
                double d = plane0[i] / norm0[i] - plane1[i] / norm1[i];
                acc[i] += weight * d * d;
            }
        }
        double sum = 0;
        for (double v : acc) {
            sum += v;
        }
        return sum / hw;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
    }

    /**
     * Frees the weights. Idempotent; no call may be in progress.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        weights.close();
    }

    /**
     * What the model is.
     *
     * @return a readable description
     */
    @Override
    public String toString() {
        return "Lpips[alex, v0.1, " + context.device() + "]";
    }
}
