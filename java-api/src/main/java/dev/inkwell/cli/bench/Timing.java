package dev.inkwell.cli.bench;

import java.util.Arrays;

/**
 * Times a call: the given number of warm-up calls, then batches of calls through the same
 * loop that takes the samples, for at least 0.3 s and until a batch lasts 10 milliseconds
 * (so nanosecond calls are measured too), then the samples of one batch each. Reports the
 * median and the fastest sample per call; no other statistic survives a noisy machine.
 *
 * <p>Warm-up, calibration and samples all run in {@link #time}: one loop, which the JIT has
 * compiled by the time the samples start. With a separate loop per phase the samples ran in
 * whatever the JIT had ready for that loop yet, and a 10 ns call read anywhere from 8 to 37 ns.
 *
 * <p>{@link Sampler} lets a caller take the samples of several calls in turn (one sample of
 * each, then the next round), so that all of them see the same moments of a machine whose
 * speed drifts: on the shared 2-core test machines the FMA peak moved between 226 and 341
 * GFLOP/s within a session, and a case timed only after another one had finished compared
 * the two at different speeds.
 */
record Timing(double medianMs, double minMs, int samples, long callsPerSample) {
    private static final long WARM_NANOS = 300_000_000L;
    // 10 ms: each sample follows the runner's pause (BenchRunner.settle), and a single call
    // right after it runs on cold caches and a core that may have slowed down.
    private static final long SAMPLE_NANOS = 10_000_000L;

    /** The same timing per operation, when one call of the timed run performed {@code n}. */
    Timing perOperation(int n) {
        return n == 1 ? this : new Timing(medianMs / n, minMs / n, samples, callsPerSample * n);
    }

    /** Nanoseconds that {@code n} calls took. */
    private static long time(Runnable call, long n) {
        long t0 = System.nanoTime();
        for (long i = 0; i < n; i++) {
            call.run();
        }
        return System.nanoTime() - t0;
    }

    /** One call, warmed up and with its batch size fixed, taking its samples one at a time. */
    static final class Sampler {
        private final Runnable call;
        private final long batch;
        private final double[] ms;
        private int taken;

        private Sampler(Runnable call, long batch, int samples) {
            this.call = call;
            this.batch = batch;
            this.ms = new double[Math.max(1, samples)];
        }

        /** Runs the warm-up and the calibration (at least 0.3 s) of {@code call}. */
        static Sampler calibrate(Runnable call, int warmup, int samples) {
            time(call, warmup);
            long batch = 1;
            long warmEnd = System.nanoTime() + WARM_NANOS;
            while (true) {
                boolean longEnough = time(call, batch) >= SAMPLE_NANOS || batch >= 1L << 26;
                if (!longEnough) {
                    batch *= 2;
                } else if (System.nanoTime() >= warmEnd) {
                    break;
                }
            }
            return new Sampler(call, batch, samples);
        }

        /** Takes the next sample (one batch); ignored once every sample is taken. */
        void sample() {
            if (taken < ms.length) {
                ms[taken++] = time(call, batch) / 1e6 / batch;
            }
        }

        /** Median and minimum of the samples taken (at least one: takes it if none was). */
        Timing result() {
            if (taken == 0) {
                sample();
            }
            double[] sorted = Arrays.copyOf(ms, taken);
            Arrays.sort(sorted);
            int n = sorted.length;
            double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
            return new Timing(median, sorted[0], n, batch);
        }
    }
}
