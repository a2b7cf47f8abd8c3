package dev.inkwell.benchmarks;

import boofcv.alg.feature.detect.edge.CannyEdge;
import boofcv.core.image.ConvertImage;
import boofcv.factory.feature.detect.edge.FactoryEdgeDetectors;
import boofcv.struct.image.GrayS16;
import boofcv.struct.image.GrayU8;
import boofcv.struct.image.InterleavedU8;
import dev.inkwell.cli.bench.AnchorProvider;
import dev.inkwell.cli.bench.BenchSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.imgproc.Imgproc;

/**
 * The anchors of {@code inkwell bench} (dev.inkwell.cli.bench.AnchorProvider, listed in
 * META-INF/services): the same libraries and calls as the JMH benchmarks beside this file,
 * loaded through {@link Anchors} with the run's thread count.
 */
final class CliAnchors {
    private CliAnchors() {}

    /** Every library reads its thread count from here (see {@link BenchThreads}). */
    static void useThreads(int threads) {
        System.setProperty("inkwell.bench.threads", Integer.toString(threads));
    }

    /** OpenCV's Java build: {@code Imgproc.Canny} (aperture 3, L1), as ControlNet calls cv2.Canny. */
    public static final class OpenCv implements AnchorProvider {
        @Override
        public String name() {
            return "OpenCV";
        }

        @Override
        public String load(int threads) {
            useThreads(threads);
            Anchors.requireOpenCv();
            return "Imgproc.Canny, OpenCV " + org.opencv.core.Core.VERSION + ", " + org.opencv.core.Core.getNumThreads()
                    + " threads";
        }

        @Override
        public Runnable prepare(BenchSpec spec) {
            if (!(spec instanceof BenchSpec.Canny c)) {
                return null;
            }
            Mat src = new Mat(c.height(), c.width(), CvType.CV_8UC(c.channels()));
            src.put(0, 0, c.pixels());
            Mat dst = new Mat(c.height(), c.width(), CvType.CV_8UC1);
            return () -> Imgproc.Canny(src, dst, c.low(), c.high(), 3, false);
        }
    }

    /** BoofCV, the pure-Java option: its Canny (blur radius 1), RGB averaged to gray first. */
    public static final class BoofCv implements AnchorProvider {
        @Override
        public String name() {
            return "BoofCV";
        }

        @Override
        public String load(int threads) {
            useThreads(threads);
            Anchors.requireBoofCv();
            return "CannyEdge (blur radius 1; RGB averaged to gray), BoofCV concurrency on, " + threads + " threads";
        }

        @Override
        public Runnable prepare(BenchSpec spec) {
            if (!(spec instanceof BenchSpec.Canny c)) {
                return null;
            }
            GrayU8 gray = new GrayU8(c.width(), c.height());
            InterleavedU8 rgb = c.channels() == 3 ? new InterleavedU8(c.width(), c.height(), 3) : null;
            if (rgb != null) {
                System.arraycopy(c.pixels(), 0, rgb.data, 0, c.pixels().length);
            } else {
                System.arraycopy(c.pixels(), 0, gray.data, 0, c.pixels().length);
            }
            GrayU8 edges = new GrayU8(c.width(), c.height());
            CannyEdge<GrayU8, GrayS16> canny = FactoryEdgeDetectors.canny(1, false, false, GrayU8.class, GrayS16.class);
            return () -> {
                if (rgb != null) {
                    ConvertImage.average(rgb, gray);
                }
                canny.process(gray, (float) c.low(), (float) c.high(), edges);
            };
        }
    }

    /**
     * libtorch through JavaCPP: {@code conv2d}, {@code scaled_dot_product_attention}, and the
     * DDIM step as a diffusers user writes it (a temporary per tensor op).
     */
    @SuppressWarnings("try")
    public static final class Torch implements AnchorProvider {
        @Override
        public String name() {
            return "libtorch";
        }

        @Override
        public String load(int threads) {
            useThreads(threads);
            Anchors.requireTorch();
            return "org.bytedeco:pytorch " + Anchors.mavenVersion("org.bytedeco", "pytorch") + ", "
                    + torch.get_num_threads() + " threads (conv2d, scaled_dot_product_attention, DDIM as tensor ops)";
        }

