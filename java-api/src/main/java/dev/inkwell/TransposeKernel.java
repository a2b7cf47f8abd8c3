package dev.inkwell;

import dev.inkwell.bindings.InkwellNative;
import dev.inkwell.bindings.inkwell_transpose_params;
import java.lang.foreign.MemorySegment;

/**
 * {@link TensorOps#transpose}: the two dimensions' shape swap, and the call to
 * inkwell_transpose_f32 with the tensor seen as [outer, size0, middle, size1, inner].
 */
final class TransposeKernel {
    private TransposeKernel() {}

    static long[] outputShape(Tensor x, int dim0, int dim1) {
        ShapeChecks.minRank(x, 1, "x", "[*]");
        ShapeChecks.float32("transpose", "x", x);
        int d0 = ShapeChecks.dimIndex("transpose", "dim0", dim0, x.rank());
        int d1 = ShapeChecks.dimIndex("transpose", "dim1", dim1, x.rank());
        long[] s = x.shape();
        long t = s[d0];
        s[d0] = s[d1];
        s[d1] = t;
        return s;
    }

    static void run(Inkwell inkwell, Tensor x, int dim0, int dim1, Tensor out) {
        ShapeChecks.shape(out, outputShape(x, dim0, dim1), "out");
        ShapeChecks.float32("transpose", "out", out);
        ShapeChecks.noOverlap("transpose", out, "out", x);
        long[] s = x.shape();
        int d0 = ShapeChecks.dimIndex("transpose", "dim0", dim0, s.length);
        int d1 = ShapeChecks.dimIndex("transpose", "dim1", dim1, s.length);
        int lo = Math.min(d0, d1), hi = Math.max(d0, d1);
        // A dimension swapped with itself is a copy: [outer, size, 1, 1, inner] -> [outer, 1, 1, size, inner].
        long size1 = lo == hi ? 1 : s[hi];
        long middle = ShapeChecks.product(s, lo + 1, hi); // 1 when lo == hi
        inkwell.run("transpose", Inkwell.names("x", "out"), (arena, context) -> {
            MemorySegment p = inkwell_transpose_params.allocate(arena);
            inkwell_transpose_params.input(p, x.nativeSegment());
            inkwell_transpose_params.output(p, out.nativeSegment());
            inkwell_transpose_params.outer(p, ShapeChecks.product(s, 0, lo));
            inkwell_transpose_params.size0(p, s[lo]);
            inkwell_transpose_params.middle(p, middle);
            inkwell_transpose_params.size1(p, size1);
            inkwell_transpose_params.inner(p, ShapeChecks.product(s, hi + 1, s.length));
            return InkwellNative.inkwell_transpose_f32(context, p);
        }, x, out);
    }
}
