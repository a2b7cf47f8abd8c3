package dev.inkwell.benchmarks;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * The libtorch anchors' setups (JavaCPP, CPU build), shared by the JMH benchmarks and
 * {@code inkwell bench} ({@link CliAnchors.Torch}): the same float data copied into libtorch
 * tensors once, then one call per run. Each constructor loads libtorch first and checks one
 * call's output shape. {@link #close} frees the tensors.
 */
final class TorchOps {
    private TorchOps() {}

    /** {@code at::conv2d} with bias, square kernel, one group, dilation 1. */
    static final class Conv2d implements AutoCloseable {
        private final org.bytedeco.pytorch.Tensor input;
        private final org.bytedeco.pytorch.Tensor weight;
        private final TensorOptional bias;
        private final long[] stride;
        private final long[] padding;
        private final long[] dilation = {1, 1};

        Conv2d(float[] input, long[] inputShape, float[] weight, long[] weightShape, float[] bias, int stride, int pad) {
            Anchors.requireTorch();
            this.input = TensorData.torch(input, inputShape);
            this.weight = TensorData.torch(weight, weightShape);
            this.bias = new TensorOptional(TensorData.torch(bias, weightShape[0]));
            this.stride = new long[] {stride, stride};
            this.padding = new long[] {pad, pad};
            long[] expected = {inputShape[0], weightShape[0], (inputShape[2] + 2L * pad - weightShape[2]) / stride + 1,
                (inputShape[3] + 2L * pad - weightShape[3]) / stride + 1};
            try (org.bytedeco.pytorch.Tensor y = run()) {
                for (int i = 0; i < expected.length; i++) {
                    if (y.size(i) != expected[i]) {
                        throw new IllegalStateException("libtorch conv2d output dim " + i + " is " + y.size(i)
                                + ", expected " + expected[i]);
                    }
                }
            }
        }

        /** A new output tensor (the caller closes it). */
        org.bytedeco.pytorch.Tensor run() {
            return torch.conv2d(input, weight, bias, stride, padding, dilation, 1);
        }

        @Override
        public void close() {
            bias.close();
            weight.close();
            input.close();
        }
    }

    /** {@code torch.scaled_dot_product_attention(q, k, v)}, no mask, scale 1/sqrt(head_dim). */
    static final class Attention implements AutoCloseable {
        private final org.bytedeco.pytorch.Tensor q;
        private final org.bytedeco.pytorch.Tensor k;
        private final org.bytedeco.pytorch.Tensor v;

        Attention(float[] q, long[] qShape, float[] k, float[] v, long[] kvShape) {
            Anchors.requireTorch();
            this.q = TensorData.torch(q, qShape);
            this.k = TensorData.torch(k, kvShape);
            this.v = TensorData.torch(v, kvShape);
            try (org.bytedeco.pytorch.Tensor y = run()) {
                if (y.numel() != TensorData.count(qShape)) {
                    throw new IllegalStateException("libtorch attention gave " + y.numel() + " elements");
                }
            }
        }

        /** A new output tensor (the caller closes it). */
        org.bytedeco.pytorch.Tensor run() {
            return torch.scaled_dot_product_attention(q, k, v);
        }

        @Override
        public void close() {
            v.close();
            k.close();
            q.close();
        }
    }

    /** {@code torch.nn.functional.linear(x, weight, bias)} ({@code at::linear}) over x's last dimension. */
    static final class Linear implements AutoCloseable {
        private final org.bytedeco.pytorch.Tensor input;
        private final org.bytedeco.pytorch.Tensor weight;
        private final TensorOptional bias;

        Linear(float[] input, long[] inputShape, float[] weight, long outFeatures, float[] bias) {
            Anchors.requireTorch();
            this.input = TensorData.torch(input, inputShape);
            this.weight = TensorData.torch(weight, outFeatures, inputShape[inputShape.length - 1]);
            this.bias = new TensorOptional(TensorData.torch(bias, outFeatures));
            try (org.bytedeco.pytorch.Tensor y = run()) {
                checkShape("linear", y, lastDim(inputShape, outFeatures));
            }
        }

        /** A new output tensor (the caller closes it). */
        org.bytedeco.pytorch.Tensor run() {
            return torch.linear(input, weight, bias);
        }

        @Override
        public void close() {
            bias.close();
            weight.close();
            input.close();
        }
    }

