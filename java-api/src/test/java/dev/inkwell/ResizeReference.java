package dev.inkwell;

/**
 * A plain Java cv2.resize of 8-bit images (OpenCV 4.6's own code paths for INTER_AREA and
 * INTER_LANCZOS4), one output sample at a time, written from OpenCV's formulas:
 * <ul>
 * <li>same size: a copy;
 * <li>LANCZOS4: per axis {@code f = (float) ((d + 0.5) * scale - 0.5)}, {@code s = floor(f)},
 *     the 8 taps of interpolateLanczos4(f - s) in 11-bit fixed point, replicated borders,
 *     rows then columns in int, {@code (sum + 2^21) >> 22} saturated;
 * <li>AREA with integer factors: the box sum (int), {@code (sum + 2) >> 2} for 2x2 except
 *     with 2 channels, else round(sum * (1f / area));
 * <li>AREA shrinking otherwise: the area cells (double geometry, float weights), float sums;
 * <li>AREA when a side grows: OpenCV's bilinear emulation in 11-bit fixed point.
 * </ul>
 * {@code scale} is {@code 1 / (dst / src)} in double, as OpenCV computes it.
 */
final class ResizeReference {
    private ResizeReference() {}

    static byte[] resize(byte[] src, int h, int w, int cn, int dh, int dw, Interpolation interpolation) {
        byte[] out = new byte[dh * dw * cn];
        double invX = (double) dw / w, invY = (double) dh / h;
        double scaleX = 1.0 / invX, scaleY = 1.0 / invY;
        for (int y = 0; y < dh; y++) {
            for (int x = 0; x < dw; x++) {
                for (int c = 0; c < cn; c++) {
                    int v;
                    if (h == dh && w == dw) {
                        v = src[(y * w + x) * cn + c] & 0xff;
                    } else if (interpolation == Interpolation.LANCZOS4) {
                        v = lanczos(src, h, w, cn, c, y, x, scaleY, scaleX);
                    } else if (scaleX >= 1 && scaleY >= 1) {
                        int fx = (int) Math.rint(scaleX), fy = (int) Math.rint(scaleY);
                        if (Math.abs(scaleX - fx) < Math.ulp(1.0) && Math.abs(scaleY - fy) < Math.ulp(1.0)) {
                            v = box(src, w, cn, c, y, x, fy, fx);
                        } else {
                            v = area(src, h, w, cn, c, y, x, scaleY, scaleX);
                        }
                    } else {
                        v = bilinear(src, h, w, cn, c, y, x, scaleY, invY, scaleX, invX);
                    }
                    out[(y * dw + x) * cn + c] = (byte) v;
                }
            }
        }
        return out;
    }

    private static int sample(byte[] src, int w, int cn, int y, int x, int c) {
        return src[(y * w + x) * cn + c] & 0xff;
    }

    private static int clamp(int v, int lo, int hi) {
        return Math.max(lo, Math.min(hi, v));
    }

    private static short q11(float c) {
        return (short) clamp((int) Math.rint(c * 2048f), Short.MIN_VALUE, Short.MAX_VALUE);
    }

    /** OpenCV's interpolateLanczos4: x + 3 - i in float, sines in double, taps in float, normalised. */
    static float[] lanczosTaps(float x) {
        float[] k = new float[8];
        if (x < Math.ulp(1.0f)) {
            k[3] = 1;
            return k;
        }
        double s45 = 0.70710678118654752440084436210485;
        double[][] cs = {{1, 0}, {-s45, -s45}, {0, 1}, {s45, -s45}, {-1, 0}, {s45, s45}, {0, -1}, {-s45, s45}};
        float x3 = x + 3f;
        double y0 = -(double) x3 * Math.PI * 0.25, s0 = Math.sin(y0), c0 = Math.cos(y0);
        float sum = 0;
        for (int i = 0; i < 8; i++) {
            double y = -(double) (x3 - i) * Math.PI * 0.25;
            k[i] = (float) ((cs[i][0] * s0 + cs[i][1] * c0) / (y * y));
            sum += k[i];
        }
        sum = 1f / sum;
        for (int i = 0; i < 8; i++) {
            k[i] *= sum;
        }
        return k;
    }

