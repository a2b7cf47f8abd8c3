package dev.inkwell.benchmarks;

import boofcv.struct.image.GrayU8;
import dev.inkwell.CannyOptions;
import dev.inkwell.Image;
import dev.inkwell.Inkwell;
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
 * Canny with ControlNet's settings (low 100, high 200, aperture 3, L1 gradient, no blur) on
 * the same synthetic picture: Inkwell vs OpenCV's Java build ({@code Imgproc.Canny}, what
 * ControlNet's preprocessor calls) vs BoofCV ({@code FactoryEdgeDetectors.canny}).
 *
 * <p>BoofCV's detector is not the same algorithm: it always blurs first (radius 1, its
 * smallest), uses its own gradient and takes gray input only, so RGB is averaged to gray
 * inside the timed call. It is a speed anchor for a pure-Java Canny, not an equal-output one.
 * All three use {@link BenchThreads#count()} threads. The anchors' setups ({@link OpenCvCanny},
 * {@link BoofCvCanny}) are the ones {@code inkwell bench} times too.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
public class CannyBenchmark {
    static final double LOW = 100, HIGH = 200;
    static final int APERTURE = OpenCvCanny.APERTURE;
    static final CannyOptions OPTIONS = CannyOptions.defaults()
            .withThresholds(LOW, HIGH).withApertureSize(APERTURE).withL2Gradient(false).withoutBlur();

    /** The picture: width x height, 1 (gray) or 3 (RGB) channels. */
    @State(Scope.Benchmark)
    public static class Picture {
        @Param({"1920x1080", "3840x2160"})
        public String size;

        @Param({"1", "3"})
        public int channels;

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

        @Setup(Level.Trial)
        public void setup(Picture p) {
            inkwell = Anchors.inkwell();
            src = Image.fromBytes(p.pixels, p.height, p.width, p.channels);
            dst = Image.allocate(p.height, p.width, 1);
            Anchors.probeInkwell("canny", () -> inkwell.canny(src, dst, OPTIONS));
            Anchors.log("Inkwell canny: " + countEdges(dst.toByteArray()) + " edge pixels");
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
        OpenCvCanny canny;

        @Setup(Level.Trial)
        public void setup(Picture p) {
            canny = new OpenCvCanny(p.pixels, p.height, p.width, p.channels, LOW, HIGH);
            canny.run();
            Anchors.log("OpenCV Canny: " + canny.edgePixels() + " edge pixels");
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            canny.close();
        }
    }

    @State(Scope.Benchmark)
    public static class BoofCvState {
        BoofCvCanny canny;

        @Setup(Level.Trial)
        public void setup(Picture p) {
            canny = new BoofCvCanny(p.pixels, p.height, p.width, p.channels, LOW, HIGH);
            Anchors.log("BoofCV canny (" + canny.describe() + "): " + countEdges(canny.run().data) + " edge pixels");
        }
    }

    @Benchmark
    public Image inkwell(InkwellState s) {
        s.inkwell.canny(s.src, s.dst, OPTIONS);
        return s.dst;
    }

    @Benchmark
    public Mat opencv(OpenCvState s) {
        return s.canny.run();
    }

    @Benchmark
    public GrayU8 boofcv(BoofCvState s) {
        return s.canny.run();
    }

    static long countEdges(byte[] map) {
        long n = 0;
        for (byte b : map) {
            if (b != 0) {
                n++;
            }
        }
        return n;
    }
}
