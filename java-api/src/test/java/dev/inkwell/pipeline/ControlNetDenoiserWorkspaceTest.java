package dev.inkwell.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.inkwell.Golden;
import dev.inkwell.Inkwell;
import dev.inkwell.LiveMemory;
import dev.inkwell.Tensor;
import dev.inkwell.Workspace;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The whole image half of the pipeline (golden models: U-Net, ControlNet, VAE) in a caller's
 * workspace: steps after the first allocate nothing, the decode runs after a trim (so the
 * workspace ends holding the decode's blocks, not the loop's as well), and the picture is the
 * bits of {@link ControlNetDenoiser#generate} (its own workspace) and of a run with poisoned blocks.
 */
class ControlNetDenoiserWorkspaceTest {
    @Test
    void stepsAfterTheFirstAllocateNothingAndTheDecodeFollowsATrim() throws IOException {
        Path models = Golden.dir().resolve("models");
        JsonNode c = new ObjectMapper().readTree(models.resolve("manifest.json").toFile()).get("pipeline").get(1);
        SchedulerConfig scheduler = SchedulerConfig.parse(c.get("scheduler").toString(), "case scheduler");
        ColorizeOptions o = ColorizeOptions.builder("").steps(4).guidanceScale(4).build();
        long live = LiveMemory.ownedBytes();
        try (Inkwell inkwell = Inkwell.builder().threads(2).build();
                ControlNetDenoiser d = ControlNetDenoiser.load(models.resolve("unet"), models.resolve("controlnet"),
                        models.resolve("vae"), scheduler.scheduler(), inkwell);
                Tensor cond = Tensor.readNpy(models.resolve(c.get("prompt_embeds").asText()));
                Tensor uncond = Tensor.readNpy(models.resolve(c.get("negative_prompt_embeds").asText()));
                Tensor control = Tensor.readNpy(models.resolve(c.get("control_image").asText()));
                Tensor latents = Tensor.readNpy(models.resolve(c.get("latents").asText()))) {
            float[] want;
            try (Tensor got = d.generate(cond, uncond, control, latents, o, null, null)) {
                want = got.toArray();
            }
            long withModels = LiveMemory.ownedBytes();
            System.setProperty(Workspace.POISON_PROPERTY, "true");
            Workspace ws;
            try {
                ws = Workspace.create(inkwell);
            } finally {
                System.clearProperty(Workspace.POISON_PROPERTY);
            }
            try (ws) {
                List<Long> allocated = new ArrayList<>();
                ColorizeProgress progress = (step, steps, t, nanos) -> {
                    allocated.add(ws.stats().blocksAllocated());
                };
                ControlNetDenoiser.Result r = d.run(cond, uncond, control, latents, o, progress, null, ws);
                try (Tensor got = r.image()) {
                    assertArrayEquals(want, got.toArray(), "the bits of generate()");
                }
                for (int i = 1; i < allocated.size(); i++) {
                    assertEquals(allocated.get(0), allocated.get(i), "step " + (i + 1) + " allocated: " + allocated);
                }
                Workspace.Stats end = ws.stats();
                assertEquals(0, end.blocksLent(), end.toString());
                assertTrue(end.blocksAllocated() > allocated.get(0), "the decode allocated its own blocks: " + end);
                // Held at the end: the decode's new blocks and the final latents' block, lent during
                // the decode. Without the trim the loop's free blocks would be held as well.
                long decodeNew = end.blocksAllocated() - allocated.get(allocated.size() - 1);
                assertEquals(decodeNew + 1, end.blocksFree() + end.blocksLent(), "after the trim: " + end);
                assertEquals(withModels + end.bytesHeld(), LiveMemory.ownedBytes());
            }
            assertEquals(withModels, LiveMemory.ownedBytes());
        }
        assertEquals(live, LiveMemory.ownedBytes());
    }
}
