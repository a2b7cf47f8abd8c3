package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The safety net for images and tensors that are never closed (issue 16): the garbage
 * collector's cleaner frees what became unreachable, warns once, and never frees memory
 * that is still reachable (views, borrowed memory, arguments of a running call).
 *
 * <p>Each leak is made in a method of its own, so that no local variable of the test keeps
 * the object reachable; the test keeps only the leaked object's segment, whose scope says
 * whether the memory was freed without keeping the object itself alive.
 */
class LeakSafetyNetTest {
    private static final long WAIT_NANOS = TimeUnit.SECONDS.toNanos(20);

    private final Logger julLogger = Logger.getLogger("dev.inkwell"); // System.Logger's backend here
    private final List<LogRecord> records = new ArrayList<>();
    private final Handler handler = new Handler() {
        @Override
        public void publish(LogRecord r) {
            synchronized (records) {
                records.add(r);
            }
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };

    @BeforeEach
    void drainEarlierLeaksAndListen() throws InterruptedException {
        // Leaks of earlier test classes would otherwise be collected during this one and take
        // the single warning: collect until the cleaner has nothing more to do.
        long seen = -1;
        for (int i = 0; i < 20 && seen != NativeMemory.leaksCollected(); i++) {
            seen = NativeMemory.leaksCollected();
            System.gc();
            Thread.sleep(50);
        }
        julLogger.addHandler(handler);
        NativeMemory.resetLeakWarning();
    }

    @AfterEach
    void stopListening() {
        julLogger.removeHandler(handler);
        System.clearProperty(NativeMemory.LEAK_DETECTION_PROPERTY);
    }

    private List<LogRecord> leakWarnings() {
        synchronized (records) {
            return records.stream().filter(r -> r.getMessage() != null && r.getMessage().contains("was not closed")).toList();
        }
    }

    /** Collects until {@code done}, failing after 20 s (a collection takes milliseconds). */
    private static void collectUntil(String what, BooleanSupplier done) throws InterruptedException {
        long start = System.nanoTime();
        while (!done.getAsBoolean()) {
            assertTrue(System.nanoTime() - start < WAIT_NANOS, "not freed within 20 s: " + what);
            System.gc();
            Thread.sleep(10);
        }
    }

    /** A few collections with time for the cleaner to act: long enough to free anything unreachable. */
    private static void collectSeveralTimes() throws InterruptedException {
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(40);
        }
    }

    private static MemorySegment leakTensor(long floats) {
        Tensor t = Tensor.allocate(floats);
        t.set(1f, floats - 1);
        return t.segment();
    }

    private static MemorySegment leakImage(int height, int width) {
        return Image.allocate(height, width, 3).segment();
    }

    @Test
    void anUnreachableUnclosedTensorIsFreedAndReportedOnce() throws InterruptedException {
        long leaksBefore = NativeMemory.leaksCollected();
        long liveBefore = NativeMemory.liveOwnedBytes();
        MemorySegment tensor = leakTensor(1 << 18); // 1 MiB
        assertEquals(liveBefore + (1 << 20), NativeMemory.liveOwnedBytes(), "owned bytes are counted");
        collectUntil("tensor", () -> NativeMemory.leaksCollected() >= leaksBefore + 1);
        assertFalse(tensor.scope().isAlive());
        assertEquals(leaksBefore + 1, NativeMemory.leaksCollected());
        assertEquals(liveBefore, NativeMemory.liveOwnedBytes(), "and no longer counted once freed");

        List<LogRecord> warnings = leakWarnings();
        assertEquals(1, warnings.size(), "one warning");
        LogRecord w = warnings.get(0);
        assertEquals(Level.WARNING, w.getLevel());
        assertTrue(w.getMessage().contains("a FLOAT32 tensor [262144] (1.0 MiB) was not closed"), w.getMessage());
        assertTrue(w.getMessage().contains("-Dinkwell.leakDetection=paranoid"), w.getMessage());
        assertEquals(null, w.getThrown(), "no allocation trace unless asked for");

        MemorySegment image = leakImage(64, 128);
        collectUntil("image", () -> NativeMemory.leaksCollected() >= leaksBefore + 2);
        assertFalse(image.scope().isAlive());
        assertEquals(leaksBefore + 2, NativeMemory.leaksCollected());
        assertEquals(1, leakWarnings().size(), "the warning is given once per process");
    }

