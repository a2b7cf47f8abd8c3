package dev.inkwell.models;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * The configuration of diffusers' {@code UNet2DConditionModel} (v0.21.4), as its
 * {@code unet/config.json} spells it. Each component is the JSON field of the same name in snake
 * case; diffusers' "int or per-block list" fields ({@code layers_per_block},
 * {@code transformer_layers_per_block}, {@code attention_head_dim}) are kept as one entry per
 * level (down-block order).
 *
 * <p>Read by {@link #read(Path)}; absent or null fields take diffusers' defaults (the SD 1.x
 * values: block_out_channels 320/640/1280/1280, attention_head_dim 8, cross_attention_dim 1280,
 * norm_num_groups 32, norm_eps 1e-5, ...). Supported: everything Stable Diffusion 1.x and 2.x
 * use. Refused, as an {@link IOException} naming the file and the field: a value of the wrong
 * JSON type, NaN or infinity, a non-positive size, a negative epsilon; block types other than
 * CrossAttnDownBlock2D / DownBlock2D, UNetMidBlock2DCrossAttn, CrossAttnUpBlock2D / UpBlock2D;
 * {@code act_fn} other than "silu"; {@code resnet_time_scale_shift} other than "default";
 * {@code num_attention_heads} (diffusers 0.21.4 refuses it too: its heads are
 * {@code attention_head_dim}, a naming quirk); and the features SD does not use:
 * {@code class_embed_type}, {@code num_class_embeds}, {@code addition_embed_type},
 * {@code encoder_hid_dim}, {@code time_cond_proj_dim}, {@code time_embedding_type} other than
 * "positional", {@code time_embedding_act_fn}, {@code timestep_post_act},
 * {@code cross_attention_norm}, {@code dual_cross_attention}, {@code only_cross_attention},
 * {@code attention_type} other than "default", {@code conv_in_kernel} / {@code conv_out_kernel}
 * other than 3, {@code center_input_sample}, {@code class_embeddings_concat},
 * {@code resnet_skip_time_act}, {@code resnet_out_scale_factor} other than 1, a per-block
 * {@code cross_attention_dim} list with differing entries, and any unknown field whose value is not null or false.
 * {@code sample_size}, {@code dropout} and the fields only the refused features read are ignored.
 *
 * @param inChannels {@code in_channels}: latent channels in (4)
 * @param outChannels {@code out_channels}: channels of the prediction (4)
 * @param blockOutChannels {@code block_out_channels}: channels per level (320, 640, 1280, 1280)
 * @param downBlockTypes {@code down_block_types}: "CrossAttnDownBlock2D" or "DownBlock2D" per level
 * @param midBlockType {@code mid_block_type}: "UNetMidBlock2DCrossAttn"
 * @param upBlockTypes {@code up_block_types}: "CrossAttnUpBlock2D" or "UpBlock2D" per level
 *     (deepest first)
 * @param layersPerBlock {@code layers_per_block}: resnets per down level (the up level of the
 *     same depth has one more)
 * @param transformerLayersPerBlock {@code transformer_layers_per_block}: BasicTransformerBlocks
 *     per Transformer2DModel, per level
 * @param attentionHeadDim {@code attention_head_dim}: per level, the number of attention heads
 *     (diffusers' quirk: the field holds the heads; head size = channels / heads)
 * @param crossAttentionDim {@code cross_attention_dim}: width of encoder_hidden_states (768 in
 *     SD 1.x, 1024 in SD 2.x)
 * @param normNumGroups {@code norm_num_groups}: groups of every group norm
 * @param normEps {@code norm_eps}: epsilon of the resnets' and conv_norm_out's group norms
 * @param actFn {@code act_fn}: "silu"
 * @param flipSinToCos {@code flip_sin_to_cos}: cos first in the timestep embedding
 * @param freqShift {@code freq_shift}: the timestep embedding's downscale_freq_shift
 * @param downsamplePadding {@code downsample_padding}: 1 (symmetric) or 0 (diffusers' asymmetric pad)
 * @param midBlockScaleFactor {@code mid_block_scale_factor}: the mid-block resnets'
 *     output_scale_factor (outputs divided by it)
 * @param useLinearProjection {@code use_linear_projection}: Transformer2DModel's proj_in/proj_out
 *     are Linear (SD 2.x) rather than 1x1 convolutions (SD 1.x)
 * @param upcastAttention {@code upcast_attention}: attention in float32 (always so here)
 * @param resnetTimeScaleShift {@code resnet_time_scale_shift}: "default"
 * @param timeEmbeddingDim {@code time_embedding_dim}: width of the time embedding, or null for
 *     diffusers' block_out_channels[0] * 4
 */
public record UNet2DConditionModelConfig(int inChannels, int outChannels, List<Integer> blockOutChannels,
        List<String> downBlockTypes, String midBlockType, List<String> upBlockTypes, List<Integer> layersPerBlock,
        List<Integer> transformerLayersPerBlock, List<Integer> attentionHeadDim, int crossAttentionDim,
        int normNumGroups, double normEps, String actFn, boolean flipSinToCos, double freqShift,
        int downsamplePadding, double midBlockScaleFactor, boolean useLinearProjection, boolean upcastAttention,
        String resnetTimeScaleShift, Integer timeEmbeddingDim) {

    static final String CROSS_DOWN = "CrossAttnDownBlock2D", DOWN = "DownBlock2D";
    static final String CROSS_UP = "CrossAttnUpBlock2D", UP = "UpBlock2D";
    static final String MID = "UNetMidBlock2DCrossAttn";

    /**
     * Validates the values (see the class comment) and copies the lists.
     *
     * @param inChannels positive
     * @param outChannels positive
     * @param blockOutChannels 1..16 positive multiples of normNumGroups
     * @param downBlockTypes one supported type per level
     * @param midBlockType "UNetMidBlock2DCrossAttn"
     * @param upBlockTypes one supported type per level
     * @param layersPerBlock one positive entry per level
     * @param transformerLayersPerBlock one positive entry per level
     * @param attentionHeadDim one positive entry per level, dividing the channels of each level
     *     with attention (down level i, the up level of the same depth, the mid block)
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
     * @param timeEmbeddingDim null or positive
     * @throws NullPointerException if a list, an entry or a string is null
     * @throws IllegalArgumentException naming the field and its value if one is invalid
     */
    public UNet2DConditionModelConfig {
        blockOutChannels = List.copyOf(blockOutChannels);
        downBlockTypes = List.copyOf(downBlockTypes);
        upBlockTypes = List.copyOf(upBlockTypes);
        layersPerBlock = List.copyOf(layersPerBlock);
        transformerLayersPerBlock = List.copyOf(transformerLayersPerBlock);
        attentionHeadDim = List.copyOf(attentionHeadDim);
        Objects.requireNonNull(midBlockType, "midBlockType");
        Objects.requireNonNull(actFn, "actFn");
        Objects.requireNonNull(resnetTimeScaleShift, "resnetTimeScaleShift");
        UNetSpec.positive("in_channels", inChannels);
        UNetSpec.positive("out_channels", outChannels);
        UNetSpec.positive("cross_attention_dim", crossAttentionDim);
        int levels = UNetSpec.levels(blockOutChannels, normNumGroups);
        UNetSpec.perLevel("layers_per_block", layersPerBlock, levels);
        UNetSpec.perLevel("transformer_layers_per_block", transformerLayersPerBlock, levels);
        UNetSpec.perLevel("attention_head_dim", attentionHeadDim, levels);
        UNetSpec.blockTypes("down_block_types", downBlockTypes, levels, CROSS_DOWN, DOWN);
        UNetSpec.blockTypes("up_block_types", upBlockTypes, levels, CROSS_UP, UP);
        if (!midBlockType.equals(MID)) {
            throw new IllegalArgumentException("mid_block_type \"" + midBlockType + "\" is not supported (" + MID
                    + ")");
        }
        List<Integer> reversedChannels = reversed(blockOutChannels), reversedHeads = reversed(attentionHeadDim);
        UNetSpec.headsDivide("attention_head_dim", attentionHeadDim, blockOutChannels, downBlockTypes, CROSS_DOWN);
        UNetSpec.headsDivide("attention_head_dim", reversedHeads, reversedChannels, upBlockTypes, CROSS_UP);
        UNetSpec.headsDivide("attention_head_dim", List.of(attentionHeadDim.get(levels - 1)),
                List.of(blockOutChannels.get(levels - 1)), List.of(MID), MID);
        UNetSpec.common(normEps, actFn, freqShift, blockOutChannels.get(0), downsamplePadding, midBlockScaleFactor,
                resnetTimeScaleShift);
        if (timeEmbeddingDim != null) {
            UNetSpec.positive("time_embedding_dim", timeEmbeddingDim);
        }
    }

    /**
     * Reads and validates a {@code config.json}.
     *
     * @param configFile the file ({@code unet/config.json})
     * @return the configuration
     * @throws IOException if the file cannot be read, is not a JSON object, or a field is of
     *     the wrong type, invalid or unsupported (the message names the file and the field)
     */
    public static UNet2DConditionModelConfig read(Path configFile) throws IOException {
        DiffusersConfigFields f = DiffusersConfigFields.open(configFile, "UNet2DConditionModel");
        UNetSpec.refuseUnsupportedCommon(f);
        f.require("num_attention_heads", null, "diffusers 0.21.4's UNet2DConditionModel refuses it too; "
                + "its attention_head_dim holds the number of heads");
        f.require("time_embedding_type", "positional", "");
        f.require("time_embedding_act_fn", null, "");
        f.require("timestep_post_act", null, "");
        f.require("time_cond_proj_dim", null, "");
        f.require("cross_attention_norm", null, "");
        f.require("dual_cross_attention", false, "");
        f.require("attention_type", "default", "");
        f.require("conv_in_kernel", 3, "");
        f.require("conv_out_kernel", 3, "");
        f.require("center_input_sample", false, "");
        f.require("class_embeddings_concat", false, "");
        f.require("resnet_skip_time_act", false, "");
        f.require("resnet_out_scale_factor", 1.0, "");
        f.require("reverse_transformer_layers_per_block", null, "");
        f.requireFalseOrFalseList("mid_block_only_cross_attention");
        f.ignore("sample_size", "dropout", "addition_embed_type_num_heads", "addition_time_embed_dim",
                "projection_class_embeddings_input_dim");
        try {
            List<Integer> channels = f.integers("block_out_channels", List.of(320, 640, 1280, 1280));
            int levels = channels.size();
            UNet2DConditionModelConfig c = new UNet2DConditionModelConfig(f.integer("in_channels", 4),
                    f.integer("out_channels", 4), channels,
                    f.texts("down_block_types", List.of(CROSS_DOWN, CROSS_DOWN, CROSS_DOWN, DOWN)),
                    f.text("mid_block_type", MID), f.texts("up_block_types", List.of(UP, CROSS_UP, CROSS_UP, CROSS_UP)),
                    f.integerPerLevel("layers_per_block", 2, levels),
                    f.integerPerLevel("transformer_layers_per_block", 1, levels),
                    f.integerPerLevel("attention_head_dim", 8, levels), f.uniformInteger("cross_attention_dim", 1280),
                    f.integer("norm_num_groups", 32), f.number("norm_eps", 1e-5), f.text("act_fn", "silu"),
                    f.bool("flip_sin_to_cos", true), f.number("freq_shift", 0), f.integer("downsample_padding", 1),
                    f.number("mid_block_scale_factor", 1), f.bool("use_linear_projection", false),
                    f.bool("upcast_attention", false), f.text("resnet_time_scale_shift", "default"),
                    f.integerOrNull("time_embedding_dim"));
            f.refuseUnread();
            return c;
        } catch (IllegalArgumentException e) {
            throw new IOException(configFile + ": " + e.getMessage(), e);
        }
    }

    /**
     * The width of the time embedding: time_embedding_dim, or block_out_channels[0] * 4.
     *
     * @return the width
     */
    public int timeEmbedDim() {
        return timeEmbeddingDim != null ? timeEmbeddingDim : blockOutChannels.get(0) * 4;
    }

    /**
     * The factor between the sample's size and the deepest level's: 2^(levels - 1).
     *
     * @return the factor (8 for SD)
     */
    public int downsampleFactor() {
        return 1 << (blockOutChannels.size() - 1);
    }

    /** The architecture both the U-Net's and the ControlNet's encoder halves are built from. */
    UNetSpec spec() {
        List<Boolean> cross = new ArrayList<>();
        for (String t : downBlockTypes) {
            cross.add(t.equals(CROSS_DOWN));
        }
        return new UNetSpec(inChannels, blockOutChannels, cross, layersPerBlock, transformerLayersPerBlock,
                attentionHeadDim, crossAttentionDim, normNumGroups, normEps, flipSinToCos, freqShift,
                downsamplePadding, midBlockScaleFactor, useLinearProjection, timeEmbedDim());
    }

    static <T> List<T> reversed(List<T> list) {
        List<T> r = new ArrayList<>(list);
        Collections.reverse(r);
        return r;
    }
}
