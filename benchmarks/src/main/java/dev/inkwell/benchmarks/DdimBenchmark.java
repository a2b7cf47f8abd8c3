package dev.inkwell.benchmarks;

import dev.inkwell.DdimScheduler;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
 * One DDIM step with classifier-free guidance (eta 0, epsilon prediction, SD 1.x scheduler,
 * step 981 -> 961 of 50, guidance 7.5) on a latent: memory-bound, so it is quoted in GB/s.
 * <ul>
 *   <li>{@code inkwell}: {@code Inkwell.ddimStepGuided}, one pass: reads sample, cond, uncond,
 *       writes the previous sample;</li>
 *   <li>{@code libtorchEager}: the step as a diffusers user writes it with tensor ops
 *       (guidance, pred_x0, direction, prev: a temporary per op);</li>
 *   <li>{@code libtorchInPlace}: the same algebra folded by hand into preallocated, in-place
 *       and {@code _out} ops (2 coefficients, 4 passes);</li>
 *   <li>{@code memcpy}: {@code MemorySegment.copy} of 2 latents' bytes: the same traffic as
 *       the step (3 reads + 1 write of a latent = 2 reads + 2 writes), the memory speed limit.</li>
 * </ul>
 * {@link Report} divides {@link #trafficBytes} (4 latents) by the time of each.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
// JavaCPP still uses sun.misc.Unsafe; allow it quietly on JDK 24+.
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
public class DdimBenchmark {
    static final int TIMESTEP = 981;
    static final int PREV_TIMESTEP = 961;
    static final double GUIDANCE = 7.5;

    static long[] parseShape(String latent) {
        String[] parts = latent.split("x");
        long[] shape = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            shape[i] = Long.parseLong(parts[i]);
        }
        return shape;
    }

    /** Bytes a one-pass step must move: sample, cond and uncond read, prev written. */
    public static double trafficBytes(String latent) {
        return 4.0 * TensorData.count(parseShape(latent)) * Float.BYTES;
    }

    @State(Scope.Benchmark)
    public static class Data {
        /** The latent, NCHW; 2x4x64x64 is SD 1.x at 512x512 (CFG batch of 2). */
        @Param({"2x4x64x64"})
        public String latent;

        long[] shape;
        float[] sample;
        float[] cond;
        float[] uncond;
        final DdimScheduler scheduler = DdimScheduler.stableDiffusion();

        @Setup(Level.Trial)
        public void setup() {
            shape = parseShape(latent);
            long n = TensorData.count(shape);
            sample = TensorData.gaussian(n, 21, 1.0);
            cond = TensorData.gaussian(n, 22, 1.0);
            uncond = TensorData.gaussian(n, 23, 1.0);
            Anchors.log(String.format("DDIM step %d -> %d on %s: %.1f KiB of traffic", TIMESTEP, PREV_TIMESTEP, latent,
                    trafficBytes(latent) / 1024));
        }
    }

    @State(Scope.Benchmark)
    public static class InkwellState {
        Inkwell inkwell;
        DdimScheduler scheduler;
        Tensor sample;
        Tensor cond;
        Tensor uncond;
        Tensor prev;

        @Setup(Level.Trial)
        public void setup(Data d) {
            inkwell = Anchors.inkwell();
            scheduler = d.scheduler;
            sample = TensorData.inkwell(d.sample, d.shape);
            cond = TensorData.inkwell(d.cond, d.shape);
            uncond = TensorData.inkwell(d.uncond, d.shape);
            prev = Tensor.allocate(d.shape);
            Anchors.probeInkwell("ddimStepGuided", this::run);
        }

        void run() {
            inkwell.ddimStepGuided(scheduler, TIMESTEP, PREV_TIMESTEP, sample, cond, uncond, GUIDANCE, 0.0, null, prev,
                    null);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            for (Tensor t : new Tensor[] {prev, uncond, cond, sample}) {
                if (t != null) {
                    t.close();
                }
            }
            inkwell.close();
        }
    }

    @State(Scope.Benchmark)
    public static class TorchState {
        TorchOps.Ddim step;

        @Setup(Level.Trial)
        public void setup(Data d) {
            step = new TorchOps.Ddim(d.sample, d.cond, d.uncond, d.shape, GUIDANCE, d.scheduler.alphaCumprod(TIMESTEP),
                    d.scheduler.alphaCumprod(PREV_TIMESTEP));
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            step.close();
        }
    }

    @State(Scope.Benchmark)
    public static class CopyState {
        Arena arena;
        MemorySegment src;
        MemorySegment dst;

        @Setup(Level.Trial)
        public void setup(Data d) {
            arena = Arena.ofShared();
            long bytes = (long) (trafficBytes(d.latent) / 2);
            src = arena.allocate(bytes, 64);
            dst = arena.allocate(bytes, 64);
            src.fill((byte) 1);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            arena.close();
        }
    }

    @Benchmark
    public Tensor inkwell(InkwellState s) {
        s.run();
        return s.prev;
    }

    @Benchmark
    public long libtorchEager(TorchState s) {
        return s.step.eagerScoped();
    }

    @Benchmark
    public org.bytedeco.pytorch.Tensor libtorchInPlace(TorchState s) {
        s.step.inPlace();
        return s.step.prev;
    }

    @Benchmark
    public MemorySegment memcpy(CopyState s) {
        MemorySegment.copy(s.src, 0, s.dst, 0, s.src.byteSize());
        return s.dst;
    }
}
