package dev.inkwell.benchmarks;

import boofcv.alg.feature.detect.edge.CannyEdge;
import boofcv.core.image.ConvertImage;
import boofcv.factory.feature.detect.edge.FactoryEdgeDetectors;
import boofcv.struct.image.GrayS16;
import boofcv.struct.image.GrayU8;
import boofcv.struct.image.InterleavedU8;

/**
 * BoofCV's Canny, the pure-Java anchor: {@code FactoryEdgeDetectors.canny} with blur radius 1
 * (its smallest; it always blurs) and its own gradient. Gray only, so RGB is averaged to gray
 * inside {@link #run}, as a user would have to. A speed anchor, not an equal-output one. The
 * one setup both {@link CannyBenchmark} and {@code inkwell bench} ({@link CliAnchors.BoofCv})
 * time. Initialises BoofCV's concurrency first.
 */
final class BoofCvCanny {
    private final GrayU8 gray;
    private final InterleavedU8 rgb;
    private final GrayU8 edges;
    private final CannyEdge<GrayU8, GrayS16> canny;
    private final float low;
    private final float high;

    BoofCvCanny(byte[] pixels, int height, int width, int channels, double low, double high) {
        Anchors.requireBoofCv();
        this.low = (float) low;
        this.high = (float) high;
        gray = new GrayU8(width, height);
        if (channels == 3) {
            rgb = new InterleavedU8(width, height, 3);
            System.arraycopy(pixels, 0, rgb.data, 0, pixels.length);
        } else {
            rgb = null;
            System.arraycopy(pixels, 0, gray.data, 0, pixels.length);
        }
        edges = new GrayU8(width, height);
        canny = FactoryEdgeDetectors.canny(1, false, false, GrayU8.class, GrayS16.class);
    }

    GrayU8 run() {
        if (rgb != null) {
            ConvertImage.average(rgb, gray);
        }
        canny.process(gray, low, high, edges);
        return edges;
    }

    /** What differs from cv2.Canny, for logs. */
    String describe() {
        return "blur radius 1" + (rgb != null ? ", RGB averaged to gray" : "");
    }
}
