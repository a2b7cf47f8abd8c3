package dev.inkwell;

import java.util.Arrays;
import java.util.Objects;

/**
 * Shape and aliasing checks shared by the tensor kernels; messages name the tensor and its shape.
 *
 * <p>They read only what a tensor knows in Java (shape, type, address), which stays valid
 * after close: a closed argument is refused by {@link Inkwell#run} under its guard, where
 * the message names it and the operation ("attention: k is closed").
 */
final class ShapeChecks {
    private ShapeChecks() {}

    static void rank(Tensor t, int rank, String name, String layout) {
        Objects.requireNonNull(t, name);
        if (t.rank() != rank) {
            throw new IllegalArgumentException(
                    name + " must have rank " + rank + " " + layout + ", got shape " + Arrays.toString(t.shape()));
        }
    }

    static void shape(Tensor t, long[] expected, String name) {
        Objects.requireNonNull(t, name);
        if (!Arrays.equals(t.shape(), expected)) {
            throw new IllegalArgumentException(
                    name + " must have shape " + Arrays.toString(expected) + ", got " + Arrays.toString(t.shape()));
        }
    }

    /** The kernels other than conv2d and attention take float32 only; null tensors are skipped. */
    static void float32(String operation, String name, Tensor t) {
        if (t != null && t.elementType() != ElementType.FLOAT32) {
            throw new IllegalArgumentException(operation + ": " + name + " is " + t.elementType()
                    + ", but this kernel takes FLOAT32 tensors only (convert with tensor.to(ElementType.FLOAT32))");
        }
    }

    /** Every tensor of a conv2d or attention call has the first one's type; null tensors are skipped. */
    static void sameElementType(String operation, Tensor first, String firstName, Tensor t, String name) {
        if (t != null && t.elementType() != first.elementType()) {
            throw new IllegalArgumentException(operation + ": " + name + " is " + t.elementType() + " but " + firstName
                    + " is " + first.elementType() + " (all tensors of one call must have one element type)");
        }
    }

    /** Outputs may not share memory with inputs (kernels read inputs after writing outputs). */
    static void noOverlap(String operation, Tensor output, String outputName, Tensor... inputs) {
        for (Tensor in : inputs) {
            if (in != null && output.overlaps(in)) {
                throw new IllegalArgumentException(operation + ": " + outputName + " overlaps an input; use a separate tensor");
            }
        }
    }

    /** At least {@code min} dimensions (the layers take any number of leading or trailing ones). */
    static void minRank(Tensor t, int min, String name, String layout) {
        Objects.requireNonNull(t, name);
        if (t.rank() < min) {
            throw new IllegalArgumentException(
                    name + " must have rank >= " + min + " " + layout + ", got shape " + Arrays.toString(t.shape()));
        }
    }

    /** An optional per-feature vector (weight, bias): null, or shape [size]. */
    static void optionalVector(Tensor t, long size, String name) {
        if (t != null) {
            shape(t, new long[] {size}, name);
        }
    }

    /** eps of a normalisation: finite and >= 0 (NaN, infinite and negative values are refused). */
    static void eps(String operation, double eps) {
        if (!Double.isFinite(eps) || eps < 0) {
            throw new IllegalArgumentException(operation + ": eps must be finite and >= 0, got " + eps);
        }
    }

    /** A dimension index in torch's convention (negative counts from the end) as 0..rank-1. */
    static int dimIndex(String operation, String name, int dim, int rank) {
        if (dim < -rank || dim >= rank) {
            throw new IllegalArgumentException(operation + ": " + name + " " + dim + " is out of range for a rank-" + rank
                    + " tensor (expected " + -rank + ".." + (rank - 1) + ")");
        }
        return dim < 0 ? dim + rank : dim;
    }

    /**
     * An output that may be the input itself (the same memory, in place) but may not
     * otherwise overlap it: an element-wise kernel reads each element before writing it, a
     * partial overlap would read elements already written.
     */
    static void sameOrNoOverlap(String operation, Tensor output, String outputName, Tensor input, String inputName) {
        if (output.overlaps(input) && !sameMemory(output, input)) {
            throw new IllegalArgumentException(operation + ": " + outputName + " partly overlaps " + inputName
                    + "; use " + inputName + " itself (in place) or a separate tensor");
        }
    }

    /** Same device, same first byte and same size. */
    static boolean sameMemory(Tensor a, Tensor b) {
        return a.sameMemory(b);
    }

    /** Product of shape[from..to) (1 when empty); the shape is a tensor's, so it fits a long. */
    static long product(long[] shape, int from, int to) {
        long p = 1;
        for (int i = from; i < to; i++) {
            p *= shape[i];
        }
        return p;
    }
}
