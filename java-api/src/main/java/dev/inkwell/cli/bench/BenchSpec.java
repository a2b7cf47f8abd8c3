package dev.inkwell.cli.bench;

/**
 * One benchmark case's inputs, as the anchors receive them: the same data Inkwell runs on,
 * in plain Java arrays (row-major, NCHW or [batch, heads, length, head_dim]).
 */
public sealed interface BenchSpec {
    /** Canny with ControlNet's settings (aperture 3, L1, no blur) on packed 8-bit pixels. */
    record Canny(byte[] pixels, int height, int width, int channels, double low, double high) implements BenchSpec {}

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
