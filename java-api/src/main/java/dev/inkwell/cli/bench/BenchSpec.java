package dev.inkwell.cli.bench;

/**
 * One benchmark case's inputs, as the anchors receive them: the same data Inkwell runs on,
 * in plain Java arrays (row-major, NCHW or [batch, heads, length, head_dim]).
 */
public sealed interface BenchSpec {
    /** Canny with ControlNet's settings (aperture 3, L1, no blur) on packed 8-bit pixels. */
    record Canny(byte[] pixels, int height, int width, int channels, double low, double high) implements BenchSpec {}

    /**
     * Gaussian blur of packed 8-bit pixels with OpenCV's kernel for (ksize, sigma) (sigma 0:
     * derived from ksize) and BORDER_REFLECT_101, as cv2.GaussianBlur runs it.
     */
    record GaussianBlur(byte[] pixels, int height, int width, int channels, int ksize, double sigma)
            implements BenchSpec {}

    /** conv2d with bias, square kernel, one group, dilation 1, no activation. */
    record Conv2d(float[] input, long[] inputShape, float[] weight, long[] weightShape, float[] bias, int stride, int pad)
            implements BenchSpec {}

    /** Attention softmax(q k^T / sqrt(headDim)) v without masks. */
    record Attention(float[] q, float[] k, float[] v, int batch, int heads, int qLen, int kvLen, int headDim)
            implements BenchSpec {}

    /**
     * One DDIM step with guidance, eta 0, epsilon prediction: prev = sqrt(alphaPrev) x0 +
     * sqrt(1 - alphaPrev) eps with eps = uncond + g (cond - uncond) and
     * x0 = (sample - sqrt(1 - alpha) eps) / sqrt(alpha).
     */
    record DdimStep(float[] sample, float[] cond, float[] uncond, long[] shape, double guidance, double alpha,
            double alphaPrev) implements BenchSpec {}

    /**
     * {@code torch.nn.functional.linear}: y = x W^T + b over the last dimension of x
     * ([..., inFeatures]), W [outFeatures, inFeatures] (torch.nn.Linear's layout), b [outFeatures].
     */
    record Linear(float[] input, long[] inputShape, float[] weight, int outFeatures, float[] bias) implements BenchSpec {
        public int inFeatures() {
            return Math.toIntExact(inputShape[inputShape.length - 1]);
        }

        /** The output's shape: the input's with the last dimension outFeatures. */
        public long[] outputShape() {
            return lastDim(inputShape, outFeatures);
        }
    }

    /**
     * diffusers' GEGLU: h = x W^T + b with W [2 innerDim, inFeatures], b [2 innerDim]; the first
     * half of h times gelu (erf form) of the second: {@code a, gate = h.chunk(2, -1); a * gelu(gate)}.
     */
    record Geglu(float[] input, long[] inputShape, float[] weight, int innerDim, float[] bias) implements BenchSpec {
        public int inFeatures() {
            return Math.toIntExact(inputShape[inputShape.length - 1]);
        }

        /** The output's shape: the input's with the last dimension innerDim. */
        public long[] outputShape() {
            return lastDim(inputShape, innerDim);
        }
    }

    /** {@code torch.nn.functional.group_norm} of NCHW with a per-channel affine step, no activation. */
    record GroupNorm(float[] input, long[] shape, int groups, float[] weight, float[] bias, double eps)
            implements BenchSpec {}

    /** {@code torch.nn.functional.layer_norm} over the last dimension, with weight and bias. */
    record LayerNorm(float[] input, long[] shape, float[] weight, float[] bias, double eps) implements BenchSpec {}

    /**
     * The U-Net's {@code ResnetBlock2D} with a time embedding (diffusers' resnet.py, SD 1.5's
     * settings): {@code h = conv1(silu(group_norm1(x))) + time_emb_proj(silu(temb))[:, :, None, None];
     * out = x + conv2(silu(group_norm2(h)))} (in == out channels: no conv_shortcut), 3x3 convs
     * with padding 1. {@code weights} is the block's state dict (diffusers' names, PyTorch
     * layouts), {@code expected} Inkwell's output on these inputs, for an anchor to check once
     * that it computes the same thing before it is timed.
     */
    record ResnetBlock(float[] input, long[] inputShape, float[] temb, int tembChannels, int groups, double eps,
            long seed, java.util.Map<String, float[]> weights, float[] expected) implements BenchSpec {
        /** Channels, in and out. */
        public int channels() {
            return Math.toIntExact(inputShape[1]);
        }

        /**
         * The largest |difference| from {@link #expected} a float32 implementation may show:
         * rounding error grows as sqrt(K) u for a sum of K terms (u = 2^-24), K here the group
         * norm's group (C/G H W) or the conv's 9 C, whichever is longer; 16 covers the block's
         * chain of reductions on both sides, scaled by the output's magnitude.
         */
        public double tolerance() {
            long k = Math.max(9L * channels(), channels() / groups * inputShape[2] * inputShape[3]);
            return BenchSpec.tolerance(k, expected);
        }
    }

    /**
     * The U-Net's {@code BasicTransformerBlock} (diffusers' attention.py, SD 1.5's settings):
     * {@code h = x + attn1(layer_norm1(x)); h = h + attn2(layer_norm2(h), context);
     * out = h + ff(layer_norm3(h))}, layer norm eps 1e-5, attention with {@code heads} heads of
     * {@code headDim} (to_q/to_k/to_v without bias, to_out.0 with), ff GEGLU to 4 dim then a
     * linear back. {@code weights} is the block's state dict, {@code expected} Inkwell's output
     * (see {@link ResnetBlock}).
     */
    record TransformerBlock(float[] input, long[] inputShape, float[] context, long[] contextShape, int heads,
            int headDim, long seed, java.util.Map<String, float[]> weights, float[] expected) implements BenchSpec {
        /**
         * As {@link ResnetBlock#tolerance}, K the longest sum: the attention over the tokens,
         * or the feed-forward's 4 dim.
         */
        public double tolerance() {
            long k = Math.max(Math.max(inputShape[1], contextShape[1]), 4L * heads * headDim);
            return BenchSpec.tolerance(k, expected);
        }
    }

    /** 16 sqrt(k) 2^-24 max(1, max |expected|): see {@link ResnetBlock#tolerance}. */
    private static double tolerance(long k, float[] expected) {
        double scale = 1;
        for (float e : expected) {
            scale = Math.max(scale, Math.abs(e));
        }
        return 16 * Math.sqrt(k) * Math.ulp(1f) / 2 * scale;
    }

    /**
     * {@code callsPerRun} empty native calls, in a loop of the run's own: a call costs
     * nanoseconds, less than the harness's own call of the run through {@code Runnable}
     * (and its JIT state), so each run makes many and the times are per call.
     */
    record NativeCall(int callsPerRun) implements BenchSpec {}

    /** Operations one run performs; the table's times are per operation. */
    default int callsPerRun() {
        return 1;
    }

    private static long[] lastDim(long[] shape, long last) {
        long[] out = shape.clone();
        out[out.length - 1] = last;
        return out;
    }
}
