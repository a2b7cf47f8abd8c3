package dev.inkwell;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The user who forgets close(), as issue 16 reproduced it: 200 unclosed 16 MB tensors, then
 * 200 unclosed 8 MB Canny results, each reference dropped at once. Run in a child JVM with a
 * small heap ({@code -Xmx256m}) by {@link LeakSafetyNetTest}; prints the resident memory
 * before, after and at its peak (VmRSS, VmHWM from /proc/self/status) on one line.
 *
 * <p>The Java heap sees almost nothing of this (a Tensor object is a few hundred bytes), so
 * without help from the library the collector has no reason to run and nothing is freed.
 */
public final class UnclosedWorkload {
    static final int TENSORS = 200;
    static final long TENSOR_FLOATS = 4L << 20; // 16 MB of float32
    static final int RESULTS = 200;
    static final int HEIGHT = 2048, WIDTH = 4096; // an 8 MB gray image per Canny result

    private UnclosedWorkload() {}

    public static void main(String[] args) throws IOException {
        long startKb = status("VmRSS:");
        try (Inkwell inkwell = Inkwell.builder().threads(2).build();
                Image drawing = Image.allocate(HEIGHT, WIDTH, 1)) {
            for (int y = 0; y < HEIGHT; y += 64) { // a few edges for Canny to find
                for (int x = 0; x < WIDTH; x++) {
                    drawing.set(y, x, 0, 255);
                }
            }
            for (int i = 0; i < TENSORS; i++) {
                Tensor forgotten = Tensor.allocate(TENSOR_FLOATS);
                forgotten.set(1f, 0); // used, then dropped without close()
            }
            long afterTensorsKb = status("VmRSS:");
            for (int i = 0; i < RESULTS; i++) {
                Image forgotten = inkwell.canny(drawing);
                if (forgotten.get(0, 0, 0) < 0) {
                    throw new AssertionError("unreachable: samples are 0..255");
                }
            }
            System.out.printf("unclosed-workload: rss_start_kb=%d rss_after_tensors_kb=%d rss_end_kb=%d rss_peak_kb=%d"
                    + " live_owned_bytes=%d%n", startKb, afterTensorsKb, status("VmRSS:"), status("VmHWM:"),
                    NativeMemory.liveOwnedBytes());
        }
    }

    /** A kB figure of /proc/self/status. */
    static long status(String key) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(key)) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no " + key + " in /proc/self/status");
    }
}
