package dev.inkwell;

/**
 * Plain Java references for the tensor kernels, in double precision, written from the
 * PyTorch / diffusers / scikit-image definitions. Tests compare the library with them.
 */
final class TensorReference {
    private TensorReference() {}

    static float[] conv2d(float[] x, long[] xs, float[] w, long[] ws, float[] bias, Conv2dOptions o) {
        int n = (int) xs[0], c = (int) xs[1], h = (int) xs[2], wd = (int) xs[3];
        int cout = (int) ws[0], cg = (int) ws[1], kh = (int) ws[2], kw = (int) ws[3];
        int oh = (int) o.outputHeight(h, kh), ow = (int) o.outputWidth(wd, kw);
        int outPerGroup = cout / o.groups();
        float[] y = new float[n * cout * oh * ow];
        for (int b = 0; b < n; b++) {
            for (int co = 0; co < cout; co++) {
                int g = co / outPerGroup;
                for (int oy = 0; oy < oh; oy++) {
                    for (int ox = 0; ox < ow; ox++) {
                        double acc = bias == null ? 0 : bias[co];
                        for (int ci = 0; ci < cg; ci++) {
                            for (int ky = 0; ky < kh; ky++) {
                                int iy = oy * o.strideH() - o.padH() + ky * o.dilationH();
                                if (iy < 0 || iy >= h) {
                                    continue;
                                }
                                for (int kx = 0; kx < kw; kx++) {
                                    int ix = ox * o.strideW() - o.padW() + kx * o.dilationW();
                                    if (ix < 0 || ix >= wd) {
                                        continue;
                                    }
                                    acc += (double) x[((b * c + g * cg + ci) * h + iy) * wd + ix]
                                            * w[((co * cg + ci) * kh + ky) * kw + kx];
                                }
                            }
                        }
                        if (o.activation() == Activation.SILU) {
                            acc = acc / (1 + Math.exp(-acc));
                        }
                        y[((b * cout + co) * oh + oy) * ow + ox] = (float) acc;
                    }
                }
            }
        }
        return y;
    }