    private static int lanczos(byte[] src, int h, int w, int cn, int c, int y, int x, double scaleY, double scaleX) {
        float fy = (float) ((y + 0.5) * scaleY - 0.5), fx = (float) ((x + 0.5) * scaleX - 0.5);
        int sy = (int) Math.floor(fy), sx = (int) Math.floor(fx);
        float[] ky = lanczosTaps(fy - sy), kx = lanczosTaps(fx - sx);
        int sum = 0;
        for (int i = 0; i < 8; i++) {
            int row = clamp(sy - 3 + i, 0, h - 1), rowSum = 0;
            for (int j = 0; j < 8; j++) {
                rowSum += sample(src, w, cn, row, clamp(sx - 3 + j, 0, w - 1), c) * q11(kx[j]);
            }
            sum += rowSum * q11(ky[i]);
        }
        return clamp((sum + (1 << 21)) >> 22, 0, 255);
    }

    private static int box(byte[] src, int w, int cn, int c, int y, int x, int fy, int fx) {
        int sum = 0; // int, wrapping as OpenCV's does for blocks of over 8M samples
        for (int i = 0; i < fy; i++) {
            for (int j = 0; j < fx; j++) {
                sum += sample(src, w, cn, y * fy + i, x * fx + j, c);
            }
        }
        if (fx == 2 && fy == 2 && cn != 2) {
            return (sum + 2) >> 2;
        }
        float mean = sum * (1f / (fx * fy));
        return clamp((int) Math.rint(mean), 0, 255);
    }

    /** computeResizeAreaTab for one output index: {source index, weight bits} pairs. */
    private static double[][] cells(int d, int src, double scale) {
        double fsx1 = d * scale, fsx2 = fsx1 + scale, cellWidth = Math.min(scale, src - fsx1);
        int sx1 = (int) Math.ceil(fsx1), sx2 = (int) Math.floor(fsx2);
        sx2 = Math.min(sx2, src - 1);
        sx1 = Math.min(sx1, sx2);
        java.util.List<double[]> out = new java.util.ArrayList<>();
        if (sx1 - fsx1 > 1e-3) {
            out.add(new double[] {sx1 - 1, (float) ((sx1 - fsx1) / cellWidth)});
        }
        for (int sx = sx1; sx < sx2; sx++) {
            out.add(new double[] {sx, (float) (1.0 / cellWidth)});
        }
        if (fsx2 - sx2 > 1e-3) {
            out.add(new double[] {sx2, (float) (Math.min(Math.min(fsx2 - sx2, 1.0), cellWidth) / cellWidth)});
        }
        return out.toArray(new double[0][]);
    }

    private static int area(byte[] src, int h, int w, int cn, int c, int y, int x, double scaleY, double scaleX) {
        double[][] ys = cells(y, h, scaleY), xs = cells(x, w, scaleX);
        float acc = 0;
        for (int i = 0; i < ys.length; i++) {
            float buf = 0;
            for (double[] cell : xs) {
                buf += sample(src, w, cn, (int) ys[i][0], (int) cell[0], c) * (float) cell[1];
            }
            float p = (float) ys[i][1] * buf;
            acc = i == 0 ? p : acc + p;
        }
        return clamp((int) Math.rint(acc), 0, 255);
    }

    /** The 11-bit weights and first source index of the bilinear emulation along one axis. */
    private static int[] bilinearTaps(int d, int src, double scale, double inv, boolean clampEnd) {
        int s = (int) Math.floor(d * scale);
        float f = (float) ((d + 1) - (s + 1) * inv);
        f = f <= 0 ? 0f : f - (float) Math.floor(f);
        if (clampEnd && s >= src - 1) {
            f = 0;
            s = src - 1;
        }
        return new int[] {s, q11(1f - f), q11(f)};
    }

    private static int bilinear(byte[] src, int h, int w, int cn, int c, int y, int x, double scaleY, double invY,
            double scaleX, double invX) {
        int[] tx = bilinearTaps(x, w, scaleX, invX, true), ty = bilinearTaps(y, h, scaleY, invY, false);
        int[] rows = new int[2];
        for (int k = 0; k < 2; k++) {
            int row = clamp(ty[0] + k, 0, h - 1);
            rows[k] = sample(src, w, cn, row, tx[0], c) * tx[1]
                    + sample(src, w, cn, row, Math.min(tx[0] + 1, w - 1), c) * tx[2];
        }
        return ((ty[1] * (rows[0] >> 4) >> 16) + (ty[2] * (rows[1] >> 4) >> 16) + 2) >> 2;
    }
}
