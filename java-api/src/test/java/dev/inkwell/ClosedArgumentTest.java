package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A closed argument is named in the message, with the operation, as every other argument
 * check names its value (issue 16: "attention: k is closed", not "tensor is closed"). Each
 * call has valid shapes, so the closed argument is its only fault, and the whole message is
 * checked.
 */
class ClosedArgumentTest {
    private static final Inkwell INKWELL = Inkwell.builder().threads(1).build();

    @AfterAll
    static void close() {
        INKWELL.close();
    }

    /**
     * Runs {@code call} on fresh tensors of the given shapes after closing the one at index
     * {@code closed}, and checks the whole message.
     */
    private static void closedTensor(String message, int closed, long[][] shapes, Function<Tensor[], Object> call) {
        Tensor[] t = new Tensor[shapes.length];
        for (int i = 0; i < shapes.length; i++) {
            t[i] = Tensor.allocate(shapes[i]);
        }
        t[closed].close();
        try {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> call.apply(t), message);
            assertEquals(message, e.getMessage());
        } finally {
            for (Tensor x : t) {
                x.close();
            }
        }
    }

    private static long[] s(long... shape) {
        return shape;
    }

    @Test
    void attentionNamesQKVAndOut() {
        long[][] shapes = {s(1, 2, 5, 8), s(1, 2, 7, 8), s(1, 2, 7, 8), s(1, 2, 5, 8)};
        String[] names = {"q", "k", "v", "out"};
        for (int i = 0; i < 4; i++) {
            closedTensor("attention: " + names[i] + " is closed", i, shapes,
                    t -> { INKWELL.attention(t[0], t[1], t[2], t[3], AttentionOptions.defaults()); return null; });
        }
        closedTensor("attention: k is closed", 1, new long[][] {s(1, 2, 5, 8), s(1, 2, 7, 8), s(1, 2, 7, 8)},
                t -> INKWELL.attention(t[0], t[1], t[2], AttentionOptions.defaults()));
    }

    @Test
    void conv2dNamesInputWeightBiasAndOutput() {
        long[][] shapes = {s(1, 3, 6, 6), s(4, 3, 3, 3), s(4), s(1, 4, 4, 4)};
        String[] names = {"input", "weight", "bias", "output"};
        for (int i = 0; i < 4; i++) {
            closedTensor("conv2d: " + names[i] + " is closed", i, shapes,
                    t -> { INKWELL.conv2d(t[0], t[1], t[2], t[3], Conv2dOptions.defaults()); return null; });
        }
        closedTensor("conv2d: weight is closed", 1, new long[][] {s(1, 3, 6, 6), s(4, 3, 3, 3)},
                t -> INKWELL.conv2d(t[0], t[1], null, Conv2dOptions.defaults()));
    }

    @Test
    void layersNameTheirArguments() {
        Layers layers = INKWELL.layers();
        closedTensor("linear: bias is closed", 2, new long[][] {s(3, 4), s(5, 4), s(5)},
                t -> layers.linear(t[0], t[1], t[2]));
        closedTensor("linear: weight is closed", 1, new long[][] {s(3, 4), s(5, 4), s(5), s(3, 5)},
                t -> { layers.linear(t[0], t[1], t[2], Activation.NONE, t[3]); return null; });
        closedTensor("geglu: weight is closed", 1, new long[][] {s(3, 4), s(10, 4), s(10)},
                t -> layers.geglu(t[0], t[1], t[2]));
        closedTensor("groupNorm: bias is closed", 2, new long[][] {s(1, 4, 3), s(4), s(4)},
                t -> layers.groupNorm(t[0], 2, t[1], t[2], 1e-5));
        closedTensor("layerNorm: out is closed", 1, new long[][] {s(2, 6), s(2, 6)},
                t -> { layers.layerNorm(t[0], null, null, 1e-5, t[1]); return null; });
        closedTensor("activation: out is closed", 1, new long[][] {s(7), s(7)},
                t -> { layers.activation(t[0], Activation.GELU, t[1]); return null; });
        closedTensor("timestepEmbedding: timesteps is closed", 0, new long[][] {s(3)},
                t -> layers.timestepEmbedding(t[0], 8));
    }

    @Test
    void tensorOpsAndDdimNameTheirArguments() {
        TensorOps ops = INKWELL.ops();
        closedTensor("add: b is closed", 1, new long[][] {s(2, 3), s(3)}, t -> ops.add(t[0], t[1]));
        closedTensor("cat: b is closed", 1, new long[][] {s(2, 3), s(2, 3)}, t -> ops.cat(0, t[0], t[1]));
        closedTensor("transpose: out is closed", 1, new long[][] {s(2, 3), s(3, 2)},
                t -> { ops.transpose(t[0], 0, 1, t[1]); return null; });
        closedTensor("maxPool2d: x is closed", 0, new long[][] {s(1, 1, 4, 4)}, t -> ops.maxPool2d(t[0], 2, 2, 0));
        closedTensor("resample: output is closed", 1, new long[][] {s(1, 1, 4, 4), s(1, 1, 8, 8)},
                t -> { INKWELL.resample(t[0], t[1], ResampleMode.UPSAMPLE_NEAREST_2X); return null; });
        DdimScheduler s = DdimScheduler.stableDiffusion();
        long[] x = s(1, 4, 2, 2);
        closedTensor("ddimStep: noise is closed", 2, new long[][] {x, x, x, x},
                t -> { INKWELL.ddimStep(s, 500, 480, t[0], t[1], 0.5, t[2], t[3], null); return null; });
        closedTensor("ddimStep: unconditional model output is closed", 2, new long[][] {x, x, x, x},
                t -> { INKWELL.ddimStepGuided(s, 500, 480, t[0], t[1], t[2], 7.5, 0, null, t[3], null); return null; });
        closedTensor("addNoise: noise is closed", 1, new long[][] {x, x, x},
                t -> { INKWELL.addNoise(s, t[0], t[1], 10, t[2]); return null; });
        closedTensor("randn: out is closed", 0, new long[][] {x}, t -> { INKWELL.randn(t[0], 1); return null; });
        closedTensor("copy: dst is closed", 1, new long[][] {x, x}, t -> { INKWELL.copy(t[0], t[1]); return null; });
    }

    @Test
    void imageKernelsNameTheirArguments() {
        try (Image a = Image.allocate(16, 16, 1); Image b = Image.allocate(16, 16, 1)) {
            Image closed = Image.allocate(16, 16, 1);
            closed.close();
            assertMessage("canny: src is closed", () -> INKWELL.canny(closed));
            assertMessage("canny: dst is closed", () -> INKWELL.canny(a, closed, CannyOptions.defaults()));
            assertMessage("gaussianBlur: src is closed", () -> INKWELL.gaussianBlur(closed, b, BlurOptions.of(3, 0)));
            assertMessage("ssim: test is closed", () -> INKWELL.ssim(a, closed));
            assertMessage("psnr: reference is closed", () -> INKWELL.psnr(closed, a));
            assertMessage("copy: dst is closed", () -> INKWELL.copy(a, closed));
        }
    }

    @Test
    void viewsAndFreedArenasAreNamedToo() {
        Tensor base = Tensor.allocate(2, 6);
        Tensor view = base.view(3, 4);
        base.close();
        try (Tensor out = Tensor.allocate(3, 4)) {
            assertMessage("activation: x is a view whose tensor is closed",
                    () -> INKWELL.layers().activation(view, Activation.RELU, out));
            Arena arena = Arena.ofShared();
            Tensor borrowed = Tensor.allocate(arena, 3, 4);
            arena.close();
            assertMessage("activation: out's tensor memory was freed: the arena it was allocated in or wrapped from"
                    + " is closed", () -> INKWELL.layers().activation(out, Activation.RELU, borrowed));
        }
    }

    private static void assertMessage(String message, Runnable call) {
        IllegalStateException e = assertThrows(IllegalStateException.class, call::run, message);
        assertEquals(message, e.getMessage());
    }
}
