package dev.inkwell.pipeline;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.inkwell.models.AutoencoderKLConfig;
import dev.inkwell.models.ClipTextConfig;
import dev.inkwell.models.ControlNetModelConfig;
import dev.inkwell.models.UNet2DConditionModelConfig;
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
 * @param unet the U-Net's configuration
 * @param controlnetConfig ControlNet's configuration
 * @param notes what was assumed, one line each
 */
public record ModelFolders(Path stableDiffusion, Path controlnet, SchedulerConfig scheduler,
        ClipTextConfig textEncoder, AutoencoderKLConfig vae, UNet2DConditionModelConfig unet,
        ControlNetModelConfig controlnetConfig, List<String> notes) {
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
     * @param unet the U-Net's configuration
     * @param controlnetConfig ControlNet's configuration
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
        Path uf = unetDir.resolve("config.json"), cf = controlnet.resolve("config.json");
        Path tf = stableDiffusion.resolve("text_encoder").resolve("config.json");
        Path vf = stableDiffusion.resolve("vae").resolve("config.json");
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
        UNet2DConditionModelConfig unet = read(problems, () -> UNet2DConditionModelConfig.read(existing(uf)));
        ControlNetModelConfig cn = read(problems, () -> ControlNetModelConfig.read(existing(cf)));
        ClipTextConfig text = read(problems, () -> ClipTextConfig.read(existing(tf)));
        AutoencoderKLConfig vae = read(problems, () -> AutoencoderKLConfig.read(existing(vf)));
        SchedulerConfig scheduler = read(problems, () -> SchedulerConfig.read(
                stableDiffusion.resolve("scheduler").resolve("scheduler_config.json")));
        if (scheduler != null) {
            notes.addAll(scheduler.notes());
        }
        if (unet != null && cn != null && vae != null) {
            problems.addAll(fitProblems(uf, unet, cf, cn, vf, vae));
        }
        if (text != null) {
            if (unet != null && unet.crossAttentionDim() != text.hiddenSize()) {
                problems.add(uf + ": field cross_attention_dim is " + unet.crossAttentionDim() + ", the text encoder's "
                        + "hidden_size is " + text.hiddenSize() + " (" + tf + ")");
            }
            if (cn != null && cn.crossAttentionDim() != text.hiddenSize()) {
                problems.add(cf + ": field cross_attention_dim is " + cn.crossAttentionDim() + ", the text encoder's "
                        + "hidden_size is " + text.hiddenSize() + " (" + tf + ")");
            }
        }
        boolean globalPool = cn != null && cn.globalPoolConditions();
        if (globalPool) {
            notes.add(cf + ": global_pool_conditions: guess mode is on, as in diffusers");
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
        return new ModelFolders(stableDiffusion, controlnet, scheduler, text, vae, unet, cn, notes);
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

    /**
     * The problems that keep a U-Net, a ControlNet and a VAE from working together, one line
     * each naming the file and the field (empty when they fit).
     */
    static List<String> fitProblems(Path unetFile, UNet2DConditionModelConfig unet, Path controlnetFile,
            ControlNetModelConfig cn, Path vaeFile, AutoencoderKLConfig vae) {
        List<String> problems = new ArrayList<>();
        int latent = vae.latentChannels();
        if (unet.inChannels() != latent) {
            problems.add(unetFile + ": field in_channels is " + unet.inChannels() + ", the VAE's latent_channels is "
                    + latent + " (" + vaeFile + ")");
        }
        if (unet.outChannels() != latent) {
            problems.add(unetFile + ": field out_channels is " + unet.outChannels() + ", the VAE's latent_channels is "
                    + latent + " (" + vaeFile + ")");
        }
        if (cn.inChannels() != latent) {
            problems.add(controlnetFile + ": field in_channels is " + cn.inChannels() + ", the VAE's latent_channels is "
                    + latent + " (" + vaeFile + ")");
        }
        if (cn.crossAttentionDim() != unet.crossAttentionDim()) {
            problems.add(controlnetFile + ": field cross_attention_dim is " + cn.crossAttentionDim() + ", the U-Net's is "
                    + unet.crossAttentionDim() + " (" + unetFile + ")");
        }
        // ControlNet's residuals are added to the U-Net's skip connections one for one
        if (!cn.blockOutChannels().equals(unet.blockOutChannels())) {
            problems.add(controlnetFile + ": field block_out_channels is " + cn.blockOutChannels() + ", the U-Net's is "
                    + unet.blockOutChannels() + " (" + unetFile + ")");
        }
        if (cn.downBlockTypes().size() != unet.downBlockTypes().size()) {
            problems.add(controlnetFile + ": field down_block_types has " + cn.downBlockTypes().size()
                    + " entries, the U-Net's " + unet.downBlockTypes().size() + " (" + unetFile + ")");
        }
        for (int layers : unet.layersPerBlock()) {
            if (layers != cn.layersPerBlock()) {
                problems.add(controlnetFile + ": field layers_per_block is " + cn.layersPerBlock() + ", the U-Net's is "
                        + unet.layersPerBlock() + " (" + unetFile + ")");
                break;
            }
        }
        if (cn.conditioningChannels() != 3) {
            problems.add(controlnetFile + ": field conditioning_channels is " + cn.conditioningChannels()
                    + ", expected 3 (an RGB control image)");
        }
        int factor = 1 << (vae.blockOutChannels().size() - 1);
        if (cn.conditioningFactor() != factor) {
            problems.add(controlnetFile + ": field conditioning_embedding_out_channels downsamples the control image "
                    + cn.conditioningFactor() + "x, the VAE " + factor + "x (" + vaeFile + ")");
        }
        return problems;
    }
}
