package dev.inkwell.pipeline;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.inkwell.models.AutoencoderKLConfig;
import dev.inkwell.models.ClipTextConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A Stable Diffusion folder in diffusers' layout and a ControlNet folder, checked to be
 * complete and to fit together from their small JSON files alone, before any weight is read.
 *
 * <p>The Stable Diffusion folder holds {@code model_index.json}, {@code unet/},
 * {@code vae/}, {@code text_encoder/} (each {@code config.json} and safetensors weights, or
 * their {@code fp16} variant), {@code tokenizer/} ({@code vocab.json}, {@code merges.txt}) and
 * {@code scheduler/scheduler_config.json}; the ControlNet folder {@code config.json} and
 * weights. They fit when the text encoder's {@code hidden_size} is the U-Net's and ControlNet's
 * {@code cross_attention_dim}, the VAE's {@code latent_channels} is the U-Net's
 * {@code in_channels} and {@code out_channels} and ControlNet's {@code in_channels}, ControlNet
 * has the U-Net's {@code block_out_channels}, {@code layers_per_block} and number of down blocks
 * (its residuals are added to the U-Net's skip connections one for one), ControlNet takes 3
 * {@code conditioning_channels}, and the tokenizer's length fits the text encoder's positions.
 * Every problem found is one line of the exception's message, naming the file and the field.
 *
 * @param stableDiffusion the Stable Diffusion folder
 * @param controlnet the ControlNet folder
 * @param scheduler the DDIM scheduler of {@code scheduler/scheduler_config.json}
 * @param textEncoder the text encoder's configuration
 * @param vae the VAE's configuration
 * @param globalPoolConditions ControlNet's {@code global_pool_conditions} (diffusers then runs in
 *     guess mode whatever the caller asked)
 * @param notes what was assumed, one line each
 */
