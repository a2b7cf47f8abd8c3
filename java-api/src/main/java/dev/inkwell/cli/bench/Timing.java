package dev.inkwell.cli.bench;

import java.util.Arrays;

/**
 * Times a call: warm-up (the given number of calls, and at least 0.3 s of calls so the JIT
 * has compiled the caller's path), then samples of a batch of calls each (the batch grows
 * until a sample lasts at least a millisecond, so nanosecond calls are measured too).
 * Reports the median and the fastest sample per call; no other statistic survives a noisy
 * machine.
 */
record Timing(double medianMs, double minMs, int samples, long callsPerSample) {

    static Timing of(Runnable call, int warmup, int samples) {
        long warmEnd = System.nanoTime() + 300_000_000L;
        for (int i = 0; i < warmup || System.nanoTime() < warmEnd; i++) {
            call.run();
        }
        long batch = 1;
        while (true) { // calibrate: at least ~1 ms per sample
            long t0 = System.nanoTime();
            for (long i = 0; i < batch; i++) {
                call.run();
            }
            if (System.nanoTime() - t0 >= 1_000_000 || batch >= 1L << 26) {
                break;
            }
            batch *= 4;
        }
        double[] ms = new double[Math.max(1, samples)];
        for (int s = 0; s < ms.length; s++) {
            long t0 = System.nanoTime();
            for (long i = 0; i < batch; i++) {
                call.run();
            }
            ms[s] = (System.nanoTime() - t0) / 1e6 / batch;
        }
        Arrays.sort(ms);
        double median = ms.length % 2 == 1 ? ms[ms.length / 2] : (ms[ms.length / 2 - 1] + ms[ms.length / 2]) / 2;
        return new Timing(median, ms[0], ms.length, batch);
    }
}
