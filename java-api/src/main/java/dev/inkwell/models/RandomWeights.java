package dev.inkwell.models;

import dev.inkwell.Device;
import dev.inkwell.ElementType;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * Weights made up in memory for a model of a real configuration: the same tensors, shapes and
 * work per pass as a checkpoint, for benchmarks and tests where the real files are not at hand.
 * Each tensor depends only on the seed and its name: matrices and convolution kernels uniform
 * with standard deviation 1/sqrt(fan_in) (activations keep their scale through the layers),
 * norm weights 1, biases uniform in [-0.01, 0.01].
 */
final class RandomWeights implements ModuleWeights.Source {
    private final long seed;

    RandomWeights(long seed) {
        this.seed = seed;
    }

    @Override
    public Tensor load(String name, Inkwell context, ElementType type, long... shape) {
        if (type != ElementType.FLOAT32) {
            throw new IllegalArgumentException("random weights are float32 (the models compute in float32), not "
                    + type);
        }
        long count = 1;
        for (long d : shape) {
            count = Math.multiplyExact(count, d);
        }
        float[] values = new float[Math.toIntExact(count)];
        SplittableRandom rnd = new SplittableRandom(seed ^ fnv(name));
        boolean normWeight = name.endsWith(".weight") && shape.length == 1;
        if (normWeight) {
            java.util.Arrays.fill(values, 1f);
        } else {
            long fanIn = shape.length > 1 ? count / shape[0] : 1;
            double half = shape.length > 1 ? Math.sqrt(3.0 / fanIn) : 0.01; // uniform(-a, a) has std a / sqrt(3)
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) ((2 * rnd.nextDouble() - 1) * half);
            }
        }
        Tensor host = Tensor.fromArray(values, shape);
        if (context.device() == Device.CPU) {
            return host;
        }
        try (host) {
            return context.copyToDevice(host);
        }
    }

    /** FNV-1a of the name: a stable per-tensor stream. */
    private static long fnv(String name) {
        long h = 0xcbf29ce484222325L;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ b) * 0x100000001b3L;
        }
        return h;
    }
}
