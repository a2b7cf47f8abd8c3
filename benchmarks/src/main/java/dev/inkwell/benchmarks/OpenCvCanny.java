package dev.inkwell.benchmarks;

import org.opencv.core.Core;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.imgproc.Imgproc;

/**
 * OpenCV's Java build on packed 8-bit pixels: {@code Imgproc.Canny(src, dst, low, high, 3, false)},
 * what ControlNet's preprocessor calls as cv2.Canny. The one setup both {@link CannyBenchmark}
 * and {@code inkwell bench} ({@link CliAnchors.OpenCv}) time. Loads OpenCV first.
 */
final class OpenCvCanny implements AutoCloseable {
    static final int APERTURE = 3;

    private final Mat src;
    private final Mat dst;
    private final double low;
    private final double high;

    OpenCvCanny(byte[] pixels, int height, int width, int channels, double low, double high) {
        Anchors.requireOpenCv();
        this.low = low;
        this.high = high;
        src = new Mat(height, width, CvType.CV_8UC(channels));
        src.put(0, 0, pixels);
        dst = new Mat(height, width, CvType.CV_8UC1);
    }

    Mat run() {
        Imgproc.Canny(src, dst, low, high, APERTURE, false);
        return dst;
    }

    /** Edge pixels of the last {@link #run}. */
    int edgePixels() {
        return Core.countNonZero(dst);
    }

    @Override
    public void close() {
        src.release();
        dst.release();
    }
}
