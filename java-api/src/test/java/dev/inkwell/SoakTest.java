package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A bounded soak: every kernel in a loop (60 s in CI, 20 s elsewhere; -Dinkwell.soak.seconds=N
 * to change), a new context every few runs, arenas opened and closed each run. The first
 * quarter is a warm-up of the same loop, after which native heap, resident memory and open
 * file descriptors must stay flat, and every run must give the first run's bits. Prints its
 * figures so the CI log shows them.
 *
 * <p>The warm-up is needed because the JVM's own footprint settles late: the collector
 * grows the young generation's resident pages (about 130 MB here) during the first seconds
 * of this allocation rate, then reuses them; counting that as growth would hide the signal.
 */
class SoakTest {
    private static final int RUNS_PER_CONTEXT = 5;

    private static int soakSeconds() {
        String set = System.getProperty("inkwell.soak.seconds");
        if (set != null && !set.isBlank()) {
            return Integer.parseInt(set.trim());
        }
        return "true".equals(System.getenv("CI")) ? 60 : 20;
    }

    /** Counters of one phase of the loop. */
    private static final class Loop {
        long runs, contexts, heapPeak;
    }

    @Test
    void everyKernelInALoopKeepsMemoryAndFilesFlat() throws Throwable {
        int seconds = soakSeconds(), warmSeconds = Math.max(2, seconds / 4);
        try (KernelWorkload work = new KernelWorkload(99)) {
            List<Object> want;
            try (Inkwell inkwell = Inkwell.builder().threads(2).build()) {
                want = Bits.of(work.run(inkwell));
            }
            Loop warm = new Loop();
            loop(work, want, warmSeconds, warm, false);
            System.gc();
            long heapStart = NativeMemoryTest.mallocInUse(), rssStart = NativeMemoryTest.trimmedResidentKb();
            long fdsStart = NativeMemoryTest.openFiles();
            Loop measured = new Loop();
            measured.heapPeak = heapStart;
            loop(work, want, seconds - warmSeconds, measured, true);
            System.gc();
            long heapEnd = NativeMemoryTest.mallocInUse(), rssEnd = NativeMemoryTest.trimmedResidentKb();
            long fdsEnd = NativeMemoryTest.openFiles();
            System.out.printf("SoakTest: %d s (%d s warm-up), %d runs x %d kernel calls, %d contexts; after warm-up: "
                    + "malloc in use %d kB -> %d kB (peak %d kB), RSS (trimmed) %d kB -> %d kB, open files %d -> %d%n",
                    seconds, warmSeconds, warm.runs + measured.runs, KernelWorkload.CALLS_PER_RUN,
                    warm.contexts + measured.contexts, heapStart / 1024, heapEnd / 1024, measured.heapPeak / 1024,
                    rssStart, rssEnd, fdsStart, fdsEnd);
            // One run allocates about 0.6 MB natively and a context starts threads: leaking
            // either in even a small fraction of the runs would exceed these bounds many times.
            assertTrue(measured.runs >= 10, "only " + measured.runs + " runs in " + seconds + " s");
            assertTrue(heapEnd - heapStart < 8 << 20, "native heap grew by " + (heapEnd - heapStart) / 1024 + " kB");
            assertTrue(rssEnd - rssStart < 32 * 1024, "resident memory grew by " + (rssEnd - rssStart) + " kB");
            assertTrue(fdsEnd - fdsStart <= 2, "open files grew from " + fdsStart + " to " + fdsEnd);
        }
    }

    /** Runs the workload for {@code seconds}, a fresh context every few runs. */
    private static void loop(KernelWorkload work, List<Object> want, int seconds, Loop counts, boolean report)
            throws Throwable {
        long start = System.nanoTime(), end = start + seconds * 1_000_000_000L, nextReport = start + 10_000_000_000L;
        while (System.nanoTime() < end) {
            try (Inkwell inkwell = Inkwell.builder().threads(1 + (int) (counts.contexts % 2)).build()) {
                counts.contexts++;
                for (int i = 0; i < RUNS_PER_CONTEXT; i++) {
                    List<Object> got = work.run(inkwell);
                    if (counts.runs % 50 == 0) { // comparing is slower than running; sample it
                        assertEquals(want, Bits.of(got), "soak run " + counts.runs + " differs from the first run");
                    }
                    counts.runs++;
                }
            }
            counts.heapPeak = Math.max(counts.heapPeak, NativeMemoryTest.mallocInUse());
            if (report && System.nanoTime() > nextReport) {
                nextReport += 10_000_000_000L;
                System.out.printf("SoakTest: %3d s measured, %d runs, malloc in use %d kB, RSS (trimmed) %d kB, "
                        + "open files %d%n", (System.nanoTime() - start) / 1_000_000_000L, counts.runs,
                        NativeMemoryTest.mallocInUse() / 1024, NativeMemoryTest.trimmedResidentKb(),
                        NativeMemoryTest.openFiles());
            }
        }
    }
}
