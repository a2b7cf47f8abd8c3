package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * {@link Layers}, {@link TensorOps}, the conv2d activation rule and the attention layout
 * refuse bad input in Java, before any native call, with the documented exception naming
 * the argument and its value.
 */
class LayersBadInputTest {
    private static Inkwell inkwell;
    private static Layers layers;
    private static TensorOps ops;

    @BeforeAll
    static void open() {
        inkwell = Inkwell.create();
        layers = inkwell.layers();
        ops = inkwell.ops();
    }

    @AfterAll
    static void close() {
        inkwell.close();
    }

    private static void throwsWith(Class<? extends Throwable> type, String fragment, Executable call) {
        Throwable e = assertThrows(type, call);
        assertTrue(e.getMessage() != null && e.getMessage().contains(fragment),
                "message '" + e.getMessage() + "' should contain '" + fragment + "'");
    }

    private static void iae(String fragment, Executable call) {
        throwsWith(IllegalArgumentException.class, fragment, call);
    }

    @Test
    void groupNorm() {
        try (Tensor x = Tensor.allocate(2, 12, 3, 3); Tensor c12 = Tensor.allocate(12); Tensor c6 = Tensor.allocate(6);
                Tensor flat = Tensor.allocate(12); Tensor h12 = Tensor.allocate(ElementType.FLOAT16, 12);
                Tensor out = Tensor.allocate(2, 12, 3, 3); Tensor wrongOut = Tensor.allocate(2, 12, 9)) {
            throwsWith(NullPointerException.class, "x", () -> layers.groupNorm(null, 4, c12, c12, 1e-5));
            iae("x must have rank >= 2 [batch, channels, *], got shape [12]", () -> layers.groupNorm(flat, 4, null, null, 1e-5));
            iae("groups must be >= 1, got 0", () -> layers.groupNorm(x, 0, c12, c12, 1e-5));
            iae("groups must be >= 1, got -4", () -> layers.groupNorm(x, -4, c12, c12, 1e-5));
            iae("groups 5 does not divide channels 12", () -> layers.groupNorm(x, 5, c12, c12, 1e-5));
            iae("groups 24 does not divide channels 12", () -> layers.groupNorm(x, 24, null, null, 1e-5));
            iae("weight must have shape [12], got [6]", () -> layers.groupNorm(x, 4, c6, c12, 1e-5));
            iae("bias must have shape [12], got [6]", () -> layers.groupNorm(x, 4, c12, c6, 1e-5));
            iae("eps must be finite and >= 0, got NaN", () -> layers.groupNorm(x, 4, c12, c12, Double.NaN));
            iae("eps must be finite and >= 0, got -1.0E-5", () -> layers.groupNorm(x, 4, c12, c12, -1e-5));
            iae("eps must be finite and >= 0, got Infinity", () -> layers.groupNorm(x, 4, c12, c12, Double.POSITIVE_INFINITY));
            throwsWith(NullPointerException.class, "activation", () -> layers.groupNorm(x, 4, c12, c12, 1e-5, null));
            iae("weight is FLOAT16 but x is FLOAT32", () -> layers.groupNorm(x, 4, h12, c12, 1e-5));
            iae("bias is FLOAT16 but x is FLOAT32", () -> layers.groupNorm(x, 4, c12, h12, 1e-5));
            iae("out must have shape [2, 12, 3, 3], got [2, 12, 9]",
                    () -> layers.groupNorm(x, 4, c12, c12, 1e-5, Activation.NONE, wrongOut));
            iae("groupNorm: out overlaps an input", () -> layers.groupNorm(x, 4, c12, c12, 1e-5, Activation.NONE, x));
            iae("groupNorm: out overlaps an input",
                    () -> layers.groupNorm(x, 4, c12, c12, 1e-5, Activation.NONE, x.view(2, 12, 3, 3)));
            throwsWith(NullPointerException.class, "out", () -> layers.groupNorm(x, 4, c12, c12, 1e-5, Activation.NONE, null));
            try (Tensor out16 = Tensor.allocate(ElementType.BFLOAT16, 2, 12, 3, 3)) {
                iae("out is BFLOAT16 but x is FLOAT32", () -> layers.groupNorm(x, 4, null, null, 1e-5, Activation.SILU, out16));
            }
            layers.groupNorm(x, 4, c12, c12, 0, Activation.SILU, out); // eps 0 is allowed
        }
    }

