package dev.inkwell.benchmarks;

/**
 * The one thread count every library in a benchmark gets: Inkwell's context, libtorch
 * ({@code at::set_num_threads}), OpenCV ({@code cv::setNumThreads}) and BoofCV's concurrency.
 * All hardware threads by default, as {@code Inkwell.create()} uses; {@code -Dinkwell.bench.threads=N}
 * or the environment variable {@code INKWELL_BENCH_THREADS=N} (which JMH's forks inherit)
 * overrides it for all of them.
 */
final class BenchThreads {
    private BenchThreads() {}

    static int count() {
        String value = System.getProperty("inkwell.bench.threads", System.getenv("INKWELL_BENCH_THREADS"));
        if (value != null && !value.isBlank()) {
            int n = Integer.parseInt(value.trim());
            if (n < 1) {
                throw new IllegalArgumentException("inkwell.bench.threads / INKWELL_BENCH_THREADS must be >= 1, got " + n);
            }
            return n;
        }
        return Runtime.getRuntime().availableProcessors();
    }
}
