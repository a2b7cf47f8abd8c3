package dev.inkwell;

import java.util.Objects;

/**
 * The tensor plumbing between a U-Net's layers: residual and broadcast adds, skip
 * connection concatenation, transposes between NCHW and token layouts, and max pooling.
 * Get one with {@link Inkwell#ops()}; it is bound to that context, holds nothing else, and
 * is cheap enough to get per call. For a reshape without a copy use {@link Tensor#view}.
 *
 * <pre>{@code
 * TensorOps ops = inkwell.ops();
 * ops.add(h, temb.view(n, c, 1, 1), h);               // h += temb[:, :, None, None], in place
 * try (Tensor skip = ops.cat(1, h, res);              // torch.cat((h, res), dim=1)
 *      Tensor tokens = ops.transpose(x.view(n, c, -1), 1, 2)) { // [N, C, H*W] -> [N, H*W, C]
 *     ...
 * }
 * }</pre>
 *
 * <p>Every operation takes float32 tensors only; the results are exact (a sum rounded once,
 * copies, maxima). Ownership, devices, errors and threads as for {@link Layers}: results
 * are new tensors in the context's memory that the caller closes, or written into a
 * caller's {@code out}, which may not overlap an input unless the method says so.
 */
public final class TensorOps {
    private final Inkwell inkwell;

    TensorOps(Inkwell inkwell) {
        this.inkwell = Objects.requireNonNull(inkwell, "inkwell");
    }

    /**
     * The context these operations run on.
     *
     * @return the context this object was obtained from
     */
    public Inkwell context() {
        return inkwell;
    }

    // ---- add ----------------------------------------------------------------------------

    /**
     * a + b with b broadcast as {@code torch.add(a, b)} broadcasts it, for the shapes a U-Net
     * uses: b's shape is right-aligned against a's, no longer than it, and its dimensions
     * other than 1 form one contiguous run equal to a's dimensions there. So b may be a's
     * shape (a residual), [N, C, 1, 1] for a of [N, C, H, W] (the time embedding), [C, 1, 1]
     * (a per-channel bias), [C] against [..., C] (a bias on the last dimension), or all ones
     * (a scalar). Other broadcasts, e.g. [N, 1, W] against [N, H, W], are refused.
     *
     * @param a any shape, float32
     * @param b broadcastable to a as above, float32
     * @return a new float32 tensor shaped like a
     * @throws NullPointerException if a or b is null
     * @throws IllegalArgumentException naming both shapes if b does not broadcast to a as
     *     above; if a tensor is not float32 or is in another device's memory
     * @throws IllegalStateException if a tensor or the context is closed
     */
    public Tensor add(Tensor a, Tensor b) {
        long[] shape = AddKernel.outputShape(a, b);
        Tensor out = inkwell.newTensor(ElementType.FLOAT32, shape);
        return Inkwell.closingOnFailure(out, () -> add(a, b, out));
    }

    /**
     * a + b (b broadcast as {@link #add(Tensor, Tensor)} says) into {@code out}, which may be a
     * itself ({@code a += b}, in place).
     *
     * @param a any shape, float32
     * @param b broadcastable to a, float32
     * @param out shaped like a, float32: a itself (the same memory) or a tensor overlapping
     *     neither a nor b
     * @throws NullPointerException if a tensor is null
     * @throws IllegalArgumentException as {@link #add(Tensor, Tensor)}, or if out has another
     *     shape or type, overlaps a only in part, or overlaps b
     * @throws IllegalStateException if a tensor or the context is closed
     */
    public void add(Tensor a, Tensor b, Tensor out) {
        AddKernel.run(inkwell, a, b, out);
    }

    // ---- cat ----------------------------------------------------------------------------

    /**
     * {@code torch.cat((a, b), dim)}: a then b along {@code dim}, e.g. dim 1 of NCHW for the
     * U-Net decoder's skip connections.
     *
     * @param dim the dimension, 0..rank-1 or, as in PyTorch, -rank..-1 counting from the end
     * @param a float32, rank >= 1
     * @param b float32, of a's rank and sizes except along dim
     * @return a new float32 tensor with a's shape but a's plus b's size along dim
     * @throws NullPointerException if a or b is null
     * @throws IllegalArgumentException if dim is out of range, the ranks or the other sizes
     *     differ, a tensor is not float32 or is in another device's memory
     * @throws IllegalStateException if a tensor or the context is closed
     */
    public Tensor cat(int dim, Tensor a, Tensor b) {
        long[] shape = CatKernel.outputShape(dim, a, b);
        Tensor out = inkwell.newTensor(ElementType.FLOAT32, shape);
        return Inkwell.closingOnFailure(out, () -> cat(dim, a, b, out));
    }

    /**
     * {@code torch.cat((a, b), dim)} into {@code out}.
     *
     * @param dim the dimension, -rank..rank-1
     * @param a float32, rank >= 1
     * @param b float32, of a's rank and sizes except along dim
     * @param out float32, a's shape with a's plus b's size along dim, overlapping neither
     * @throws NullPointerException if a tensor is null
     * @throws IllegalArgumentException as {@link #cat(int, Tensor, Tensor)}, or if out has
     *     another shape or type or overlaps an input
     * @throws IllegalStateException if a tensor or the context is closed
     */
    public void cat(int dim, Tensor a, Tensor b, Tensor out) {
        CatKernel.run(inkwell, dim, a, b, out);
    }

