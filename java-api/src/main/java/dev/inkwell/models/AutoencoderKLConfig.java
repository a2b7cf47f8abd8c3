package dev.inkwell.models;

import com.fasterxml.jackson.databind.JsonNode;
import dev.inkwell.internal.ConfigJson;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The configuration of diffusers' {@code AutoencoderKL}, as its {@code vae/config.json} spells
 * it. Each component is the JSON field of the same name in snake case.
 *
 * <p>Read by {@link #read(Path)}: {@code block_out_channels}, {@code down_block_types} and
 * {@code up_block_types} are required (one entry per resolution level, the three lists of one
 * length); the other fields take diffusers' defaults when absent (in/out channels 3, latent
 * channels 4, layers_per_block 1, norm_num_groups 32, act_fn "silu", scaling_factor 0.18215,
 * mid_block_add_attention, use_quant_conv and use_post_quant_conv true). {@code sample_size},
 * {@code force_upcast}, {@code shift_factor}, {@code latents_mean} and {@code latents_std} are
 * ignored: they describe how a pipeline uses the model, not its forward pass. A field of the
 * wrong JSON type, NaN, a non-positive size, an {@code act_fn} other than "silu" or a block type
 * other than DownEncoderBlock2D / UpDecoderBlock2D is an {@link IOException} naming the file, the
 * field and the value.
 *
 * @param inChannels {@code in_channels}: channels of the image (3)
 * @param outChannels {@code out_channels}: channels of the decoded image (3)
 * @param latentChannels {@code latent_channels}: channels of the latents (4)
 * @param blockOutChannels {@code block_out_channels}: channels per level, encoder order
 *     (128, 256, 512, 512 in SD)
 * @param downBlockTypes {@code down_block_types}: "DownEncoderBlock2D" each
 * @param upBlockTypes {@code up_block_types}: "UpDecoderBlock2D" each
 * @param layersPerBlock {@code layers_per_block}: resnets per encoder level (the decoder has one more)
 * @param normNumGroups {@code norm_num_groups}: groups of every group norm, dividing every
 *     entry of blockOutChannels
 * @param actFn {@code act_fn}: "silu"
 * @param scalingFactor {@code scaling_factor}: latents = posterior sample * this; finite, > 0
 * @param midBlockAddAttention {@code mid_block_add_attention}: whether the mid blocks have their
 *     attention
 * @param useQuantConv {@code use_quant_conv}: whether encode ends with the 1x1 quant_conv
 * @param usePostQuantConv {@code use_post_quant_conv}: whether decode starts with post_quant_conv
 */
