package dev.inkwell.models;

import dev.inkwell.Activation;
import dev.inkwell.Conv2dOptions;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;

/**
 * The convolutional trunk LPIPS taps: torchvision's {@code alexnet().features} as lpips'
 * {@code pretrained_networks.alexnet} slices it, with its key names ({@code net.slice1.0},
 * {@code net.slice2.3}, {@code net.slice3.6}, {@code net.slice4.8}, {@code net.slice5.10}: the
 * slice, then the index of the convolution in {@code features}).
 *
 * <pre>
 * slice1: conv 3-&gt;64, 11x11, stride 4, padding 2; ReLU                       -&gt; relu1
 * slice2: max_pool 3x3 stride 2; conv 64-&gt;192, 5x5, padding 2; ReLU          -&gt; relu2
 * slice3: max_pool 3x3 stride 2; conv 192-&gt;384, 3x3, padding 1; ReLU         -&gt; relu3
 * slice4: conv 384-&gt;256, 3x3, padding 1; ReLU                                -&gt; relu4
 * slice5: conv 256-&gt;256, 3x3, padding 1; ReLU                                -&gt; relu5
 * </pre>
 *
 * <p>The second max pool needs a 3x3 input, so the smallest image is {@value #MIN_SIZE} pixels
 * on each side: 31 gives relu1 7x7, relu2 3x3 and relu3..relu5 1x1; 30 gives relu2 2x2. The
 * weights are read-only after loading; {@link #forward} allocates per call.
 */
final class AlexNet {
    /** The smallest height and width the trunk accepts (see the class comment). */
    static final int MIN_SIZE = 31;
    /** Output channels of relu1..relu5. */
    static final int[] CHANNELS = {64, 192, 384, 256, 256};

    private static final String[] KEYS = {"net.slice1.0.", "net.slice2.3.", "net.slice3.6.", "net.slice4.8.",
        "net.slice5.10."};
    private static final int[] KERNEL = {11, 5, 3, 3, 3}, STRIDE = {4, 1, 1, 1, 1}, PADDING = {2, 2, 1, 1, 1};
    /** Whether a 3x3, stride-2 max pool precedes the convolution (slices 2 and 3). */
    private static final boolean[] POOL_FIRST = {false, true, true, false, false};

    /** One tap's consumer; the tap is freed by {@link #forward} once the next layer has read it. */
    @FunctionalInterface
    interface Tap {
        void accept(int layer, Tensor relu);
    }

    private final Tensor[] weight, bias;

    private AlexNet(Tensor[] weight, Tensor[] bias) {
        this.weight = weight;
        this.bias = bias;
    }

    static AlexNet load(ModuleWeights w) throws IOException {
        Tensor[] weight = new Tensor[KEYS.length], bias = new Tensor[KEYS.length];
        for (int i = 0; i < KEYS.length; i++) {
            int in = i == 0 ? 3 : CHANNELS[i - 1];
            weight[i] = w.get(KEYS[i] + "weight", CHANNELS[i], in, KERNEL[i], KERNEL[i]);
            bias[i] = w.get(KEYS[i] + "bias", CHANNELS[i]);
        }
        return new AlexNet(weight, bias);
    }

    /**
     * Runs the trunk on x [N, 3, H, W] (H, W &gt;= {@value #MIN_SIZE}, already through LPIPS'
     * scaling layer) and hands relu1..relu5, each [N, C_i, H_i, W_i], to {@code tap} in order.
     * Each intermediate is freed as soon as it is used, also when tap throws.
     */
    void forward(Inkwell ctx, Tensor x, Tap tap) {
        Tensor h = x; // the previous ReLU's output (x before the first layer); freed here unless it is x
        for (int i = 0; i < KEYS.length; i++) {
            int layer = i;
            Tensor in = POOL_FIRST[i] ? Forward.then(h, h != x, t -> ctx.ops().maxPool2d(t, 3, 2, 0)) : h;
            h = Forward.then(in, in != x, t -> convRelu(ctx, t, layer));
            try {
                tap.accept(layer, h);
            } catch (RuntimeException | Error e) {
                h.close();
                throw e;
            }
        }
        h.close();
    }

    /** features[k] (the convolution) and features[k + 1] (ReLU, applied in place as torchvision's inplace=True). */
    private Tensor convRelu(Inkwell ctx, Tensor x, int layer) {
        Conv2dOptions options = Conv2dOptions.defaults().withStride(STRIDE[layer]).withPadding(PADDING[layer]);
        Tensor y = ctx.conv2d(x, weight[layer], bias[layer], options);
        try {
            ctx.layers().activation(y, Activation.RELU, y);
            return y;
        } catch (RuntimeException | Error e) {
            y.close();
            throw e;
        }
    }
}
