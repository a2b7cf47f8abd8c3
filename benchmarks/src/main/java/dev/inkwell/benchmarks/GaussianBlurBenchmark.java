package dev.inkwell.benchmarks;

import dev.inkwell.BlurOptions;
import dev.inkwell.Image;
import dev.inkwell.Inkwell;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.opencv.core.Mat;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Gaussian blur of 8-bit pixels (BORDER_REFLECT_101): Inkwell vs OpenCV's Java build
 * ({@code Imgproc.GaussianBlur}, cv2.GaussianBlur's call), on {@link SyntheticImage}'s picture,
 * {@link BenchThreads#count()} threads each. The two must give the same bytes (Inkwell is
 * bit-exact with OpenCV's fixed-point blur): the setup checks it before timing.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
public class GaussianBlurBenchmark {
    /** The picture and the kernel: width x height, 1 (gray) or 3 (RGB) channels, ksize. */
    @State(Scope.Benchmark)
    public static class Picture {
        @Param({"1920x1080"})
        public String size;

        @Param({"1", "3"})
        public int channels;

        @Param({"5", "13"})
        public int ksize;

        int width;
        int height;
        byte[] pixels;

        @Setup(Level.Trial)
        public void setup() {
            String[] wh = size.split("x");
            width = Integer.parseInt(wh[0]);
            height = Integer.parseInt(wh[1]);
            pixels = SyntheticImage.draw(width, height, channels);
        }
    }

    @State(Scope.Benchmark)
    public static class InkwellState {
        Inkwell inkwell;
        Image src;
        Image dst;
        BlurOptions options;

        @Setup(Level.Trial)
        public void setup(Picture p) {
            inkwell = Anchors.inkwell();
            src = Image.fromBytes(p.pixels, p.height, p.width, p.channels);
            dst = Image.allocate(p.height, p.width, p.channels);
            options = BlurOptions.of(p.ksize, 0);
            Anchors.probeInkwell("gaussian_blur", () -> inkwell.gaussianBlur(src, dst, options));
            try (OpenCvGaussianBlur opencv = new OpenCvGaussianBlur(p.pixels, p.height, p.width, p.channels, p.ksize, 0)) {
                opencv.run();
                if (!Arrays.equals(dst.toByteArray(), opencv.pixels())) {
                    throw new IllegalStateException("Inkwell's and OpenCV's blurs differ at ksize " + p.ksize);
                }
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            dst.close();
            src.close();
            inkwell.close();
        }
    }

    @State(Scope.Benchmark)
    public static class OpenCvState {
        OpenCvGaussianBlur blur;

        @Setup(Level.Trial)
        public void setup(Picture p) {
            blur = new OpenCvGaussianBlur(p.pixels, p.height, p.width, p.channels, p.ksize, 0);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            blur.close();
        }
    }

    @Benchmark
    public Image inkwell(InkwellState s) {
        s.inkwell.gaussianBlur(s.src, s.dst, s.options);
        return s.dst;
    }

    @Benchmark
    public Mat opencv(OpenCvState s) {
        return s.blur.run();
    }
}
