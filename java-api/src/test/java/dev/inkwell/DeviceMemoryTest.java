package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Memory of a context's device: allocation owned by a tensor, image or arena, copies, the
 * rule that a context outlives its allocations, and the device checks of every kernel. On a
 * CPU context device memory is host memory, so all of it runs here; CUDA-resident objects
 * are simulated (over host memory that must never be touched) to check that they are
 * refused before anything dereferences them.
 */
class DeviceMemoryTest {
    @Test
    void tensorsInContextMemoryWorkWithEveryKernelAndCopy() {
        Random rnd = new Random(3);
        float[] x = Tolerance.random(rnd, 2 * 4 * 9 * 9, 1), w = Tolerance.random(rnd, 6 * 4 * 3 * 3, 0.3f);
        try (Inkwell ctx = Inkwell.builder().threads(2).build();
                Tensor hostX = Tensor.fromArray(x, 2, 4, 9, 9); Tensor hostW = Tensor.fromArray(w, 6, 4, 3, 3);
                Tensor devX = Tensor.allocate(ctx, 2, 4, 9, 9); Tensor devW = Tensor.allocate(ctx, 6, 4, 3, 3);
                Tensor devY = Tensor.allocate(ctx, 2, 6, 9, 9)) {
            assertEquals(Device.CPU, devX.device());
            ctx.copy(hostX, devX);
            devW.copyFrom(w);
            assertArrayEquals(x, devX.toArray());
            Conv2dOptions o = Conv2dOptions.defaults().withPadding(1);
            ctx.conv2d(devX, devW, null, devY, o);
            try (Tensor want = ctx.conv2d(hostX, hostW, null, o); Tensor back = Tensor.allocate(2, 6, 9, 9)) {
                ctx.copy(devY, back);
                assertArrayEquals(want.toArray(), back.toArray());
            }
            assertThrows(IllegalArgumentException.class, () -> ctx.copy(devX, devY), "shape mismatch");
            assertThrows(IllegalArgumentException.class, () -> ctx.copy(devX, devX), "overlap");
        }
    }

    @Test
    void imagesInContextMemoryRunCanny() {
        byte[] pixels = CannyTest.randomImage(new Random(4), 40, 50, 3);
        try (Inkwell ctx = Inkwell.create(); Image host = Image.fromBytes(pixels, 40, 50, 3);
                Image dev = Image.allocate(ctx, 40, 50, 3); Image edges = Image.allocate(ctx, 40, 50, 1)) {
            ctx.copy(host, dev);
            ctx.canny(dev, edges, CannyOptions.defaults());
            try (Image want = ctx.canny(host)) {
                assertArrayEquals(want.toByteArray(), edges.toByteArray());
            }
        }
    }

    @Test
    void aContextRefusesToCloseWhileItsAllocationsLive() {
        Inkwell ctx = Inkwell.create();
        Tensor t = Tensor.allocate(ctx, 16);
        Arena arena = Arena.ofConfined();
        Image img = Image.allocate(ctx, arena, 4, 4, 1);
        MemorySegment pinned = ctx.allocatePinned(arena, 1024);
        pinned.fill((byte) 7); // host memory: writable from Java
        IllegalStateException e = assertThrows(IllegalStateException.class, ctx::close);
        assertTrue(e.getMessage().contains("3 device allocation"), e.getMessage());
        assertFalse(ctx.isClosed());
        t.close();
        assertThrows(IllegalStateException.class, ctx::close);
        arena.close(); // frees the image and the pinned block through the context
        assertFalse(img.isClosed()); // borrowed: the image object stays, its memory is gone
        assertThrows(IllegalStateException.class, img::toByteArray);
        ctx.close();
        assertTrue(ctx.isClosed());
        assertThrows(IllegalStateException.class, () -> Tensor.allocate(ctx, 4));
    }

    @Test
    void allocatingAndFreeingInALoopDoesNotLeak() throws Throwable {
        try (Inkwell ctx = Inkwell.create()) {
            float[] zeros = new float[1 << 16];
            Runnable cycle = () -> {
                try (Tensor t = Tensor.allocate(ctx, 1 << 16); Arena arena = Arena.ofConfined()) {
                    Image.allocate(ctx, arena, 128, 128, 3);
                    ctx.allocatePinned(arena, 1 << 16);
                    t.copyFrom(zeros);
                }
            };
            for (int i = 0; i < 300; i++) { // warm up: JIT (its arenas are malloc'd too), malloc's own arenas
                cycle.run();
            }
            System.gc();
            long before = NativeMemoryTest.mallocInUse();
            for (int i = 0; i < 2000; i++) {
                cycle.run();
            }
            System.gc();
            long after = NativeMemoryTest.mallocInUse();
            // Each cycle allocates 256 KiB + 48 KiB + 64 KiB: leaking the smallest of them in
            // every cycle would add 96 MB.
            assertTrue(after - before < 16 << 20, "malloc in use grew by " + (after - before) / 1024 + " kB");
        }
    }

    @Test
    void cudaResidentObjectsAreRefusedBeforeAnyoneReadsThem() {
        try (Arena arena = Arena.ofConfined(); Inkwell cpu = Inkwell.create();
                Tensor host = Tensor.allocate(1, 1, 4, 8); Image hostImage = Image.allocate(8, 8, 1)) {
            // Stand-ins for CUDA memory: host bytes that the checks must stop short of.
            Tensor gpu = Tensor.onDevice(arena.allocate(128), Device.CUDA, 1, 1, 4, 8);
            Image gpuImage = Image.onDevice(arena.allocate(64), Device.CUDA, 8, 8, 1);
            assertEquals(Device.CUDA, gpu.device());
            for (Runnable hostAccess : new Runnable[] {gpu::segment, () -> gpu.get(0, 0, 0, 0), () -> gpu.set(1f, 0, 0, 0, 0),
                    gpuImage::segment, () -> gpuImage.get(0, 0, 0)}) {
                IllegalStateException e = assertThrows(IllegalStateException.class, hostAccess::run);
                assertTrue(e.getMessage().contains("CUDA device memory"), e.getMessage());
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> cpu.attention(gpu, host, host, AttentionOptions.defaults()));
            assertTrue(e.getMessage().contains("CUDA memory") && e.getMessage().contains("CPU"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> cpu.canny(gpuImage, hostImage, CannyOptions.defaults()));
            assertThrows(IllegalArgumentException.class, () -> cpu.copy(gpu, host));
            assertThrows(IllegalArgumentException.class, () -> cpu.resample(gpu, ResampleMode.AVG_POOL_2X2));
            assertThrows(IllegalArgumentException.class, () -> cpu.randn(gpu, 1));
        }
    }
}
