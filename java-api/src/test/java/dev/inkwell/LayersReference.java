package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

/**
 * Plain Java references for {@link Layers} and {@link TensorOps}, written from the PyTorch /
 * diffusers definitions with plain loops in double (the float32 formulas of the library are
 * not copied: the tests derive how far a float32 result may be from these). The plumbing
 * references index through the full shape (torch's broadcast and transpose rules) rather
 * than the kernels' flattened views. Each layer reference returns the value and an error
 * bound per element: what float32 arithmetic of the documented kind may be off by.
 */
final class LayersReference {
    /** Unit roundoff of float32. */
    static final double U = 0x1p-24;

    private LayersReference() {}

    /** Values in double and the allowed |float32 result - value| per element. */
    record Result(double[] value, double[] bound) {}

    // ---- activations --------------------------------------------------------------------

    /** PyTorch's activation in double; NaN in, NaN out; -inf into x * sigmoid(x) is NaN, as in float. */
    static double activation(Activation a, double x) {
        return switch (a) {
            case NONE -> x;
            case SILU -> x / (1 + Math.exp(-x));
            case GELU -> 0.5 * x * (1 + erf(x / Math.sqrt(2)));
            case GELU_TANH -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            case QUICK_GELU -> x / (1 + Math.exp(-1.702 * x));
            case RELU -> Double.isNaN(x) ? x : Math.max(x, 0);
        };
    }

    /**
     * Bound on |float32 act(y') - act(y)| for |y' - y| &lt;= inBound: the activations'
     * slope is at most 1.13 (GELU's), and their float32 evaluation costs a few roundings of
     * the result and, where 1 + erf or 1 + tanh cancels, of x itself.
     */
    static double activationBound(Activation a, double y, double inBound) {
        if (a == Activation.NONE) {
            return inBound;
        }
        return 1.13 * inBound + 8 * U * (Math.abs(activation(a, y)) + Math.abs(y));
    }

    /**
     * erf in double (Java has none): its Taylor series below 0.5, 1 - erfc by erfc's continued
     * fraction above (within 1e-13 of math.erf, checked by hand at 0.1..6.5).
     */
    static double erf(double x) {
        if (Double.isNaN(x)) {
            return x;
        }
        double ax = Math.abs(x);
        double r;
        if (ax < 0.5) { // Taylor series, converges fast here
            double term = x, sum = x, x2 = x * x;
            for (int n = 1; n < 40; n++) {
                term *= -x2 / n;
                sum += term / (2 * n + 1);
            }
            return 2 / Math.sqrt(Math.PI) * sum;
        }
        if (ax > 6) {
            r = 1;
        } else { // erfc by its continued fraction (Lentz), accurate to ~1e-15 for x >= 0.5
            double tiny = 1e-300, f = ax, c = ax, d = 0;
            for (int n = 1; n < 500; n++) {
                double an = n / 2.0;
                d = ax + an * d;
                d = d == 0 ? tiny : d;
                c = ax + an / c;
                c = c == 0 ? tiny : c;
                d = 1 / d;
                double delta = c * d;
                f *= delta;
                if (Math.abs(delta - 1) < 1e-16) {
                    break;
                }
            }
            r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
        }
        return x < 0 ? -r : r;
    }

    // ---- normalisation ------------------------------------------------------------------

    /**
     * group_norm of x [batch, channels, spatial]: per (sample, group) the mean and biased
     * variance in two passes, then (x - mean) / sqrt(var + eps) * w + b and the activation.
     */
    static Result groupNorm(float[] x, int batch, int channels, int spatial, int groups, float[] w, float[] b,
            double eps, Activation act) {
        double[] y = new double[x.length], bound = new double[x.length];
        int perGroup = channels / groups;
        for (int n = 0; n < batch; n++) {
            for (int g = 0; g < groups; g++) {
                int start = (n * channels + g * perGroup) * spatial, len = perGroup * spatial;
                normalise(x, start, len, 1, eps, y, bound);
                for (int c = g * perGroup; c < (g + 1) * perGroup; c++) {
                    for (int s = 0; s < spatial; s++) {
                        int i = (n * channels + c) * spatial + s;
                        affine(i, w == null ? 1 : w[c], b == null ? 0 : b[c], act, y, bound);
                    }
                }
            }
        }
        return new Result(y, bound);
    }

    /** layer_norm over the last dimension of x [rows, dim]. */
    static Result layerNorm(float[] x, int rows, int dim, float[] w, float[] b, double eps) {
        double[] y = new double[x.length], bound = new double[x.length];
        for (int r = 0; r < rows; r++) {
            normalise(x, r * dim, dim, 1, eps, y, bound);
            for (int d = 0; d < dim; d++) {
                affine(r * dim + d, w == null ? 1 : w[d], b == null ? 0 : b[d], Activation.NONE, y, bound);
            }
        }
        return new Result(y, bound);
    }