public record AutoencoderKLConfig(int inChannels, int outChannels, int latentChannels, List<Integer> blockOutChannels,
        List<String> downBlockTypes, List<String> upBlockTypes, int layersPerBlock, int normNumGroups, String actFn,
        double scalingFactor, boolean midBlockAddAttention, boolean useQuantConv, boolean usePostQuantConv) {
    /** More levels than any VAE has; bounds the work a hostile config can ask for. */
    private static final int MAX_LEVELS = 16;


    /**
     * Validates the values (see the class comment) and copies the lists.
     *
     * @param inChannels positive
     * @param outChannels positive
     * @param latentChannels positive
     * @param blockOutChannels 1..16 positive entries, each divisible by normNumGroups
     * @param downBlockTypes as many "DownEncoderBlock2D" as blockOutChannels has entries
     * @param upBlockTypes as many "UpDecoderBlock2D" as blockOutChannels has entries
     * @param layersPerBlock positive
     * @param normNumGroups positive
     * @param actFn "silu"
     * @param scalingFactor finite and > 0
     * @param midBlockAddAttention any
     * @param useQuantConv any
     * @param usePostQuantConv any
     * @throws NullPointerException if a list, an entry or actFn is null
     * @throws IllegalArgumentException naming the field and its value if one is invalid
     */
    public AutoencoderKLConfig {
        blockOutChannels = List.copyOf(blockOutChannels);
        downBlockTypes = List.copyOf(downBlockTypes);
        upBlockTypes = List.copyOf(upBlockTypes);
        Objects.requireNonNull(actFn, "actFn");
        positive("in_channels", inChannels);
        positive("out_channels", outChannels);
        positive("latent_channels", latentChannels);
        positive("layers_per_block", layersPerBlock);
        positive("norm_num_groups", normNumGroups);
        if (blockOutChannels.isEmpty() || blockOutChannels.size() > MAX_LEVELS) {
            throw new IllegalArgumentException("block_out_channels " + blockOutChannels + " has "
                    + blockOutChannels.size() + " entries, expected 1.." + MAX_LEVELS);
        }
        for (int c : blockOutChannels) {
            if (c < 1 || c % normNumGroups != 0) {
                throw new IllegalArgumentException("block_out_channels entry " + c + " is not a positive multiple of "
                        + "norm_num_groups " + normNumGroups);
            }
        }
        blockTypes("down_block_types", downBlockTypes, "DownEncoderBlock2D", blockOutChannels.size());
        blockTypes("up_block_types", upBlockTypes, "UpDecoderBlock2D", blockOutChannels.size());
        if (!actFn.equals("silu")) {
            throw new IllegalArgumentException("act_fn \"" + actFn + "\" is not supported (silu)");
        }
        if (!Double.isFinite(scalingFactor) || scalingFactor <= 0) {
            throw new IllegalArgumentException("scaling_factor " + scalingFactor + " is not finite and > 0");
        }
    }

    /**
     * Reads and validates a {@code config.json}.
     *
     * @param configFile the file ({@code vae/config.json})
     * @return the configuration
     * @throws IOException if the file cannot be read, is not a JSON object, or a field is
     *     missing, of the wrong type or invalid (the message names the file and the field)
     */
    public static AutoencoderKLConfig read(Path configFile) throws IOException {
        Objects.requireNonNull(configFile, "configFile");
        JsonNode root = ConfigJson.readObject(configFile);
        JsonNode type = root.get("_class_name");
        if (type != null && !(type.isTextual() && type.textValue().equals("AutoencoderKL"))) {
            throw new IOException(configFile + ": _class_name " + type + " is not \"AutoencoderKL\"");
        }
        ConfigFields f = new ConfigFields(configFile, root);
        try {
            return new AutoencoderKLConfig(f.integer("in_channels", 3), f.integer("out_channels", 3),
                    f.integer("latent_channels", 4), f.integers("block_out_channels"), f.texts("down_block_types"),
                    f.texts("up_block_types"), f.integer("layers_per_block", 1), f.integer("norm_num_groups", 32),
                    f.text("act_fn", "silu"), f.number("scaling_factor", 0.18215),
                    f.bool("mid_block_add_attention", true), f.bool("use_quant_conv", true),
                    f.bool("use_post_quant_conv", true));
        } catch (IllegalArgumentException e) {
            throw new IOException(configFile + ": " + e.getMessage(), e);
        }
    }

    private static void positive(String field, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(field + " " + value + " is not positive");
        }
    }

    private static void blockTypes(String field, List<String> types, String supported, int levels) {
        if (types.size() != levels) {
            throw new IllegalArgumentException(field + " has " + types.size() + " entries, block_out_channels "
                    + levels);
        }
        for (String t : types) {
            if (!t.equals(supported)) {
                throw new IllegalArgumentException(field + " entry \"" + t + "\" is not supported (" + supported + ")");
            }
        }
    }

    /** Typed reads of one config's fields; every error names the file and the field. */
    private record ConfigFields(Path file, JsonNode root) {
        int integer(String field, int fallback) throws IOException {
            JsonNode n = root.get(field);
            return n == null || n.isNull() ? fallback : integer(field, n);
        }

        private int integer(String field, JsonNode n) throws IOException {
            if (!n.isIntegralNumber() || !n.canConvertToInt()) {
                throw new IOException(file + ": field " + field + " is " + n + ", expected an integer");
            }
            return n.intValue();
        }

        double number(String field, double fallback) throws IOException {
            JsonNode n = root.get(field);
            if (n == null || n.isNull()) {
                return fallback;
            }
            if (!n.isNumber()) {
                throw new IOException(file + ": field " + field + " is " + n + ", expected a number");
            }
            return n.doubleValue();
        }

        boolean bool(String field, boolean fallback) throws IOException {
            JsonNode n = root.get(field);
            if (n == null || n.isNull()) {
                return fallback;
            }
            if (!n.isBoolean()) {
                throw new IOException(file + ": field " + field + " is " + n + ", expected true or false");
            }
            return n.booleanValue();
        }

        String text(String field, String fallback) throws IOException {
            JsonNode n = root.get(field);
            if (n == null || n.isNull()) {
                return fallback;
            }
            if (!n.isTextual()) {
                throw new IOException(file + ": field " + field + " is " + n + ", expected a string");
            }
            return n.textValue();
        }

        List<Integer> integers(String field) throws IOException {
            List<Integer> out = new ArrayList<>();
            for (JsonNode n : array(field)) {
                out.add(integer(field, n));
            }
            return out;
        }

        List<String> texts(String field) throws IOException {
            List<String> out = new ArrayList<>();
            for (JsonNode n : array(field)) {
                if (!n.isTextual()) {
                    throw new IOException(file + ": field " + field + " has entry " + n + ", expected a string");
                }
                out.add(n.textValue());
            }
            return out;
        }

        private JsonNode array(String field) throws IOException {
            JsonNode n = root.get(field);
            if (n == null || n.isNull()) {
                throw new IOException(file + ": required field " + field + " is missing");
            }
            if (!n.isArray() || n.size() > MAX_LEVELS) {
                throw new IOException(file + ": field " + field + " is " + n + ", expected a list of at most "
                        + MAX_LEVELS + " entries");
            }
            return n;
        }
    }
}