    @Test
    void layerNorm() {
        try (Tensor x = Tensor.allocate(3, 8); Tensor d8 = Tensor.allocate(8); Tensor d3 = Tensor.allocate(3);
                Tensor out = Tensor.allocate(3, 8); Tensor h8 = Tensor.allocate(ElementType.FLOAT16, 8)) {
            throwsWith(NullPointerException.class, "x", () -> layers.layerNorm(null, d8, d8, 1e-5));
            iae("weight must have shape [8], got [3]", () -> layers.layerNorm(x, d3, d8, 1e-5));
            iae("bias must have shape [8], got [3]", () -> layers.layerNorm(x, d8, d3, 1e-5));
            iae("layerNorm: eps must be finite and >= 0, got NaN", () -> layers.layerNorm(x, d8, d8, Double.NaN));
            iae("layerNorm: eps must be finite and >= 0, got -1.0", () -> layers.layerNorm(x, d8, d8, -1));
            iae("weight is FLOAT16 but x is FLOAT32", () -> layers.layerNorm(x, h8, null, 1e-5));
            iae("out must have shape [3, 8], got [8]", () -> layers.layerNorm(x, null, null, 1e-5, d8));
            iae("layerNorm: out overlaps an input", () -> layers.layerNorm(x, d8, null, 1e-5, x));
            layers.layerNorm(x, d8, d8, 1e-5, out);
        }
    }

    @Test
    void linearAndGeglu() {
        try (Tensor x = Tensor.allocate(2, 5, 7); Tensor w = Tensor.allocate(4, 7); Tensor w6 = Tensor.allocate(4, 6);
                Tensor w3 = Tensor.allocate(3, 7); Tensor w1d = Tensor.allocate(7); Tensor b4 = Tensor.allocate(4);
                Tensor b3 = Tensor.allocate(3); Tensor out = Tensor.allocate(2, 5, 4); Tensor gOut = Tensor.allocate(2, 5, 2);
                Tensor h = Tensor.allocate(ElementType.FLOAT16, 2, 5, 7)) {
            throwsWith(NullPointerException.class, "x", () -> layers.linear(null, w, b4));
            throwsWith(NullPointerException.class, "weight", () -> layers.linear(x, null, b4));
            throwsWith(NullPointerException.class, "activation", () -> layers.linear(x, w, b4, null));
            iae("weight must have rank 2 [out_features, in_features], got shape [7]", () -> layers.linear(x, w1d, null));
            iae("linear: weight [4, 6] has in_features 6 but x [2, 5, 7] has 7", () -> layers.linear(x, w6, null));
            iae("bias must have shape [4], got [3]", () -> layers.linear(x, w, b3));
            iae("weight is FLOAT32 but x is FLOAT16", () -> layers.linear(h, w, null));
            iae("out must have shape [2, 5, 4], got [2, 5, 2]", () -> layers.linear(x, w, b4, Activation.NONE, gOut));
            iae("linear: out overlaps an input", // the first 40 of x's 70 elements
                    () -> layers.linear(x, w, b4, Activation.NONE, Tensor.wrap(x.segment(), 2, 5, 4)));
            iae("geglu: weight dim 0 is 3, which is not even", () -> layers.geglu(x, w3, null));
            iae("geglu: weight [4, 6] has in_features 6 but x [2, 5, 7] has 7", () -> layers.geglu(x, w6, null));
            iae("bias must have shape [4], got [3]", () -> layers.geglu(x, w, b3));
            iae("out must have shape [2, 5, 2], got [2, 5, 4]", () -> layers.geglu(x, w, b4, out));
            iae("geglu: out overlaps an input", () -> layers.geglu(x, w, b4, Tensor.wrap(w.segment(), 2, 5, 2)));
            throwsWith(NullPointerException.class, "x", () -> layers.geglu(null, w, b4));
            layers.linear(x, w, b4, Activation.GELU_TANH, out);
            layers.geglu(x, w, null, gOut);
        }
    }

    @Test
    void activation() {
        try (Tensor x = Tensor.allocate(4, 6); Tensor other = Tensor.allocate(6, 4); Tensor big = Tensor.allocate(48);
                Tensor h = Tensor.allocate(ElementType.BFLOAT16, 4, 6)) {
            iae("activation NONE is not a kernel", () -> layers.activation(x, Activation.NONE));
            iae("activation NONE is not a kernel", () -> layers.activation(x, Activation.NONE, x));
            throwsWith(NullPointerException.class, "activation", () -> layers.activation(x, null));
            throwsWith(NullPointerException.class, "x", () -> layers.activation(null, Activation.SILU));
            iae("out must have shape [4, 6], got [6, 4]", () -> layers.activation(x, Activation.SILU, other));
            iae("out is BFLOAT16 but x is FLOAT32", () -> layers.activation(x, Activation.SILU, h));
            // In place means the same memory; a shifted window of it is refused.
            Tensor shiftedX = Tensor.wrap(big.segment().asSlice(4 * 4), 24);
            Tensor shiftedOut = Tensor.wrap(big.segment(), 24);
            iae("activation: out partly overlaps x", () -> layers.activation(shiftedX, Activation.RELU, shiftedOut));
            layers.activation(x, Activation.RELU, x); // in place: allowed
        }
    }

