package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.models.UNet2DConditionModel;
import dev.inkwell.models.UNet2DConditionModelConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Workspace (issue 12): a repeated U-Net evaluation allocates no new block after the first and
 * gives the bits of a run without a workspace (also with every lent block poisoned with NaN,
 * which shows a kernel reading its result before writing it); ownership (lent tensors outlive
 * the workspace, the safety net returns unclosed ones, live bytes come back); binding rules
 * (closed workspace, other contexts, threads).
 */
class WorkspaceTest {
    private static Inkwell inkwell;

    @BeforeAll
    static void open() {
        inkwell = Inkwell.builder().threads(2).build();
    }

    @AfterAll
    static void close() {
        inkwell.close();
    }

    /** A two-level U-Net with cross-attention down, in the middle and up: every kind of block, small. */
    static UNet2DConditionModelConfig tinyUNet() {
        return new UNet2DConditionModelConfig(4, 4, List.of(16, 32), List.of("CrossAttnDownBlock2D", "DownBlock2D"),
                "UNetMidBlock2DCrossAttn", List.of("UpBlock2D", "CrossAttnUpBlock2D"), List.of(1, 1), List.of(1, 1),
                List.of(2, 2), 8, 8, 1e-5, "silu", true, 0, 1, 1, false, false, "default", null);
    }

    private static Tensor random(long seed, long... shape) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int n = 1;
        for (long d : shape) {
            n *= (int) d;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return Tensor.fromArray(v, shape);
    }

    /** Two denoising-like steps: the second feeds on the first's output, as a loop does. */
    private static float[] twoSteps(UNet2DConditionModel unet, Tensor sample, Tensor text) {
        try (Tensor a = unet.forward(sample, 951, text); Tensor b = unet.forward(a, 901, text)) {
            return b.toArray();
        }
    }

    @Test
    void aSecondRunAllocatesNothingAndGivesTheSameBits() {
        long live = NativeMemory.liveOwnedBytes();
        try (UNet2DConditionModel unet = UNet2DConditionModel.random(tinyUNet(), 3, inkwell);
                Tensor sample = random(1, 2, 4, 8, 8);
                Tensor text = random(2, 2, 5, 8)) {
            float[] want = twoSteps(unet, sample, text);
            long withModel = NativeMemory.liveOwnedBytes();
            for (boolean poison : new boolean[] {false, true}) {
                Workspace ws;
                if (poison) {
                    System.setProperty(Workspace.POISON_PROPERTY, "true");
                }
                try {
                    ws = Workspace.create(inkwell);
                } finally {
                    System.clearProperty(Workspace.POISON_PROPERTY);
                }
                try (ws) {
                    if (poison) { // the poison is there, so the equal bits below mean something
                        float[] lent = ws.call(() -> {
                            try (Tensor t = Tensor.allocate(inkwell, 4)) {
                                return t.toArray();
                            }
                        });
                        for (float v : lent) {
                            assertTrue(Float.isNaN(v), "a poisoned block reads NaN");
                        }
                        ws.trim();
                    }
                    float[] first = ws.call(() -> twoSteps(unet, sample, text));
                    Workspace.Stats s1 = ws.stats();
                    assertTrue(s1.blocksAllocated() > 10, "the U-Net's activations came from it: " + s1);
                    assertTrue(s1.blocksReused() > 0, "the second step reused the first's blocks: " + s1);
                    assertEquals(0, s1.blocksLent(), "everything went back: " + s1);
                    assertEquals(s1.bytesHeld(), s1.bytesFree());
                    float[] second = ws.call(() -> twoSteps(unet, sample, text));
                    Workspace.Stats s2 = ws.stats();
                    assertEquals(s1.blocksAllocated(), s2.blocksAllocated(), "no new block the second time: " + s2);
                    assertEquals(s1.bytesHeld(), s2.bytesHeld());
                    assertTrue(s2.blocksReused() >= s1.blocksReused() + s1.blocksAllocated(), s2.toString());
                    assertArrayEquals(want, first, "poison " + poison + ": same bits as without a workspace");
                    assertArrayEquals(want, second, "poison " + poison + ": same bits when every block is reused");
                    assertEquals(withModel + s2.bytesHeld(), NativeMemory.liveOwnedBytes(), "held blocks count as owned");
                }
                assertEquals(0, ws.stats().bytesHeld());
            }
        }
        assertEquals(live, NativeMemory.liveOwnedBytes(), "everything freed");
    }

