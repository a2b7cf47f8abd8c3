package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Many threads call every kernel on shared read-only inputs, half of them through one
 * shared context and half through a context of their own: every result has the bits of the
 * single-threaded run. (The native side is checked for data races by the ThreadSanitizer
 * build of the native tests, test_concurrency.cpp.)
 */
class ConcurrencyTest {
    private static final int THREADS = 8, RUNS_PER_THREAD = 12;

    @Test
    void sharedAndPerThreadContextsGiveTheSingleThreadedResult() throws Exception {
        try (KernelWorkload work = new KernelWorkload(17); Inkwell shared = Inkwell.builder().threads(2).build()) {
            List<Object> want;
            try (Inkwell single = Inkwell.builder().threads(1).build()) {
                want = Bits.of(work.run(single));
            }
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            CountDownLatch start = new CountDownLatch(1); // all threads call at once
            try {
                List<Future<?>> futures = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    boolean own = t % 2 == 0;
                    int thread = t;
                    futures.add(pool.submit(() -> {
                        start.await();
                        try (Inkwell mine = own ? Inkwell.builder().threads(1 + thread % 3).build() : null) {
                            Inkwell ctx = own ? mine : shared;
                            for (int i = 0; i < RUNS_PER_THREAD; i++) {
                                assertEquals(want, Bits.of(work.run(ctx)), "thread " + thread + " run " + i
                                        + (own ? " (own context)" : " (shared context)"));
                            }
                        }
                        return null;
                    }));
                }
                start.countDown();
                for (Future<?> f : futures) {
                    f.get();
                }
            } finally {
                pool.shutdown();
            }
            System.out.printf("ConcurrencyTest: %d threads x %d runs x %d kernel calls = %d calls, all bit-identical%n",
                    THREADS, RUNS_PER_THREAD, KernelWorkload.CALLS_PER_RUN,
                    THREADS * RUNS_PER_THREAD * KernelWorkload.CALLS_PER_RUN);
        }
    }
}