    @Test
    void timestepEmbedding() {
        try (Tensor t = Tensor.allocate(3); Tensor t2 = Tensor.allocate(3, 1); Tensor h = Tensor.allocate(ElementType.FLOAT16, 3);
                Tensor out = Tensor.allocate(3, 8)) {
            throwsWith(NullPointerException.class, "timesteps", () -> layers.timestepEmbedding(null, 8));
            iae("timesteps must have rank 1 [count], got shape [3, 1]", () -> layers.timestepEmbedding(t2, 8));
            iae("timestepEmbedding: timesteps is FLOAT16", () -> layers.timestepEmbedding(h, 8));
            iae("dim must be >= 1, got 0", () -> layers.timestepEmbedding(t, 0));
            iae("dim must be >= 1, got -2", () -> layers.timestepEmbedding(t, -2));
            iae("downscaleFreqShift must be finite, got NaN",
                    () -> layers.timestepEmbedding(t, 8, true, Double.NaN, 1, 10000));
            iae("scale must be finite, got Infinity",
                    () -> layers.timestepEmbedding(t, 8, true, 0, Double.POSITIVE_INFINITY, 10000));
            iae("maxPeriod must be finite and > 0, got 0.0", () -> layers.timestepEmbedding(t, 8, true, 0, 1, 0));
            iae("maxPeriod must be finite and > 0, got -5.0", () -> layers.timestepEmbedding(t, 8, true, 0, 1, -5));
            iae("maxPeriod must be finite and > 0, got NaN", () -> layers.timestepEmbedding(t, 8, true, 0, 1, Double.NaN));
            iae("dim / 2 - downscaleFreqShift must not be 0, got dim 8 and downscaleFreqShift 4.0",
                    () -> layers.timestepEmbedding(t, 8, true, 4, 1, 10000));
            iae("dim / 2 - downscaleFreqShift must not be 0, got dim 3 and downscaleFreqShift 1.0",
                    () -> layers.timestepEmbedding(t, 3, true, 1, 1, 10000));
            iae("out must have shape [3, 8], got [3]", () -> layers.timestepEmbedding(t, 8, true, 0, 1, 10000, t));
            try (Tensor out16 = Tensor.allocate(ElementType.FLOAT16, 3, 8)) {
                iae("timestepEmbedding: out is FLOAT16", () -> layers.timestepEmbedding(t, 8, true, 0, 1, 10000, out16));
            }
            layers.timestepEmbedding(t, 8, true, 0, 1, 10000, out);
        }
    }

    @Test
    void add() {
        try (Tensor a = Tensor.allocate(2, 3, 4, 5); Tensor b = Tensor.allocate(2, 3, 4, 5); Tensor h = Tensor.allocate(ElementType.FLOAT16, 5)) {
            for (long[] bad : new long[][] {{2, 1, 4, 1}, {1, 3, 1, 5}, {5, 1}, {3, 4, 1, 1, 1}, {6}, {2, 3, 4, 6}, {1, 2, 3, 4, 5}}) {
                try (Tensor tb = Tensor.allocate(bad)) {
                    iae("add: b's shape " + java.util.Arrays.toString(bad) + " does not broadcast to a's shape [2, 3, 4, 5]",
                            () -> ops.add(a, tb));
                }
            }
            throwsWith(NullPointerException.class, "a", () -> ops.add(null, b));
            throwsWith(NullPointerException.class, "b", () -> ops.add(a, null));
            iae("add: b is FLOAT16, but this kernel takes FLOAT32 tensors only", () -> ops.add(a, h));
            iae("out must have shape [2, 3, 4, 5], got [5]", () -> ops.add(a, b, h));
            iae("add: out overlaps an input", () -> ops.add(a, b, b)); // b is read broadcast: not in place
            try (Tensor big = Tensor.allocate(121)) {
                Tensor shiftedA = Tensor.wrap(big.segment().asSlice(4), 2, 3, 4, 5);
                Tensor shiftedOut = Tensor.wrap(big.segment(), 2, 3, 4, 5);
                iae("add: out partly overlaps a", () -> ops.add(shiftedA, b, shiftedOut));
            }
            ops.add(a, b, a); // in place on a: allowed
            try (Tensor twice = ops.add(a, a)) { // b may be a when out is separate
                assertEquals(a.elementCount(), twice.elementCount());
            }
            iae("add: out overlaps an input", () -> ops.add(a, a, a)); // out may be a, but not b too (the C ABI's rule)
        }
    }

