package dev.inkwell.models;

import java.io.IOException;
import java.util.List;

/**
 * What the encoder half of a U-Net (time embedding, conv_in, down blocks, mid block) is built
 * from, shared by {@link UNet2DConditionModel} and {@link ControlNetModel}, whose configs both
 * reduce to it; plus the validation helpers of both configs. Lists have one entry per level.
 *
 * @param inChannels latent channels in
 * @param blockOutChannels channels per level
 * @param crossAttention whether each down level is a CrossAttnDownBlock2D (else DownBlock2D)
 * @param layersPerBlock resnets per down level
 * @param transformerLayersPerBlock transformer blocks per Transformer2DModel, per level
 * @param heads attention heads per level (diffusers' num_attention_heads or attention_head_dim)
 * @param crossAttentionDim width of encoder_hidden_states
 * @param groups group-norm groups
 * @param eps the resnets' group-norm epsilon
 * @param flipSinToCos the timestep embedding's order
 * @param freqShift the timestep embedding's downscale_freq_shift
 * @param downsamplePadding 0 or 1
 * @param midBlockScaleFactor the mid-block resnets' output_scale_factor
 * @param useLinearProjection Linear rather than 1x1-conv proj_in/proj_out
 * @param timeEmbedDim width of the time embedding
 */
record UNetSpec(int inChannels, List<Integer> blockOutChannels, List<Boolean> crossAttention,
        List<Integer> layersPerBlock, List<Integer> transformerLayersPerBlock, List<Integer> heads,
        int crossAttentionDim, int groups, double eps, boolean flipSinToCos, double freqShift, int downsamplePadding,
        double midBlockScaleFactor, boolean useLinearProjection, int timeEmbedDim) {

    int levels() {
        return blockOutChannels.size();
    }

    // ---- validation shared by the two configs -------------------------------------------

    static void positive(String field, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(field + " " + value + " is not positive");
        }
    }

    /** block_out_channels: 1..16 positive multiples of norm_num_groups; returns the level count. */
    static int levels(List<Integer> channels, int groups) {
        positive("norm_num_groups", groups);
        if (channels.isEmpty() || channels.size() > DiffusersConfigFields.MAX_LIST) {
            throw new IllegalArgumentException("block_out_channels " + channels + " has " + channels.size()
                    + " entries, expected 1.." + DiffusersConfigFields.MAX_LIST);
        }
        for (int c : channels) {
            if (c < 1 || c % groups != 0) {
                throw new IllegalArgumentException("block_out_channels entry " + c + " is not a positive multiple of "
                        + "norm_num_groups " + groups);
            }
        }
        return channels.size();
    }

    static void perLevel(String field, List<Integer> values, int levels) {
        if (values.size() != levels) {
            throw new IllegalArgumentException(field + " " + values + " has " + values.size()
                    + " entries, block_out_channels " + levels);
        }
        for (int v : values) {
            positive(field + " entry", v);
        }
    }

    static void blockTypes(String field, List<String> types, int levels, String... supported) {
        if (types.size() != levels) {
            throw new IllegalArgumentException(field + " has " + types.size() + " entries, block_out_channels "
                    + levels);
        }
        for (String t : types) {
            if (!List.of(supported).contains(t)) {
                throw new IllegalArgumentException(field + " entry \"" + t + "\" is not supported ("
                        + String.join(" or ", supported) + ")");
            }
        }
    }

    /** The heads of every level of type {@code crossType} divide its channels. */
    static void headsDivide(String field, List<Integer> heads, List<Integer> channels, List<String> types,
            String crossType) {
        for (int i = 0; i < types.size(); i++) {
            if (types.get(i).equals(crossType) && channels.get(i) % heads.get(i) != 0) {
                throw new IllegalArgumentException(field + " " + heads.get(i) + " (heads) does not divide the "
                        + channels.get(i) + " channels of " + crossType);
            }
        }
    }

    static void common(double normEps, String actFn, double freqShift, int firstChannels, int downsamplePadding,
            double midBlockScaleFactor, String resnetTimeScaleShift) {
        if (!Double.isFinite(normEps) || normEps < 0) {
            throw new IllegalArgumentException("norm_eps " + normEps + " is not finite and >= 0");
        }
        if (!actFn.equals("silu")) {
            throw new IllegalArgumentException("act_fn \"" + actFn + "\" is not supported (silu)");
        }
        if (!Double.isFinite(freqShift) || firstChannels / 2 - freqShift == 0) {
            throw new IllegalArgumentException("freq_shift " + freqShift + " is not finite, or equals half of "
                    + "block_out_channels[0] (the embedding's frequencies would divide by zero)");
        }
        if (firstChannels < 2) {
            throw new IllegalArgumentException("block_out_channels[0] " + firstChannels + " is below 2 (the timestep "
                    + "embedding needs a sin and a cos column)");
        }
        if (downsamplePadding != 0 && downsamplePadding != 1) {
            throw new IllegalArgumentException("downsample_padding " + downsamplePadding
                    + " is not supported (0 or 1)");
        }
        if (!Double.isFinite(midBlockScaleFactor) || midBlockScaleFactor <= 0) {
            throw new IllegalArgumentException("mid_block_scale_factor " + midBlockScaleFactor
                    + " is not finite and > 0");
        }
        if (!resnetTimeScaleShift.equals("default")) {
            throw new IllegalArgumentException("resnet_time_scale_shift \"" + resnetTimeScaleShift
                    + "\" is not supported (default)");
        }
    }

    /** Fields both models refuse unless null/false: embeddings and projections SD does not have. */
    static void refuseUnsupportedCommon(DiffusersConfigFields f) throws IOException {
        f.require("class_embed_type", null, "");
        f.require("num_class_embeds", null, "");
        f.require("addition_embed_type", null, "");
        f.require("encoder_hid_dim", null, "");
        f.require("encoder_hid_dim_type", null, "");
        f.requireFalseOrFalseList("only_cross_attention");
    }
}
