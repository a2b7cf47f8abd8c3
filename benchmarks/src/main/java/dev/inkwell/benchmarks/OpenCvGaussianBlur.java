package dev.inkwell.benchmarks;

import org.opencv.core.Core;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Size;
import org.opencv.imgproc.Imgproc;

/**
 * OpenCV's Java build on packed 8-bit pixels: {@code Imgproc.GaussianBlur(src, dst, (ksize, ksize),
 * sigma, sigma, BORDER_REFLECT_101)}, cv2.GaussianBlur's call (sigma 0: derived from ksize).
 * The one setup both {@link GaussianBlurBenchmark} and {@code inkwell bench}
 * ({@link CliAnchors.OpenCv}) time. Loads OpenCV first.
 */
final class OpenCvGaussianBlur implements AutoCloseable {
    private final Mat src;
    private final Mat dst;
    private final Size ksize;
    private final double sigma;

    OpenCvGaussianBlur(byte[] pixels, int height, int width, int channels, int ksize, double sigma) {
        Anchors.requireOpenCv();
        this.ksize = new Size(ksize, ksize);
        this.sigma = sigma;
        src = new Mat(height, width, CvType.CV_8UC(channels));
        src.put(0, 0, pixels);
        dst = new Mat(height, width, CvType.CV_8UC(channels));
    }

    Mat run() {
        Imgproc.GaussianBlur(src, dst, ksize, sigma, sigma, Core.BORDER_REFLECT_101);
        return dst;
    }

    /** The last {@link #run}'s pixels, packed. */
    byte[] pixels() {
        byte[] out = new byte[(int) (dst.total() * dst.channels())];
        dst.get(0, 0, out);
        return out;
    }

    @Override
    public void close() {
        src.release();
        dst.release();
    }
}
