package dev.inkwell.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.inkwell.Golden;
import dev.inkwell.Image;
import dev.inkwell.Tensor;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code inkwell colorize} end to end on a tiny Stable Diffusion folder assembled in a temp
 * folder from the golden models (unet, vae, controlnet; clip's text_encoder and tokenizer,
 * whose hidden_size 32 is the tiny U-Net's cross_attention_dim), with a scheduler config and
 * model_index.json written here.
 *
 * <p>What it proves: (1) the whole command runs from a drawing and a text prompt (annotator,
 * tokenizer, text encoder, ControlNet, U-Net, DDIM, VAE, atomic PNG write) and gives the same
 * file bytes at 1 and 2 threads; (2) through the prompt-embeddings path of the same command the
 * PNG is diffusers' picture (the golden pipeline cases, float64 diffusers) within +-2 per 8-bit
 * channel. diffusers is not installed here, so there is no reference for the text-prompt run
 * itself: its equality with diffusers rests on the tokenizer and text encoder golden cases plus
 * (2). (3) Bad input fails with one line and exit 2 before the models load, writing nothing.
 */
class ColorizeCommandTest {
    @TempDir
    Path tmp;
    Path sd;
    Path controlnet;

    private static Path models() {
        return Golden.dir().resolve("models");
    }

    private static JsonNode pipelineCase(int i) throws IOException {
        return new ObjectMapper().readTree(models().resolve("manifest.json").toFile()).get("pipeline").get(i);
    }

    @BeforeEach
    void assemble() throws IOException {
        sd = tmp.resolve("sd");
        controlnet = tmp.resolve("controlnet");
        assembleFolder(models(), sd, controlnet);
    }

    /**
     * The tiny Stable Diffusion folder at {@code sd} (golden unet, vae, clip text encoder and
     * tokenizer linked, the first pipeline case's scheduler config, a model_index.json) and the
     * golden ControlNet linked at {@code controlnet}; also used by ColorizeDiffusersReferenceTest.
     */
    static void assembleFolder(Path models, Path sd, Path controlnet) throws IOException {
        Files.createDirectories(sd.resolve("scheduler"));
        Files.createSymbolicLink(sd.resolve("unet"), models.resolve("unet").toAbsolutePath());
        Files.createSymbolicLink(sd.resolve("vae"), models.resolve("vae").toAbsolutePath());
        Files.createSymbolicLink(sd.resolve("text_encoder"), models.resolve("clip/text_encoder").toAbsolutePath());
        Files.createSymbolicLink(sd.resolve("tokenizer"), models.resolve("clip/tokenizer").toAbsolutePath());
        Files.writeString(sd.resolve("scheduler/scheduler_config.json"), new ObjectMapper().readTree(
                models.resolve("manifest.json").toFile()).get("pipeline").get(0).get("scheduler").toString());
        Files.writeString(sd.resolve("model_index.json"), """
                {"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.21.4",
                 "scheduler": ["diffusers", "DDIMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
                 "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
                 "vae": ["diffusers", "AutoencoderKL"], "safety_checker": [null, null],
                 "feature_extractor": [null, null], "requires_safety_checker": false}""");
        Files.createSymbolicLink(controlnet, models.resolve("controlnet").toAbsolutePath());
    }

    record Run(int status, String out, String err) {}

    static Run cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private Path drawing() throws IOException {
        Path p = tmp.resolve("drawing.png");
        writeDrawing(p);
        return p;
    }

    /** The test's line drawing, 192x128 RGB: an ellipse and a line, black on white, as PNG at {@code p}. */
    static void writeDrawing(Path p) throws IOException {
        BufferedImage img = new BufferedImage(192, 128, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, 192, 128);
        g.setColor(Color.BLACK);
        g.setStroke(new BasicStroke(3));
        g.drawOval(30, 20, 90, 80);
        g.drawLine(10, 110, 180, 15);
        g.dispose();
        ImageIO.write(img, "png", p.toFile());
    }

    private List<String> common(String... more) {
        List<String> a = new ArrayList<>(List.of("colorize", "--model", sd.toString(), "--controlnet",
                controlnet.toString()));
        a.addAll(List.of(more));
        return a;
    }

    @Test
    void fromADrawingTheSameFileAtOneAndTwoThreads() throws IOException {
        Path drawing = drawing();
        // resolution 128: the 192x128 drawing (W x H) stays 192x128, latents [1, 4, 16, 24]
        float[] z = new float[4 * 16 * 24];
        java.util.Random r = new java.util.Random(5);
        for (int i = 0; i < z.length; i++) {
            z[i] = (float) r.nextGaussian();
        }
        Path latents = tmp.resolve("latents.npy");
        try (Tensor t = Tensor.fromArray(z, 1, 4, 16, 24)) {
            t.writeNpy(latents);
        }
        byte[][] files = new byte[2][];
        for (int threads = 1; threads <= 2; threads++) {
            Path out = tmp.resolve("out" + threads + "/colored.png"), control = tmp.resolve("control" + threads + ".png");
            List<String> a = common(drawing.toString(), "--prompt", "a red bird", "--added-prompt", "watercolor",
                    "--steps", "4", "--resolution", "128", "--latents", latents.toString(), "--threads",
                    String.valueOf(threads), "--out", out.toString(), "--save-control", control.toString());
            Run run = cli(a.toArray(String[]::new));
            assertEquals(0, run.status(), run.err());
            assertTrue(run.out().contains("wrote " + out), run.out());
            assertTrue(run.err().contains("step 4/4"), run.err());
            files[threads - 1] = Files.readAllBytes(out);
            try (Image img = Image.read(out); Image ctl = Image.read(control)) {
                assertEquals(192, img.width());
                assertEquals(128, img.height());
                assertEquals(3, img.channels());
                assertEquals(192, ctl.width());
            }
            try (Stream<Path> left = Files.list(out.getParent())) {
                assertEquals(List.of(out), left.toList(), "no temporary file left next to the output");
            }
        }
        assertArrayEquals(files[0], files[1], "1 and 2 threads give the same file");
        // and --json reports what was done, the seed path too (no --latents)
        Run json = cli(common(drawing.toString(), "--prompt", "a cat", "--steps", "2", "--resolution", "64", "--seed",
                "11", "--json", "--out", tmp.resolve("j.png").toString()).toArray(String[]::new));
        assertEquals(0, json.status(), json.err());
        JsonNode j = new ObjectMapper().readTree(json.out());
        assertEquals(11, j.get("seed").asLong());
        assertEquals(tmp.resolve("j.png").toString(), j.get("output").asText());
        assertTrue(j.get("timings").get("denoise_s").asDouble() > 0);
    }

    @Test
    void promptEmbeddingsPathGivesDiffusersPictureWithinTwoLevels() throws IOException {
        for (int i = 0; i < 2; i++) {
            JsonNode c = pipelineCase(i);
            Path out = tmp.resolve("golden" + i + ".png");
            List<String> a = common("--prompt-embeds", models().resolve(c.get("prompt_embeds").asText()).toString(),
                    "--negative-prompt-embeds", models().resolve(c.get("negative_prompt_embeds").asText()).toString(),
                    "--control-image", models().resolve(c.get("control_image").asText()).toString(),
                    "--latents", models().resolve(c.get("latents").asText()).toString(),
                    "--steps", c.get("num_inference_steps").asText(), "--guidance", c.get("guidance_scale").asText(),
                    "--strength", c.get("controlnet_conditioning_scale").asText(), "--out", out.toString());
            if (c.get("guess_mode").asBoolean()) {
                a.add("--guess-mode");
            }
            Run run = cli(a.toArray(String[]::new));
            assertEquals(0, run.status(), run.err());
            try (Image img = Image.read(out); Tensor want = Tensor.readNpy(models().resolve(c.get("expected").asText()))) {
                int h = img.height(), w = img.width();
                float[] v = want.toArray();
                int worst = 0;
                for (int ch = 0; ch < 3; ch++) {
                    for (int y = 0; y < h; y++) {
                        for (int x = 0; x < w; x++) {
                            int ref = (int) Math.rint(v[(ch * h + y) * w + x] * 255.0);
                            worst = Math.max(worst, Math.abs(img.get(y, x, ch) - ref));
                        }
                    }
                }
                assertTrue(worst <= 2, c.get("name") + ": worst 8-bit difference " + worst);
            }
        }
    }

    @Test
    void badInputIsOneLineBeforeAnyWorkAndWritesNothing() throws IOException {
        Path drawing = drawing();
        Path out = tmp.resolve("never.png");
        Path notAnImage = tmp.resolve("text.png");
        Files.writeString(notAnImage, "not a png");
        Path wideText = tmp.resolve("wide_text_encoder");
        Files.createDirectories(wideText);
        Files.writeString(wideText.resolve("config.json"), Files.readString(models().resolve(
                "clip/text_encoder/config.json")).replace("\"hidden_size\": 32", "\"hidden_size\": 64"));
        Files.createSymbolicLink(wideText.resolve("model.safetensors"),
                models().resolve("clip/text_encoder/model.safetensors").toAbsolutePath());
        Path misfit = tmp.resolve("misfit");
        Files.createDirectories(misfit);
        for (String part : List.of("unet", "vae", "tokenizer", "scheduler", "model_index.json")) {
            Files.createSymbolicLink(misfit.resolve(part), sd.resolve(part).toRealPath());
        }
        Files.createSymbolicLink(misfit.resolve("text_encoder"), wideText);
        String[][] cases = {
            {"--model", tmp.resolve("nowhere").toString(), "nowhere"},
            {"--controlnet", tmp.resolve("no-controlnet").toString(), "no-controlnet"},
            {"--model", misfit.toString(), "unet/config.json: field cross_attention_dim is 32, the text encoder's "
                    + "hidden_size is 64"},
            {"DRAWING", notAnImage.toString(), "text.png"},
            {"DRAWING", tmp.resolve("missing.png").toString(), "missing.png"},
            {"--resolution", "32", "resolution"},
            {"--steps", "0", "steps"},
            {"--guidance", "NaN", "guidance"},
            {"--latents", tmp.resolve("absent.npy").toString(), "absent.npy"},
            {"--out", tmp.resolve("x.jpg").toString(), ".png"},
        };
        for (String[] c : cases) {
            String model = c[0].equals("--model") ? c[1] : sd.toString();
            String cn = c[0].equals("--controlnet") ? c[1] : controlnet.toString();
            List<String> a = new ArrayList<>(List.of("colorize", c[0].equals("DRAWING") ? c[1] : drawing.toString(),
                    "--model", model, "--controlnet", cn, "--prompt", "x", "--out", out.toString()));
            if (!c[0].equals("--model") && !c[0].equals("--controlnet") && !c[0].equals("DRAWING")) {
                a.add(c[0]);
                a.add(c[1]);
            }
            Run run = cli(a.toArray(String[]::new));
            assertEquals(2, run.status(), String.join(" ", c) + ": " + run.err());
            String err = run.err().strip();
            assertTrue(err.contains(c[2]), c[0] + " " + c[1] + " -> " + err);
            // one line per problem: a single problem is one line; several are counted on the first
            long lines = err.lines().count();
            assertTrue(lines == 1 || err.lines().findFirst().orElseThrow().endsWith("(" + (lines - 1) + " problems):"),
                    "one line per problem: " + err);
            assertFalse(err.contains("loading models"), "before any weight is read: " + err);
            assertFalse(Files.exists(out), "nothing written");
        }
    }
}
