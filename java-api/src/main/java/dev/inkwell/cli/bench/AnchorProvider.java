package dev.inkwell.cli.bench;

/**
 * What {@code inkwell bench} compares Inkwell with: a library a user would pick instead
 * (OpenCV, BoofCV, libtorch, JNI). Providers are found with {@link java.util.ServiceLoader}
 * on the class path, so they are optional: the benchmarks module's jar brings them, and
 * without it the table says the anchor is absent.
 */
public interface AnchorProvider {
    /** Short column name, e.g. "OpenCV". */
    String name();

    /** Loads the library and sets its thread count; throws if it cannot load here. A line describing it. */
    String load(int threads) throws Exception;

    /**
     * The same computation as {@code spec}, ready to run repeatedly on data prepared here,
     * or null when this anchor has nothing comparable. A result that is also
     * {@link AutoCloseable} is closed once the case is timed (native inputs freed). An
     * exception here marks this anchor failed for this case only.
     */
    Runnable prepare(BenchSpec spec) throws Exception;

    /** The machine's measured FMA peak in GFLOP/s for {@code threads} threads, or NaN if this anchor cannot measure it. */
    default double peakGflops(int threads) {
        return Double.NaN;
    }
}