    @Test
    void catTransposeAndMaxPool() {
        try (Tensor a = Tensor.allocate(2, 3, 4); Tensor b = Tensor.allocate(2, 5, 4); Tensor c = Tensor.allocate(2, 3);
                Tensor x = Tensor.allocate(1, 2, 5, 5); Tensor h = Tensor.allocate(ElementType.BFLOAT16, 2, 3, 4)) {
            iae("cat: dim 3 is out of range for a rank-3 tensor (expected -3..2)", () -> ops.cat(3, a, b));
            iae("cat: dim -4 is out of range", () -> ops.cat(-4, a, b));
            iae("cat: a [2, 3, 4] and b [2, 5, 4] must have the same rank and sizes except in dimension 0",
                    () -> ops.cat(0, a, b));
            iae("cat: a [2, 3, 4] and b [2, 3] must have the same rank", () -> ops.cat(1, a, c));
            iae("cat: b is BFLOAT16", () -> ops.cat(1, a, h));
            throwsWith(NullPointerException.class, "b", () -> ops.cat(1, a, null));
            try (Tensor wrong = Tensor.allocate(2, 7, 4)) {
                iae("out must have shape [2, 8, 4], got [2, 7, 4]", () -> ops.cat(1, a, b, wrong));
            }
            try (Tensor whole = Tensor.allocate(2 * 8 * 4)) {
                iae("cat: out overlaps an input", () -> ops.cat(1, Tensor.wrap(whole.segment(), 2, 3, 4), b, whole.view(2, 8, 4)));
            }

            iae("transpose: dim0 3 is out of range for a rank-3 tensor (expected -3..2)", () -> ops.transpose(a, 3, 0));
            iae("transpose: dim1 -4 is out of range", () -> ops.transpose(a, 0, -4));
            iae("transpose: x is BFLOAT16", () -> ops.transpose(h, 0, 1));
            iae("out must have shape [2, 4, 3], got [2, 3, 4]", () -> ops.transpose(a, 1, 2, a));
            iae("transpose: out overlaps an input", () -> ops.transpose(a, 1, 2, a.view(2, 4, 3)));

            iae("x must have rank 4 [batch, channels, height, width], got shape [2, 3, 4]", () -> ops.maxPool2d(a, 2, 2, 0));
            iae("maxPool2d: kernel height must be >= 1, got 0", () -> ops.maxPool2d(x, 0, 1, 0));
            iae("maxPool2d: stride along the width must be >= 1, got -1", () -> ops.maxPool2d(x, 3, 3, 1, -1, 1, 1));
            iae("maxPool2d: padding along the height must be 0..1 (at most half the kernel height 3), got 2",
                    () -> ops.maxPool2d(x, 3, 2, 2));
            iae("maxPool2d: padding along the width must be 0..1", () -> ops.maxPool2d(x, 3, 3, 1, 1, 0, -1));
            iae("maxPool2d: the kernel width 7 is larger than the padded input width 5",
                    () -> ops.maxPool2d(x, 1, 7, 1, 1, 0, 0));
            iae("maxPool2d: x is BFLOAT16", () -> {
                try (Tensor h4 = Tensor.allocate(ElementType.BFLOAT16, 1, 1, 4, 4)) {
                    ops.maxPool2d(h4, 2, 2, 0);
                }
            });
            try (Tensor out = Tensor.allocate(1, 2, 2, 2)) {
                iae("out must have shape [1, 2, 3, 3], got [1, 2, 2, 2]", () -> ops.maxPool2d(x, 3, 3, 2, 2, 1, 1, out));
            }
        }
    }

    @Test
    void conv2dTakesNoneAndSiluOnly() {
        Conv2dOptions d = Conv2dOptions.defaults();
        for (Activation a : new Activation[] {Activation.GELU, Activation.GELU_TANH, Activation.QUICK_GELU, Activation.RELU}) {
            iae("conv2d: activation " + a + " is not supported (NONE or SILU only)", () -> d.withActivation(a));
            iae("activation " + a, () -> new Conv2dOptions(1, 1, 0, 0, 1, 1, 1, a));
        }
        throwsWith(NullPointerException.class, "activation", () -> d.withActivation(null));
        assertEquals(Activation.SILU, d.withActivation(Activation.SILU).activation());
    }

