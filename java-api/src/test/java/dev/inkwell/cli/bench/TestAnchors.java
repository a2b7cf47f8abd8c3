package dev.inkwell.cli.bench;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Anchors that exist only on the test class path (listed in the test resources'
 * META-INF/services), to show what {@code inkwell bench} does with a library that cannot
 * load, one that breaks on one case, and one whose inputs must be freed.
 */
public final class TestAnchors {
    private TestAnchors() {}

    /** Prepared runs of {@link Plain} not closed yet. */
    public static final AtomicInteger OPEN = new AtomicInteger();

    /** Cannot load here, as a missing native library would. */
    public static final class Broken implements AnchorProvider {
        @Override
        public String name() {
            return "test-broken";
        }

        @Override
        public String load(int threads) {
            throw new UnsatisfiedLinkError("no libtest-broken.so in java.library.path");
        }

        @Override
        public Runnable prepare(BenchSpec spec) {
            throw new AssertionError("never prepared: it did not load");
        }
    }

    /** Loads, runs the DDIM case, and throws on every conv2d. */
    public static final class Flaky implements AnchorProvider {
        @Override
        public String name() {
            return "test-flaky";
        }

        @Override
        public String load(int threads) {
            return "a test anchor that fails on conv2d";
        }

        @Override
        public Runnable prepare(BenchSpec spec) {
            return switch (spec) {
                case BenchSpec.Conv2d c -> throw new IllegalStateException("conv2d is not supported by test-flaky\nsecond line");
                case BenchSpec.DdimStep d -> () -> { };
                default -> null;
            };
        }
    }

    /** Times the Canny cases on inputs it owns; counts the ones not freed yet. */
    public static final class Plain implements AnchorProvider {
        @Override
        public String name() {
            return "test-plain";
        }

        @Override
        public String load(int threads) {
            return "a test anchor that frees its inputs";
        }

        @Override
        public Runnable prepare(BenchSpec spec) {
            if (!(spec instanceof BenchSpec.Canny c)) {
                return null;
            }
            OPEN.incrementAndGet();
            byte[] copy = c.pixels().clone();
            return new Resources(copy);
        }

        private record Resources(byte[] pixels) implements Runnable, AutoCloseable {
            @Override
            public void run() {
                pixels[0] ^= 1;
            }

            @Override
            public void close() {
                OPEN.decrementAndGet();
            }
        }
    }
}
