package dev.inkwell.benchmarks;

import dev.inkwell.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

/** Deterministic float32 data, the same for Inkwell and libtorch. */
@SuppressWarnings("restricted") // views of libtorch tensors' memory
final class TensorData {
    private TensorData() {}

    /** n samples of N(0, std^2) from a fixed seed. */
    static float[] gaussian(long n, long seed, double std) {
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("too many elements: " + n);
        }
        SplittableRandom random = new SplittableRandom(seed);
        float[] out = new float[(int) n];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) (random.nextGaussian() * std);
        }
        return out;
    }

    static long count(long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** An owned Inkwell tensor holding {@code data}. */
    static Tensor inkwell(float[] data, long... shape) {
        return Tensor.fromArray(data, shape);
    }

    /** A libtorch CPU float32 tensor holding a copy of {@code data} (libtorch must be loaded). */
    static org.bytedeco.pytorch.Tensor torch(float[] data, long... shape) {
        org.bytedeco.pytorch.Tensor t = org.bytedeco.pytorch.global.torch.empty(shape);
        if (t.numel() != data.length || t.nbytes() != (long) data.length * Float.BYTES) {
            throw new IllegalStateException("torch.empty gave " + t.numel() + " elements / " + t.nbytes() + " bytes");
        }
        MemorySegment.ofAddress(t.data_ptr().address())
                .reinterpret((long) data.length * Float.BYTES)
                .copyFrom(MemorySegment.ofArray(data));
        return t;
    }

    /** The elements of a libtorch float32 tensor. */
    static float[] toArray(org.bytedeco.pytorch.Tensor t) {
        org.bytedeco.pytorch.Tensor c = t.contiguous();
        return MemorySegment.ofAddress(c.data_ptr().address()).reinterpret(c.nbytes())
                .toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
    }
}
