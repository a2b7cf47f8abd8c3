package dev.inkwell.benchmarks;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The machine's float32 FMA peak, measured: 12 independent FMA chains in C as wide as the
 * CPU has (libinkwellbench: AVX-512, else AVX2+FMA), {@link #ITERATIONS} per call, through a
 * critical FFM downcall. {@code oneThread} gives one core's peak, {@code allThreads} runs
 * one caller per hardware thread (JMH {@code @Threads(MAX)}; time per op is per thread).
 * {@link Report} turns the times into GFLOP/s and quotes conv2d and attention as % of the
 * all-threads figure.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class PeakFlopsBenchmark {
    /** FMA iterations per call: 2^20 x 384 flops (AVX-512; 192 with AVX2) = 403 MFLOP, a few ms. */
    public static final long ITERATIONS = 1L << 20;

    @State(Scope.Benchmark)
    public static class Kernel {
        @Setup(Level.Trial)
        public void setup() {
            BenchNative.require();
            Anchors.log("FMA kernel: " + BenchNative.fmaKernel() + ", " + BenchNative.fmaFlops(ITERATIONS) + " flops per call");
        }
    }

    /** Flops of one call (they depend on the kernel the CPU runs). */
    public static long flopsPerCall() {
        return BenchNative.fmaFlops(ITERATIONS);
    }

    @Benchmark
    @Threads(1)
    public float oneThread(Kernel k) throws Throwable {
        return (float) BenchNative.FMA_CRITICAL.invokeExact(ITERATIONS, 1.0f);
    }

    @Benchmark
    @Threads(Threads.MAX)
    public float allThreads(Kernel k) throws Throwable {
        return (float) BenchNative.FMA_CRITICAL.invokeExact(ITERATIONS, 1.0f);
    }
}