    /**
     * y[i] = (x[i] - mean) / sqrt(var + eps) over x[start, start + len), and a bound for its
     * float32 evaluation: x - mean rounded relative to |x| + |mean| (the mean held to float
     * or double), the scale by the reciprocal standard deviation, a few roundings more; and
     * the mean's own error, summed in double in any order: at most 2^-53 sum |x| (it
     * matters only when the values span the float range, as MAX_VALUE and -MAX_VALUE do).
     * The native fast path may take its statistics from float sums (norm_cpu.cpp,
     * judge_float_sums): the mean then errs by up to 40 u of a standard deviation and the
     * reciprocal standard deviation by 126 u of itself.
     */
    private static void normalise(float[] x, int start, int len, int stride, double eps, double[] y, double[] bound) {
        double mean = 0, sumAbs = 0;
        for (int i = 0; i < len; i++) {
            mean += x[start + i * stride];
            sumAbs += Math.abs(x[start + i * stride]);
        }
        mean /= len;
        double var = 0;
        for (int i = 0; i < len; i++) {
            double d = x[start + i * stride] - mean;
            var += d * d;
        }
        var /= len;
        double rstd = 1 / Math.sqrt(var + eps);
        for (int i = 0; i < len; i++) {
            int k = start + i * stride;
            y[k] = (x[k] - mean) * rstd;
            bound[k] = 4 * U * ((Math.abs(x[k]) + Math.abs(mean)) * rstd + Math.abs(y[k])) + 0x1p-52 * sumAbs * rstd
                    + U * (40 * Math.sqrt(var) * rstd + 126 * Math.abs(y[k]));
        }
    }

    /** y = y * w + b, then the activation, with the bound carried along. */
    private static void affine(int i, double w, double b, Activation act, double[] y, double[] bound) {
        double v = y[i] * w + b;
        double e = bound[i] * Math.abs(w) + 2 * U * (Math.abs(y[i] * w) + Math.abs(b));
        y[i] = activation(act, v);
        bound[i] = activationBound(act, v, e);
    }

    // ---- linear -------------------------------------------------------------------------

