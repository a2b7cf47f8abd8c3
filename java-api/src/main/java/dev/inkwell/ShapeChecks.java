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

    /** Outputs may not share memory with inputs (kernels read inputs after writing outputs). */
    static void noOverlap(String operation, Tensor output, String outputName, Tensor... inputs) {
        for (Tensor in : inputs) {
            if (in != null && output.overlaps(in)) {
                throw new IllegalArgumentException(operation + ": " + outputName + " overlaps an input; use a separate tensor");
            }
        }
    }
}
