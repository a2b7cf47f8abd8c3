package dev.inkwell.models;

import static dev.inkwell.models.UNetGolden.modelsDir;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.Conv2dOptions;
import dev.inkwell.ElementType;
import dev.inkwell.Inkwell;
import dev.inkwell.LiveMemory;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The U-Net and the ControlNet at latent sizes that are not multiples of the upsampling factor,
 * as diffusers v0.21.4 runs them (unet_2d_condition.py: forward_upsample_size, each non-final
 * up block's upsample_size = the size of the last remaining down state; Upsample2D
 * F.interpolate(size=...)): tiny random models at 6x10, 7x9 and 1x3 give outputs of the
 * sample's shape, identical at 1 and 4 threads; with downsample_padding 0 (floor sizes) too;
 * a ControlNet's residuals at such sizes fit the U-Net; Upsample2D with an output size equals
 * the convolution of a plain Java nearest interpolation.
 */
class UNetOddSizeTest {
    private static Inkwell one, four;

    @BeforeAll
    static void open() {
        one = Inkwell.builder().threads(1).build();
        four = Inkwell.builder().threads(4).build();
    }

    @AfterAll
    static void close() {
        one.close();
        four.close();
    }

    private static Tensor gaussian(Random rnd, long... shape) {
        int count = Math.toIntExact(Arrays.stream(shape).reduce(1, Math::multiplyExact));
        float[] v = new float[count];
        for (int i = 0; i < count; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        return Tensor.fromArray(v, shape);
    }

    /** Runs a random model of config at [n, 4, h, w] on both contexts: shape, finiteness, thread-independence. */
    private static void runsAtSize(UNet2DConditionModelConfig config, int n, int h, int w) {
        Random rnd = new Random(h * 31L + w);
        try (UNet2DConditionModel a = UNet2DConditionModel.random(config, 5, one);
                UNet2DConditionModel b = UNet2DConditionModel.random(config, 5, four);
                Tensor sample = gaussian(rnd, n, config.inChannels(), h, w);
                Tensor ehs = gaussian(rnd, n, 3, config.crossAttentionDim());
                Tensor x = a.forward(sample, 400, ehs);
                Tensor y = b.forward(sample, 400, ehs)) {
            String what = h + "x" + w;
            assertArrayEquals(new long[] {n, config.outChannels(), h, w}, x.shape(), what);
            float[] xv = x.toArray();
            for (float v : xv) {
                assertTrue(Float.isFinite(v), what);
            }
            assertArrayEquals(xv, y.toArray(), what + ": 1 and 4 threads");
        }
    }

    @Test
    void sdShapedUNetRunsAtSizesThatAreNotMultiplesOfEight() throws IOException {
        UNet2DConditionModelConfig config = UNet2DConditionModelConfig.read(modelsDir().resolve("unet/config.json"));
        assertEquals(8, config.downsampleFactor());
        long before = LiveMemory.ownedBytes();
        runsAtSize(config, 2, 6, 10); // skips 6x10, 3x5, 2x3, 1x2: every upsampler interpolates
        runsAtSize(config, 1, 7, 9);
        runsAtSize(config, 1, 1, 3);
        runsAtSize(config, 1, 12, 16); // 12 is no multiple of 8: 12 -> 6 -> 3 -> 2, the last upsampler 2 -> 3
        assertEquals(before, LiveMemory.ownedBytes(), "nothing left behind");
    }

    /** downsample_padding 0: Downsample2D floors (7 -> 3), the upsampler interpolates 3 -> 7. */
    @Test
    void floorDownsamplingUNetRunsAtOddSizes(@TempDir Path tmp) throws IOException {
        Path file = tmp.resolve("config.json");
        Files.writeString(file, """
                {"_class_name": "UNet2DConditionModel", "sample_size": 8, "in_channels": 4, "out_channels": 3,
                 "act_fn": "silu", "norm_num_groups": 4, "norm_eps": 1e-6, "cross_attention_dim": 24,
                 "block_out_channels": [16, 32, 32], "layers_per_block": [1, 2, 1],
                 "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D", "DownBlock2D"],
                 "up_block_types": ["UpBlock2D", "UpBlock2D", "CrossAttnUpBlock2D"],
                 "attention_head_dim": [2, 4, 4], "use_linear_projection": true, "downsample_padding": 0}
                """);
        UNet2DConditionModelConfig config = UNet2DConditionModelConfig.read(file);
        runsAtSize(config, 2, 7, 9); // 7x9 -> 3x4 -> 1x2 and back by interpolation
        runsAtSize(config, 1, 6, 10); // 6x10 -> 3x5 -> 1x2
        runsAtSize(config, 1, 8, 12); // multiples of 4: the plain 2x path
    }

    /** The ControlNet's conditioning image is 8x the latent (no interpolation there); its residuals fit. */
    @Test
    void controlNetResidualsAtAnOddSizeFitTheUNet() throws IOException {
        UNet2DConditionModelConfig uc = UNet2DConditionModelConfig.read(modelsDir().resolve("unet/config.json"));
        ControlNetModelConfig cc = ControlNetModelConfig.read(modelsDir().resolve("controlnet/config.json"));
        Random rnd = new Random(9);
        int h = 7, w = 9;
        try (UNet2DConditionModel unet = UNet2DConditionModel.random(uc, 1, one);
                ControlNetModel cn = ControlNetModel.random(cc, 2, one);
                Tensor sample = gaussian(rnd, 2, 4, h, w);
                Tensor ehs = gaussian(rnd, 2, 5, uc.crossAttentionDim());
                Tensor cond = gaussian(rnd, 2, 3, 8 * h, 8 * w);
                ControlNetModel.Output control = cn.forward(sample, 300, ehs, cond, 1.0, false);
                Tensor plain = unet.forward(sample, 300, ehs);
                Tensor out = unet.forward(sample, 300, ehs, control.downBlockResSamples(),
                        control.midBlockResSample())) {
            List<Tensor> down = control.downBlockResSamples();
            assertArrayEquals(new long[] {2, 32, 7, 9}, down.getFirst().shape());
            assertArrayEquals(new long[] {2, 64, 1, 2}, control.midBlockResSample().shape()); // 7x9 -> 4x5 -> 2x3 -> 1x2
            assertArrayEquals(new long[] {2, 4, h, w}, out.shape());
            assertFalse(Arrays.equals(plain.toArray(), out.toArray()), "the residuals change the output");
        }
    }

    /** Upsample2D(x, output_size) is conv3x3(F.interpolate(x, size, nearest)) with a plain Java interpolation. */
    @Test
    void upsampleWithOutputSizeIsTheConvolutionOfTheNearestInterpolation() throws IOException {
        Random rnd = new Random(11);
        try (ModuleWeights weights = new ModuleWeights(new RandomWeights(3), one, ElementType.FLOAT32);
                Tensor x = gaussian(rnd, 2, 4, 3, 5)) {
            Upsample2D up = Upsample2D.load(weights, "up.", 4, 6);
            float[] xv = x.toArray();
            float[] near = new float[2 * 4 * 7 * 9];
            for (int p = 0; p < 8; p++) {
                for (int yy = 0; yy < 7; yy++) {
                    for (int xx = 0; xx < 9; xx++) {
                        near[(p * 7 + yy) * 9 + xx] = xv[(int) ((p * 3 + src(yy, 3, 7)) * 5 + src(xx, 5, 9))];
                    }
                }
            }
            try (Tensor got = up.forward(one, x, new long[] {7, 9});
                    Tensor interpolated = Tensor.fromArray(near, 2, 4, 7, 9);
                    Tensor want = one.conv2d(interpolated, weights.get("up.conv.weight", 6, 4, 3, 3),
                            weights.get("up.conv.bias", 6), Conv2dOptions.defaults().withPadding(1));
                    Tensor doubled = up.forward(one, x, null)) {
                assertArrayEquals(want.toArray(), got.toArray());
                assertArrayEquals(new long[] {2, 6, 6, 10}, doubled.shape());
            }
        }
    }

    /** PyTorch's nearest source index: min(floor(dst * (float) in / out), in - 1) in float (no special case here). */
    private static long src(long dst, long in, long out) {
        return Math.min((long) Math.floor((float) dst * ((float) in / (float) out)), in - 1);
    }
}
