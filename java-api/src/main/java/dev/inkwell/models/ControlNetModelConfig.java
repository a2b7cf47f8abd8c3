package dev.inkwell.models;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The configuration of diffusers' {@code ControlNetModel} (v0.21.4, controlnet.py), as its
 * {@code config.json} spells it. Each component is the JSON field of the same name in snake
 * case; the "int or per-block list" fields are kept as one entry per level.
 *
 * <p>Read by {@link #read(Path)}; absent or null fields take diffusers' defaults (SD 1.x sizes,
 * conditioning_embedding_out_channels 16/32/96/256, "rgb", no global pooling). The U-Net fields
 * are validated as in {@link UNet2DConditionModelConfig} (same refusals, except that
 * {@code num_attention_heads} is supported here, as diffusers' ControlNetModel supports it: heads
 * = num_attention_heads, or attention_head_dim when that is null); a ControlNet has only down
 * blocks and a mid block. Errors are an {@link IOException} naming the file and the field.
 *
 * @param inChannels {@code in_channels}: latent channels (4)
 * @param conditioningChannels {@code conditioning_channels}: channels of the control image (3)
 * @param blockOutChannels {@code block_out_channels}: channels per level
 * @param downBlockTypes {@code down_block_types}: "CrossAttnDownBlock2D" or "DownBlock2D" per level
 * @param layersPerBlock {@code layers_per_block}: resnets per level (one int in diffusers' ControlNet)
 * @param transformerLayersPerBlock {@code transformer_layers_per_block}: per level
 * @param attentionHeadDim {@code attention_head_dim}: per level
 * @param numAttentionHeads {@code num_attention_heads}: per level, or null (then the heads are
 *     attention_head_dim, diffusers' quirk)
 * @param crossAttentionDim {@code cross_attention_dim}: width of encoder_hidden_states
 * @param normNumGroups {@code norm_num_groups}
 * @param normEps {@code norm_eps}
 * @param actFn {@code act_fn}: "silu"
 * @param flipSinToCos {@code flip_sin_to_cos}
 * @param freqShift {@code freq_shift}
 * @param downsamplePadding {@code downsample_padding}: 0 or 1
 * @param midBlockScaleFactor {@code mid_block_scale_factor}
 * @param useLinearProjection {@code use_linear_projection}
 * @param upcastAttention {@code upcast_attention} (attention is float32 here anyway)
 * @param resnetTimeScaleShift {@code resnet_time_scale_shift}: "default"
 * @param conditioningEmbeddingOutChannels {@code conditioning_embedding_out_channels}: channels
 *     of ControlNetConditioningEmbedding's levels; each level after the first halves the size, so
 *     the control image is 2^(entries - 1) times the latents' size
 * @param controlnetConditioningChannelOrder {@code controlnet_conditioning_channel_order}:
 *     "rgb", or "bgr" (the control image's channels are flipped first)
 * @param globalPoolConditions {@code global_pool_conditions}: the residuals are averaged over H
 *     and W ([N, C, 1, 1])
 */
public record ControlNetModelConfig(int inChannels, int conditioningChannels, List<Integer> blockOutChannels,
        List<String> downBlockTypes, int layersPerBlock, List<Integer> transformerLayersPerBlock,
        List<Integer> attentionHeadDim, List<Integer> numAttentionHeads, int crossAttentionDim, int normNumGroups,
        double normEps, String actFn, boolean flipSinToCos, double freqShift, int downsamplePadding,
        double midBlockScaleFactor, boolean useLinearProjection, boolean upcastAttention, String resnetTimeScaleShift,
        List<Integer> conditioningEmbeddingOutChannels, String controlnetConditioningChannelOrder,
        boolean globalPoolConditions) {

    /**
     * Validates the values (see the class comment) and copies the lists.
     *
     * @param inChannels positive
     * @param conditioningChannels positive
     * @param blockOutChannels 1..16 positive multiples of normNumGroups
     * @param downBlockTypes one supported type per level
     * @param layersPerBlock positive
     * @param transformerLayersPerBlock one positive entry per level
     * @param attentionHeadDim one positive entry per level
     * @param numAttentionHeads null, or one positive entry per level; the heads divide the
     *     channels of the levels with attention and of the mid block
     * @param crossAttentionDim positive
     * @param normNumGroups positive
     * @param normEps finite and &gt;= 0
     * @param actFn "silu"
     * @param flipSinToCos any
     * @param freqShift finite, not block_out_channels[0] / 2
     * @param downsamplePadding 0 or 1
     * @param midBlockScaleFactor finite and &gt; 0
     * @param useLinearProjection any
     * @param upcastAttention any
     * @param resnetTimeScaleShift "default"
     * @param conditioningEmbeddingOutChannels 1..16 positive entries
     * @param controlnetConditioningChannelOrder "rgb" or "bgr"
     * @param globalPoolConditions any
     * @throws NullPointerException if a list (but numAttentionHeads), an entry or a string is null
     * @throws IllegalArgumentException naming the field and its value if one is invalid
     */
    public ControlNetModelConfig {
        blockOutChannels = List.copyOf(blockOutChannels);
        downBlockTypes = List.copyOf(downBlockTypes);
        transformerLayersPerBlock = List.copyOf(transformerLayersPerBlock);
        attentionHeadDim = List.copyOf(attentionHeadDim);
        numAttentionHeads = numAttentionHeads == null ? null : List.copyOf(numAttentionHeads);
        conditioningEmbeddingOutChannels = List.copyOf(conditioningEmbeddingOutChannels);
        Objects.requireNonNull(actFn, "actFn");
        Objects.requireNonNull(resnetTimeScaleShift, "resnetTimeScaleShift");
        Objects.requireNonNull(controlnetConditioningChannelOrder, "controlnetConditioningChannelOrder");
        UNetSpec.positive("in_channels", inChannels);
        UNetSpec.positive("conditioning_channels", conditioningChannels);
        UNetSpec.positive("cross_attention_dim", crossAttentionDim);
        UNetSpec.positive("layers_per_block", layersPerBlock);
        int levels = UNetSpec.levels(blockOutChannels, normNumGroups);
        UNetSpec.perLevel("transformer_layers_per_block", transformerLayersPerBlock, levels);
        UNetSpec.perLevel("attention_head_dim", attentionHeadDim, levels);
        if (numAttentionHeads != null) {
            UNetSpec.perLevel("num_attention_heads", numAttentionHeads, levels);
        }
        UNetSpec.blockTypes("down_block_types", downBlockTypes, levels, UNet2DConditionModelConfig.CROSS_DOWN,
                UNet2DConditionModelConfig.DOWN);
        String headsField = numAttentionHeads != null ? "num_attention_heads" : "attention_head_dim";
        List<Integer> heads = numAttentionHeads != null ? numAttentionHeads : attentionHeadDim;
        UNetSpec.headsDivide(headsField, heads, blockOutChannels, downBlockTypes,
                UNet2DConditionModelConfig.CROSS_DOWN);
        UNetSpec.headsDivide(headsField, List.of(heads.get(levels - 1)), List.of(blockOutChannels.get(levels - 1)),
                List.of(UNet2DConditionModelConfig.MID), UNet2DConditionModelConfig.MID);
        UNetSpec.common(normEps, actFn, freqShift, blockOutChannels.get(0), downsamplePadding, midBlockScaleFactor,
                resnetTimeScaleShift);
        if (conditioningEmbeddingOutChannels.isEmpty()
                || conditioningEmbeddingOutChannels.size() > DiffusersConfigFields.MAX_LIST) {
            throw new IllegalArgumentException("conditioning_embedding_out_channels " + conditioningEmbeddingOutChannels
                    + " has " + conditioningEmbeddingOutChannels.size() + " entries, expected 1.."
                    + DiffusersConfigFields.MAX_LIST);
        }
        for (int c : conditioningEmbeddingOutChannels) {
            UNetSpec.positive("conditioning_embedding_out_channels entry", c);
        }
        if (!controlnetConditioningChannelOrder.equals("rgb") && !controlnetConditioningChannelOrder.equals("bgr")) {
            throw new IllegalArgumentException("controlnet_conditioning_channel_order \""
                    + controlnetConditioningChannelOrder + "\" is not supported (rgb or bgr)");
        }
    }

    /**
     * Reads and validates a {@code config.json}.
     *
     * @param configFile the file (the ControlNet folder's {@code config.json})
     * @return the configuration
     * @throws IOException if the file cannot be read, is not a JSON object, or a field is of
     *     the wrong type, invalid or unsupported (the message names the file and the field)
     */
    public static ControlNetModelConfig read(Path configFile) throws IOException {
        DiffusersConfigFields f = DiffusersConfigFields.open(configFile, "ControlNetModel");
        UNetSpec.refuseUnsupportedCommon(f);
        f.require("mid_block_type", UNet2DConditionModelConfig.MID, ""); // newer diffusers write it
        f.ignore("sample_size", "dropout", "addition_embed_type_num_heads", "addition_time_embed_dim",
                "projection_class_embeddings_input_dim");
        try {
            List<Integer> channels = f.integers("block_out_channels", List.of(320, 640, 1280, 1280));
            int levels = channels.size();
            String cross = UNet2DConditionModelConfig.CROSS_DOWN;
            ControlNetModelConfig c = new ControlNetModelConfig(f.integer("in_channels", 4),
                    f.integer("conditioning_channels", 3), channels,
                    f.texts("down_block_types", List.of(cross, cross, cross, UNet2DConditionModelConfig.DOWN)),
                    f.integer("layers_per_block", 2), f.integerPerLevel("transformer_layers_per_block", 1, levels),
                    f.integerPerLevel("attention_head_dim", 8, levels),
                    f.integerPerLevel("num_attention_heads", null, levels),
                    f.integer("cross_attention_dim", 1280), f.integer("norm_num_groups", 32),
                    f.number("norm_eps", 1e-5), f.text("act_fn", "silu"), f.bool("flip_sin_to_cos", true),
                    f.number("freq_shift", 0), f.integer("downsample_padding", 1),
                    f.number("mid_block_scale_factor", 1), f.bool("use_linear_projection", false),
                    f.bool("upcast_attention", false), f.text("resnet_time_scale_shift", "default"),
                    f.integers("conditioning_embedding_out_channels", List.of(16, 32, 96, 256)),
                    f.text("controlnet_conditioning_channel_order", "rgb"), f.bool("global_pool_conditions", false));
            f.refuseUnread();
            return c;
        } catch (IllegalArgumentException e) {
            throw new IOException(configFile + ": " + e.getMessage(), e);
        }
    }

    /**
     * The heads per level: num_attention_heads, or attention_head_dim when that is null.
     *
     * @return one entry per level
     */
    public List<Integer> heads() {
        return numAttentionHeads != null ? numAttentionHeads : attentionHeadDim;
    }

    /**
     * The factor between the control image's size and the latents': 2^(entries of
     * conditioning_embedding_out_channels - 1).
     *
     * @return the factor (8 for SD)
     */
    public int conditioningFactor() {
        return 1 << (conditioningEmbeddingOutChannels.size() - 1);
    }

    /** The architecture of the encoder half, as the U-Net's. */
    UNetSpec spec() {
        List<Boolean> crossAttention = new ArrayList<>();
        for (String t : downBlockTypes) {
            crossAttention.add(t.equals(UNet2DConditionModelConfig.CROSS_DOWN));
        }
        int levels = blockOutChannels.size();
        return new UNetSpec(inChannels, blockOutChannels, crossAttention,
                java.util.Collections.nCopies(levels, layersPerBlock), transformerLayersPerBlock, heads(),
                crossAttentionDim, normNumGroups, normEps, flipSinToCos, freqShift, downsamplePadding,
                midBlockScaleFactor, useLinearProjection, blockOutChannels.get(0) * 4);
    }
}
