package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** One context shared by many threads, and one per thread, on a shared read-only input. */
class ConcurrencyTest {
    @Test
    void sharedAndPerThreadContextsGiveTheSingleThreadedResult() throws Exception {
        int h = 120, w = 160, threads = 6, callsPerThread = 20;
        byte[] pixels = CannyTest.randomImage(new Random(17), h, w, 3);
        try (Inkwell shared = Inkwell.builder().threads(2).build(); Image src = Image.fromBytes(pixels, h, w, 3)) {
            byte[] want;
            try (Image edges = shared.canny(src)) {
                want = edges.toByteArray();
            }
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<?>> futures = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    boolean own = t % 2 == 0;
                    futures.add(pool.submit(() -> {
                        try (Inkwell mine = own ? Inkwell.builder().threads(1).build() : null) {
                            Inkwell ctx = own ? mine : shared;
                            for (int i = 0; i < callsPerThread; i++) {
                                try (Image edges = ctx.canny(src)) {
                                    assertArrayEquals(want, edges.toByteArray());
                                }
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : futures) {
                    f.get();
                }
            } finally {
                pool.shutdown();
            }
        }
    }
}
