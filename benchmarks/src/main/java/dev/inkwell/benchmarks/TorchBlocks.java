package dev.inkwell.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * The U-Net's blocks written with libtorch operations as diffusers' modules call them (the
 * anchors of {@code inkwell bench}'s "resnet block" and "transformer block" cases), on the
 * state dict Inkwell's block was built from. Each constructor runs the block once and checks
 * its output against Inkwell's within the case's float32 tolerance before anything is timed,
 * so both sides are known to do the same work. {@link #close} frees the weights and inputs.
 */
@SuppressWarnings("try") // PointerScope frees the temporaries libtorch returns, unreferenced
final class TorchBlocks {
    private TorchBlocks() {}

    /** The tensors one block owns: its weights and inputs, by name. */
    private static final class Owned implements AutoCloseable {
        private final Map<String, float[]> stateDict;
        private final List<org.bytedeco.javacpp.Pointer> all = new ArrayList<>();

        Owned(Map<String, float[]> stateDict) {
            this.stateDict = stateDict;
        }

        org.bytedeco.pytorch.Tensor tensor(float[] data, long... shape) {
            org.bytedeco.pytorch.Tensor t = TensorData.torch(data, shape);
            all.add(t);
            return t;
        }

        /** Weight {@code name} of the state dict, which must have {@code shape}'s element count. */
        org.bytedeco.pytorch.Tensor weight(String name, long... shape) {
            float[] data = stateDict.get(name);
            if (data == null) {
                throw new IllegalArgumentException("the state dict has no " + name);
            }
            if (data.length != TensorData.count(shape)) {
                throw new IllegalArgumentException(name + " has " + data.length + " elements, expected shape "
                        + java.util.Arrays.toString(shape));
            }
            return tensor(data, shape);
        }

        TensorOptional optional(String name, long... shape) {
            TensorOptional o = new TensorOptional(weight(name, shape));
            all.add(o);
            return o;
        }

        @Override
        public void close() {
            for (int i = all.size() - 1; i >= 0; i--) {
                all.get(i).close();
            }
            all.clear();
        }
    }

    /** Throws unless {@code got} is within {@code tolerance} of {@code expected} everywhere; returns the worst |diff|. */
    static double check(String block, float[] got, float[] expected, double tolerance) {
        if (got.length != expected.length) {
            throw new IllegalStateException("libtorch " + block + " gave " + got.length + " elements, Inkwell "
                    + expected.length);
        }
        double worst = 0;
        for (int i = 0; i < got.length; i++) {
            double d = Math.abs((double) got[i] - expected[i]);
            if (!(d <= worst)) {
                worst = d; // NaN sticks
            }
        }
        if (!(worst <= tolerance)) {
            throw new IllegalStateException(String.format("libtorch %s and Inkwell's differ by %.3g (tolerance %.3g)",
                    block, worst, tolerance));
        }
        return worst;
    }

    /**
     * diffusers' ResnetBlock2D.forward with a time embedding, in == out channels:
     * group_norm, silu, conv2d, linear(silu(temb)) added per channel, group_norm, silu, conv2d,
     * residual add.
     */
    static final class ResnetBlock implements AutoCloseable {
        private final Owned owned;
        private final org.bytedeco.pytorch.Tensor x, temb, conv1, conv2, timeProj;
        private final TensorOptional norm1W, norm1B, conv1B, norm2W, norm2B, conv2B, timeProjB;
        private final long groups, batch, channels;
        private final double eps;
        private final long[] one = {1, 1}, pad = {1, 1};
        /** The largest |difference| from Inkwell's output. */
        final double worst;

        ResnetBlock(float[] input, long[] shape, float[] temb, int tembChannels, int groups, double eps,
                Map<String, float[]> stateDict, float[] expected, double tolerance) {
            Anchors.requireTorch();
            owned = new Owned(stateDict);
            try {
                long c = shape[1];
                batch = shape[0];
                channels = c;
                this.groups = groups;
                this.eps = eps;
                x = owned.tensor(input, shape);
                this.temb = owned.tensor(temb, shape[0], tembChannels);
                norm1W = owned.optional("norm1.weight", c);
                norm1B = owned.optional("norm1.bias", c);
                conv1 = owned.weight("conv1.weight", c, c, 3, 3);
                conv1B = owned.optional("conv1.bias", c);
                timeProj = owned.weight("time_emb_proj.weight", c, tembChannels);
                timeProjB = owned.optional("time_emb_proj.bias", c);
                norm2W = owned.optional("norm2.weight", c);
                norm2B = owned.optional("norm2.bias", c);
                conv2 = owned.weight("conv2.weight", c, c, 3, 3);
                conv2B = owned.optional("conv2.bias", c);
                try (PointerScope scope = new PointerScope()) {
                    worst = check("ResnetBlock2D", TensorData.toArray(run()), expected, tolerance);
                }
            } catch (RuntimeException | Error e) {
                owned.close();
                throw e;
            }
        }

        /** The output; it and the temporaries belong to the caller's PointerScope. */
        org.bytedeco.pytorch.Tensor run() {
            org.bytedeco.pytorch.Tensor h = torch.conv2d(torch.silu(torch.group_norm(x, groups, norm1W, norm1B, eps, true)),
                    conv1, conv1B, one, pad, one, 1);
            h = h.add(torch.linear(torch.silu(temb), timeProj, timeProjB).view(batch, channels, 1, 1));
            h = torch.conv2d(torch.silu(torch.group_norm(h, groups, norm2W, norm2B, eps, true)), conv2, conv2B, one, pad,
                    one, 1);
            return x.add(h);
        }

        /** {@link #run} with its output and temporaries freed; returns the element count. */
        long runScoped() {
            try (PointerScope scope = new PointerScope()) {
                return run().numel();
            }
        }

        @Override
        public void close() {
            owned.close();
        }
    }

    /**
     * diffusers' BasicTransformerBlock.forward as the SD U-Net runs it: layer_norm, Attention
     * (linear q, k, v without bias; heads split as view + transpose;
     * scaled_dot_product_attention; heads merged; linear to_out.0) and residual, twice (self,
     * then cross-attention to the context), then layer_norm, GEGLU (linear, chunk, gelu, mul),
     * linear and residual.
     */
    static final class TransformerBlock implements AutoCloseable {
        private final Owned owned;
        private final org.bytedeco.pytorch.Tensor x, context;
        private final Attn attn1, attn2;
        private final TensorOptional[] norms = new TensorOptional[6];
        private final org.bytedeco.pytorch.Tensor ffProj, ffOut;
        private final TensorOptional ffProjB, ffOutB;
        private final long[] normalized;
        /** The largest |difference| from Inkwell's output. */
        final double worst;

        private record Attn(org.bytedeco.pytorch.Tensor q, org.bytedeco.pytorch.Tensor k, org.bytedeco.pytorch.Tensor v,
                org.bytedeco.pytorch.Tensor out, TensorOptional outB, long heads, long headDim) {
            static Attn load(Owned o, String prefix, long dim, long contextDim, long heads, long headDim) {
                return new Attn(o.weight(prefix + "to_q.weight", dim, dim), o.weight(prefix + "to_k.weight", dim, contextDim),
                        o.weight(prefix + "to_v.weight", dim, contextDim), o.weight(prefix + "to_out.0.weight", dim, dim),
                        o.optional(prefix + "to_out.0.bias", dim), heads, headDim);
            }

            /** x [N, L, dim], context [N, S, contextDim] -> [N, L, dim]. */
            org.bytedeco.pytorch.Tensor forward(org.bytedeco.pytorch.Tensor x, org.bytedeco.pytorch.Tensor context) {
                long n = x.size(0), l = x.size(1), s = context.size(1);
                org.bytedeco.pytorch.Tensor qh = torch.linear(x, q).view(n, l, heads, headDim).transpose(1, 2);
                org.bytedeco.pytorch.Tensor kh = torch.linear(context, k).view(n, s, heads, headDim).transpose(1, 2);
                org.bytedeco.pytorch.Tensor vh = torch.linear(context, v).view(n, s, heads, headDim).transpose(1, 2);
                org.bytedeco.pytorch.Tensor o = torch.scaled_dot_product_attention(qh, kh, vh).transpose(1, 2)
                        .reshape(n, l, heads * headDim);
                return torch.linear(o, out, outB);
            }
        }

        TransformerBlock(float[] input, long[] shape, float[] context, long[] contextShape, int heads, int headDim,
                Map<String, float[]> stateDict, float[] expected, double tolerance) {
            Anchors.requireTorch();
            owned = new Owned(stateDict);
            try {
                long dim = (long) heads * headDim, cross = contextShape[2], inner = 4 * dim;
                normalized = new long[] {dim};
                x = owned.tensor(input, shape);
                this.context = owned.tensor(context, contextShape);
                for (int i = 0; i < 3; i++) {
                    norms[2 * i] = owned.optional("norm" + (i + 1) + ".weight", dim);
                    norms[2 * i + 1] = owned.optional("norm" + (i + 1) + ".bias", dim);
                }
                attn1 = Attn.load(owned, "attn1.", dim, dim, heads, headDim);
                attn2 = Attn.load(owned, "attn2.", dim, cross, heads, headDim);
                ffProj = owned.weight("ff.net.0.proj.weight", 2 * inner, dim);
                ffProjB = owned.optional("ff.net.0.proj.bias", 2 * inner);
                ffOut = owned.weight("ff.net.2.weight", dim, inner);
                ffOutB = owned.optional("ff.net.2.bias", dim);
                try (PointerScope scope = new PointerScope()) {
                    worst = check("BasicTransformerBlock", TensorData.toArray(run()), expected, tolerance);
                }
            } catch (RuntimeException | Error e) {
                owned.close();
                throw e;
            }
        }

        private org.bytedeco.pytorch.Tensor norm(org.bytedeco.pytorch.Tensor t, int i) {
            return torch.layer_norm(t, normalized, norms[2 * i], norms[2 * i + 1], 1e-5, true);
        }

        /** The output; it and the temporaries belong to the caller's PointerScope. */
        org.bytedeco.pytorch.Tensor run() {
            org.bytedeco.pytorch.Tensor n1 = norm(x, 0);
            org.bytedeco.pytorch.Tensor h = attn1.forward(n1, n1).add(x);
            h = attn2.forward(norm(h, 1), context).add(h);
            org.bytedeco.pytorch.TensorVector halves = torch.linear(norm(h, 2), ffProj, ffProjB).chunk(2, -1);
            org.bytedeco.pytorch.Tensor gated = halves.get(0).mul(torch.gelu(halves.get(1)));
            return torch.linear(gated, ffOut, ffOutB).add(h);
        }

        /** {@link #run} with its output and temporaries freed; returns the element count. */
        long runScoped() {
            try (PointerScope scope = new PointerScope()) {
                return run().numel();
            }
        }

        @Override
        public void close() {
            owned.close();
        }
    }
}
