package dev.inkwell;

import java.util.ArrayDeque;

/**
 * A plain Java Canny, written from OpenCV's documented behaviour, independent of the native
 * code: whole-image arrays, one stage after another. Tests compare the library with it.
 */
final class CannyReference {
    private CannyReference() {}

    /** Edges (0 or 255) of a packed h x w x cn image. */
    static byte[] canny(byte[] img, int h, int w, int cn, double low, double high, int aperture, boolean l2) {
        if (aperture == 7) { // OpenCV scales the 7x7 Sobel by 1/16, and the thresholds with it
            low /= 16;
            high /= 16;
        }
        if (low > high) {
            double t = low;
            low = high;
            high = t;
        }
        if (l2) {
            low = Math.min(32767, low);
            high = Math.min(32767, high);
            low = low > 0 ? low * low : low;
            high = high > 0 ? high * high : high;
        }
        long lo = (long) Math.floor(low), hi = (long) Math.floor(high);

        int[] smooth = binomial(aperture - 1);
        int[] base = binomial(aperture - 2);
        int[] deriv = new int[aperture];
        for (int i = 0; i < aperture; i++) {
            deriv[i] = (i < aperture - 1 ? -base[i] : 0) + (i > 0 ? base[i - 1] : 0);
        }
        int r = aperture / 2;
        int[] gx = new int[h * w], gy = new int[h * w];
        long[] mag = new long[(h + 2) * (w + 2)];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                long best = -1;
                for (int c = 0; c < cn; c++) {
                    long sx = 0, sy = 0;
                    for (int i = -r; i <= r; i++) {
                        int yy = Math.clamp(y + i, 0, h - 1);
                        for (int j = -r; j <= r; j++) {
                            int xx = Math.clamp(x + j, 0, w - 1);
                            int p = img[(yy * w + xx) * cn + c] & 0xFF;
                            sx += (long) smooth[i + r] * deriv[j + r] * p;
                            sy += (long) deriv[i + r] * smooth[j + r] * p;
                        }
                    }
                    int dx = sobelOutput(sx, aperture), dy = sobelOutput(sy, aperture);
                    long m = l2 ? (long) dx * dx + (long) dy * dy : Math.abs(dx) + Math.abs(dy);
                    if (m > best) { // strict: ties keep the lowest channel
                        best = m;
                        gx[y * w + x] = dx;
                        gy[y * w + x] = dy;
                    }
                }
                mag[(y + 1) * (w + 2) + x + 1] = best;
            }
        }

        final int notEdge = 1, candidate = 0, edge = 2;
        int mw = w + 2;
        byte[] map = new byte[(h + 2) * mw];
        java.util.Arrays.fill(map, (byte) notEdge);
        ArrayDeque<Integer> stack = new ArrayDeque<>();
        long tg22 = (long) (Math.tan(Math.PI / 8) * (1 << 15) + 0.5);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int at = (y + 1) * mw + x + 1;
                long m = mag[at];
                if (m <= lo) {
                    continue;
                }
                long ax = Math.abs(gx[y * w + x]), ay = ((long) Math.abs(gy[y * w + x])) << 15;
                long tg22x = ax * tg22, tg67x = tg22x + (ax << 16);
                boolean max;
                if (ay < tg22x) {
                    max = m > mag[at - 1] && m >= mag[at + 1];
                } else if (ay > tg67x) {
                    max = m > mag[at - mw] && m >= mag[at + mw];
                } else {
                    int s = (gx[y * w + x] ^ gy[y * w + x]) < 0 ? -1 : 1;
                    max = m > mag[at - mw - s] && m > mag[at + mw + s];
                }
                if (!max) {
                    continue;
                }
                if (m > hi) {
                    map[at] = edge;
                    stack.push(at);
                } else {
                    map[at] = candidate;
                }
            }
        }
        int[] offsets = {-1, 1, -mw - 1, -mw, -mw + 1, mw - 1, mw, mw + 1};
        while (!stack.isEmpty()) {
            int at = stack.pop();
            for (int o : offsets) {
                if (map[at + o] == candidate) {
                    map[at + o] = edge;
                    stack.push(at + o);
                }
            }
        }
        byte[] out = new byte[h * w];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                out[y * w + x] = map[(y + 1) * mw + x + 1] == edge ? (byte) 255 : 0;
            }
        }
        return out;
    }

    private static int sobelOutput(long sum, int aperture) {
        double v = aperture == 7 ? Math.rint(sum / 16.0) : sum; // rint: half to even
        return (int) Math.max(Short.MIN_VALUE, Math.min(Short.MAX_VALUE, v));
    }

    private static int[] binomial(int n) {
        int[] row = new int[n + 1];
        row[0] = 1;
        for (int k = 1; k <= n; k++) {
            for (int i = k; i > 0; i--) {
                row[i] += row[i - 1];
            }
        }
        return row;
    }
}