    /**
     * diffusers' GEGLU as diffusers runs it: {@code hidden, gate = proj(x).chunk(2, dim=-1);
     * hidden * F.gelu(gate)} (erf form), with proj a Linear to 2 innerDim features: three
     * libtorch ops and their temporaries.
     */
    @SuppressWarnings("try") // PointerScope frees the temporaries libtorch returns, unreferenced
    static final class Geglu implements AutoCloseable {
        private final org.bytedeco.pytorch.Tensor input;
        private final org.bytedeco.pytorch.Tensor weight;
        private final TensorOptional bias;

        Geglu(float[] input, long[] inputShape, float[] weight, long innerDim, float[] bias) {
            Anchors.requireTorch();
            this.input = TensorData.torch(input, inputShape);
            this.weight = TensorData.torch(weight, 2 * innerDim, inputShape[inputShape.length - 1]);
            this.bias = new TensorOptional(TensorData.torch(bias, 2 * innerDim));
            try (PointerScope scope = new PointerScope()) {
                checkShape("GEGLU", run(), lastDim(inputShape, innerDim));
            }
        }

        /** The output; it and the temporaries belong to the caller's PointerScope. */
        org.bytedeco.pytorch.Tensor run() {
            org.bytedeco.pytorch.TensorVector halves = torch.linear(input, weight, bias).chunk(2, -1);
            return halves.get(0).mul(torch.gelu(halves.get(1)));
        }

        /** {@link #run} with its output and temporaries freed; returns the element count. */
        long runScoped() {
            try (PointerScope scope = new PointerScope()) {
                return run().numel();
            }
        }

        @Override
        public void close() {
            bias.close();
            weight.close();
            input.close();
        }
    }

    /** {@code torch.nn.functional.group_norm(x, groups, weight, bias, eps)} of NCHW. */
    static final class GroupNorm implements AutoCloseable {
        private final org.bytedeco.pytorch.Tensor input;
        private final TensorOptional weight;
        private final TensorOptional bias;
        private final long groups;
        private final double eps;

        GroupNorm(float[] input, long[] shape, long groups, float[] weight, float[] bias, double eps) {
            Anchors.requireTorch();
            this.input = TensorData.torch(input, shape);
            this.weight = new TensorOptional(TensorData.torch(weight, shape[1]));
            this.bias = new TensorOptional(TensorData.torch(bias, shape[1]));
            this.groups = groups;
            this.eps = eps;
            try (org.bytedeco.pytorch.Tensor y = run()) {
                checkShape("group_norm", y, shape);
            }
        }

        /** A new output tensor (the caller closes it). */
        org.bytedeco.pytorch.Tensor run() {
            return torch.group_norm(input, groups, weight, bias, eps, true);
        }

        @Override
        public void close() {
            bias.close();
            weight.close();
            input.close();
        }
    }

    /** {@code torch.nn.functional.layer_norm(x, (dim,), weight, bias, eps)} over the last dimension. */
    static final class LayerNorm implements AutoCloseable {
        private final org.bytedeco.pytorch.Tensor input;
        private final TensorOptional weight;
        private final TensorOptional bias;
        private final long[] normalized;
        private final double eps;

        LayerNorm(float[] input, long[] shape, float[] weight, float[] bias, double eps) {
            Anchors.requireTorch();
            long dim = shape[shape.length - 1];
            this.input = TensorData.torch(input, shape);
            this.weight = new TensorOptional(TensorData.torch(weight, dim));
            this.bias = new TensorOptional(TensorData.torch(bias, dim));
            this.normalized = new long[] {dim};
            this.eps = eps;
            try (org.bytedeco.pytorch.Tensor y = run()) {
                checkShape("layer_norm", y, shape);
            }
        }

        /** A new output tensor (the caller closes it). */
        org.bytedeco.pytorch.Tensor run() {
            return torch.layer_norm(input, normalized, weight, bias, eps, true);
        }

        @Override
        public void close() {
            bias.close();
            weight.close();
            input.close();
        }
    }

    static long[] lastDim(long[] shape, long last) {
        long[] out = shape.clone();
        out[out.length - 1] = last;
        return out;
    }

    /** Throws unless y has exactly the expected shape. */
    static void checkShape(String op, org.bytedeco.pytorch.Tensor y, long[] expected) {
        boolean same = y.dim() == expected.length;
        for (int i = 0; same && i < expected.length; i++) {
            same = y.size(i) == expected[i];
        }
        if (!same) {
            long[] got = new long[(int) y.dim()];
            for (int i = 0; i < got.length; i++) {
                got[i] = y.size(i);
            }
            throw new IllegalStateException("libtorch " + op + " output shape is " + java.util.Arrays.toString(got)
                    + ", expected " + java.util.Arrays.toString(expected));
        }
    }