    /**
     * F.linear of x [rows, k] with w [n, k] and b [n] (or null), then the activation. The
     * bound is the classic one of a float32 dot product in any order, (k + 2) u sum |x w|,
     * plus the bias's rounding.
     */
    static Result linear(float[] x, int rows, int k, float[] w, int n, float[] b, Activation act) {
        double[] y = new double[rows * n], bound = new double[rows * n];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < n; o++) {
                double acc = b == null ? 0 : b[o], mag = b == null ? 0 : Math.abs(b[o]);
                for (int i = 0; i < k; i++) {
                    double p = (double) x[r * k + i] * w[o * k + i];
                    acc += p;
                    mag += Math.abs(p);
                }
                y[r * n + o] = activation(act, acc);
                bound[r * n + o] = activationBound(act, acc, (k + 2) * U * mag);
            }
        }
        return new Result(y, bound);
    }

    /** diffusers' GEGLU: h = F.linear(x, w, b) with w [2 inner, k]; h[:, :inner] * gelu(h[:, inner:]). */
    static Result geglu(float[] x, int rows, int k, float[] w, int inner, float[] b) {
        Result h = linear(x, rows, k, w, 2 * inner, b, Activation.NONE);
        double[] y = new double[rows * inner], bound = new double[rows * inner];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < inner; j++) {
                int ia = r * 2 * inner + j, ig = ia + inner;
                double a = h.value()[ia], gate = h.value()[ig], g = activation(Activation.GELU, gate);
                y[r * inner + j] = a * g;
                double gBound = activationBound(Activation.GELU, gate, h.bound()[ig]);
                bound[r * inner + j] = h.bound()[ia] * (Math.abs(g) + gBound) + Math.abs(a) * gBound
                        + 2 * U * Math.abs(a * g);
            }
        }
        return new Result(y, bound);
    }

    // ---- timestep embedding -------------------------------------------------------------

    /** diffusers' get_timestep_embedding in double. */
    static double[] timestepEmbedding(float[] t, int dim, boolean flip, double shift, double scale, double maxPeriod) {
        int half = dim / 2;
        double[] out = new double[t.length * dim];
        for (int r = 0; r < t.length; r++) {
            for (int i = 0; i < half; i++) {
                double freq = Math.exp(-Math.log(maxPeriod) * i / (half - shift));
                double arg = scale * t[r] * freq;
                double s = Math.sin(arg), c = Math.cos(arg);
                out[r * dim + i] = flip ? c : s;
                out[r * dim + half + i] = flip ? s : c;
            }
        }
        return out;
    }

    // ---- plumbing (exact) ---------------------------------------------------------------

    /** Row-major strides of a shape. */
    static long[] strides(long[] shape) {
        long[] s = new long[shape.length];
        long acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    /** torch.add(a, b) with b broadcast to a's shape by the general rule (right-aligned, size-1 dims repeat). */
    static float[] add(float[] a, long[] as, float[] b, long[] bs) {
        float[] out = new float[a.length];
        long[] bStrides = strides(bs);
        int offset = as.length - bs.length;
        for (int i = 0; i < a.length; i++) {
            long rest = i, bi = 0;
            for (int d = as.length - 1; d >= 0; d--) {
                long idx = rest % as[d];
                rest /= as[d];
                int bd = d - offset;
                if (bd >= 0 && bs[bd] != 1) {
                    bi += idx * bStrides[bd];
                }
            }
            out[i] = a[i] + b[(int) bi];
        }
        return out;
    }

    /** torch.cat((a, b), dim) by full indices. */
    static float[] cat(float[] a, long[] as, float[] b, long[] bs, int dim) {
        long[] os = as.clone();
        os[dim] += bs[dim];
        float[] out = new float[a.length + b.length];
        long[] aStrides = strides(as), bStrides = strides(bs);
        for (int i = 0; i < out.length; i++) {
            long rest = i, ai = 0, bi = 0;
            long[] idx = new long[os.length];
            for (int d = os.length - 1; d >= 0; d--) {
                idx[d] = rest % os[d];
                rest /= os[d];
            }
            boolean fromB = idx[dim] >= as[dim];
            for (int d = 0; d < os.length; d++) {
                long v = d == dim && fromB ? idx[d] - as[dim] : idx[d];
                ai += v * aStrides[d];
                bi += v * bStrides[d];
            }
            out[i] = fromB ? b[(int) bi] : a[(int) ai];
        }
        return out;
    }

    /** x.transpose(d0, d1).contiguous() by full indices. */
    static float[] transpose(float[] x, long[] xs, int d0, int d1) {
        long[] os = xs.clone();
        os[d0] = xs[d1];
        os[d1] = xs[d0];
        long[] xStrides = strides(xs);
        float[] out = new float[x.length];
        for (int i = 0; i < out.length; i++) {
            long rest = i, src = 0;
            for (int d = os.length - 1; d >= 0; d--) {
                long idx = rest % os[d];
                rest /= os[d];
                int sd = d == d0 ? d1 : d == d1 ? d0 : d;
                src += idx * xStrides[sd];
            }
            out[i] = x[(int) src];
        }
        return out;
    }

    /** F.max_pool2d: -inf padding, NaN wins (torch's CPU kernel: a NaN replaces the max). */
    static float[] maxPool2d(float[] x, int n, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw) {
        int oh = (h + 2 * ph - kh) / sh + 1, ow = (w + 2 * pw - kw) / sw + 1;
        float[] out = new float[n * c * oh * ow];
        for (int p = 0; p < n * c; p++) {
            for (int oy = 0; oy < oh; oy++) {
                for (int ox = 0; ox < ow; ox++) {
                    float m = Float.NEGATIVE_INFINITY;
                    for (int ky = 0; ky < kh; ky++) {
                        for (int kx = 0; kx < kw; kx++) {
                            int iy = oy * sh - ph + ky, ix = ox * sw - pw + kx;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= w) {
                                continue;
                            }
                            float v = x[(p * h + iy) * w + ix];
                            if (Float.isNaN(v) || v > m) {
                                m = Float.isNaN(m) ? m : v;
                            }
                        }
                    }
                    out[(p * oh + oy) * ow + ox] = m;
                }
            }
        }
        return out;
    }

    // ---- comparison ---------------------------------------------------------------------

    /**
     * |got - want| &lt;= bound per element, plus half the float32 subnormal spacing for the
     * final rounding (a value below Float.MIN_VALUE rounds to 0); NaN exactly where want is
     * NaN, infinities equal; lists the first ten misses.
     */
    static void assertWithin(double[] want, double[] bound, float[] got, String what) {
        assertEquals(want.length, got.length, what + ": element count");
        List<String> bad = new ArrayList<>();
        int misses = 0;
        for (int i = 0; i < want.length; i++) {
            boolean ok;
            if (Double.isNaN(want[i]) || Double.isInfinite(want[i])) {
                ok = Double.compare(want[i], got[i]) == 0;
            } else {
                ok = Math.abs((double) got[i] - want[i]) <= bound[i] + Float.MIN_VALUE / 2.0;
            }
            if (!ok) {
                misses++;
                if (bad.size() < 10) {
                    bad.add("[" + i + "] want " + want[i] + " (+-" + (float) bound[i] + ") got " + got[i]);
                }
            }
        }
        assertTrue(misses == 0, what + ": " + misses + " of " + want.length + " out of bounds, first: " + bad);
    }

    static void assertWithin(Result r, float[] got, String what) {
        assertWithin(r.value(), r.bound(), got, what);
    }
}
