package dev.inkwell.models;

import dev.inkwell.Conv2dOptions;
import dev.inkwell.Device;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.util.Arrays;

/**
 * x * s for a float32 scalar s, as PyTorch's {@code tensor * python_float} computes it on float32
 * (the scalar rounded to float32, one rounded product per element). There is no scale kernel:
 * a depthwise 1x1 convolution without bias (groups = C, every weight s) is exactly that
 * product, on any device.
 */
final class Scale {
    private Scale() {}

    /**
     * @param ctx the context
     * @param x [N, C, H, W] float32
     * @param s the factor (rounded to float32)
     * @return a new tensor x * s
     */
    static Tensor multiply(Inkwell ctx, Tensor x, float s) {
        int c = Math.toIntExact(x.dim(1));
        float[] w = new float[c];
        Arrays.fill(w, s);
        try (Tensor host = Tensor.fromArray(w, c, 1, 1, 1);
                Tensor weight = ctx.device() == Device.CPU ? null : ctx.copyToDevice(host)) {
            return ctx.conv2d(x, weight == null ? host : weight, null, Conv2dOptions.defaults().withGroups(c));
        }
    }
}
