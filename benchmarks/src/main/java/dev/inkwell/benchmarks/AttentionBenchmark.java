package dev.inkwell.benchmarks;

import dev.inkwell.AttentionOptions;
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
 * Attention softmax(q k^T / sqrt(d)) v on the SD 1.x U-Net's shapes, float32: batch 1, 8
 * heads, head size 40/80/160 (320/640/1280 channels), 1024 or 4096 queries (32x32, 64x64
 * latents); {@code self} attends to as many keys, {@code cross} to the 77 text tokens.
 * Inkwell's fused kernel vs libtorch's {@code scaled_dot_product_attention}
 * ({@code torch.scaled_dot_product_attention(q, k, v)} in JavaCPP; on CPU it picks its flash
 * kernel), both with {@link BenchThreads#count()} threads. {@link Report} adds GFLOP/s
 * ({@link #flops}: the two matmuls).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
// JavaCPP still uses sun.misc.Unsafe; allow it quietly on JDK 24+.
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xmx4g"})
public class AttentionBenchmark {
    static final int BATCH = 1;
    static final int HEADS = 8;
    static final int TEXT_TOKENS = 77;

    /** 2 matmuls (q k^T and p v) of 2 flops per multiply-add; softmax not counted. */
    public static double flops(int headDim, int seqLen, String kind) {
        return 4.0 * BATCH * HEADS * seqLen * kvLen(seqLen, kind) * headDim;
    }

    static int kvLen(int seqLen, String kind) {
        return switch (kind) {
            case "self" -> seqLen;
            case "cross" -> TEXT_TOKENS;
            default -> throw new IllegalArgumentException("kind must be self or cross, got " + kind);
        };
    }

    @State(Scope.Benchmark)
    public static class Data {
        @Param({"40", "80", "160"})
        public int headDim;

        @Param({"1024", "4096"})
        public int seqLen;

        @Param({"self", "cross"})
        public String kind;

        long[] qShape;
        long[] kvShape;
        float[] q;
        float[] k;
        float[] v;

        @Setup(Level.Trial)
        public void setup() {
            int lk = kvLen(seqLen, kind);
            qShape = new long[] {BATCH, HEADS, seqLen, headDim};
            kvShape = new long[] {BATCH, HEADS, lk, headDim};
            q = TensorData.gaussian(TensorData.count(qShape), 11, 1.0);
            k = TensorData.gaussian(TensorData.count(kvShape), 12, 1.0);
            v = TensorData.gaussian(TensorData.count(kvShape), 13, 1.0);
            Anchors.log(String.format("attention %s: q [%d,%d,%d,%d], k/v [%d,%d,%d,%d]: %.3f GFLOP", kind, BATCH, HEADS,
                    seqLen, headDim, BATCH, HEADS, lk, headDim, flops(headDim, seqLen, kind) / 1e9));
        }
    }

    @State(Scope.Benchmark)
    public static class InkwellState {
        Inkwell inkwell;
        Tensor q;
        Tensor k;
        Tensor v;
        Tensor out;
        final AttentionOptions options = AttentionOptions.defaults();

        @Setup(Level.Trial)
        public void setup(Data d) {
            inkwell = Anchors.inkwell();
            q = TensorData.inkwell(d.q, d.qShape);
            k = TensorData.inkwell(d.k, d.kvShape);
            v = TensorData.inkwell(d.v, d.kvShape);
            out = Tensor.allocate(d.qShape);
            Anchors.probeInkwell("attention", () -> inkwell.attention(q, k, v, out, options));
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            for (Tensor t : new Tensor[] {out, v, k, q}) {
                if (t != null) {
                    t.close();
                }
            }
            inkwell.close();
        }
    }

    @State(Scope.Benchmark)
    public static class TorchState {
        TorchOps.Attention attention;

        @Setup(Level.Trial)
        public void setup(Data d) {
            attention = new TorchOps.Attention(d.q, d.qShape, d.k, d.v, d.kvShape);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            attention.close();
        }
    }

    @Benchmark
    public Tensor inkwell(InkwellState s) {
        s.inkwell.attention(s.q, s.k, s.v, s.out, s.options);
        return s.out;
    }

    @Benchmark
    public long libtorch(TorchState s) {
        try (org.bytedeco.pytorch.Tensor y = s.attention.run()) {
            return y.numel();
        }
    }
}
