package dev.inkwell;

import java.util.Arrays;
import java.util.Objects;

/** Shape and aliasing checks shared by the tensor kernels; messages name the tensor and its shape. */
final class ShapeChecks {
    private ShapeChecks() {}

    static void rank(Tensor t, int rank, String name, String layout) {
        Objects.requireNonNull(t, name);
        t.guard().checkOpen();
        if (t.rank() != rank) {
            throw new IllegalArgumentException(
                    name + " must have rank " + rank + " " + layout + ", got shape " + Arrays.toString(t.shape()));
        }
    }

    static void shape(Tensor t, long[] expected, String name) {
        Objects.requireNonNull(t, name);
        t.guard().checkOpen();
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
}
