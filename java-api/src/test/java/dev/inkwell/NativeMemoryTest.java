package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Every native allocation has one owner: allocating and freeing in a loop keeps the
 * process's native heap (glibc's count of bytes in use, which covers both our library's
 * allocations and the JDK's arenas), resident memory and open file descriptors flat. Each
 * iteration allocates about 3.5 MB of native memory, so a leak of any of it shows.
 */
class NativeMemoryTest {
    private static final int ITERATIONS = 300;

    // struct mallinfo2 { size_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks,
    //                    uordblks, fordblks, keepcost; }
    private static final StructLayout MALLINFO2 = MemoryLayout.structLayout(
            ValueLayout.JAVA_LONG.withName("arena"), ValueLayout.JAVA_LONG.withName("ordblks"),
            ValueLayout.JAVA_LONG.withName("smblks"), ValueLayout.JAVA_LONG.withName("hblks"),
            ValueLayout.JAVA_LONG.withName("hblkhd"), ValueLayout.JAVA_LONG.withName("usmblks"),
            ValueLayout.JAVA_LONG.withName("fsmblks"), ValueLayout.JAVA_LONG.withName("uordblks"),
            ValueLayout.JAVA_LONG.withName("fordblks"), ValueLayout.JAVA_LONG.withName("keepcost"));
    private static final MethodHandle MALLINFO2_CALL = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().findOrThrow("mallinfo2"), FunctionDescriptor.of(MALLINFO2));

    /** Bytes malloc has handed out and not had back: small blocks plus mmapped ones. */
    static long mallocInUse() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment info = (MemorySegment) MALLINFO2_CALL.invokeExact((SegmentAllocator) arena);
            return info.get(ValueLayout.JAVA_LONG, MALLINFO2.byteOffset(MemoryLayout.PathElement.groupElement("uordblks")))
                    + info.get(ValueLayout.JAVA_LONG, MALLINFO2.byteOffset(MemoryLayout.PathElement.groupElement("hblkhd")));
        }
    }

    private static final MethodHandle MALLOC_TRIM = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().findOrThrow("malloc_trim"),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));

    /**
     * Resident memory after glibc has given its free pages back (malloc_trim): threads that
     * come and go leave freed memory in per-thread malloc arenas, resident until trimmed,
     * which is not a leak.
     */
    static long trimmedResidentKb() throws Throwable {
        int unused = (int) MALLOC_TRIM.invokeExact(0L);
        return residentKb();
    }

    static long residentKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    static long openFiles() throws IOException {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    private static void cycle(byte[] pixels, int h, int w) {
        try (Inkwell inkwell = Inkwell.builder().threads(2).build();
                Image src = Image.fromBytes(pixels, h, w, 3);
                Image edges = inkwell.canny(src, CannyOptions.defaults().withBlur(BlurOptions.of(5, 1.4)));
                Image blurred = inkwell.gaussianBlur(src, BlurOptions.of(3, 0))) {
            edges.get(0, 0, 0);
            blurred.get(0, 0, 0);
        }
        try (Arena arena = Arena.ofConfined()) {
            Image borrowed = Image.allocate(arena, h, w, 1);
            borrowed.close();
            Tensor t = Tensor.allocate(arena, 4, 8, 8);
            t.close();
        }
        DdimScheduler scheduler = DdimScheduler.stableDiffusion();
        try (Inkwell inkwell = Inkwell.builder().threads(2).build();
                Tensor x = Tensor.allocate(1, 16, 32, 32);
                Tensor weight = Tensor.allocate(16, 16, 3, 3);
                Tensor noise = Tensor.allocate(1, 16, 32, 32);
                Tensor prev = Tensor.allocate(1, 16, 32, 32);
                Tensor q = Tensor.allocate(1, 2, 64, 40)) {
            inkwell.randn(x, 1);
            inkwell.randn(noise, 2);
            try (Tensor y = inkwell.conv2d(x, weight, null, Conv2dOptions.defaults().withPadding(1));
                    Tensor up = inkwell.resample(y, ResampleMode.UPSAMPLE_BILINEAR_2X);
                    Tensor o = inkwell.attention(q, q, q, AttentionOptions.defaults())) {
                inkwell.ddimStepGuided(scheduler, 501, 451, x, y, x, 7.5, 1.0, noise, prev, null);
                up.get(0, 0, 0, 0);
                o.get(0, 0, 0, 0);
            }
        }
    }

    @Test
    void allocateAndFreeInALoopDoesNotGrow() throws Throwable {
        int h = 480, w = 640;
        byte[] pixels = CannyTest.randomImage(new Random(1), h, w, 3);
        for (int i = 0; i < 50; i++) { // warm up: JIT, thread stacks, malloc arenas
            cycle(pixels, h, w);
        }
        System.gc();
        long heapBefore = mallocInUse(), rssBefore = residentKb(), fdsBefore = openFiles();
        for (int i = 0; i < ITERATIONS; i++) {
            cycle(pixels, h, w);
        }
        System.gc();
        long heapAfter = mallocInUse(), rssAfter = residentKb(), fdsAfter = openFiles();
        System.out.printf("NativeMemoryTest: %d iterations, malloc in use %d kB -> %d kB, RSS %d kB -> %d kB, open files %d -> %d%n",
                ITERATIONS, heapBefore / 1024, heapAfter / 1024, rssBefore, rssAfter, fdsBefore, fdsAfter);
        // Leaking one image per iteration would add at least 300 * 0.3 MB = 90 MB. malloc's
        // count includes the JVM's own native memory (the JIT compilers' arenas, GC data):
        // between two runs of this loop it moved by -11.7 to +11.4 MB with no leak, so the
        // bound leaves room for that and still catches 100 kB a cycle.
        assertTrue(heapAfter - heapBefore < 30 << 20,
                "native heap grew by " + (heapAfter - heapBefore) / 1024 + " kB over " + ITERATIONS + " iterations");
        assertTrue(rssAfter - rssBefore < 96 * 1024,
                "resident memory grew by " + (rssAfter - rssBefore) + " kB over " + ITERATIONS + " iterations");
        assertTrue(fdsAfter - fdsBefore <= 2, "open files grew from " + fdsBefore + " to " + fdsAfter);
    }
}