    @Test
    void aSegmentKeptPastCloseThrowsAndDoesNotSeeTheNextLending() {
        try (Workspace ws = Workspace.create(inkwell); Tensor a = Tensor.fromArray(new float[] {1, 2, 3, 4}, 4)) {
            ws.run(() -> {
                java.lang.foreign.MemorySegment kept;
                try (Tensor first = inkwell.ops().add(a, a)) {
                    kept = first.segment();
                    assertEquals(2f, kept.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 0));
                }
                try (Tensor second = inkwell.ops().add(a, a)) { // the same block, lent again
                    assertEquals(1, ws.stats().blocksAllocated(), "the block was reused: " + ws.stats());
                    java.lang.foreign.MemorySegment stale = kept;
                    assertThrows(IllegalStateException.class,
                            () -> stale.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 0),
                            "a closed tensor's segment is dead, as without a workspace");
                    assertEquals(2f, second.get(0));
                }
            });
        }
    }

    @Test
    void aLentTensorOutlivesTheWorkspaceAndIsFreedOnItsClose() {
        long live = NativeMemory.liveOwnedBytes();
        Workspace ws = Workspace.create(inkwell);
        Tensor a = Tensor.fromArray(new float[] {1, 2, 3, 4}, 4);
        Tensor sum = ws.call(() -> {
            try (Tensor scratch = inkwell.ops().add(a, a)) { // lent and returned: a free block at close
                return inkwell.ops().add(scratch, a);
            }
        });
        Workspace.Stats s = ws.stats();
        assertEquals(new Workspace.Stats(2, 0, 1, 1, 32, 16), s);
        assertEquals(live + 16 + 32, NativeMemory.liveOwnedBytes());
        ws.close();
        ws.close(); // idempotent
        assertTrue(ws.isClosed());
        assertEquals(live + 16 + 16, NativeMemory.liveOwnedBytes(), "the free block is freed at once");
        assertArrayEquals(new float[] {3, 6, 9, 12}, sum.toArray(), "the lent result is still valid");
        sum.close();
        sum.close();
        assertEquals(new Workspace.Stats(2, 0, 0, 0, 0, 0), ws.stats());
        a.close();
        assertEquals(live, NativeMemory.liveOwnedBytes(), "and freed when closed");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> ws.run(() -> {}));
        assertEquals("workspace is closed", e.getMessage());
        assertThrows(IllegalStateException.class, () -> ws.call(() -> 1));
        assertThrows(NullPointerException.class, () -> Workspace.create(null));
        assertThrows(NullPointerException.class, () -> {
            try (Workspace other = Workspace.create(inkwell)) {
                other.run(null);
            }
        });
    }

    @Test
    void closingWhileBoundRefusesLaterAllocations() {
        try (Workspace ws = Workspace.create(inkwell)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> ws.run(() -> {
                Tensor.allocate(inkwell, 3).close();
                ws.close();
                Tensor.allocate(inkwell, 3).close();
            }));
            assertTrue(e.getMessage().contains("workspace is closed"), e.getMessage());
            assertEquals(0, ws.stats().bytesHeld());
        }
    }

    @Test
    void sameSizeIsReusedAndOtherSizesAreNot() {
        try (Workspace ws = Workspace.create(inkwell)) {
            ws.run(() -> {
                Tensor a = Tensor.allocate(inkwell, 2, 3);
                long address = a.nativeSegment().address();
                a.close();
                try (Tensor b = Tensor.allocate(inkwell, 3, 2); // same bytes, other shape
                        Tensor c = Tensor.allocate(inkwell, 2, 3)) { // same size, but b holds the block
                    assertEquals(address, b.nativeSegment().address(), "the returned block");
                    assertNotEquals(address, c.nativeSegment().address());
                    assertArrayEquals(new long[] {3, 2}, b.shape());
                    assertFalse(b.overlaps(c));
                }
                try (Tensor d = Tensor.allocate(inkwell, ElementType.FLOAT16, 2, 3)) { // 12 bytes, not 24
                    assertEquals(12, d.nativeSegment().byteSize());
                }
            });
            assertEquals(new Workspace.Stats(3, 1, 0, 3, 24 + 24 + 12, 24 + 24 + 12), ws.stats());
            ws.trim();
            assertEquals(new Workspace.Stats(3, 1, 0, 0, 0, 0), ws.stats());
            assertFalse(ws.isClosed(), "trim keeps it usable");
            ws.run(() -> Tensor.allocate(inkwell, 2).close());
            assertEquals(4, ws.stats().blocksAllocated());
        }
    }

    @Test
    void anotherContextsTensorsNeverComeFromIt() {
        try (Inkwell other = Inkwell.builder().threads(1).build();
                Workspace ws = Workspace.create(inkwell);
                Tensor a = Tensor.fromArray(new float[] {1, 2}, 2)) {
            Tensor fromOther = ws.call(() -> other.ops().add(a, a));
            Tensor device = ws.call(() -> Tensor.allocate(other, 2));
            Tensor host = ws.call(() -> Tensor.allocate(2)); // no context: plain host memory
            assertEquals(new Workspace.Stats(0, 0, 0, 0, 0, 0), ws.stats());
            ws.close();
            assertArrayEquals(new float[] {2, 4}, fromOther.toArray());
            fromOther.close();
            device.close();
            host.close();
            Workspace.Stats none = new Workspace.Stats(0, 0, 0, 0, 0, 0);
            assertEquals(none, ws.stats());
        }
    }

    @Test
    void aClosedContextIsRefusedEvenWithAFreeBlock() {
        Inkwell ctx = Inkwell.builder().threads(1).build();
        Workspace ws = Workspace.create(ctx);
        ws.run(() -> Tensor.allocate(ctx, 4).close());
        ctx.close();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> ws.run(() -> Tensor.allocate(ctx, 4)));
        assertTrue(e.getMessage().contains("context is closed"), e.getMessage());
        ws.close();
        assertThrows(IllegalStateException.class, () -> Workspace.create(ctx));
    }

    private static void leakAPooledTensor(Workspace ws) {
        ws.run(() -> Tensor.allocate(inkwell, 1000).set(1f, 999));
    }

    @Test
    void theSafetyNetReturnsAnUnclosedTensorsBlock() throws InterruptedException {
        List<String> warnings = new ArrayList<>();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord r) {
                synchronized (warnings) {
                    if (r.getMessage() != null && r.getMessage().contains("was not closed")) {
                        warnings.add(r.getMessage());
                    }
                }
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        Logger log = Logger.getLogger("dev.inkwell");
        collectUntil(() -> { // earlier leaks first, so that the one warning is this test's
            long seen = NativeMemory.leaksCollected();
            System.gc();
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return seen == NativeMemory.leaksCollected();
        });
        log.addHandler(handler);
        NativeMemory.resetLeakWarning();
        long live = NativeMemory.liveOwnedBytes();
        try (Workspace ws = Workspace.create(inkwell)) {
            leakAPooledTensor(ws);
            assertEquals(1, ws.stats().blocksLent());
            collectUntil(() -> ws.stats().blocksLent() == 0);
            assertEquals(new Workspace.Stats(1, 0, 0, 1, 4000, 4000), ws.stats(), "back in the free list");
            collectUntil(() -> {
                synchronized (warnings) {
                    return !warnings.isEmpty();
                }
            });
            synchronized (warnings) {
                assertEquals(1, warnings.size());
                assertTrue(warnings.get(0).contains("a FLOAT32 tensor [1000] (3.9 KiB) was not closed")
                        && warnings.get(0).contains("returned to its workspace"), warnings.get(0));
            }
            ws.run(() -> Tensor.allocate(inkwell, 1000).close());
            assertEquals(1, ws.stats().blocksReused(), "and reused");
        } finally {
            log.removeHandler(handler);
        }
        Workspace closed = Workspace.create(inkwell);
        leakAPooledTensor(closed);
        closed.close();
        collectUntil(() -> closed.stats().blocksLent() == 0);
        assertEquals(0, closed.stats().bytesHeld(), "a closed workspace's block is freed");
        collectUntil(() -> NativeMemory.liveOwnedBytes() <= live);
        assertEquals(live, NativeMemory.liveOwnedBytes());
    }

    private static void collectUntil(java.util.function.BooleanSupplier done) throws InterruptedException {
        long start = System.nanoTime();
        while (!done.getAsBoolean()) {
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(20), "not collected within 20 s");
            System.gc();
            Thread.sleep(10);
        }
    }

    @Test
    void twoThreadsWithTheirOwnBindingsShareOneWorkspace() throws Exception {
        try (UNet2DConditionModel unet = UNet2DConditionModel.random(tinyUNet(), 5, inkwell);
                Tensor sample = random(3, 1, 4, 8, 8);
                Tensor text = random(4, 1, 5, 8);
                Workspace ws = Workspace.create(inkwell)) {
            float[] want = twoSteps(unet, sample, text);
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                List<Future<List<float[]>>> results = new ArrayList<>();
                for (int thread = 0; thread < 2; thread++) {
                    results.add(pool.submit(() -> {
                        List<float[]> outs = new ArrayList<>();
                        for (int i = 0; i < 3; i++) {
                            outs.add(ws.call(() -> twoSteps(unet, sample, text)));
                        }
                        return outs;
                    }));
                }
                for (Future<List<float[]>> f : results) {
                    for (float[] got : f.get(120, TimeUnit.SECONDS)) {
                        assertArrayEquals(want, got);
                    }
                }
            } finally {
                pool.shutdown();
            }
            Workspace.Stats s = ws.stats();
            assertEquals(0, s.blocksLent(), s.toString());
            assertTrue(s.blocksReused() > s.blocksAllocated(), "most allocations reused blocks: " + s);
            // Unbound on this thread: nothing from it.
            try (Tensor t = Tensor.allocate(inkwell, 7)) {
                assertEquals(s, ws.stats());
            }
        }
    }
}