    /**
     * One DDIM step with guidance (eta 0, epsilon prediction) two ways: {@link #eager} as a
     * diffusers user writes it (a temporary per op), {@link #inPlace} folded by hand into
     * preallocated, in-place and {@code _out} ops (2 coefficients, 4 passes). The constructor
     * checks that both agree.
     */
    @SuppressWarnings("try") // PointerScope frees the temporaries libtorch returns, unreferenced
    static final class Ddim implements AutoCloseable {
        private final org.bytedeco.pytorch.Tensor sample;
        private final org.bytedeco.pytorch.Tensor cond;
        private final org.bytedeco.pytorch.Tensor uncond;
        private final org.bytedeco.pytorch.Tensor eps;
        final org.bytedeco.pytorch.Tensor prev;
        private final Scalar guidance;
        private final Scalar sqrtAlpha;
        private final Scalar sqrtOneMinusAlpha;
        private final Scalar sqrtAlphaPrev;
        private final Scalar sqrtOneMinusAlphaPrev;
        private final Scalar foldedSample; // sqrt(a_prev / a_t)
        private final Scalar foldedEps; // sqrt(1 - a_prev) - sqrt(a_prev) sqrt(1 - a_t) / sqrt(a_t)

        Ddim(float[] sample, float[] cond, float[] uncond, long[] shape, double guidance, double alpha, double alphaPrev) {
            Anchors.requireTorch();
            this.sample = TensorData.torch(sample, shape);
            this.cond = TensorData.torch(cond, shape);
            this.uncond = TensorData.torch(uncond, shape);
            eps = torch.empty(shape);
            prev = torch.empty(shape);
            this.guidance = new Scalar(guidance);
            sqrtAlpha = new Scalar(Math.sqrt(alpha));
            sqrtOneMinusAlpha = new Scalar(Math.sqrt(1 - alpha));
            sqrtAlphaPrev = new Scalar(Math.sqrt(alphaPrev));
            sqrtOneMinusAlphaPrev = new Scalar(Math.sqrt(1 - alphaPrev));
            foldedSample = new Scalar(Math.sqrt(alphaPrev / alpha));
            foldedEps = new Scalar(Math.sqrt(1 - alphaPrev) - Math.sqrt(alphaPrev) * Math.sqrt(1 - alpha) / Math.sqrt(alpha));
            float[] eager;
            try (PointerScope scope = new PointerScope()) {
                eager = TensorData.toArray(eager());
            }
            inPlace();
            float[] folded = TensorData.toArray(prev);
            double worst = 0;
            for (int i = 0; i < eager.length; i++) {
                worst = Math.max(worst, Math.abs(eager[i] - folded[i]));
            }
            if (worst > 1e-3) {
                throw new IllegalStateException("libtorch eager and in-place DDIM differ by " + worst);
            }
        }

        /** As diffusers writes it: every op makes a temporary (call inside a PointerScope). */
        org.bytedeco.pytorch.Tensor eager() {
            org.bytedeco.pytorch.Tensor noise = uncond.add(cond.sub(uncond), guidance); // uncond + g (cond - uncond)
            org.bytedeco.pytorch.Tensor predX0 = sample.sub(noise, sqrtOneMinusAlpha).div(sqrtAlpha);
            org.bytedeco.pytorch.Tensor direction = noise.mul(sqrtOneMinusAlphaPrev);
            return predX0.mul(sqrtAlphaPrev).add(direction);
        }

        /** {@link #eager} with its temporaries freed; returns the element count. */
        long eagerScoped() {
            try (PointerScope scope = new PointerScope()) {
                return eager().numel();
            }
        }

        /** prev = cs * sample + ce * (uncond + g (cond - uncond)), in preallocated buffers. */
        void inPlace() {
            torch.sub_out(eps, cond, uncond).mul_(guidance).add_(uncond);
            torch.mul_out(prev, sample, foldedSample).add_(eps, foldedEps);
        }

        @Override
        public void close() {
            for (org.bytedeco.javacpp.Pointer p : new org.bytedeco.javacpp.Pointer[] {foldedEps, foldedSample,
                sqrtOneMinusAlphaPrev, sqrtAlphaPrev, sqrtOneMinusAlpha, sqrtAlpha, guidance, prev, eps, uncond, cond,
                sample}) {
                p.close();
            }
        }
    }
}
