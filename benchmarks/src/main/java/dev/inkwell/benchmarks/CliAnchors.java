package dev.inkwell.benchmarks;

import dev.inkwell.cli.bench.AnchorProvider;
import dev.inkwell.cli.bench.BenchSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.bytedeco.pytorch.global.torch;

/**
 * The anchors of {@code inkwell bench} (dev.inkwell.cli.bench.AnchorProvider, listed in
 * META-INF/services): the same setups as the JMH benchmarks beside this file
 * ({@link OpenCvCanny}, {@link BoofCvCanny}, {@link TorchOps}, {@link BenchNative}), loaded
 * through {@link Anchors} with the run's thread count, on the inputs {@code inkwell bench}
 * hands over.
 */
final class CliAnchors {
    private CliAnchors() {}

    /**
     * A run that also frees what its setup allocated: the runner closes a prepared Runnable
     * that is AutoCloseable once its case is timed.
     */
    interface Prepared extends Runnable, AutoCloseable {}

    static Prepared closing(Runnable run, AutoCloseable resources) {
        return new Prepared() {
            @Override
            public void run() {
                run.run();
            }

            @Override
            public void close() throws Exception {
                resources.close();
            }
        };
    }

    /**
     * Every library reads its thread count from here (see {@link BenchThreads}); the JMH
     * setup notes stay off (inkwell bench prints each anchor's {@code load} line instead).
     */
    static void useThreads(int threads) {
        Anchors.quiet = true;
        System.setProperty("inkwell.bench.threads", Integer.toString(threads));
    }

    /**
     * OpenCV's Java build: {@code Imgproc.Canny} (aperture 3, L1), as ControlNet calls cv2.Canny,
     * and {@code Imgproc.GaussianBlur} (BORDER_REFLECT_101).
     */
    public static final class OpenCv implements AnchorProvider {
        @Override
        public String name() {
            return "OpenCV";
        }

        @Override
        public String load(int threads) {
            useThreads(threads);
            Anchors.requireOpenCv();
            return "Imgproc.Canny and Imgproc.GaussianBlur, OpenCV " + org.opencv.core.Core.VERSION + ", " + org.opencv.core.Core.getNumThreads()
                    + " threads";
        }

        @Override
        public Runnable prepare(BenchSpec spec) {
            if (spec instanceof BenchSpec.GaussianBlur g) {
                OpenCvGaussianBlur blur = new OpenCvGaussianBlur(g.pixels(), g.height(), g.width(), g.channels(), g.ksize(),
                        g.sigma());
                return closing(blur::run, blur);
            }
            if (!(spec instanceof BenchSpec.Canny c)) {
                return null;
            }
            OpenCvCanny canny = new OpenCvCanny(c.pixels(), c.height(), c.width(), c.channels(), c.low(), c.high());
            return closing(canny::run, canny);
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
            return new BoofCvCanny(c.pixels(), c.height(), c.width(), c.channels(), c.low(), c.high())::run;
        }
    }

