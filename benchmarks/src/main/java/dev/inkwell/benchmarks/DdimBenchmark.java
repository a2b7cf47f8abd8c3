package dev.inkwell.benchmarks;

import dev.inkwell.DdimScheduler;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.global.torch;
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
@SuppressWarnings("try") // PointerScope frees the temporaries libtorch returns, unreferenced
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
        org.bytedeco.pytorch.Tensor sample;
        org.bytedeco.pytorch.Tensor cond;
        org.bytedeco.pytorch.Tensor uncond;
        org.bytedeco.pytorch.Tensor eps;
        org.bytedeco.pytorch.Tensor prev;
        Scalar guidance;
        Scalar sqrtAlpha;
        Scalar sqrtOneMinusAlpha;
        Scalar sqrtAlphaPrev;
        Scalar sqrtOneMinusAlphaPrev;
        Scalar foldedSample; // sqrt(a_prev / a_t)
        Scalar foldedEps; // sqrt(1 - a_prev) - sqrt(a_prev) sqrt(1 - a_t) / sqrt(a_t)

        @Setup(Level.Trial)
        public void setup(Data d) {
            Anchors.requireTorch();
            sample = TensorData.torch(d.sample, d.shape);
            cond = TensorData.torch(d.cond, d.shape);
            uncond = TensorData.torch(d.uncond, d.shape);
            eps = torch.empty(d.shape);
            prev = torch.empty(d.shape);
            double a = d.scheduler.alphaCumprod(TIMESTEP), ap = d.scheduler.alphaCumprod(PREV_TIMESTEP);
            guidance = new Scalar(GUIDANCE);
            sqrtAlpha = new Scalar(Math.sqrt(a));
            sqrtOneMinusAlpha = new Scalar(Math.sqrt(1 - a));
            sqrtAlphaPrev = new Scalar(Math.sqrt(ap));
            sqrtOneMinusAlphaPrev = new Scalar(Math.sqrt(1 - ap));
            foldedSample = new Scalar(Math.sqrt(ap / a));
            foldedEps = new Scalar(Math.sqrt(1 - ap) - Math.sqrt(ap) * Math.sqrt(1 - a) / Math.sqrt(a));
            // Both torch versions must agree (they are the same algebra).
            float[] eager;
            try (PointerScope scope = new PointerScope()) {
                eager = TensorData.toArray(eager());
            }
            inPlace();
            float[] folded = TensorData.toArray(prev);
            double worst = 0;
            for (int i = 0; i < eager.length; i++) {
                worst = Math.max(worst, Math.abs(eager[i] - folded[i]));
            }
            if (worst > 1e-3) {
                throw new IllegalStateException("libtorch eager and in-place DDIM differ by " + worst);
            }
        }

        /** As diffusers writes it (eta 0): every op makes a temporary. */
        org.bytedeco.pytorch.Tensor eager() {
            org.bytedeco.pytorch.Tensor noise = uncond.add(cond.sub(uncond), guidance); // uncond + g (cond - uncond)
            org.bytedeco.pytorch.Tensor predX0 = sample.sub(noise, sqrtOneMinusAlpha).div(sqrtAlpha);
            org.bytedeco.pytorch.Tensor direction = noise.mul(sqrtOneMinusAlphaPrev);
            return predX0.mul(sqrtAlphaPrev).add(direction);
        }

        /** prev = cs * sample + ce * (uncond + g (cond - uncond)), in preallocated buffers. */
        void inPlace() {
            torch.sub_out(eps, cond, uncond).mul_(guidance).add_(uncond);
            torch.mul_out(prev, sample, foldedSample).add_(eps, foldedEps);
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
        try (PointerScope scope = new PointerScope()) {
            return s.eager().numel();
        }
    }

    @Benchmark
    public org.bytedeco.pytorch.Tensor libtorchInPlace(TorchState s) {
        s.inPlace();
        return s.prev;
    }

    @Benchmark
    public MemorySegment memcpy(CopyState s) {
        MemorySegment.copy(s.src, 0, s.dst, 0, s.src.byteSize());
        return s.dst;
    }
}
