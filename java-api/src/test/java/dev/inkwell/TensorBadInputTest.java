package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** Tensors and the tensor kernels reject bad input with exceptions that name the problem. */
class TensorBadInputTest {
    @TempDir
    Path tmp;

    private static void throwsWith(Class<? extends Throwable> type, String fragment, Executable call) {
        Throwable e = assertThrows(type, call);
        assertTrue(e.getMessage() != null && e.getMessage().contains(fragment),
                "message '" + e.getMessage() + "' should contain '" + fragment + "'");
    }

    @Test
    void shapes() {
        throwsWith(IllegalArgumentException.class, "has a dimension 0", () -> Tensor.allocate(2, 0, 3));
        throwsWith(IllegalArgumentException.class, "has a dimension -1", () -> Tensor.allocate(-1));
        throwsWith(IllegalArgumentException.class, "2147483648 elements, more than the 2147483647",
                () -> Tensor.allocate(1L << 16, 1L << 15));
        throwsWith(IllegalArgumentException.class, "elements, more than", () -> Tensor.allocate(Long.MAX_VALUE, 4));
        throwsWith(IllegalArgumentException.class, "1..8 dimensions, got 0", () -> Tensor.allocate());
        throwsWith(IllegalArgumentException.class, "1..8 dimensions, got 9", () -> Tensor.allocate(1, 1, 1, 1, 1, 1, 1, 1, 1));
        throwsWith(IllegalArgumentException.class, "data has 5 elements but shape [2, 3] has 6",
                () -> Tensor.fromArray(new float[5], 2, 3));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(16);
            throwsWith(IllegalArgumentException.class, "segment has 16 bytes but a FLOAT32 tensor of shape [5] needs 20",
                    () -> Tensor.wrap(seg, 5));
            throwsWith(IllegalArgumentException.class, "heap segment", () -> Tensor.wrap(MemorySegment.ofArray(new float[4]), 4));
            throwsWith(IllegalArgumentException.class, "not 4-byte aligned", () -> Tensor.wrap(seg.asSlice(1, 8), 2));
        }
    }

    @Test
    void kernelArguments() {
        try (Inkwell inkwell = Inkwell.create();
                Tensor x = Tensor.allocate(1, 4, 8, 8);
                Tensor w = Tensor.allocate(6, 4, 3, 3);
                Tensor flat = Tensor.allocate(16)) {
            Conv2dOptions d = Conv2dOptions.defaults();
            throwsWith(IllegalArgumentException.class, "input must have rank 4", () -> inkwell.conv2d(flat, w, null, d));
            throwsWith(IllegalArgumentException.class, "groups 3 must divide in_channels 4",
                    () -> inkwell.conv2d(x, w, null, d.withGroups(3)));
            throwsWith(IllegalArgumentException.class, "weight dim 1 is 4 but in_channels / groups = 2",
                    () -> inkwell.conv2d(x, w, null, d.withGroups(2)));
            throwsWith(IllegalArgumentException.class, "bias must have shape [6], got [16]", () -> inkwell.conv2d(x, w, flat, d));
            throwsWith(IllegalArgumentException.class, "larger than the padded input",
                    () -> inkwell.conv2d(x, w, null, d.withDilation(5)));
            throwsWith(IllegalArgumentException.class, "stride must be >= 1, got 0", () -> d.withStride(0));
            throwsWith(IllegalArgumentException.class, "padding must be >= 0", () -> d.withPadding(-1));
            try (Tensor wrongOut = Tensor.allocate(1, 6, 7, 7)) {
                throwsWith(IllegalArgumentException.class, "output must have shape [1, 6, 6, 6], got [1, 6, 7, 7]",
                        () -> inkwell.conv2d(x, w, null, wrongOut, d));
            }
            throwsWith(IllegalArgumentException.class, "output overlaps an input",
                    () -> inkwell.conv2d(x, Tensor.wrap(x.segment(), 4, 4, 1, 1), null, x, d.withPadding(0)));

            try (Tensor q = Tensor.allocate(1, 2, 5, 8); Tensor k = Tensor.allocate(1, 2, 7, 8); Tensor k2 = Tensor.allocate(1, 3, 7, 8);
                    Tensor big = Tensor.allocate(1, 1, 1, 513)) {
                AttentionOptions a = AttentionOptions.defaults();
                throwsWith(IllegalArgumentException.class, "does not match q's batch, heads and head_dim",
                        () -> inkwell.attention(q, k2, k2, a));
                throwsWith(IllegalArgumentException.class, "v must have shape [1, 2, 7, 8], got [1, 2, 5, 8]",
                        () -> inkwell.attention(q, k, q, a));
                throwsWith(IllegalArgumentException.class, "head_dim must be at most 512, got 513",
                        () -> inkwell.attention(big, big, big, a));
                throwsWith(IllegalArgumentException.class, "kv lengths has 2 entries, batch is 1",
                        () -> inkwell.attention(q, k, k, a.withKvLens(3, 4)));
                throwsWith(IllegalArgumentException.class, "kv length 9 exceeds kv_len 7",
                        () -> inkwell.attention(q, k, k, a.withKvLens(9)));
                throwsWith(IllegalArgumentException.class, "kv lengths must be >= 1", () -> a.withKvLens(0));
                throwsWith(IllegalArgumentException.class, "scale must be finite and > 0, got NaN", () -> a.withScale(Double.NaN));
                throwsWith(IllegalArgumentException.class, "out overlaps an input", () -> inkwell.attention(q, k, k, q, a));
            }

            DdimScheduler s = DdimScheduler.stableDiffusion();
            try (Tensor a = Tensor.allocate(2, 8); Tensor b = Tensor.allocate(2, 8); Tensor c = Tensor.allocate(16);
                    Tensor out = Tensor.allocate(2, 8)) {
                throwsWith(IllegalArgumentException.class, "eta must be finite and >= 0, got NaN",
                        () -> inkwell.ddimStep(s, 501, 451, a, b, Double.NaN, null, out, null));
                throwsWith(IllegalArgumentException.class, "eta 0.5 > 0 needs a noise tensor",
                        () -> inkwell.ddimStep(s, 501, 451, a, b, 0.5, null, out, null));
                throwsWith(IllegalArgumentException.class, "model output must have shape [2, 8], got [16]",
                        () -> inkwell.ddimStep(s, 501, 451, a, c, 0, null, out, null));
                throwsWith(IllegalArgumentException.class, "timestep must be 0..999, got 1000",
                        () -> inkwell.ddimStep(s, 1000, 451, a, b, 0, null, out, null));
                throwsWith(IllegalArgumentException.class, "previous timestep 501 must be below timestep 501",
                        () -> inkwell.ddimStep(s, 501, 501, a, b, 0, null, out, null));
                throwsWith(IllegalArgumentException.class, "guidance scale must be finite",
                        () -> inkwell.ddimStepGuided(s, 501, 451, a, b, b, Double.POSITIVE_INFINITY, 0, null, out, null));
                throwsWith(IllegalArgumentException.class, "previous sample overlaps an input",
                        () -> inkwell.ddimStep(s, 501, 451, a, b, 0, null, a, null));
                throwsWith(IllegalArgumentException.class, "offset must be >= 0", () -> inkwell.randn(a, 1, -1));
            }
            try (Tensor one = Tensor.allocate(1, 1, 1, 5)) {
                throwsWith(IllegalArgumentException.class, "needs height and width >= 2",
                        () -> inkwell.resample(one, ResampleMode.MAX_POOL_2X2));
            }
            try (Image small = Image.allocate(10, 20, 1); Image other = Image.allocate(10, 21, 1)) {
                throwsWith(IllegalArgumentException.class, "at least 11x11, got 10x20", () -> inkwell.ssim(small, small));
                throwsWith(IllegalArgumentException.class, "test is 10x21x1 but reference is 10x20x1", () -> inkwell.psnr(small, other));
            }
        }
    }

    @Test
    void closedTensorsAndContexts() {
        Inkwell inkwell = Inkwell.create();
        Tensor x = Tensor.allocate(1, 1, 4, 4);
        x.close();
        throwsWith(IllegalStateException.class, "resample: input is closed", () -> inkwell.resample(x, ResampleMode.UPSAMPLE_NEAREST_2X));
        throwsWith(IllegalStateException.class, "tensor is closed", x::toArray);
        throwsWith(IllegalStateException.class, "tensor is closed", () -> x.get(0, 0, 0, 0));
        inkwell.close();
        try (Tensor y = Tensor.allocate(1, 1, 4, 4)) {
            throwsWith(IllegalStateException.class, "Inkwell context is closed", () -> inkwell.resample(y, ResampleMode.AVG_POOL_2X2));
        }
        Arena arena = Arena.ofShared();
        Tensor borrowed = Tensor.allocate(arena, 1, 1, 2, 2);
        arena.close();
        try (Inkwell open = Inkwell.create(); Tensor out = Tensor.allocate(1, 1, 4, 4)) {
            throwsWith(IllegalStateException.class, "tensor memory was freed",
                    () -> open.resample(borrowed, out, ResampleMode.UPSAMPLE_NEAREST_2X));
        }
    }

    @Test
    void npyRoundTripAndAccessors() throws IOException {
        float[] data = {1, -2.5f, 3e-8f, Float.MAX_VALUE, 0, 7};
        try (Tensor t = Tensor.fromArray(data, 2, 3)) {
            assertEquals(-2.5f, t.get(0, 1));
            t.set(9f, 1, 2);
            assertEquals(9f, t.get(1, 2));
            throwsWith(IndexOutOfBoundsException.class, "index [2, 0] is outside [2, 3]", () -> t.get(2, 0));
            t.writeNpy(tmp.resolve("t.npy"));
            try (Tensor back = Tensor.readNpy(tmp.resolve("t.npy"))) {
                assertArrayEquals(new long[] {2, 3}, back.shape());
                assertArrayEquals(t.toArray(), back.toArray());
            }
        }
        java.nio.file.Files.writeString(tmp.resolve("bad.npy"), "nope");
        throwsWith(IOException.class, "not a .npy file", () -> Tensor.readNpy(tmp.resolve("bad.npy")));
    }
}
