package dev.inkwell.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.inkwell.DdimScheduler;
import dev.inkwell.Tensor;
import dev.inkwell.pipeline.ColorizeOptions;
import dev.inkwell.pipeline.ControlNetDenoiser;
import dev.inkwell.pipeline.SchedulerConfig;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code pipeline} cases of the models manifest: diffusers'
 * {@code StableDiffusionControlNetPipeline(prompt_embeds, negative_prompt_embeds, image, latents,
 * eta, output_type="pt")} with a {@code DDIMScheduler} from the case's {@code scheduler} config,
 * on the manifest's U-Net, ControlNet and VAE ({@code model_dirs}), through
 * {@link ControlNetDenoiser#generate}. The picture [1, 3, H, W] in [0, 1] is compared with
 * {@code expected} within the case's tolerance; the case's {@code timesteps} must be the
 * scheduler's.
 */
final class GoldenPipelineCases {
    /** The manifest keys this class answers for. */
    static final Set<String> KINDS = Set.of("pipeline");

    private final GoldenCases g;

    GoldenPipelineCases(GoldenCases cases) {
        this.g = cases;
    }

    List<GoldenCases.Case> expand(String kind, Object entries) {
        List<GoldenCases.Case> out = new ArrayList<>();
        for (Object o : (List<?>) entries) {
            Map<?, ?> c = (Map<?, ?>) o;
            String name = GoldenCases.text(c, "name");
            out.add(new GoldenCases.Case(kind, name, () -> pipeline(c, name)));
        }
        return out;
    }

    private GoldenCases.Result pipeline(Map<?, ?> c, String name) throws IOException {
        Map<?, ?> tol = GoldenCases.object(c, "tolerance");
        double atol = GoldenCases.number(tol, "atol"), rtol = GoldenCases.number(tol, "rtol");
        String schedulerJson = new ObjectMapper().writeValueAsString(integral(GoldenCases.object(c, "scheduler")));
        DdimScheduler scheduler = SchedulerConfig.parse(schedulerJson, "pipeline case " + name + " scheduler")
                .scheduler();
        int steps = (int) GoldenCases.number(c, "num_inference_steps");
        int[] want = ((List<?>) c.get("timesteps")).stream().mapToInt(v -> ((Number) v).intValue()).toArray();
        if (!Arrays.equals(want, scheduler.timesteps(steps))) {
            return new GoldenCases.Result(false, "pipeline", name, "timesteps " + Arrays.toString(
                    scheduler.timesteps(steps)) + ", the case's " + Arrays.toString(want));
        }
        ColorizeOptions options = ColorizeOptions.builder("").steps(steps)
                .guidanceScale(GoldenCases.number(c, "guidance_scale")).eta(GoldenCases.number(c, "eta"))
                .controlStrength(GoldenCases.number(c, "controlnet_conditioning_scale"))
                .guessMode(Boolean.TRUE.equals(c.get("guess_mode")))
                .controlGuidance(number(c, "control_guidance_start", 0), number(c, "control_guidance_end", 1))
                .build();
        String expected = GoldenCases.text(c, "expected");
        try (ControlNetDenoiser denoiser = ControlNetDenoiser.load(g.golden.resolve("unet"),
                g.golden.resolve("controlnet"), g.golden.resolve("vae"), scheduler, g.inkwell); // model_dirs
                Tensor cond = input(c, "prompt_embeds");
                Tensor uncond = input(c, "negative_prompt_embeds");
                Tensor control = input(c, "control_image");
                Tensor latents = input(c, "latents");
                Tensor wantImage = Tensor.readNpy(g.golden.resolve(expected))) {
            long start = System.nanoTime();
            try (Tensor got = denoiser.generate(cond, uncond, control, latents, options, null, null)) {
                double ms = (System.nanoTime() - start) / 1e6;
                g.save(got, expected);
                if (!Arrays.equals(got.shape(), wantImage.shape())) {
                    return new GoldenCases.Result(false, "pipeline", name, "shape " + Arrays.toString(got.shape())
                            + ", expected " + Arrays.toString(wantImage.shape()));
                }
                return GoldenCases.compareTensors("pipeline", name, got.toArray(), wantImage.toArray(), atol, rtol,
                        ms);
            }
        }
    }

    /** The manifest reader makes every number a Double; the scheduler config wants its integers back. */
    private static Map<String, Object> integral(Map<?, ?> m) {
        Map<String, Object> out = new java.util.LinkedHashMap<>();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            Object v = e.getValue();
            out.put(String.valueOf(e.getKey()), v instanceof Double d && d == Math.rint(d) && Math.abs(d) < 1e15
                    ? (Object) d.longValue() : v);
        }
        return out;
    }

    private Tensor input(Map<?, ?> c, String key) throws IOException {
        return g.input(Tensor.readNpy(g.golden.resolve(GoldenCases.text(c, key))));
    }

    private static double number(Map<?, ?> c, String key, double fallback) {
        return c.get(key) instanceof Number n ? n.doubleValue() : fallback;
    }
}