        @Override
        public Runnable prepare(BenchSpec spec) {
            return switch (spec) {
                case BenchSpec.Conv2d c -> {
                    org.bytedeco.pytorch.Tensor x = TensorData.torch(c.input(), c.inputShape());
                    org.bytedeco.pytorch.Tensor w = TensorData.torch(c.weight(), c.weightShape());
                    TensorOptional b = new TensorOptional(TensorData.torch(c.bias(), c.weightShape()[0]));
                    long[] stride = {c.stride(), c.stride()}, pad = {c.pad(), c.pad()}, dilation = {1, 1};
                    yield () -> {
                        try (org.bytedeco.pytorch.Tensor y = torch.conv2d(x, w, b, stride, pad, dilation, 1)) {
                            y.numel();
                        }
                    };
                }
                case BenchSpec.Attention a -> {
                    long[] qs = {a.batch(), a.heads(), a.qLen(), a.headDim()}, ks = {a.batch(), a.heads(), a.kvLen(), a.headDim()};
                    org.bytedeco.pytorch.Tensor q = TensorData.torch(a.q(), qs), k = TensorData.torch(a.k(), ks),
                            v = TensorData.torch(a.v(), ks);
                    yield () -> {
                        try (org.bytedeco.pytorch.Tensor y = torch.scaled_dot_product_attention(q, k, v)) {
                            y.numel();
                        }
                    };
                }
                case BenchSpec.DdimStep d -> {
                    org.bytedeco.pytorch.Tensor sample = TensorData.torch(d.sample(), d.shape()),
                            cond = TensorData.torch(d.cond(), d.shape()), uncond = TensorData.torch(d.uncond(), d.shape());
                    Scalar g = new Scalar(d.guidance()), sqrtA = new Scalar(Math.sqrt(d.alpha())),
                            sqrtB = new Scalar(Math.sqrt(1 - d.alpha())), sqrtAp = new Scalar(Math.sqrt(d.alphaPrev())),
                            sqrtBp = new Scalar(Math.sqrt(1 - d.alphaPrev()));
                    yield () -> {
                        try (org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {
                            org.bytedeco.pytorch.Tensor eps = uncond.add(cond.sub(uncond), g);
                            org.bytedeco.pytorch.Tensor x0 = sample.sub(eps, sqrtB).div(sqrtA);
                            x0.mul(sqrtAp).add(eps.mul(sqrtBp)).numel();
                        }
                    };
                }
                default -> null;
            };
        }
    }

    /** A JNI call of the same shape as inkwell_noop, and the machine's FMA peak (libinkwellbench). */
    public static final class Jni implements AnchorProvider {
        @Override
        public String name() {
            return "JNI";
        }

        @Override
        public String load(int threads) {
            BenchNative.require();
            return "libinkwellbench: a JNI noop, and an AVX2 FMA kernel for the peak ("
                    + (BenchNative.hasFma() ? "AVX2+FMA" : "scalar fallback") + ")";
        }

        @Override
        public Runnable prepare(BenchSpec spec) {
            return spec instanceof BenchSpec.NativeCall ? BenchNative::noop : null;
        }

        /** Every thread runs the FMA kernel at once; the best of three rounds. */
        @Override
        public double peakGflops(int threads) {
            double best = 0;
            for (int round = 0; round < 3; round++) {
                CountDownLatch start = new CountDownLatch(1);
                List<Thread> workers = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    Thread w = new Thread(() -> {
                        try {
                            start.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                        BenchNative.fma(PeakFlopsBenchmark.ITERATIONS * 4, 1.0f);
                    });
                    w.start();
                    workers.add(w);
                }
                long t0 = System.nanoTime();
                start.countDown();
                for (Thread w : workers) {
                    try {
                        w.join();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return Double.NaN;
                    }
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                best = Math.max(best, threads * 4.0 * PeakFlopsBenchmark.flopsPerCall() / seconds / 1e9);
            }
            return best;
        }
    }
}
