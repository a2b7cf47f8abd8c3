package dev.inkwell.cli.bench;

import java.util.Arrays;

/**
 * Times a call: the given number of warm-up calls, then batches of calls through the same
 * loop that takes the samples, for at least 0.3 s and until a batch lasts a millisecond
 * (so nanosecond calls are measured too), then the samples of one batch each. Reports the
 * median and the fastest sample per call; no other statistic survives a noisy machine.
 *
 * <p>Warm-up, calibration and samples all run in {@link #time}: one loop, which the JIT has
 * compiled by the time the samples start. With a separate loop per phase the samples ran in
 * whatever the JIT had ready for that loop yet, and a 10 ns call read anywhere from 8 to 37 ns.
 */
record Timing(double medianMs, double minMs, int samples, long callsPerSample) {
    private static final long WARM_NANOS = 300_000_000L;
    private static final long SAMPLE_NANOS = 1_000_000L;

    static Timing of(Runnable call, int warmup, int samples) {
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
        double[] ms = new double[Math.max(1, samples)];
        for (int s = 0; s < ms.length; s++) {
            ms[s] = time(call, batch) / 1e6 / batch;
        }
        Arrays.sort(ms);
        double median = ms.length % 2 == 1 ? ms[ms.length / 2] : (ms[ms.length / 2 - 1] + ms[ms.length / 2]) / 2;
        return new Timing(median, ms[0], ms.length, batch);
    }

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
}