    @Test
    void paranoidModeSaysWhereTheLeakWasAllocated() throws InterruptedException {
        System.setProperty(NativeMemory.LEAK_DETECTION_PROPERTY, "paranoid");
        long leaksBefore = NativeMemory.leaksCollected();
        MemorySegment image = leakImage(16, 16);
        collectUntil("image", () -> NativeMemory.leaksCollected() >= leaksBefore + 1);
        assertFalse(image.scope().isAlive());
        List<LogRecord> warnings = leakWarnings();
        assertEquals(1, warnings.size());
        assertTrue(warnings.get(0).getMessage().contains("an image 16 x 16 x 3 (768 bytes)"), warnings.get(0).getMessage());
        Throwable where = warnings.get(0).getThrown();
        assertNotNull(where, "paranoid mode records the allocation");
        assertTrue(Arrays.stream(where.getStackTrace()).anyMatch(e -> e.getMethodName().equals("leakImage")),
                Arrays.toString(where.getStackTrace()));
    }

    @Test
    void disabledModeFreesWithoutAWord() throws InterruptedException {
        System.setProperty(NativeMemory.LEAK_DETECTION_PROPERTY, "disabled");
        long leaksBefore = NativeMemory.leaksCollected();
        MemorySegment tensor = leakTensor(1000);
        collectUntil("tensor", () -> NativeMemory.leaksCollected() >= leaksBefore + 1);
        assertFalse(tensor.scope().isAlive());
        assertEquals(0, leakWarnings().size());
    }

    @Test
    void closeFreesOnceAndIsNotALeak() throws InterruptedException {
        long leaksBefore = NativeMemory.leaksCollected();
        long liveBefore = NativeMemory.liveOwnedBytes();
        Tensor t = Tensor.fromArray(new float[] {1, 2, 3}, 3);
        Image i = Image.allocate(3, 5, 1);
        MemorySegment ts = t.segment(), is = i.segment();
        assertEquals(liveBefore + 12 + 15, NativeMemory.liveOwnedBytes());
        t.close();
        t.close(); // idempotent: freed and counted once
        i.close();
        assertFalse(ts.scope().isAlive());
        assertFalse(is.scope().isAlive());
        assertEquals(liveBefore, NativeMemory.liveOwnedBytes());
        t = null;
        i = null;
        collectSeveralTimes();
        assertEquals(leaksBefore, NativeMemory.leaksCollected(), "closed objects are not leaks");
        assertEquals(liveBefore, NativeMemory.liveOwnedBytes());
        assertEquals(0, leakWarnings().size());
    }

    private static Tensor viewOfAnUnreachableTensor() {
        Tensor base = Tensor.fromArray(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        return base.view(3, 2);
    }

    @Test
    void aViewKeepsTheTensorItViewsAlive() throws InterruptedException {
        Tensor view = viewOfAnUnreachableTensor();
        MemorySegment memory = view.segment();
        collectSeveralTimes();
        assertTrue(memory.scope().isAlive(), "the viewed tensor is reachable through the view");
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, view.toArray());
        view.close(); // closing a view frees nothing
        assertTrue(memory.scope().isAlive());
        view = null;
        collectUntil("viewed tensor", () -> !memory.scope().isAlive()); // then it is unreachable, and freed
    }

    private static MemorySegment leakBorrowed(Arena arena) {
        Tensor.allocate(arena, 16);
        return Tensor.wrap(arena.allocate(64), 16).segment();
    }

