package dev.inkwell;

import dev.inkwell.bindings.InkwellNative;
import dev.inkwell.bindings.inkwell_add_params;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * {@link TensorOps#add}: maps PyTorch's broadcast of b against a onto inkwell_add_f32's
 * {@code out[i] = a[i] + b[(i / inner) % b_count]}, and checks (in place on a allowed).
 */
final class AddKernel {
    private AddKernel() {}

    /**
     * {b_count, inner} for b broadcast against a: b's shape right-aligned against a's, its
     * dimensions other than 1 one contiguous run equal to a's there. Then b's elements are
     * that run in C order, each repeated over the inner elements of a after the run and the
     * whole repeated over the outer ones before it. An all-ones b is one value for all.
     */
    static long[] broadcast(long[] a, long[] b) {
        int offset = a.length - b.length;
        int first = -1, last = -1;
        for (int i = 0; i < b.length; i++) {
            if (b[i] != 1) {
                first = first < 0 ? i : first;
                last = i;
            }
        }
        boolean ok = offset >= 0;
        for (int i = Math.max(first, 0); ok && first >= 0 && i <= last; i++) {
            ok = b[i] == a[offset + i];
        }
        if (!ok) {
            throw new IllegalArgumentException("add: b's shape " + Arrays.toString(b) + " does not broadcast to a's shape "
                    + Arrays.toString(a) + " as this kernel takes it (b right-aligned against a, of no higher rank, its"
                    + " dimensions other than 1 one contiguous run equal to a's there)");
        }
        if (first < 0) {
            return new long[] {1, ShapeChecks.product(a, 0, a.length)};
        }
        return new long[] {ShapeChecks.product(b, first, last + 1), ShapeChecks.product(a, offset + last + 1, a.length)};
    }

    /** Checks a and b; returns a's shape, the output's. */
    static long[] outputShape(Tensor a, Tensor b) {
        ShapeChecks.minRank(a, 1, "a", "[*]");
        ShapeChecks.minRank(b, 1, "b", "[*]");
        ShapeChecks.float32("add", "a", a);
        ShapeChecks.float32("add", "b", b);
        broadcast(a.shape(), b.shape());
        return a.shape();
    }

    static void run(Inkwell inkwell, Tensor a, Tensor b, Tensor out) {
        ShapeChecks.shape(out, outputShape(a, b), "out");
        ShapeChecks.float32("add", "out", out);
        ShapeChecks.sameOrNoOverlap("add", out, "out", a, "a");
        ShapeChecks.noOverlap("add", out, "out", b);
        long[] split = broadcast(a.shape(), b.shape());
        inkwell.run("add", Inkwell.names("a", "b", "out"), (arena, context) -> {
            MemorySegment p = inkwell_add_params.allocate(arena);
            inkwell_add_params.a(p, a.nativeSegment());
            inkwell_add_params.b(p, b.nativeSegment());
            inkwell_add_params.out(p, out.nativeSegment());
            inkwell_add_params.count(p, a.elementCount());
            inkwell_add_params.b_count(p, split[0]);
            inkwell_add_params.inner(p, split[1]);
            return InkwellNative.inkwell_add_f32(context, p);
        }, a, b, out);
    }
}
