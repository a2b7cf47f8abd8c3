package dev.inkwell.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.DdimScheduler;
import dev.inkwell.Inkwell;
import dev.inkwell.LiveMemory;
import dev.inkwell.Tensor;
import dev.inkwell.Workspace;
import dev.inkwell.models.ControlNetModel;
import dev.inkwell.models.ControlNetModelConfig;
import dev.inkwell.models.UNet2DConditionModel;
import dev.inkwell.models.UNet2DConditionModelConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The denoising loop with real (small, random) U-Net and ControlNet models in a workspace, as the
 * pipeline runs it: after the first step no step allocates a block, and the final latents are the
 * bits of the loop without a workspace (with every lent block poisoned, so that reuse of stale
 * contents would show), under guidance, in guess mode and with eta &gt; 0.
 */
class DenoisingLoopWorkspaceTest {
    private static final int LATENT = 8, TOKENS = 5, DIM = 8;
    private static Inkwell inkwell;
    private static UNet2DConditionModel unet;
    private static ControlNetModel controlnet;

    @BeforeAll
    static void open() {
        inkwell = Inkwell.builder().threads(2).build();
        unet = UNet2DConditionModel.random(new UNet2DConditionModelConfig(4, 4, List.of(16, 32),
                List.of("CrossAttnDownBlock2D", "DownBlock2D"), "UNetMidBlock2DCrossAttn",
                List.of("UpBlock2D", "CrossAttnUpBlock2D"), List.of(1, 1), List.of(1, 1), List.of(2, 2), DIM, 8, 1e-5,
                "silu", true, 0, 1, 1, false, false, "default", null), 11, inkwell);
        controlnet = ControlNetModel.random(new ControlNetModelConfig(4, 3, List.of(16, 32),
                List.of("CrossAttnDownBlock2D", "DownBlock2D"), 1, List.of(1, 1), List.of(2, 2), null, DIM, 8, 1e-5,
                "silu", true, 0, 1, 1, false, false, "default", List.of(8, 16, 16, 16), "rgb", false), 12, inkwell);
    }

    @AfterAll
    static void close() {
        controlnet.close();
        unet.close();
        inkwell.close();
    }

    private static DenoisingLoop loop() {
        DenoisingLoop.ControlNet residuals = (sample, t, ehs, cond, scale, guess) -> {
            ControlNetModel.Output o = controlnet.forward(sample, t, ehs, cond, scale, guess);
            return new DenoisingLoop.Residuals(o.downBlockResSamples(), o.midBlockResSample());
        };
        return new DenoisingLoop(inkwell, DdimScheduler.stableDiffusion(), unet::forward, residuals);
    }

    private static Tensor random(long seed, double low, double high, long... shape) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int n = 1;
        for (long d : shape) {
            n *= (int) d;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (low + (high - low) * rnd.nextDouble());
        }
        return Tensor.fromArray(v, shape);
    }

    /** The final latents, and the workspace's new blocks after each step (empty without one). */
    private record Run(float[] latents, List<Long> newBlocksPerStep) {}

    private static Run run(ColorizeOptions o, boolean guess, Workspace ws) {
        try (Tensor x = random(1, -1, 1, 1, 4, LATENT, LATENT); Tensor cond = random(2, -1, 1, 1, TOKENS, DIM);
                Tensor uncond = random(3, -1, 1, 1, TOKENS, DIM);
                Tensor control = random(4, 0, 1, 1, 3, 8 * LATENT, 8 * LATENT)) {
            List<Long> perStep = new ArrayList<>();
            long[] last = {ws == null ? 0 : ws.stats().blocksAllocated()};
            ColorizeProgress progress = ws == null ? null : (step, steps, t, nanos) -> {
                long now = ws.stats().blocksAllocated();
                perStep.add(now - last[0]);
                last[0] = now;
            };
            DenoisingLoop l = loop();
            if (ws == null) {
                try (Tensor got = l.run(x, cond, uncond, control, o, guess, null, null)) {
                    return new Run(got.toArray(), perStep);
                }
            }
            return ws.call(() -> {
                try (Tensor got = l.run(x, cond, uncond, control, o, guess, progress, null)) {
                    return new Run(got.toArray(), perStep);
                }
            });
        }
    }

    private static void check(ColorizeOptions o, boolean guess) {
        long live = LiveMemory.ownedBytes();
        float[] want = run(o, guess, null).latents();
        System.setProperty(Workspace.POISON_PROPERTY, "true");
        Workspace ws;
        try {
            ws = Workspace.create(inkwell);
        } finally {
            System.clearProperty(Workspace.POISON_PROPERTY);
        }
        try (ws) {
            Run got = run(o, guess, ws);
            assertEquals(o.steps(), got.newBlocksPerStep().size());
            assertTrue(got.newBlocksPerStep().get(0) > 10, "the first step allocates: " + got.newBlocksPerStep());
            for (int i = 1; i < o.steps(); i++) {
                assertEquals(0L, got.newBlocksPerStep().get(i), "step " + (i + 1) + " allocates nothing: "
                        + got.newBlocksPerStep());
            }
            assertArrayEquals(want, got.latents(), "the bits of the loop without a workspace");
            Run again = run(o, guess, ws);
            assertEquals(0L, again.newBlocksPerStep().stream().mapToLong(Long::longValue).sum(),
                    "a second run in the same workspace allocates nothing at all");
            assertArrayEquals(want, again.latents());
            assertEquals(0, ws.stats().blocksLent(), "every block is back");
            assertEquals(live + ws.stats().bytesHeld(), LiveMemory.ownedBytes(), "held blocks are all that is left");
        }
        assertEquals(live, LiveMemory.ownedBytes(), "freed with the workspace");
    }

    @Test
    void guidanceWithControlNet() {
        check(ColorizeOptions.builder("").steps(4).guidanceScale(7.5).build(), false);
    }

    @Test
    void guessModeAndEta() {
        check(ColorizeOptions.builder("").steps(4).guidanceScale(4).guessMode(true).eta(0.5).seed(9).build(), true);
    }

    @Test
    void noGuidanceAndAControlWindow() {
        // ControlNet runs in steps 1..2 only: step 3 frees its blocks and allocates none.
        check(ColorizeOptions.builder("").steps(4).guidanceScale(1).controlGuidance(0, 0.5).build(), false);
    }
}
