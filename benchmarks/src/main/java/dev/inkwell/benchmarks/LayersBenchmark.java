package dev.inkwell.benchmarks;

import dev.inkwell.Activation;
import dev.inkwell.Inkwell;
import dev.inkwell.Layers;
import dev.inkwell.Tensor;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The transformer and ResNet layers of SD 1.5's U-Net at 512x512 (float32, CFG batch 2):
 * Inkwell's {@link Layers} (into preallocated outputs) vs libtorch's {@code linear},
 * {@code group_norm}, {@code layer_norm}, and GEGLU as diffusers runs it (linear to 2 inner,
 * chunk, {@code a * gelu(gate)}), both with {@link BenchThreads#count()} threads. Time per op
 * here; {@link Report} adds GFLOP/s for linear and GEGLU ({@link Layer#work}: 2 M N K, GEGLU's
 * whole 2 inner projection) and GB/s for the norms (x read + y written).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
// JavaCPP still uses sun.misc.Unsafe; allow it quietly on JDK 24+.
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xmx4g"})
public class LayersBenchmark {
    /** Group count of every U-Net GroupNorm, and the norms' eps. */
    static final int GROUPS = 32;
    static final double EPS = 1e-5;

    enum Kind { LINEAR, GEGLU, GROUPNORM, LAYERNORM }

    /**
     * A layer on one shape, written {@code kind-dims[-features]}: "linear-2x4096x320-320" (x
     * [2,4096,320] -> 320 features), "geglu-2x4096x320-1280" (inner 1280: a projection to 2560),
     * "groupnorm-2x320x64x64" (32 groups), "layernorm-2x4096x320" (over the last dimension).
     */
    public record Layer(Kind kind, long[] input, long features) {
        public static Layer parse(String spec) {
            String[] parts = spec.split("-");
            Kind kind = switch (parts[0]) {
                case "linear" -> Kind.LINEAR;
                case "geglu" -> Kind.GEGLU;
                case "groupnorm" -> Kind.GROUPNORM;
                case "layernorm" -> Kind.LAYERNORM;
                default -> throw new IllegalArgumentException("unknown layer '" + parts[0] + "' in " + spec);
            };
            boolean projects = kind == Kind.LINEAR || kind == Kind.GEGLU;
            if (parts.length != (projects ? 3 : 2)) {
                throw new IllegalArgumentException(
                        "layer spec " + spec + ": expected kind-dims" + (projects ? "-features" : ""));
            }
            long[] input = DdimBenchmark.parseShape(parts[1]);
            return new Layer(kind, input, projects ? Long.parseLong(parts[2]) : input[input.length - 1]);
        }

        long rows() {
            return TensorData.count(input) / inFeatures();
        }

        long inFeatures() {
            return input[input.length - 1];
        }

        /** The projection's width: out features, or 2 inner for GEGLU. */
        long projected() {
            return kind == Kind.GEGLU ? 2 * features : features;
        }

        /** The input's shape with the last dimension {@code features} (a norm's: unchanged). */
        long[] output() {
            return TorchOps.lastDim(input, features);
        }

        /** Per call: floating-point operations (linear, GEGLU) or bytes moved (norms). */
        public double work() {
            return switch (kind) {
                case LINEAR, GEGLU -> 2.0 * rows() * projected() * inFeatures();
                case GROUPNORM, LAYERNORM -> 2.0 * TensorData.count(input) * Float.BYTES;
            };
        }

        /** The rate of a call that took {@code seconds}, with its unit. */
        public String rate(double seconds) {
            return kind == Kind.LINEAR || kind == Kind.GEGLU
                    ? String.format(Locale.ROOT, "%.1f GFLOP/s", work() / seconds / 1e9)
                    : String.format(Locale.ROOT, "%.1f GB/s", work() / seconds / 1e9);
        }

        @Override
        public String toString() {
            return kind.name().toLowerCase(Locale.ROOT) + " " + java.util.Arrays.toString(input) + " -> "
                    + java.util.Arrays.toString(output()) + String.format(Locale.ROOT, ": %.3f %s", work() / 1e9,
                            kind == Kind.LINEAR || kind == Kind.GEGLU ? "GFLOP" : "GB");
        }
    }

    @State(Scope.Benchmark)
    public static class Data {
        /**
         * Smallest first: GroupNorm at the U-Net's bottom, the text (77-token) projection,
         * LayerNorm, GroupNorm at the top, the 4096-token projections, GEGLU's projection.
         */
        @Param({"groupnorm-2x1280x8x8", "linear-2x77x768-320", "layernorm-2x4096x320", "groupnorm-2x320x64x64",
            "linear-2x4096x320-320", "linear-2x4096x1280-320", "geglu-2x4096x320-1280"})
        public String layer;

        Layer shape;
        float[] input;
        float[] weight;
        float[] bias;

        @Setup(Level.Trial)
        public void setup() {
            shape = Layer.parse(layer);
            input = TensorData.gaussian(TensorData.count(shape.input()), 1, 1.0);
            switch (shape.kind()) {
                case LINEAR, GEGLU -> {
                    double std = 1.0 / Math.sqrt(shape.inFeatures());
                    weight = TensorData.gaussian(shape.projected() * shape.inFeatures(), 2, std);
                    bias = TensorData.gaussian(shape.projected(), 3, 0.1);
                }
                case GROUPNORM, LAYERNORM -> {
                    long c = shape.kind() == Kind.GROUPNORM ? shape.input()[1] : shape.inFeatures();
                    weight = TensorData.gaussian(c, 2, 0.1);
                    for (int i = 0; i < weight.length; i++) {
                        weight[i] += 1; // a trained norm's scale is near 1
                    }
                    bias = TensorData.gaussian(c, 3, 0.1);
                }
            }
            Anchors.log("layer " + shape);
        }
    }

    @State(Scope.Benchmark)
    public static class InkwellState {
        Inkwell inkwell;
        Tensor input;
        Tensor weight;
        Tensor bias;
        Tensor output;
        Runnable call;

        @Setup(Level.Trial)
        public void setup(Data d) {
            inkwell = Anchors.inkwell();
            Layer s = d.shape;
            input = TensorData.inkwell(d.input, s.input());
            bias = TensorData.inkwell(d.bias, d.bias.length);
            output = Tensor.allocate(s.output());
            Layers layers = inkwell.layers();
            switch (s.kind()) {
                case LINEAR -> {
                    weight = TensorData.inkwell(d.weight, s.projected(), s.inFeatures());
                    call = () -> layers.linear(input, weight, bias, Activation.NONE, output);
                }
                case GEGLU -> {
                    weight = TensorData.inkwell(d.weight, s.projected(), s.inFeatures());
                    call = () -> layers.geglu(input, weight, bias, output);
                }
                case GROUPNORM -> {
                    weight = TensorData.inkwell(d.weight, d.weight.length);
                    call = () -> layers.groupNorm(input, GROUPS, weight, bias, EPS, Activation.NONE, output);
                }
                case LAYERNORM -> {
                    weight = TensorData.inkwell(d.weight, d.weight.length);
                    call = () -> layers.layerNorm(input, weight, bias, EPS, output);
                }
            }
            Anchors.probeInkwell(s.kind().name().toLowerCase(Locale.ROOT), call);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            for (Tensor t : new Tensor[] {output, bias, weight, input}) {
                if (t != null) {
                    t.close();
                }
            }
            inkwell.close();
        }
    }

    @State(Scope.Benchmark)
    public static class TorchState {
        AutoCloseable op;
        java.util.function.LongSupplier call;

        @Setup(Level.Trial)
        public void setup(Data d) {
            Layer s = d.shape;
            switch (s.kind()) {
                case LINEAR -> {
                    TorchOps.Linear linear = new TorchOps.Linear(d.input, s.input(), d.weight, s.features(), d.bias);
                    op = linear;
                    call = () -> {
                        try (org.bytedeco.pytorch.Tensor y = linear.run()) {
                            return y.numel();
                        }
                    };
                }
                case GEGLU -> {
                    TorchOps.Geglu geglu = new TorchOps.Geglu(d.input, s.input(), d.weight, s.features(), d.bias);
                    op = geglu;
                    call = geglu::runScoped;
                }
                case GROUPNORM -> {
                    TorchOps.GroupNorm norm = new TorchOps.GroupNorm(d.input, s.input(), GROUPS, d.weight, d.bias, EPS);
                    op = norm;
                    call = () -> {
                        try (org.bytedeco.pytorch.Tensor y = norm.run()) {
                            return y.numel();
                        }
                    };
                }
                case LAYERNORM -> {
                    TorchOps.LayerNorm norm = new TorchOps.LayerNorm(d.input, s.input(), d.weight, d.bias, EPS);
                    op = norm;
                    call = () -> {
                        try (org.bytedeco.pytorch.Tensor y = norm.run()) {
                            return y.numel();
                        }
                    };
                }
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() throws Exception {
            op.close();
        }
    }

    @Benchmark
    public Tensor inkwell(InkwellState s) {
        s.call.run();
        return s.output;
    }

    @Benchmark
    public long libtorch(TorchState s) {
        return s.call.getAsLong();
    }
}
