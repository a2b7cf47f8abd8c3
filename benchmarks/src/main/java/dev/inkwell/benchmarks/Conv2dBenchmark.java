package dev.inkwell.benchmarks;

import dev.inkwell.Conv2dOptions;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
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
 * conv2d (float32, NCHW, with bias) on Stable Diffusion U-Net shapes: Inkwell vs libtorch's
 * {@code at::conv2d} (JavaCPP's CPU build, oneDNN/OpenBLAS inside), both with
 * {@link BenchThreads#count()} threads. Time per op here; {@link Report} adds GFLOP/s
 * ({@link Shape#flops()}) and % of the measured FMA peak.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
// JavaCPP still uses sun.misc.Unsafe; allow it quietly on JDK 24+.
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xmx4g"})
public class Conv2dBenchmark {

    /**
     * A conv shape: "CxHxW" is a 3x3, pad 1, stride 1 conv with Cout = C (the U-Net's
     * ResNet blocks); "-s2" makes it stride 2 (the Downsample2D conv); "-1x1" a 1x1 conv,
     * pad 0 (the projections). Batch 1.
     */
    public record Shape(long batch, long channels, long height, long width, long outChannels, int kernel, int stride,
            int pad) {
        public static Shape parse(String spec) {
            String[] parts = spec.split("-");
            String[] chw = parts[0].split("x");
            long c = Long.parseLong(chw[0]), h = Long.parseLong(chw[1]), w = Long.parseLong(chw[2]);
            int kernel = 3, stride = 1, pad = 1;
            for (int i = 1; i < parts.length; i++) {
                switch (parts[i]) {
                    case "s2" -> stride = 2;
                    case "1x1" -> {
                        kernel = 1;
                        pad = 0;
                    }
                    default -> throw new IllegalArgumentException("unknown conv shape suffix '" + parts[i] + "' in " + spec);
                }
            }
            return new Shape(1, c, h, w, c, kernel, stride, pad);
        }

        public long outHeight() {
            return (height + 2L * pad - kernel) / stride + 1;
        }

        public long outWidth() {
            return (width + 2L * pad - kernel) / stride + 1;
        }

        /** Multiply-adds x 2 (bias and activation not counted). */
        public double flops() {
            return 2.0 * batch * outChannels * outHeight() * outWidth() * channels * kernel * kernel;
        }

        long[] input() {
            return new long[] {batch, channels, height, width};
        }

        long[] weight() {
            return new long[] {outChannels, channels, kernel, kernel};
        }

        long[] output() {
            return new long[] {batch, outChannels, outHeight(), outWidth()};
        }

        @Override
        public String toString() {
            return "[" + batch + "," + channels + "," + height + "," + width + "] * " + kernel + "x" + kernel + " -> "
                    + outChannels + " (stride " + stride + ", pad " + pad + "): "
                    + String.format("%.3f", flops() / 1e9) + " GFLOP";
        }
    }

    @State(Scope.Benchmark)
    public static class Data {
        @Param({"320x64x64", "640x32x32", "1280x16x16", "320x64x64-s2", "320x64x64-1x1"})
        public String conv;

        Shape shape;
        float[] input;
        float[] weight;
        float[] bias;

        @Setup(Level.Trial)
        public void setup() {
            shape = Shape.parse(conv);
            input = TensorData.gaussian(TensorData.count(shape.input()), 1, 1.0);
            double fanIn = shape.channels * shape.kernel * shape.kernel;
            weight = TensorData.gaussian(TensorData.count(shape.weight()), 2, 1.0 / Math.sqrt(fanIn));
            bias = TensorData.gaussian(shape.outChannels, 3, 0.1);
            Anchors.log("conv2d " + shape);
        }
    }

    @State(Scope.Benchmark)
    public static class InkwellState {
        Inkwell inkwell;
        Tensor input;
        Tensor weight;
        Tensor bias;
        Tensor output;
        Conv2dOptions options;

        @Setup(Level.Trial)
        public void setup(Data d) {
            inkwell = Anchors.inkwell();
            input = TensorData.inkwell(d.input, d.shape.input());
            weight = TensorData.inkwell(d.weight, d.shape.weight());
            bias = TensorData.inkwell(d.bias, d.shape.outChannels);
            output = Tensor.allocate(d.shape.output());
            options = Conv2dOptions.defaults().withStride(d.shape.stride).withPadding(d.shape.pad);
            Anchors.probeInkwell("conv2d", () -> inkwell.conv2d(input, weight, bias, output, options));
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
        TorchOps.Conv2d conv;

        @Setup(Level.Trial)
        public void setup(Data d) {
            conv = new TorchOps.Conv2d(d.input, d.shape.input(), d.weight, d.shape.weight(), d.bias, d.shape.stride,
                    d.shape.pad);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            conv.close();
        }
    }

    @Benchmark
    public Tensor inkwell(InkwellState s) {
        s.inkwell.conv2d(s.input, s.weight, s.bias, s.output, s.options);
        return s.output;
    }

    @Benchmark
    public long libtorch(TorchState s) {
        try (org.bytedeco.pytorch.Tensor y = s.conv.run()) {
            return y.numel();
        }
    }
}