    @Test
    void closedTensorsAndContexts() {
        Tensor x = Tensor.allocate(1, 4, 2, 2);
        Tensor w = Tensor.allocate(4);
        w.close();
        throwsWith(IllegalStateException.class, "groupNorm: weight is closed", () -> layers.groupNorm(x, 2, w, null, 1e-5));
        throwsWith(IllegalStateException.class, "layerNorm: weight is closed", () -> layers.layerNorm(x.view(4, 4), w, null, 1e-5));
        x.close();
        throwsWith(IllegalStateException.class, "groupNorm: x is closed", () -> layers.groupNorm(x, 2, null, null, 1e-5));
        throwsWith(IllegalStateException.class, "layerNorm: x is closed", () -> layers.layerNorm(x, null, null, 1e-5));
        try (Tensor weight = Tensor.allocate(3, 2)) { // valid shapes: the closed x is the only fault
            throwsWith(IllegalStateException.class, "linear: x is closed", () -> layers.linear(x, weight, null));
        }
        throwsWith(IllegalStateException.class, "activation: x is closed", () -> layers.activation(x, Activation.SILU));
        throwsWith(IllegalStateException.class, "add: a is closed", () -> ops.add(x, x));
        throwsWith(IllegalStateException.class, "transpose: x is closed", () -> ops.transpose(x, 0, 1));
        throwsWith(IllegalStateException.class, "maxPool2d: x is closed", () -> ops.maxPool2d(x, 2, 2, 0));
        throwsWith(IllegalStateException.class, "tensor is closed", () -> x.view(16));
        Inkwell closed = Inkwell.create();
        Layers closedLayers = closed.layers();
        TensorOps closedOps = closed.ops();
        closed.close();
        try (Tensor y = Tensor.allocate(2, 4); Tensor t = Tensor.allocate(2)) {
            throwsWith(IllegalStateException.class, "Inkwell context is closed", () -> closedLayers.activation(y, Activation.RELU));
            throwsWith(IllegalStateException.class, "Inkwell context is closed", () -> closedLayers.layerNorm(y, null, null, 1e-5));
            throwsWith(IllegalStateException.class, "Inkwell context is closed", () -> closedLayers.timestepEmbedding(t, 4));
            throwsWith(IllegalStateException.class, "Inkwell context is closed", () -> closedOps.add(y, y));
            throwsWith(IllegalStateException.class, "Inkwell context is closed", () -> closedOps.cat(0, y, y));
        }
    }

    @Test
    void tensorsOfAnotherDevice() {
        try (Arena arena = Arena.ofConfined(); Tensor host = Tensor.allocate(1, 4, 2, 2); Tensor c4 = Tensor.allocate(4)) {
            // A stand-in for CUDA memory (DeviceMemoryTest's): host bytes the checks must stop short of.
            Tensor gpu = Tensor.onDevice(arena.allocate(64), Device.CUDA, 1, 4, 2, 2);
            Tensor gpuVector = Tensor.onDevice(arena.allocate(16), Device.CUDA, 4);
            assertEquals(Device.CUDA, gpu.view(16).device());
            iae("is in CUDA memory but this context runs on CPU", () -> layers.groupNorm(gpu, 2, null, null, 1e-5));
            iae("is in CUDA memory", () -> layers.groupNorm(host, 2, gpuVector, c4, 1e-5));
            iae("is in CUDA memory", () -> layers.layerNorm(gpu.view(8, 2), null, null, 1e-5));
            iae("is in CUDA memory", () -> layers.linear(host.view(4, 4), gpu.view(4, 4), null));
            iae("is in CUDA memory", () -> layers.geglu(host.view(4, 4), gpu.view(4, 4), null));
            iae("is in CUDA memory", () -> layers.activation(gpu, Activation.GELU));
            iae("is in CUDA memory", () -> layers.activation(host, Activation.GELU, gpu));
            iae("is in CUDA memory", () -> layers.timestepEmbedding(gpuVector, 8));
            iae("is in CUDA memory", () -> ops.add(host.view(4, 4), gpuVector));
            iae("is in CUDA memory", () -> ops.cat(0, gpu, host));
            iae("is in CUDA memory", () -> ops.transpose(gpu, 0, 1));
            iae("is in CUDA memory", () -> ops.maxPool2d(gpu, 2, 2, 0));
        }
    }
}
