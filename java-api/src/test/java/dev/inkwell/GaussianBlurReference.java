package dev.inkwell;

/**
 * A plain Java Gaussian blur with OpenCV's 8-bit fixed-point semantics: the kernel is
 * quantised to 8 fraction bits with the rounding error carried from the outer taps inward,
 * the 2-D sum is exact, and the result is rounded once.
 */
final class GaussianBlurReference {
    private GaussianBlurReference() {}

    static int[] kernel(int ksize, double sigma) {
        double[] k = new double[ksize];
        int half = ksize / 2;
        if (sigma <= 0 && ksize <= 7) {
            double[][] tables = {{1}, {0.25, 0.5, 0.25}, {0.0625, 0.25, 0.375, 0.25, 0.0625},
                    {0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125}};
            k = tables[half].clone();
        } else {
            double s = sigma > 0 ? sigma : 0.3 * ((ksize - 1) * 0.5 - 1) + 0.8;
            double sum = 1;
            for (int i = 0; i < half; i++) {
                double x = 2.0 * (i - half);
                k[i] = Math.exp(x * x * (-0.125 / (s * s)));
                sum += 2 * k[i];
            }
            for (int i = 0; i < half; i++) {
                k[i] /= sum;
                k[ksize - 1 - i] = k[i];
            }
            k[half] = 1 / sum;
        }
        int[] q = new int[ksize];
        double err = 0;
        int total = 0;
        for (int i = 0; i < half; i++) {
            double adjusted = k[i] * 256 + err;
            long v = (long) Math.rint(adjusted);
            err = adjusted - v;
            q[i] = q[ksize - 1 - i] = (int) v;
            total += (int) v;
        }
        q[half] = 256 - 2 * total;
        return q;
    }

    static int reflect101(int p, int len) {
        if (len == 1) {
            return 0;
        }
        while (p < 0 || p >= len) {
            p = p < 0 ? -p : 2 * (len - 1) - p;
        }
        return p;
    }

    static byte[] blur(byte[] img, int h, int w, int cn, int ksize, double sigma) {
        if (ksize == 0) {
            ksize = (int) Math.rint(sigma * 6 + 1) | 1;
        }
        int[] k = kernel(ksize, sigma);
        int r = ksize / 2;
        byte[] out = new byte[img.length];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                for (int c = 0; c < cn; c++) {
                    long acc = 0;
                    for (int i = -r; i <= r; i++) {
                        int yy = reflect101(y + i, h);
                        for (int j = -r; j <= r; j++) {
                            int xx = reflect101(x + j, w);
                            acc += (long) k[i + r] * k[j + r] * (img[(yy * w + xx) * cn + c] & 0xFF);
                        }
                    }
                    out[(y * w + x) * cn + c] = (byte) Math.min(255, (acc + (1 << 15)) >> 16);
                }
            }
        }
        return out;
    }
}