    @Test
    void borrowedMemoryIsLeftToItsArena() throws InterruptedException {
        long leaksBefore = NativeMemory.leaksCollected();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment wrapped = leakBorrowed(arena);
            collectSeveralTimes();
            assertTrue(wrapped.scope().isAlive(), "the net never closes a caller's arena");
            assertEquals(leaksBefore, NativeMemory.leaksCollected());
        }
    }

    private static MemorySegment leakDeviceTensor(Inkwell context) {
        return Tensor.allocate(context, 4, 4).nativeSegment();
    }

    @Test
    void deviceMemoryOfALeakedTensorIsFreedThroughItsContext() throws InterruptedException {
        // A CPU context's "device" memory is host memory allocated through it: the same path
        // (the arena's cleanup calls inkwell_device_free) as GPU memory of a CUDA context.
        Inkwell context = Inkwell.builder().threads(1).build();
        MemorySegment memory = leakDeviceTensor(context);
        collectUntil("device tensor", () -> !memory.scope().isAlive());
        context.close(); // refused while the context still owned the allocation
        assertTrue(context.isClosed());
    }

    @Test
    void argumentsOfARunningCallAreNotFreedUnderIt() throws InterruptedException {
        // Inputs referenced only by the call in progress, while another thread collects
        // without pause: each call must still see its input (the fences in Inkwell.run
        // keep the arguments reachable until the native call returns).
        int h = 257, w = 509;
        byte[] pixels = new byte[h * w];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (byte) ((i % w) * 7 % 251 < 120 ? 30 : 220);
        }
        float[] values = new float[1 << 16];
        for (int i = 0; i < values.length; i++) {
            values[i] = (i % 97) / 10f - 4;
        }
        AtomicBoolean running = new AtomicBoolean(true);
        Thread collector = new Thread(() -> {
            while (running.get()) {
                System.gc();
            }
        });
        try (Inkwell inkwell = Inkwell.builder().threads(2).build()) {
            byte[] wantEdges;
            float[] wantSilu;
            try (Image src = Image.fromBytes(pixels, h, w, 1); Image e = inkwell.canny(src);
                    Tensor x = Tensor.fromArray(values, values.length);
                    Tensor y = inkwell.layers().activation(x, Activation.SILU)) {
                wantEdges = e.toByteArray();
                wantSilu = y.toArray();
            }
            collector.start();
            for (int i = 0; i < 40; i++) {
                try (Image e = inkwell.canny(Image.fromBytes(pixels, h, w, 1));
                        Tensor y = inkwell.layers().activation(Tensor.fromArray(values, values.length), Activation.SILU)) {
                    assertArrayEquals(wantEdges, e.toByteArray(), "canny of an input only the call holds, run " + i);
                    assertArrayEquals(wantSilu, y.toArray(), "silu of an input only the call holds, run " + i);
                }
            }
        } finally {
            running.set(false);
            collector.join();
        }
    }

    private static final Pattern FIGURES = Pattern.compile(
            "unclosed-workload: rss_start_kb=(\\d+) rss_after_tensors_kb=(\\d+) rss_end_kb=(\\d+) rss_peak_kb=(\\d+)"
                    + " live_owned_bytes=(\\d+)");

    /**
     * Issue 16's reproduction in a child JVM with {@code -Xmx256m}: 200 unclosed 16 MB
     * tensors and 200 unclosed 8 MB Canny results took resident memory from 41 MB to 4.9 GB
     * before the safety net. Now the peak must stay under 1 GB (it is about 0.4 GB: the
     * collection threshold of 256 MiB of owned memory plus the JVM), and the warning must
     * appear exactly once.
     */
    @Test
    void residentMemoryStaysBoundedWhenUsersForgetToClose() throws Exception {
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
                "--enable-native-access=ALL-UNNAMED", "-cp", classPath, UnclosedWorkload.class.getName())
                .redirectErrorStream(true).start();
        String output = readAll(child.getInputStream());
        assertTrue(child.waitFor(5, TimeUnit.MINUTES), "child JVM did not finish");
        assertEquals(0, child.exitValue(), output);
        Matcher m = FIGURES.matcher(output);
        assertTrue(m.find(), output);
        System.out.println("LeakSafetyNetTest: " + m.group());
        long peakKb = Long.parseLong(m.group(4));
        assertTrue(peakKb < 1024 * 1024, "peak resident memory " + peakKb + " kB, expected < 1 GB:\n" + output);
        int warnings = output.split("was not closed", -1).length - 1;
        assertEquals(1, warnings, "one warning per process:\n" + output);
    }

    private static String readAll(InputStream in) {
        try (in) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            return out.toString(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
