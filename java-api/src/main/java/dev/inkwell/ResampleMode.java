package dev.inkwell;

/** 2x resampling of NCHW tensors, as PyTorch computes it. */
public enum ResampleMode {
    /** F.interpolate(scale_factor=2, mode="nearest"): output 2h x 2w. */
    UPSAMPLE_NEAREST_2X(0),
    /** F.interpolate(scale_factor=2, mode="bilinear", align_corners=False): output 2h x 2w. */
    UPSAMPLE_BILINEAR_2X(1),
    /** F.max_pool2d(kernel 2, stride 2): output floor(h/2) x floor(w/2). */
    MAX_POOL_2X2(2),
    /** F.avg_pool2d(kernel 2, stride 2): output floor(h/2) x floor(w/2). */
    AVG_POOL_2X2(3);

    private final int code;

    ResampleMode(int code) {
        this.code = code;
    }

    int code() {
        return code;
    }

    boolean upsamples() {
        return this == UPSAMPLE_NEAREST_2X || this == UPSAMPLE_BILINEAR_2X;
    }

    /** Output shape for an NCHW input shape. */
    long[] outputShape(long[] in) {
        long h = upsamples() ? in[2] * 2 : in[2] / 2, w = upsamples() ? in[3] * 2 : in[3] / 2;
        if (h < 1 || w < 1) {
            throw new IllegalArgumentException(this + " needs height and width >= 2, got " + in[2] + "x" + in[3]);
        }
        return new long[] {in[0], in[1], h, w};
    }
}
