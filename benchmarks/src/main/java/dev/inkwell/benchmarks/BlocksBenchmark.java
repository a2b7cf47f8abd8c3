package dev.inkwell.benchmarks;

import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import dev.inkwell.cli.bench.BenchSpec;
import dev.inkwell.models.ModelBlocks;
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
 * Whole U-Net blocks of SD 1.5 at 512x512 (float32, CFG batch 2), the code the U-Net runs
 * ({@link ModelBlocks}) vs the same blocks written with libtorch operations as diffusers'
 * modules call them ({@link TorchBlocks}, on the same state dict), both with
 * {@link BenchThreads#count()} threads:
 * <ul>
 *   <li>{@code resnet}: ResnetBlock2D x [2,320,64,64], temb [2,1280], 32 groups, eps 1e-5
 *       (in == out channels: no conv_shortcut);
 *   <li>{@code transformer}: BasicTransformerBlock x [2,4096,320] (8 heads of 40), context
 *       [2,77,768] (cross-attention to the text).
 * </ul>
 * Setup computes Inkwell's output once and the libtorch side checks its own against it within
 * the float32 tolerance {@code inkwell bench} uses ({@link BenchSpec.ResnetBlock#tolerance}),
 * so both do the same work before anything is timed. Time per block call; Inkwell's result
 * tensor is allocated and freed per call, as the U-Net does.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
// JavaCPP still uses sun.misc.Unsafe; allow it quietly on JDK 24+.
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xmx4g"})
public class BlocksBenchmark {
    /** Seed of the blocks' weights and inputs. */
    static final long SEED = 1234;
    static final int GROUPS = 32, TEMB = 1280, HEADS = 8, HEAD_DIM = 40, CONTEXT_DIM = 768;
    static final long[] RESNET_X = {2, 320, 64, 64}, TRANSFORMER_X = {2, 4096, 320}, CONTEXT = {2, 77, 768};

    /** The block, its inputs and Inkwell's output on them (the libtorch side's check). */
    @State(Scope.Benchmark)
    public static class Data {
        @Param({"resnet", "transformer"})
        public String block;

        float[] x, condition;
        long[] xShape, conditionShape;
        java.util.Map<String, float[]> stateDict;
        float[] expected;

        @Setup(Level.Trial)
        public void setup() {
            boolean resnet = isResnet(block);
            xShape = resnet ? RESNET_X : TRANSFORMER_X;
            conditionShape = resnet ? new long[] {2, TEMB} : CONTEXT;
            x = TensorData.gaussian(TensorData.count(xShape), 1, 1.0);
            condition = TensorData.gaussian(TensorData.count(conditionShape), 2, 1.0);
            try (Inkwell cpu = Anchors.inkwell(); ModelBlocks b = blocks(cpu, resnet);
                    Tensor xt = Tensor.fromArray(x, xShape); Tensor ct = Tensor.fromArray(condition, conditionShape);
                    Tensor y = b.forward(xt, ct)) {
                stateDict = b.stateDict();
                expected = y.toArray();
            }
            Anchors.log("block " + block + " x " + java.util.Arrays.toString(xShape) + " condition "
                    + java.util.Arrays.toString(conditionShape));
        }
    }

    static boolean isResnet(String block) {
        return switch (block) {
            case "resnet" -> true;
            case "transformer" -> false;
            default -> throw new IllegalArgumentException("unknown block '" + block + "' (resnet or transformer)");
        };
    }

    static ModelBlocks blocks(Inkwell context, boolean resnet) {
        return resnet ? ModelBlocks.resnetBlock2D(context, SEED, 320, 320, TEMB, GROUPS, 1e-5)
                : ModelBlocks.basicTransformerBlock(context, SEED, HEADS, HEAD_DIM, CONTEXT_DIM);
    }

    @State(Scope.Benchmark)
    public static class InkwellState {
        Inkwell inkwell;
        ModelBlocks block;
        Tensor x, condition;

        @Setup(Level.Trial)
        public void setup(Data d) {
            inkwell = Anchors.inkwell();
            block = blocks(inkwell, isResnet(d.block));
            x = TensorData.inkwell(d.x, d.xShape);
            condition = TensorData.inkwell(d.condition, d.conditionShape);
            Anchors.probeInkwell(d.block + " block", () -> block.forward(x, condition).close());
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            condition.close();
            x.close();
            block.close();
            inkwell.close();
        }
    }

    @State(Scope.Benchmark)
    public static class TorchState {
        AutoCloseable block;
        java.util.function.LongSupplier call;

        @Setup(Level.Trial)
        public void setup(Data d) {
            if (isResnet(d.block)) {
                BenchSpec.ResnetBlock spec = new BenchSpec.ResnetBlock(d.x, d.xShape, d.condition, TEMB, GROUPS, 1e-5,
                        SEED, d.stateDict, d.expected);
                TorchBlocks.ResnetBlock b = new TorchBlocks.ResnetBlock(d.x, d.xShape, d.condition, TEMB, GROUPS, 1e-5,
                        d.stateDict, d.expected, spec.tolerance());
                Anchors.log(String.format("libtorch ResnetBlock2D matches Inkwell's: max |diff| %.3g (tolerance %.3g)",
                        b.worst, spec.tolerance()));
                block = b;
                call = b::runScoped;
            } else {
                BenchSpec.TransformerBlock spec = new BenchSpec.TransformerBlock(d.x, d.xShape, d.condition,
                        d.conditionShape, HEADS, HEAD_DIM, SEED, d.stateDict, d.expected);
                TorchBlocks.TransformerBlock b = new TorchBlocks.TransformerBlock(d.x, d.xShape, d.condition,
                        d.conditionShape, HEADS, HEAD_DIM, d.stateDict, d.expected, spec.tolerance());
                Anchors.log(String.format("libtorch BasicTransformerBlock matches Inkwell's: max |diff| %.3g "
                        + "(tolerance %.3g)", b.worst, spec.tolerance()));
                block = b;
                call = b::runScoped;
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() throws Exception {
            block.close();
        }
    }

    @Benchmark
    public long inkwell(InkwellState s) {
        try (Tensor y = s.block.forward(s.x, s.condition)) {
            return y.elementCount();
        }
    }

    @Benchmark
    public long libtorch(TorchState s) {
        return s.call.getAsLong();
    }
}
