package dev.inkwell.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.models.ControlNetModelConfig;
import dev.inkwell.models.UNet2DConditionModelConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The configurations unet-bench runs are the published ones (their config.json texts read by
 * the configs' own reader, SD 2.1's too), and the operation count it divides by.
 */
class UNetBenchCommandTest {
    /** runwayml/stable-diffusion-v1-5 unet/config.json as published (diffusers 0.6.0). */
    static final String SD15_UNET = """
            {"_class_name": "UNet2DConditionModel", "_diffusers_version": "0.6.0", "act_fn": "silu",
             "attention_head_dim": 8, "block_out_channels": [320, 640, 1280, 1280], "center_input_sample": false,
             "cross_attention_dim": 768,
             "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
             "downsample_padding": 1, "flip_sin_to_cos": true, "freq_shift": 0, "in_channels": 4, "layers_per_block": 2,
             "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32, "out_channels": 4,
             "sample_size": 64,
             "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]}
            """;

    /** lllyasviel/sd-controlnet-canny config.json as published. */
    static final String SD15_CONTROLNET_CANNY = """
            {"_class_name": "ControlNetModel", "_diffusers_version": "0.14.0.dev0", "act_fn": "silu",
             "attention_head_dim": 8, "block_out_channels": [320, 640, 1280, 1280], "class_embed_type": null,
             "conditioning_embedding_out_channels": [16, 32, 96, 256],
             "controlnet_conditioning_channel_order": "rgb", "cross_attention_dim": 768,
             "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
             "downsample_padding": 1, "flip_sin_to_cos": true, "freq_shift": 0, "in_channels": 4, "layers_per_block": 2,
             "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32, "num_class_embeds": null,
             "only_cross_attention": false, "projection_class_embeddings_input_dim": null,
             "resnet_time_scale_shift": "default", "upcast_attention": false, "use_linear_projection": false}
            """;

    /** stabilityai/stable-diffusion-2-1 unet/config.json as published (diffusers 0.10.0.dev0). */
    static final String SD21_UNET = """
            {"_class_name": "UNet2DConditionModel", "_diffusers_version": "0.10.0.dev0", "act_fn": "silu",
             "attention_head_dim": [5, 10, 20, 20], "block_out_channels": [320, 640, 1280, 1280],
             "center_input_sample": false, "cross_attention_dim": 1024,
             "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
             "downsample_padding": 1, "dual_cross_attention": false, "flip_sin_to_cos": true, "freq_shift": 0,
             "in_channels": 4, "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-05,
             "norm_num_groups": 32, "num_class_embeds": null, "only_cross_attention": false, "out_channels": 4,
             "sample_size": 96,
             "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
             "upcast_attention": true, "use_linear_projection": true}
            """;

    @Test
    void benchConfigsAreThePublishedOnes(@TempDir Path tmp) throws IOException {
        Path f = tmp.resolve("config.json");
        Files.writeString(f, SD15_UNET);
        assertEquals(UNetBenchCommand.sd15UNet(), UNet2DConditionModelConfig.read(f));
        Files.writeString(f, SD15_CONTROLNET_CANNY);
        assertEquals(UNetBenchCommand.sd15ControlNetCanny(), ControlNetModelConfig.read(f));
        Files.writeString(f, SD21_UNET);
        UNet2DConditionModelConfig sd21 = UNet2DConditionModelConfig.read(f);
        assertEquals(List.of(5, 10, 20, 20), sd21.attentionHeadDim());
        assertTrue(sd21.useLinearProjection() && sd21.upcastAttention());
        assertEquals(1024, sd21.crossAttentionDim());
    }

    /**
     * The count by hand for one term and the whole: SD 1.5's U-Net at 64x64 is about 0.8 TFLOP
     * per sample by this count (dominated by the 3x3 convolutions, then attention at 4096
     * tokens); batch scales it linearly; the ControlNet is a bit less than half of it.
     */
    @Test
    void operationCount() {
        double unet1 = UNetFlops.unet(UNetBenchCommand.sd15UNet(), 1, 64, 64, 77);
        double unet2 = UNetFlops.unet(UNetBenchCommand.sd15UNet(), 2, 64, 64, 77);
        double cn1 = UNetFlops.controlnet(UNetBenchCommand.sd15ControlNetCanny(), 1, 64, 64, 77);
        System.out.printf("SD 1.5 unet %.1f GFLOP, controlnet %.1f GFLOP per sample at 64x64%n", unet1 / 1e9, cn1 / 1e9);
        assertEquals(2 * unet1, unet2, 1e-6 * unet2);
        assertTrue(unet1 > 6e11 && unet1 < 9e11, "unet " + unet1);
        assertTrue(cn1 > 0.3 * unet1 && cn1 < 0.6 * unet1, "controlnet " + cn1);
    }
}
