package dev.inkwell.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.inkwell.Golden;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The golden {@code pipeline} cases (diffusers' StableDiffusionControlNetPipeline from
 * prompt_embeds, run in float64) through {@link ControlNetDenoiser#generate}, within each
 * case's tolerance; and the same bits at 1 and 2 threads.
 */
class GoldenPipelineTest {
    private static Path models() {
        return Golden.dir().resolve("models");
    }

    private static JsonNode cases() throws IOException {
        JsonNode list = new ObjectMapper().readTree(models().resolve("manifest.json").toFile()).get("pipeline");
        assertTrue(list != null && list.size() >= 2, "the manifest's pipeline cases");
        return list;
    }

    private static Tensor npy(JsonNode c, String key) throws IOException {
        return Tensor.readNpy(models().resolve(c.get(key).asText()));
    }

    private static float[] run(JsonNode c, int threads) throws IOException {
        SchedulerConfig scheduler = SchedulerConfig.parse(c.get("scheduler").toString(), "case scheduler");
        int steps = c.get("num_inference_steps").asInt();
        int[] want = new int[steps];
        for (int i = 0; i < steps; i++) {
            want[i] = c.get("timesteps").get(i).asInt();
        }
        assertArrayEquals(want, scheduler.scheduler().timesteps(steps), "the case's timesteps");
        ColorizeOptions o = ColorizeOptions.builder("").steps(steps).guidanceScale(c.get("guidance_scale").asDouble())
                .eta(c.get("eta").asDouble()).controlStrength(c.get("controlnet_conditioning_scale").asDouble())
                .guessMode(c.get("guess_mode").asBoolean()).build();
        try (Inkwell inkwell = Inkwell.builder().threads(threads).build();
                ControlNetDenoiser d = ControlNetDenoiser.load(models().resolve("unet"), models().resolve("controlnet"),
                        models().resolve("vae"), scheduler.scheduler(), inkwell);
                Tensor cond = npy(c, "prompt_embeds"); Tensor uncond = npy(c, "negative_prompt_embeds");
                Tensor control = npy(c, "control_image"); Tensor latents = npy(c, "latents");
                Tensor got = d.generate(cond, uncond, control, latents, o, null, null)) {
            return got.toArray();
        }
    }

    @Test
    void everyCaseWithinTolerance() throws IOException {
        for (JsonNode c : cases()) {
            float[] got = run(c, 0);
            double atol = c.get("tolerance").get("atol").asDouble(), rtol = c.get("tolerance").get("rtol").asDouble();
            try (Tensor want = npy(c, "expected")) {
                float[] w = want.toArray();
                assertEquals(w.length, got.length);
                double worst = 0;
                for (int i = 0; i < w.length; i++) {
                    double err = Math.abs(got[i] - w[i]);
                    worst = Math.max(worst, err);
                    assertTrue(err <= atol + rtol * Math.abs(w[i]), c.get("name") + " element " + i + ": " + got[i]
                            + " vs " + w[i]);
                }
                System.out.printf("pipeline %s: max |err| %.3g (atol %.3g)%n", c.get("name").asText(), worst, atol);
            }
        }
    }

    @Test
    void progressPerStepAndCancellationBetweenSteps() throws IOException {
        JsonNode c = cases().get(1);
        SchedulerConfig scheduler = SchedulerConfig.parse(c.get("scheduler").toString(), "case scheduler");
        ColorizeOptions o = ColorizeOptions.builder("").steps(8).guidanceScale(4).build();
        java.util.List<Integer> seen = new java.util.ArrayList<>();
        try (Inkwell inkwell = Inkwell.builder().threads(1).build();
                ControlNetDenoiser d = ControlNetDenoiser.load(models().resolve("unet"), models().resolve("controlnet"),
                        models().resolve("vae"), scheduler.scheduler(), inkwell);
                Tensor cond = npy(c, "prompt_embeds"); Tensor uncond = npy(c, "negative_prompt_embeds");
                Tensor control = npy(c, "control_image")) {
            try (Tensor got = d.generate(cond, uncond, control, null, o, (step, steps, t, nanos) -> seen.add(t),
                    null)) {
                assertEquals(java.util.List.of(876, 751, 626, 501, 376, 251, 126, 1), seen);
                assertArrayEquals(new long[] {1, 3, 128, 128}, got.shape(), "latents from the seed");
            }
            seen.clear();
            org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.CancellationException.class,
                    () -> d.generate(cond, uncond, control, null, o, (step, steps, t, nanos) -> seen.add(t),
                            () -> seen.size() >= 2));
            assertEquals(2, seen.size(), "stopped between steps");
            IllegalArgumentException bad = org.junit.jupiter.api.Assertions.assertThrows(
                    IllegalArgumentException.class, () -> d.generate(control, uncond, control, null, o, null, null));
            assertTrue(bad.getMessage().contains("promptEmbeds"), bad.getMessage());
        }
    }

    @Test
    void sameBitsAtOneAndTwoThreads() throws IOException {
        JsonNode c = cases().get(1); // the shorter one (8 steps, guess mode)
        assertArrayEquals(run(c, 1), run(c, 2));
    }
}
