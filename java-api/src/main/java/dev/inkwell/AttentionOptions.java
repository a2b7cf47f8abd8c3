package dev.inkwell;

import java.util.Arrays;
import java.util.Objects;

/**
 * Parameters of {@link Inkwell#attention}: the logit scale (default 1/sqrt(head size)), a
 * causal mask (query i sees keys j &lt;= i) and per-batch valid key lengths (text padding:
 * batch b sees keys j &lt; kvLens[b]), and the layout of the tensors ({@link AttentionLayout},
 * default {@link AttentionLayout#BHLD}).
 */
public final class AttentionOptions {
    private static final AttentionOptions DEFAULTS = new AttentionOptions(Double.NaN, false, null, AttentionLayout.BHLD);

    private final double scale; // NaN: 1 / sqrt(head size)
    private final boolean causal;
    private final int[] kvLens; // null: all keys
    private final AttentionLayout layout;

    private AttentionOptions(double scale, boolean causal, int[] kvLens, AttentionLayout layout) {
        this.scale = scale;
        this.causal = causal;
        this.kvLens = kvLens;
        this.layout = layout;
    }

    /**
     * Scale 1/sqrt(head size), no mask, layout {@link AttentionLayout#BHLD}.
     *
     * @return the default options
     */
    public static AttentionOptions defaults() {
        return DEFAULTS;
    }

    /**
     * A logit scale in place of 1/sqrt(head size).
     *
     * @param value finite and &gt; 0
     * @return a copy of these options with that scale
     * @throws IllegalArgumentException if {@code value} is not finite or not positive
     */
    public AttentionOptions withScale(double value) {
        if (!Double.isFinite(value) || value <= 0) {
            throw new IllegalArgumentException("attention scale must be finite and > 0, got " + value);
        }
        return new AttentionOptions(value, causal, kvLens, layout);
    }

    /**
     * The default logit scale, 1/sqrt(head size).
     *
     * @return a copy of these options with the default scale
     */
    public AttentionOptions withDefaultScale() {
        return new AttentionOptions(Double.NaN, causal, kvLens, layout);
    }

    /**
     * Whether query i sees only keys j &lt;= i.
     *
     * @param value true for a causal mask
     * @return a copy of these options with that mask
     */
    public AttentionOptions withCausal(boolean value) {
        return new AttentionOptions(scale, value, kvLens, layout);
    }

    /**
     * Valid key lengths (text padding): batch entry b sees keys j &lt; lens[b].
     *
     * @param lens one length per batch entry, each at least 1 and at most kv_len (checked by
     *     the call); null for all keys
     * @return a copy of these options with those lengths (copied)
     * @throws IllegalArgumentException if a length is below 1
     */
    public AttentionOptions withKvLens(int... lens) {
        if (lens != null) {
            for (int len : lens) {
                if (len < 1) {
                    throw new IllegalArgumentException("kv lengths must be >= 1, got " + Arrays.toString(lens));
                }
            }
        }
        return new AttentionOptions(scale, causal, lens == null ? null : lens.clone(), layout);
    }

    /**
     * The layout of q, k, v and out: {@link AttentionLayout#BHLD} (the default) or
     * {@link AttentionLayout#BLHD}.
     *
     * @param value the layout
     * @return a copy of these options with that layout
     * @throws NullPointerException if {@code value} is null
     */
    public AttentionOptions withLayout(AttentionLayout value) {
        return new AttentionOptions(scale, causal, kvLens, Objects.requireNonNull(value, "layout"));
    }

    /**
     * The layout of q, k, v and out.
     *
     * @return the layout
     */
    public AttentionLayout layout() {
        return layout;
    }

    /**
     * The logit scale a call with this head size uses.
     *
     * @param headSize the head size (head_dim)
     * @return the scale set, else 1/sqrt(headSize)
     */
    public double scaleFor(long headSize) {
        return Double.isNaN(scale) ? 1.0 / Math.sqrt(headSize) : scale;
    }

    /**
     * Whether the mask is causal.
     *
     * @return true if query i sees only keys j &lt;= i
     */
    public boolean causal() {
        return causal;
    }

    /**
     * The valid key lengths.
     *
     * @return a copy of the key lengths, or null for all keys
     */
    public int[] kvLens() {
        return kvLens == null ? null : kvLens.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AttentionOptions a && Double.compare(a.scale, scale) == 0 && a.causal == causal
                && Arrays.equals(a.kvLens, kvLens) && a.layout == layout;
    }

    @Override
    public int hashCode() {
        return Double.hashCode(scale) * 31 + Boolean.hashCode(causal) * 17 + Arrays.hashCode(kvLens) * 7 + layout.hashCode();
    }

    @Override
    public String toString() {
        return "AttentionOptions[scale=" + (Double.isNaN(scale) ? "1/sqrt(d)" : scale) + ", causal=" + causal + ", kvLens="
                + Arrays.toString(kvLens) + ", layout=" + layout + "]";
    }
}