public record ModelFolders(Path stableDiffusion, Path controlnet, SchedulerConfig scheduler,
        ClipTextConfig textEncoder, AutoencoderKLConfig vae, boolean globalPoolConditions, List<String> notes) {
    private static final long MAX_JSON_BYTES = 1 << 20;
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build();
    private static final Map<String, String> COMPONENTS = Map.of("unet", "UNet2DConditionModel", "vae",
            "AutoencoderKL", "text_encoder", "CLIPTextModel", "tokenizer", "CLIPTokenizer");

    /**
     * Copies the notes.
     *
     * @param stableDiffusion the Stable Diffusion folder
     * @param controlnet the ControlNet folder
     * @param scheduler the scheduler
     * @param textEncoder the text encoder's configuration
     * @param vae the VAE's configuration
     * @param globalPoolConditions ControlNet's global_pool_conditions
     * @param notes what was assumed
     */
    public ModelFolders {
        notes = List.copyOf(notes);
    }

    /**
     * Checks both folders (JSON files and the presence of weights only: fast).
     *
     * @param stableDiffusion the Stable Diffusion folder
     * @param controlnet the ControlNet folder
     * @return the checked folders
     * @throws IOException listing every problem, one line each, naming the file and the field
     * @throws NullPointerException if a folder is null
     */
    public static ModelFolders check(Path stableDiffusion, Path controlnet) throws IOException {
        Objects.requireNonNull(stableDiffusion, "stableDiffusion");
        Objects.requireNonNull(controlnet, "controlnet");
        List<String> problems = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        if (!Files.isDirectory(stableDiffusion)) {
            throw new IOException(stableDiffusion + ": no such folder (the Stable Diffusion model, diffusers layout)");
        }
        if (!Files.isDirectory(controlnet)) {
            throw new IOException(controlnet + ": no such folder (the ControlNet model, diffusers layout)");
        }
        JsonNode index = json(stableDiffusion.resolve("model_index.json"), problems);
        if (index != null) {
            String cls = index.path("_class_name").asText("");
            if (!cls.equals("StableDiffusionPipeline") && !cls.equals("StableDiffusionControlNetPipeline")) {
                problems.add(stableDiffusion.resolve("model_index.json") + ": _class_name \"" + cls
                        + "\" is not StableDiffusionPipeline or StableDiffusionControlNetPipeline");
            }
            for (Map.Entry<String, String> c : COMPONENTS.entrySet()) {
                JsonNode entry = index.get(c.getKey());
                if (entry == null || !entry.isArray() || entry.size() != 2
                        || !entry.get(1).asText().equals(c.getValue())) {
                    problems.add(stableDiffusion.resolve("model_index.json") + ": field " + c.getKey() + " is "
                            + entry + ", expected [\"...\", \"" + c.getValue() + "\"]");
                }
            }
        }
        Path unetDir = stableDiffusion.resolve("unet");
        JsonNode unet = json(unetDir.resolve("config.json"), problems);
        JsonNode cn = json(controlnet.resolve("config.json"), problems);
        weights(unetDir, problems);
        weights(stableDiffusion.resolve("vae"), problems);
        weights(stableDiffusion.resolve("text_encoder"), problems);
        weights(controlnet, problems);
        for (String f : List.of("vocab.json", "merges.txt")) {
            Path p = stableDiffusion.resolve("tokenizer").resolve(f);
            if (!Files.isRegularFile(p)) {
                problems.add(p + ": no such file");
            }
        }
        ClipTextConfig text = read(problems, () -> ClipTextConfig.read(
                existing(stableDiffusion.resolve("text_encoder").resolve("config.json"))));
        AutoencoderKLConfig vae = read(problems, () -> AutoencoderKLConfig.read(
                existing(stableDiffusion.resolve("vae").resolve("config.json"))));
        SchedulerConfig scheduler = read(problems, () -> SchedulerConfig.read(
                stableDiffusion.resolve("scheduler").resolve("scheduler_config.json")));
        if (scheduler != null) {
            notes.addAll(scheduler.notes());
        }
        boolean globalPool = false;
        if (unet != null && cn != null) {
            Path uf = unetDir.resolve("config.json"), cf = controlnet.resolve("config.json");
            if (text != null) {
                sameInt(problems, uf, unet, "cross_attention_dim", text.hiddenSize(),
                        "the text encoder's hidden_size");
                sameInt(problems, cf, cn, "cross_attention_dim", text.hiddenSize(), "the text encoder's hidden_size");
            }
            if (vae != null) {
                sameInt(problems, uf, unet, "in_channels", vae.latentChannels(), "the VAE's latent_channels");
                sameInt(problems, uf, unet, "out_channels", vae.latentChannels(), "the VAE's latent_channels");
                sameInt(problems, cf, cn, "in_channels", vae.latentChannels(), "the VAE's latent_channels");
            }
            for (String field : List.of("block_out_channels", "layers_per_block")) {
                if (!Objects.equals(unet.get(field), cn.get(field))) {
                    problems.add(cf + ": field " + field + " is " + cn.get(field) + ", the U-Net's is "
                            + unet.get(field) + " (" + uf + "); ControlNet's residuals must match its skip connections");
                }
            }
            if (unet.path("down_block_types").size() != cn.path("down_block_types").size()) {
                problems.add(cf + ": field down_block_types has " + cn.path("down_block_types").size()
                        + " entries, the U-Net's " + unet.path("down_block_types").size());
            }
            JsonNode channels = cn.get("conditioning_channels");
            if (channels != null && !channels.isNull() && channels.asInt(-1) != 3) {
                problems.add(cf + ": field conditioning_channels is " + channels + ", expected 3 (an RGB control "
                        + "image)");
            }
            JsonNode order = cn.get("controlnet_conditioning_channel_order");
            if (order != null && order.asText().equals("bgr")) {
                // diffusers flips the control image's channels; the Canny map has three equal ones
                notes.add(cf + ": controlnet_conditioning_channel_order bgr: the same for a Canny map's equal channels");
            } else if (order != null && !order.isNull() && !order.asText().equals("rgb")) {
                problems.add(cf + ": field controlnet_conditioning_channel_order is " + order + ", expected rgb or bgr");
            }
            globalPool = cn.path("global_pool_conditions").asBoolean(false);
            if (globalPool) {
                notes.add(cf + ": global_pool_conditions: guess mode is on, as in diffusers");
            }
        }
        if (text != null) {
            int positions = text.maxPositionEmbeddings();
            if (positions < 77) {
                problems.add(stableDiffusion.resolve("text_encoder").resolve("config.json")
                        + ": field max_position_embeddings is " + positions + ", the tokenizer pads to 77");
            }
        }
        if (!problems.isEmpty()) {
            throw new IOException(problems.size() == 1 ? problems.get(0)
                    : "the models do not fit or are incomplete (" + problems.size() + " problems):\n  "
                            + String.join("\n  ", problems));
        }
        return new ModelFolders(stableDiffusion, controlnet, scheduler, text, vae, globalPool, notes);
    }

    /**
     * The weights variant to open in a component folder: null for the plain files, "fp16"
     * when only {@code *.fp16.safetensors} (or its index) is there.
     *
     * @param dir a component folder (unet, vae, text_encoder or the ControlNet folder)
     * @return null or "fp16"
     */
    public static String variant(Path dir) {
        for (String base : List.of("diffusion_pytorch_model", "model")) {
            if (Files.isRegularFile(dir.resolve(base + ".safetensors"))
                    || Files.isRegularFile(dir.resolve(base + ".safetensors.index.json"))) {
                return null;
            }
        }
        for (String base : List.of("diffusion_pytorch_model", "model")) {
            if (Files.isRegularFile(dir.resolve(base + ".fp16.safetensors"))
                    || Files.isRegularFile(dir.resolve(base + ".safetensors.index.fp16.json"))) {
                return "fp16";
            }
        }
        return null;
    }

    private static void weights(Path dir, List<String> problems) {
        if (!Files.isDirectory(dir)) {
            problems.add(dir + ": no such folder");
            return;
        }
        boolean any = false;
        for (String base : List.of("diffusion_pytorch_model", "model")) {
            for (String v : List.of("", ".fp16")) {
                any |= Files.isRegularFile(dir.resolve(base + v + ".safetensors"))
                        || Files.isRegularFile(dir.resolve(base + ".safetensors.index" + v + ".json"));
            }
        }
        if (!any) {
            problems.add(dir + ": no safetensors weights (diffusion_pytorch_model[.fp16].safetensors or model[.fp16]"
                    + ".safetensors; .bin checkpoints are not read)");
        }
    }

    private static Path existing(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + ": no such file");
        }
        return file;
    }

    @FunctionalInterface
    private interface Reader<T> {
        T read() throws IOException;
    }

    private static <T> T read(List<String> problems, Reader<T> reader) {
        try {
            return reader.read();
        } catch (IOException e) {
            problems.add(e.getMessage());
            return null;
        }
    }

    private static JsonNode json(Path file, List<String> problems) {
        try {
            if (!Files.isRegularFile(file)) {
                problems.add(file + ": no such file");
                return null;
            }
            if (Files.size(file) > MAX_JSON_BYTES) {
                problems.add(file + ": over " + MAX_JSON_BYTES + " bytes");
                return null;
            }
            JsonNode root = JSON.readTree(Files.readAllBytes(file));
            if (root == null || !root.isObject()) {
                problems.add(file + ": not a JSON object");
                return null;
            }
            return root;
        } catch (JacksonException e) {
            problems.add(file + ": not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            problems.add(file + ": " + e.getMessage());
        }
        return null;
    }

    private static void sameInt(List<String> problems, Path file, JsonNode root, String field, int want,
            String what) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) { // diffusers' default: 4 channels, 1280 wide cross-attention
            n = com.fasterxml.jackson.databind.node.IntNode.valueOf(field.equals("cross_attention_dim") ? 1280 : 4);
        }
        boolean ok = n.isIntegralNumber() && n.intValue() == want;
        if (n.isArray()) { // diffusers allows one value per block
            ok = n.size() > 0;
            for (JsonNode e : n) {
                ok &= e.isIntegralNumber() && e.intValue() == want;
            }
        }
        if (!ok) {
            problems.add(file + ": field " + field + " is " + n + ", " + what + " is " + want);
        }
    }
}
