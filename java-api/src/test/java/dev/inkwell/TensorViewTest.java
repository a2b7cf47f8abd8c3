package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** {@link Tensor#view}: torch's view rules, shared memory, borrowed lifetime. */
class TensorViewTest {
    private static void throwsWith(Class<? extends Throwable> type, String fragment, Executable call) {
        Throwable e = assertThrows(type, call);
        assertTrue(e.getMessage() != null && e.getMessage().contains(fragment),
                "message '" + e.getMessage() + "' should contain '" + fragment + "'");
    }

    private static float[] iota(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = i;
        }
        return a;
    }

    @Test
    void shapesAsTorchViews() {
        try (Tensor t = Tensor.fromArray(iota(2 * 3 * 20), 2, 3, 4, 5)) {
            Tensor v = t.view(2, 3, 20);
            assertArrayEquals(new long[] {2, 3, 20}, v.shape());
            assertArrayEquals(t.toArray(), v.toArray(), "C order kept");
            assertArrayEquals(new long[] {6, 20}, t.view(-1, 20).shape());
            assertArrayEquals(new long[] {2, 60}, t.view(2, -1).shape());
            assertArrayEquals(new long[] {120}, t.view(-1).shape());
            assertArrayEquals(new long[] {1, 120, 1}, t.view(1, -1, 1).shape());
            assertArrayEquals(new long[] {2, 3, 4, 5}, t.view(2, 3, 4, 5).shape());
            assertEquals(ElementType.FLOAT32, v.elementType());
            assertEquals(Device.CPU, v.device());
            assertEquals(23f, v.get(0, 1, 3)); // element [0, 1, 0, 3] of t
        }
        try (Tensor h = Tensor.fromArray(iota(12), ElementType.BFLOAT16, 3, 4)) {
            Tensor v = h.view(4, 3);
            assertEquals(ElementType.BFLOAT16, v.elementType());
            assertEquals(5f, v.get(1, 2));
        }
    }

    @Test
    void badShapesAreRefusedNamingThem() {
        try (Tensor t = Tensor.allocate(2, 3, 4)) {
            throwsWith(IllegalArgumentException.class, "shape [5, 5] has 25 elements but the tensor [2, 3, 4] has 24",
                    () -> t.view(5, 5));
            throwsWith(IllegalArgumentException.class, "only one dimension can be -1", () -> t.view(-1, -1));
            throwsWith(IllegalArgumentException.class, "shape [5, -1] is invalid for a tensor of 24 elements",
                    () -> t.view(5, -1));
            throwsWith(IllegalArgumentException.class, "has a dimension 0", () -> t.view(0, 24));
            throwsWith(IllegalArgumentException.class, "has a dimension -2", () -> t.view(-2, -12));
            throwsWith(IllegalArgumentException.class, "1..8 dimensions, got 0", () -> t.view());
            throwsWith(IllegalArgumentException.class, "1..8 dimensions, got 9", () -> t.view(1, 1, 1, 1, 1, 1, 1, 2, 12));
            throwsWith(IllegalArgumentException.class, "elements, more than the 2147483647 a tensor may have",
                    () -> t.view(Long.MAX_VALUE, 2));
            throwsWith(IllegalArgumentException.class, "shape [25, -1] is invalid for a tensor of 24 elements",
                    () -> t.view(25, -1));
            throwsWith(IllegalArgumentException.class, "is invalid for a tensor of 24 elements",
                    () -> t.view(Long.MAX_VALUE, 4, -1));
            throwsWith(IllegalArgumentException.class, "is invalid for a tensor of 24 elements", // 2^63 wraps to < 0
                    () -> t.view(1L << 32, 1L << 31, -1));
            throwsWith(NullPointerException.class, "shape", () -> t.view((long[]) null));
        }
    }

    @Test
    void writesAreSharedBothWays() {
        try (Inkwell inkwell = Inkwell.create(); Tensor t = Tensor.fromArray(iota(24), 2, 3, 4)) {
            Tensor v = t.view(4, 6);
            v.set(-7f, 3, 5);
            assertEquals(-7f, t.get(1, 2, 3));
            t.set(9f, 0, 0, 1);
            assertEquals(9f, v.get(0, 1));
            v.copyFrom(iota(24));
            assertArrayEquals(iota(24), t.toArray());
            // A kernel writing through a view writes the tensor.
            try (Tensor src = Tensor.fromArray(new float[24], 24)) {
                inkwell.copy(src, v.view(24));
            }
            assertArrayEquals(new float[24], t.toArray());
        }
    }

    @Test
    void aViewIsBorrowed() {
        Tensor t = Tensor.fromArray(iota(6), 2, 3);
        Tensor v = t.view(3, 2);
        Tensor vv = v.view(6);
        v.close(); // frees nothing
        assertTrue(v.isClosed());
        assertArrayEquals(iota(6), t.toArray(), "the tensor is untouched");
        assertArrayEquals(iota(6), vv.toArray(), "a view of a closed view still reads the tensor");
        throwsWith(IllegalStateException.class, "tensor is closed", v::toArray);
        throwsWith(IllegalStateException.class, "tensor is closed", () -> v.get(0, 0));
        throwsWith(IllegalStateException.class, "tensor is closed", () -> v.view(6));
        t.close();
        assertFalse(vv.isClosed());
        throwsWith(IllegalStateException.class, "tensor is closed", vv::toArray);
        throwsWith(IllegalStateException.class, "tensor is closed", () -> vv.get(0));
        throwsWith(IllegalStateException.class, "tensor is closed", () -> vv.set(1f, 0));
        throwsWith(IllegalStateException.class, "tensor is closed", vv::segment);
        throwsWith(IllegalStateException.class, "tensor is closed", () -> vv.copyFrom(new float[6]));
        throwsWith(IllegalStateException.class, "tensor is closed", () -> vv.view(2, 3));
        try (Inkwell inkwell = Inkwell.create()) {
            throwsWith(IllegalStateException.class, "tensor is closed", () -> inkwell.layers().activation(vv, Activation.RELU));
            try (Tensor out = Tensor.allocate(6)) {
                throwsWith(IllegalStateException.class, "tensor is closed", () -> inkwell.copy(vv, out));
            }
        }
    }

    @Test
    void aClosedViewCannotReachAKernel() {
        try (Inkwell inkwell = Inkwell.create(); Tensor t = Tensor.fromArray(iota(6), 6); Tensor out = Tensor.allocate(6)) {
            Tensor closedFlat = t.view(6);
            closedFlat.close();
            throwsWith(IllegalStateException.class, "copy: src is closed", () -> inkwell.copy(closedFlat, out));
            throwsWith(IllegalStateException.class, "activation: x is closed",
                    () -> inkwell.layers().activation(closedFlat, Activation.SILU, out));
        }
    }

    @Test
    void aViewOfArenaMemoryLivesAsLongAsTheArena() {
        Arena arena = Arena.ofShared();
        Tensor t = Tensor.allocate(arena, 4, 4);
        Tensor v = t.view(16);
        v.copyFrom(iota(16));
        assertEquals(5f, t.get(1, 1));
        arena.close();
        try (Inkwell inkwell = Inkwell.create(); Tensor out = Tensor.allocate(16)) {
            throwsWith(IllegalStateException.class, "tensor memory was freed",
                    () -> inkwell.layers().activation(v, Activation.RELU, v));
            throwsWith(IllegalStateException.class, "tensor memory was freed", v::toArray);
        }
    }

    @Test
    void aViewOfDeviceMemoryKeepsItsDeviceAndContext() {
        try (Inkwell inkwell = Inkwell.create(); Tensor t = Tensor.allocate(inkwell, 2, 6)) {
            Tensor v = t.view(3, 4);
            v.copyFrom(iota(12)); // copies through the context that allocated t
            assertArrayEquals(iota(12), t.toArray());
            try (Tensor y = inkwell.layers().activation(v, Activation.RELU)) {
                assertArrayEquals(new long[] {3, 4}, y.shape());
                assertArrayEquals(iota(12), y.toArray());
            }
        }
    }

    @Test
    void closingTheTensorWaitsForAKernelUsingAView() throws Exception {
        // A long call on a view must hold the viewed tensor open: its close() waits, rather
        // than freeing memory under the kernel.
        try (Inkwell inkwell = Inkwell.builder().threads(1).build()) {
            Tensor t = Tensor.fromArray(new float[1 << 20], 1 << 20);
            Tensor v = t.view(512, 2048); // about 0.5 GFLOP a call below
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try (Tensor w = Tensor.allocate(512, 2048)) {
                CountDownLatch started = new CountDownLatch(1);
                Future<?> call = pool.submit(() -> {
                    started.countDown();
                    for (int i = 0; i < 10; i++) {
                        try (Tensor y = inkwell.layers().linear(v, w, null)) {
                            assertEquals(512, y.dim(1));
                        }
                    }
                    return null;
                });
                started.await();
                Thread.sleep(20);
                t.close(); // must not free the memory while a call uses the view
                try {
                    call.get(120, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException e) {
                    // Calls started after the close see a closed tensor; nothing else may fail.
                    assertTrue(e.getCause() instanceof IllegalStateException, "unexpected " + e.getCause());
                    assertTrue(e.getCause().getMessage().contains("tensor is closed"), e.getCause().getMessage());
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }
}
