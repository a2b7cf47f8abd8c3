package dev.inkwell;

import dev.inkwell.bindings.InkwellNative;
import dev.inkwell.bindings.inkwell_attention_params;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * {@link Inkwell#attention}: shape (per {@link AttentionLayout}) and element type checks, and
 * the call to inkwell_attention_f32, _f16 or _bf16.
 */
final class AttentionKernel {
    /** Largest head size the kernels take. */
    static final int MAX_HEAD_DIM = 512;

    private AttentionKernel() {}

    static void run(Inkwell inkwell, Tensor q, Tensor k, Tensor v, Tensor out, AttentionOptions options) {
        boolean blhd = options.layout() == AttentionLayout.BLHD;
        String qLayout = blhd ? "[batch, q_len, heads, head_dim] (layout BLHD)" : "[batch, heads, q_len, head_dim]";
        String kLayout = blhd ? "[batch, kv_len, heads, head_dim] (layout BLHD)" : "[batch, heads, kv_len, head_dim]";
        ShapeChecks.rank(q, 4, "q", qLayout);
        ShapeChecks.rank(k, 4, "k", kLayout);
        int heads = blhd ? 2 : 1, length = blhd ? 1 : 2; // dimension indices of the layout
        long b = q.dim(0), h = q.dim(heads), lq = q.dim(length), d = q.dim(3), lk = k.dim(length);
        if (k.dim(0) != b || k.dim(heads) != h || k.dim(3) != d) {
            throw new IllegalArgumentException("attention: k has shape " + Arrays.toString(k.shape())
                    + ", which does not match q's batch, heads and head_dim " + Arrays.toString(q.shape())
                    + (blhd ? " (layout BLHD: [batch, length, heads, head_dim])" : ""));
        }
        ShapeChecks.shape(v, k.shape(), "v");
        ShapeChecks.shape(out, q.shape(), "out");
        if (d > MAX_HEAD_DIM) {
            throw new IllegalArgumentException("attention: head_dim must be at most " + MAX_HEAD_DIM + ", got " + d);
        }
        int[] kvLens = options.kvLens();
        if (kvLens != null) {
            if (kvLens.length != b) {
                throw new IllegalArgumentException(
                        "attention: kv lengths has " + kvLens.length + " entries, batch is " + b);
            }
            for (int len : kvLens) {
                if (len > lk) {
                    throw new IllegalArgumentException("attention: kv length " + len + " exceeds kv_len " + lk);
                }
            }
        }
        ShapeChecks.sameElementType("attention", q, "q", k, "k");
        ShapeChecks.sameElementType("attention", q, "q", v, "v");
        ShapeChecks.sameElementType("attention", q, "q", out, "out");
        ShapeChecks.noOverlap("attention", out, "out", q, k, v);
        ElementType type = q.elementType();
        double scale = options.scaleFor(d);
        inkwell.run("attention", Inkwell.names("q", "k", "v", "out"), (arena, context) -> {
            MemorySegment p = inkwell_attention_params.allocate(arena);
            inkwell_attention_params.q(p, q.nativeSegment());
            inkwell_attention_params.k(p, k.nativeSegment());
            inkwell_attention_params.v(p, v.nativeSegment());
            inkwell_attention_params.out(p, out.nativeSegment());
            inkwell_attention_params.batch(p, b);
            inkwell_attention_params.heads(p, h);
            inkwell_attention_params.q_len(p, lq);
            inkwell_attention_params.kv_len(p, lk);
            inkwell_attention_params.head_dim(p, d);
            inkwell_attention_params.scale(p, scale);
            inkwell_attention_params.causal(p, options.causal() ? 1 : 0);
            inkwell_attention_params.kv_lens(p,
                    kvLens == null ? MemorySegment.NULL : arena.allocateFrom(ValueLayout.JAVA_INT, kvLens));
            inkwell_attention_params.layout(p, options.layout().code());
            return switch (type) {
                case FLOAT32 -> InkwellNative.inkwell_attention_f32(context, p);
                case FLOAT16 -> InkwellNative.inkwell_attention_f16(context, p);
                case BFLOAT16 -> InkwellNative.inkwell_attention_bf16(context, p);
            };
        }, q, k, v, out);
    }
}