    /**
     * libtorch through JavaCPP: {@code conv2d}, {@code scaled_dot_product_attention},
     * {@code linear}, {@code group_norm}, {@code layer_norm}, and GEGLU and the DDIM step as
     * diffusers writes them (a temporary per tensor op).
     */
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
                    + torch.get_num_threads() + " threads, OpenBLAS "
                    + org.bytedeco.openblas.global.openblas.blas_get_num_threads() + " (conv2d, scaled_dot_product_attention, linear, GEGLU as linear + chunk +"
                    + " gelu + mul, group_norm, layer_norm, DDIM as tensor ops; the U-Net blocks as diffusers' modules"
                    + " call these ops)";
        }

        @Override
        public Runnable prepare(BenchSpec spec) {
            return switch (spec) {
                case BenchSpec.Conv2d c -> {
                    TorchOps.Conv2d conv = new TorchOps.Conv2d(c.input(), c.inputShape(), c.weight(), c.weightShape(),
                            c.bias(), c.stride(), c.pad());
                    yield closing(() -> {
                        try (org.bytedeco.pytorch.Tensor y = conv.run()) {
                            y.numel();
                        }
                    }, conv);
                }
                case BenchSpec.Attention a -> {
                    TorchOps.Attention attention = new TorchOps.Attention(a.q(),
                            new long[] {a.batch(), a.heads(), a.qLen(), a.headDim()}, a.k(), a.v(),
                            new long[] {a.batch(), a.heads(), a.kvLen(), a.headDim()});
                    yield closing(() -> {
                        try (org.bytedeco.pytorch.Tensor y = attention.run()) {
                            y.numel();
                        }
                    }, attention);
                }
                case BenchSpec.Linear l -> {
                    TorchOps.Linear linear = new TorchOps.Linear(l.input(), l.inputShape(), l.weight(), l.outFeatures(),
                            l.bias());
                    yield closing(() -> {
                        try (org.bytedeco.pytorch.Tensor y = linear.run()) {
                            y.numel();
                        }
                    }, linear);
                }
                case BenchSpec.Geglu g -> {
                    TorchOps.Geglu geglu = new TorchOps.Geglu(g.input(), g.inputShape(), g.weight(), g.innerDim(), g.bias());
                    yield closing(geglu::runScoped, geglu);
                }
                case BenchSpec.GroupNorm g -> {
                    TorchOps.GroupNorm norm = new TorchOps.GroupNorm(g.input(), g.shape(), g.groups(), g.weight(), g.bias(),
                            g.eps());
                    yield closing(() -> {
                        try (org.bytedeco.pytorch.Tensor y = norm.run()) {
                            y.numel();
                        }
                    }, norm);
                }
                case BenchSpec.LayerNorm l -> {
                    TorchOps.LayerNorm norm = new TorchOps.LayerNorm(l.input(), l.shape(), l.weight(), l.bias(), l.eps());
                    yield closing(() -> {
                        try (org.bytedeco.pytorch.Tensor y = norm.run()) {
                            y.numel();
                        }
                    }, norm);
                }
                case BenchSpec.DdimStep d -> {
                    TorchOps.Ddim step = new TorchOps.Ddim(d.sample(), d.cond(), d.uncond(), d.shape(), d.guidance(),
                            d.alpha(), d.alphaPrev());
                    yield closing(step::eagerScoped, step);
                }
                case BenchSpec.ResnetBlock r -> {
                    TorchBlocks.ResnetBlock block = new TorchBlocks.ResnetBlock(r.input(), r.inputShape(), r.temb(),
                            r.tembChannels(), r.groups(), r.eps(), r.weights(), r.expected(), r.tolerance());
                    agreement("ResnetBlock2D", block.worst, r.tolerance());
                    yield closing(block::runScoped, block);
                }
                case BenchSpec.TransformerBlock t -> {
                    TorchBlocks.TransformerBlock block = new TorchBlocks.TransformerBlock(t.input(), t.inputShape(),
                            t.context(), t.contextShape(), t.heads(), t.headDim(), t.weights(), t.expected(),
                            t.tolerance());
                    agreement("BasicTransformerBlock", block.worst, t.tolerance());
                    yield closing(block::runScoped, block);
                }
                default -> null;
            };
        }

        /** The blocks' one check before timing, on stderr with the progress lines (a mismatch throws instead). */
        private static void agreement(String block, double worst, double tolerance) {
            System.err.printf("libtorch %s matches Inkwell's: max |diff| %.3g (tolerance %.3g)%n", block, worst,
                    tolerance);
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
            useThreads(threads);
            BenchNative.require();
            return "libinkwellbench: a JNI noop, and an FMA kernel for the peak as wide as the CPU has ("
                    + BenchNative.fmaKernel() + ")";
        }

        @Override
        public Runnable prepare(BenchSpec spec) {
            if (!(spec instanceof BenchSpec.NativeCall n)) {
                return null;
            }
            return () -> {
                for (int i = 0; i < n.callsPerRun(); i++) {
                    BenchNative.noop();
                }
            };
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