    // ---- transpose ----------------------------------------------------------------------

    /**
     * {@code x.transpose(dim0, dim1).contiguous()}: a copy with the two dimensions swapped,
     * e.g. [N, C, H*W] to [N, H*W, C] (dims 1, 2) and back, as diffusers' transformer blocks
     * do around attention. dim0 equal to dim1 gives a copy.
     *
     * @param x float32, rank >= 1
     * @param dim0 a dimension, -rank..rank-1
     * @param dim1 a dimension, -rank..rank-1
     * @return a new float32 tensor of x's shape with sizes dim0 and dim1 swapped
     * @throws NullPointerException if x is null
     * @throws IllegalArgumentException if a dimension is out of range, x is not float32 or is
     *     in another device's memory
     * @throws IllegalStateException if x or the context is closed
     */
    public Tensor transpose(Tensor x, int dim0, int dim1) {
        long[] shape = TransposeKernel.outputShape(x, dim0, dim1);
        Tensor out = inkwell.newTensor(ElementType.FLOAT32, shape);
        return Inkwell.closingOnFailure(out, () -> transpose(x, dim0, dim1, out));
    }

    /**
     * {@code x.transpose(dim0, dim1).contiguous()} into {@code out}.
     *
     * @param x float32, rank >= 1
     * @param dim0 a dimension, -rank..rank-1
     * @param dim1 a dimension, -rank..rank-1
     * @param out float32, x's shape with sizes dim0 and dim1 swapped, not overlapping x
     * @throws NullPointerException if x or out is null
     * @throws IllegalArgumentException as {@link #transpose(Tensor, int, int)}, or if out has
     *     another shape or type or overlaps x
     * @throws IllegalStateException if a tensor or the context is closed
     */
    public void transpose(Tensor x, int dim0, int dim1, Tensor out) {
        TransposeKernel.run(inkwell, x, dim0, dim1, out);
    }

    // ---- max pool -----------------------------------------------------------------------

    /**
     * {@code torch.nn.functional.max_pool2d(x, kernel, stride, padding)} with square windows
     * (dilation 1, ceil_mode false): padding counts as -infinity, a NaN in a window wins.
     * Output size per axis: (in + 2 padding - kernel) / stride + 1.
     *
     * @param x [batch, channels, height, width] float32
     * @param kernel window size, >= 1
     * @param stride step, >= 1 (PyTorch's default is the kernel size)
     * @param padding 0..kernel / 2, as PyTorch requires
     * @return a new float32 tensor [batch, channels, out_height, out_width]
     * @throws NullPointerException if x is null
     * @throws IllegalArgumentException if x is not rank 4 or float32, a parameter is out of
     *     range, the window is larger than the padded input, or x is in another device's memory
     * @throws IllegalStateException if x or the context is closed
     */
    public Tensor maxPool2d(Tensor x, int kernel, int stride, int padding) {
        return maxPool2d(x, kernel, kernel, stride, stride, padding, padding);
    }

    /**
     * {@code torch.nn.functional.max_pool2d(x, (kh, kw), (sh, sw), (ph, pw))}, as
     * {@link #maxPool2d(Tensor, int, int, int)} per axis.
     *
     * @param x [batch, channels, height, width] float32
     * @param kh window height, >= 1
     * @param kw window width, >= 1
     * @param sh vertical step, >= 1
     * @param sw horizontal step, >= 1
     * @param ph vertical padding, 0..kh / 2
     * @param pw horizontal padding, 0..kw / 2
     * @return a new float32 tensor [batch, channels, out_height, out_width]
     * @throws NullPointerException if x is null
     * @throws IllegalArgumentException as {@link #maxPool2d(Tensor, int, int, int)}
     * @throws IllegalStateException if x or the context is closed
     */
    public Tensor maxPool2d(Tensor x, int kh, int kw, int sh, int sw, int ph, int pw) {
        long[] shape = MaxPool2dKernel.outputShape(x, kh, kw, sh, sw, ph, pw);
        Tensor out = inkwell.newTensor(ElementType.FLOAT32, shape);
        return Inkwell.closingOnFailure(out, () -> maxPool2d(x, kh, kw, sh, sw, ph, pw, out));
    }

    /**
     * Max pooling into {@code out}; parameters as {@link #maxPool2d(Tensor, int, int, int, int, int, int)}.
     *
     * @param x [batch, channels, height, width] float32
     * @param kh window height, >= 1
     * @param kw window width, >= 1
     * @param sh vertical step, >= 1
     * @param sw horizontal step, >= 1
     * @param ph vertical padding, 0..kh / 2
     * @param pw horizontal padding, 0..kw / 2
     * @param out [batch, channels, out_height, out_width] float32, not overlapping x
     * @throws NullPointerException if x or out is null
     * @throws IllegalArgumentException as {@link #maxPool2d(Tensor, int, int, int)}, or if out
     *     has another shape or type or overlaps x
     * @throws IllegalStateException if a tensor or the context is closed
     */
    public void maxPool2d(Tensor x, int kh, int kw, int sh, int sw, int ph, int pw, Tensor out) {
        MaxPool2dKernel.run(inkwell, x, kh, kw, sh, sw, ph, pw, out);
    }

    @Override
    public String toString() {
        return "TensorOps[" + inkwell + "]";
    }
}
