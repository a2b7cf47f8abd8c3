package dev.inkwell.benchmarks;

import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * Proves the libtorch anchor works on this JVM: loads JavaCPP's libtorch, sets its threads,
 * runs one conv2d and one scaled_dot_product_attention and compares both with plain Java.
 * {@code java --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar dev.inkwell.benchmarks.TorchCheck}
 * (or {@code scripts/bench.sh --check-anchors}). Exit status 0 when every anchor works.
 */
public final class TorchCheck {
    private TorchCheck() {}

    public static void main(String[] args) {
        boolean ok = true;
        ok &= step("libtorch conv2d", TorchCheck::conv2d);
        ok &= step("libtorch scaled_dot_product_attention", TorchCheck::attention);
        ok &= step("OpenCV", () -> {
            Anchors.requireOpenCv();
            return "loaded";
        });
        ok &= step("BoofCV", () -> {
            Anchors.requireBoofCv();
            return "loaded";
        });
        ok &= step("JNI/FFM helper", () -> {
            BenchNative.require();
            return BenchNative.PATH + ", JNI noop " + BenchNative.noop() + ", FMA kernel " + BenchNative.fmaKernel();
        });
        System.out.println(ok ? "all anchors OK" : "some anchors are unavailable (see above)");
        System.exit(ok ? 0 : 1);
    }

    private static boolean step(String name, java.util.concurrent.Callable<String> check) {
        long t0 = System.nanoTime();
        try {
            String detail = check.call();
            System.out.printf("OK   %-40s %s (%.0f ms)%n", name, detail, (System.nanoTime() - t0) / 1e6);
            return true;
        } catch (Throwable t) {
            System.out.printf("FAIL %-40s %s%n", name, t);
            return false;
        }
    }

    private static String conv2d() {
        Anchors.requireTorch();
        int n = 1, c = 4, h = 9, w = 7, co = 5, k = 3;
        float[] x = TensorData.gaussian((long) n * c * h * w, 1, 1.0);
        float[] wt = TensorData.gaussian((long) co * c * k * k, 2, 0.3);
        float[] b = TensorData.gaussian(co, 3, 0.1);
        float[] y;
        try (org.bytedeco.pytorch.Tensor tx = TensorData.torch(x, n, c, h, w);
                org.bytedeco.pytorch.Tensor tw = TensorData.torch(wt, co, c, k, k);
                org.bytedeco.pytorch.Tensor tb = TensorData.torch(b, co);
                org.bytedeco.pytorch.Tensor ty = torch.conv2d(tx, tw, new TensorOptional(tb), new long[] {1, 1},
                        new long[] {1, 1}, new long[] {1, 1}, 1)) {
            if (ty.dim() != 4 || ty.size(0) != n || ty.size(1) != co || ty.size(2) != h || ty.size(3) != w) {
                throw new IllegalStateException("unexpected output shape");
            }
            y = TensorData.toArray(ty);
        }
        double worst = 0;
        for (int o = 0; o < co; o++) {
            for (int i = 0; i < h; i++) {
                for (int j = 0; j < w; j++) {
                    double s = b[o];
                    for (int ci = 0; ci < c; ci++) {
                        for (int di = 0; di < k; di++) {
                            for (int dj = 0; dj < k; dj++) {
                                int yi = i + di - 1, xj = j + dj - 1;
                                if (yi >= 0 && yi < h && xj >= 0 && xj < w) {
                                    s += (double) x[(ci * h + yi) * w + xj] * wt[((o * c + ci) * k + di) * k + dj];
                                }
                            }
                        }
                    }
                    worst = Math.max(worst, Math.abs(s - y[(o * h + i) * w + j]));
                }
            }
        }
        if (worst > 1e-4) {
            throw new IllegalStateException("conv2d differs from the Java reference by " + worst);
        }
        return String.format("[1,4,9,7] * [5,4,3,3] pad 1 matches plain Java (max error %.1e); org.bytedeco:pytorch %s, %d threads",
                worst, Anchors.mavenVersion("org.bytedeco", "pytorch"), torch.get_num_threads());
    }

    private static String attention() {
        Anchors.requireTorch();
        int heads = 2, lq = 5, lk = 7, d = 8;
        float[] q = TensorData.gaussian((long) heads * lq * d, 4, 1.0);
        float[] k = TensorData.gaussian((long) heads * lk * d, 5, 1.0);
        float[] v = TensorData.gaussian((long) heads * lk * d, 6, 1.0);
        float[] out;
        try (org.bytedeco.pytorch.Tensor tq = TensorData.torch(q, 1, heads, lq, d);
                org.bytedeco.pytorch.Tensor tk = TensorData.torch(k, 1, heads, lk, d);
                org.bytedeco.pytorch.Tensor tv = TensorData.torch(v, 1, heads, lk, d);
                org.bytedeco.pytorch.Tensor to = torch.scaled_dot_product_attention(tq, tk, tv)) {
            out = TensorData.toArray(to);
        }
        double worst = 0, scale = 1 / Math.sqrt(d);
        for (int hh = 0; hh < heads; hh++) {
            for (int i = 0; i < lq; i++) {
                double[] p = new double[lk];
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int j = 0; j < lk; j++) {
                    double s = 0;
                    for (int e = 0; e < d; e++) {
                        s += (double) q[(hh * lq + i) * d + e] * k[(hh * lk + j) * d + e];
                    }
                    p[j] = s * scale;
                    max = Math.max(max, p[j]);
                }
                for (int j = 0; j < lk; j++) {
                    p[j] = Math.exp(p[j] - max);
                    sum += p[j];
                }
                for (int e = 0; e < d; e++) {
                    double o = 0;
                    for (int j = 0; j < lk; j++) {
                        o += p[j] / sum * v[(hh * lk + j) * d + e];
                    }
                    worst = Math.max(worst, Math.abs(o - out[(hh * lq + i) * d + e]));
                }
            }
        }
        if (worst > 1e-4) {
            throw new IllegalStateException("attention differs from the Java reference by " + worst);
        }
        return String.format("[1,2,5,8] x [1,2,7,8] matches plain Java (max error %.1e)", worst);
    }
}
