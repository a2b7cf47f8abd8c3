package dev.inkwell.benchmarks;

/**
 * A deterministic test picture for the edge detectors: smooth gradients, filled and outlined
 * shapes, pen-like strokes and a soft texture, the kind of content a ControlNet line-art
 * input has (not random noise, which no edge detector sees in practice). Pure arithmetic, so
 * every library gets exactly the same bytes on every JVM.
 */
final class SyntheticImage {
    private SyntheticImage() {}

    /** Interleaved RGB (3 channels) or gray (1 channel), tightly packed rows. */
    static byte[] draw(int width, int height, int channels) {
        byte[] out = new byte[width * height * channels];
        double sx = 1000.0 / width, sy = 600.0 / height; // draw in a 1000 x 600 frame
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                double u = x * sx, v = y * sy;
                double[] rgb = shade(u, v);
                int o = (y * width + x) * channels;
                if (channels == 1) {
                    out[o] = clamp(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]);
                } else {
                    out[o] = clamp(rgb[0]);
                    out[o + 1] = clamp(rgb[1]);
                    out[o + 2] = clamp(rgb[2]);
                }
            }
        }
        return out;
    }

    private static double[] shade(double u, double v) {
        // sky gradient, ground below a wavy horizon
        double horizon = 380 + 18 * Math.sin(u / 70.0);
        double r, g, b;
        if (v < horizon) {
            double t = v / horizon;
            r = 120 + 115 * t;
            g = 170 + 55 * t;
            b = 235 - 35 * t;
        } else {
            double t = (v - horizon) / 220.0;
            r = 85 - 20 * t;
            g = 150 - 30 * t;
            b = 85 - 15 * t;
        }
        // a mountain (triangle)
        if (v > 150 && v < horizon && Math.abs(u - 330) < (v - 150) * 1.1) {
            r = 105 + 0.05 * (v - 150);
            g = 125;
            b = 150;
        }
        // sun
        if (sq(u - 815) + sq(v - 115) < sq(55)) {
            r = 250;
            g = 205;
            b = 80;
        }
        // house with roof, windows, door
        if (u > 560 && u < 760 && v > 330 && v < 480) {
            r = 200;
            g = 80;
            b = 60;
            if ((u > 590 && u < 640 || u > 680 && u < 730) && v > 370 && v < 415) {
                r = 240;
                g = 230;
                b = 170;
            }
            if (u > 640 && u < 680 && v > 410) {
                r = 90;
                g = 60;
                b = 40;
            }
        }
        if (v <= 330 && v > 240 && Math.abs(u - 660) < (v - 240) * 120.0 / 90.0) {
            r = 120;
            g = 50;
            b = 40;
        }
        // tree: trunk and crown of circles
        if (u > 230 && u < 260 && v > 360 && v < 500) {
            r = 100;
            g = 70;
            b = 40;
        }
        if (sq(u - 245) + sq(v - 330) < sq(80) || sq(u - 200) + sq(v - 360) < sq(60) || sq(u - 290) + sq(v - 360) < sq(60)) {
            double leaf = 12 * Math.sin(u * 0.9) * Math.cos(v * 0.7);
            r = 50 + leaf;
            g = 120 + leaf;
            b = 60;
        }
        // pen strokes: a few sine curves and an ellipse outline, 3 px wide
        for (int k = 0; k < 6; k++) {
            double cy = 450 + 22 * k + 14 * Math.sin(u / (35.0 + 7 * k) + k);
            if (Math.abs(v - cy) < 1.6 && u > 40 + 60 * k && u < 400 + 90 * k) {
                r = 30;
                g = 30;
                b = 40;
            }
        }
        double e = Math.sqrt(sq((u - 460) / 80.0) + sq((v - 110) / 30.0));
        if (Math.abs(e - 1) < 0.03) {
            r = 30;
            g = 30;
            b = 40;
        }
        // soft texture (paper grain), deterministic
        double grain = 3 * Math.sin(u * 1.7 + v * 0.3) * Math.sin(v * 1.3 - u * 0.2);
        return new double[] {r + grain, g + grain, b + grain};
    }

    private static double sq(double x) {
        return x * x;
    }

    private static byte clamp(double value) {
        long n = Math.round(value);
        return (byte) (n < 0 ? 0 : n > 255 ? 255 : n);
    }
}