    static float[] attention(float[] q, float[] k, float[] v, int b, int h, int lq, int lk, int d, double scale,
            boolean causal, int[] kvLens) {
        float[] out = new float[b * h * lq * d];
        double[] p = new double[lk];
        for (int bi = 0; bi < b; bi++) {
            int valid = kvLens == null ? lk : kvLens[bi];
            for (int hi = 0; hi < h; hi++) {
                int qBase = (bi * h + hi) * lq * d, kBase = (bi * h + hi) * lk * d;
                for (int i = 0; i < lq; i++) {
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < lk; j++) {
                        if (j >= valid || (causal && j > i)) {
                            p[j] = Double.NEGATIVE_INFINITY;
                            continue;
                        }
                        double s = 0;
                        for (int t = 0; t < d; t++) {
                            s += (double) q[qBase + i * d + t] * k[kBase + j * d + t];
                        }
                        p[j] = s * scale;
                        max = Math.max(max, p[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < lk; j++) {
                        p[j] = p[j] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(p[j] - max);
                        sum += p[j];
                    }
                    for (int t = 0; t < d; t++) {
                        double acc = 0;
                        for (int j = 0; j < lk; j++) {
                            acc += p[j] * v[kBase + j * d + t];
                        }
                        out[qBase + i * d + t] = (float) (acc / sum);
                    }
                }
            }
        }
        return out;
    }

    /** diffusers' DDIMScheduler.step in double; returns {prev, x0}. */
    static float[][] ddimStep(float[] x, float[] m, float[] uncond, double g, float[] noise, double a, double ap, double eta,
            PredictionType type, boolean clip, double range) {
        float[] prev = new float[x.length], x0Out = new float[x.length];
        double b = 1 - a;
        double variance = ((1 - ap) / b) * (1 - a / ap);
        double std = eta * Math.sqrt(variance);
        for (int i = 0; i < x.length; i++) {
            double model = uncond == null ? m[i] : uncond[i] + g * ((double) m[i] - uncond[i]);
            double x0, eps;
            switch (type) {
                case EPSILON -> {
                    x0 = (x[i] - Math.sqrt(b) * model) / Math.sqrt(a);
                    eps = model;
                }
                case SAMPLE -> {
                    x0 = model;
                    eps = (x[i] - Math.sqrt(a) * x0) / Math.sqrt(b);
                }
                default -> {
                    x0 = Math.sqrt(a) * x[i] - Math.sqrt(b) * model;
                    eps = Math.sqrt(a) * model + Math.sqrt(b) * x[i];
                }
            }
            if (clip) {
                x0 = Math.max(-range, Math.min(range, x0));
            }
            double y = Math.sqrt(ap) * x0 + Math.sqrt(Math.max(0, 1 - ap - std * std)) * eps;
            if (eta > 0) {
                y += std * noise[i];
            }
            prev[i] = (float) y;
            x0Out[i] = (float) x0;
        }
        return new float[][] {prev, x0Out};
    }

    static float[] resample(float[] x, int n, int c, int h, int w, ResampleMode mode) {
        boolean up = mode == ResampleMode.UPSAMPLE_NEAREST_2X || mode == ResampleMode.UPSAMPLE_BILINEAR_2X;
        int oh = up ? 2 * h : h / 2, ow = up ? 2 * w : w / 2;
        float[] y = new float[n * c * oh * ow];
        for (int p = 0; p < n * c; p++) {
            for (int oy = 0; oy < oh; oy++) {
                for (int ox = 0; ox < ow; ox++) {
                    double v;
                    switch (mode) {
                        case UPSAMPLE_NEAREST_2X -> v = x[(p * h + oy / 2) * w + ox / 2];
                        case UPSAMPLE_BILINEAR_2X -> {
                            double sy = Math.max(0, (oy + 0.5) / 2 - 0.5), sx = Math.max(0, (ox + 0.5) / 2 - 0.5);
                            int y0 = (int) sy, x0 = (int) sx, y1 = Math.min(y0 + 1, h - 1), x1 = Math.min(x0 + 1, w - 1);
                            double fy = sy - y0, fx = sx - x0;
                            v = (1 - fy) * ((1 - fx) * x[(p * h + y0) * w + x0] + fx * x[(p * h + y0) * w + x1])
                                    + fy * ((1 - fx) * x[(p * h + y1) * w + x0] + fx * x[(p * h + y1) * w + x1]);
                        }
                        default -> {
                            double a = x[(p * h + 2 * oy) * w + 2 * ox], b = x[(p * h + 2 * oy) * w + 2 * ox + 1];
                            double cc = x[(p * h + 2 * oy + 1) * w + 2 * ox], d = x[(p * h + 2 * oy + 1) * w + 2 * ox + 1];
                            v = mode == ResampleMode.MAX_POOL_2X2 ? Math.max(Math.max(a, b), Math.max(cc, d)) : (a + b + cc + d) / 4;
                        }
                    }
                    y[(p * oh + oy) * ow + ox] = (float) v;
                }
            }
        }
        return y;
    }

    static double psnr(byte[] a, byte[] b) {
        double se = 0;
        for (int i = 0; i < a.length; i++) {
            double d = (a[i] & 0xFF) - (b[i] & 0xFF);
            se += d * d;
        }
        return se == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(255.0 * 255.0 / (se / a.length));
    }

    /** scikit-image's SSIM (Gaussian 11x11, sigma 1.5, population covariance), direct 2-D windows. */
    static double ssim(byte[] a, byte[] b, int h, int w, int cn) {
        double[] k = new double[11];
        double ksum = 0;
        for (int i = 0; i < 11; i++) {
            k[i] = Math.exp(-0.5 * (i - 5) * (i - 5) / (1.5 * 1.5));
            ksum += k[i];
        }
        for (int i = 0; i < 11; i++) {
            k[i] /= ksum;
        }
        double c1 = Math.pow(0.01 * 255, 2), c2 = Math.pow(0.03 * 255, 2);
        double total = 0;
        for (int ch = 0; ch < cn; ch++) {
            double sum = 0;
            for (int y = 5; y < h - 5; y++) {
                for (int x = 5; x < w - 5; x++) {
                    double ux = 0, uy = 0, uxx = 0, uyy = 0, uxy = 0;
                    for (int i = -5; i <= 5; i++) {
                        for (int j = -5; j <= 5; j++) {
                            double wt = k[i + 5] * k[j + 5];
                            double px = a[((y + i) * w + x + j) * cn + ch] & 0xFF, py = b[((y + i) * w + x + j) * cn + ch] & 0xFF;
                            ux += wt * px;
                            uy += wt * py;
                            uxx += wt * px * px;
                            uyy += wt * py * py;
                            uxy += wt * px * py;
                        }
                    }
                    double vx = uxx - ux * ux, vy = uyy - uy * uy, vxy = uxy - ux * uy;
                    sum += ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
                }
            }
            total += sum / ((double) (h - 10) * (w - 10));
        }
        return total / cn;
    }
}
