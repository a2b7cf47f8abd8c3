package dev.inkwell;

import dev.inkwell.bindings.InkwellNative;
import dev.inkwell.bindings.inkwell_cat_params;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/** {@link TensorOps#cat}: shape checks and the call to inkwell_cat_f32. */
final class CatKernel {
    private CatKernel() {}

    /** a's shape with b's size added along dim (torch's convention, negative from the end). */
    static long[] outputShape(int dim, Tensor a, Tensor b) {
        ShapeChecks.minRank(a, 1, "a", "[*]");
        ShapeChecks.minRank(b, 1, "b", "[*]");
        ShapeChecks.float32("cat", "a", a);
        ShapeChecks.float32("cat", "b", b);
        int d = ShapeChecks.dimIndex("cat", "dim", dim, a.rank());
        long[] sa = a.shape(), sb = b.shape();
        boolean match = sa.length == sb.length;
        for (int i = 0; match && i < sa.length; i++) {
            match = i == d || sa[i] == sb[i];
        }
        if (!match) {
            throw new IllegalArgumentException("cat: a " + Arrays.toString(sa) + " and b " + Arrays.toString(sb)
                    + " must have the same rank and sizes except in dimension " + d + " (dim " + dim + ")");
        }
        sa[d] += sb[d];
        return sa;
    }

    static void run(Inkwell inkwell, int dim, Tensor a, Tensor b, Tensor out) {
        ShapeChecks.shape(out, outputShape(dim, a, b), "out");
        ShapeChecks.float32("cat", "out", out);
        ShapeChecks.noOverlap("cat", out, "out", a, b);
        int d = ShapeChecks.dimIndex("cat", "dim", dim, a.rank());
        long[] sa = a.shape(), sb = b.shape();
        inkwell.run("cat", Inkwell.names("a", "b", "out"), (arena, context) -> {
            MemorySegment p = inkwell_cat_params.allocate(arena);
            inkwell_cat_params.a(p, a.nativeSegment());
            inkwell_cat_params.b(p, b.nativeSegment());
            inkwell_cat_params.out(p, out.nativeSegment());
            inkwell_cat_params.outer(p, ShapeChecks.product(sa, 0, d));
            inkwell_cat_params.a_inner(p, ShapeChecks.product(sa, d, sa.length));
            inkwell_cat_params.b_inner(p, ShapeChecks.product(sb, d, sb.length));
            return InkwellNative.inkwell_cat_f32(context, p);
        }, a, b, out);
    }
}
