#!/usr/bin/python3
"""diffusers' CPU time for one denoising step at Stable Diffusion 1.5 size: the anchor for
`inkwell unet-bench` (same shapes, same configurations).

One step = ControlNetModel (lllyasviel/sd-controlnet-canny's config) + UNet2DConditionModel
(runwayml/stable-diffusion-v1-5's unet config) with random weights (diffusers' own
initialisation), float32, batch 2 (classifier-free guidance), 64x64 latents, 77x768 text
embeddings, a 512x512 control image, timestep 500, under torch.no_grad(). Prints each run,
the median of --runs after --warmup, and the peak resident memory (ru_maxrss, which includes
the ~4.9 GB of weights).

  /usr/bin/python3 step_time.py --diffusers-src DIR --transformers-src DIR [--threads 2] [--runs 3]
"""
import argparse
import os
import resource
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# runwayml/stable-diffusion-v1-5, unet/config.json (the model card's file; also
# UNetBenchCommand.sd15UNet() in this repository), without the _class_name/_diffusers_version keys
SD15_UNET = dict(
    act_fn="silu", attention_head_dim=8, block_out_channels=[320, 640, 1280, 1280], center_input_sample=False,
    cross_attention_dim=768,
    down_block_types=["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    downsample_padding=1, flip_sin_to_cos=True, freq_shift=0, in_channels=4, layers_per_block=2,
    mid_block_scale_factor=1, norm_eps=1e-05, norm_num_groups=32, out_channels=4, sample_size=64,
    up_block_types=["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"])

# lllyasviel/sd-controlnet-canny, config.json (also UNetBenchCommand.sd15ControlNetCanny())
SD15_CONTROLNET_CANNY = dict(
    act_fn="silu", attention_head_dim=8, block_out_channels=[320, 640, 1280, 1280], class_embed_type=None,
    conditioning_embedding_out_channels=[16, 32, 96, 256], controlnet_conditioning_channel_order="rgb",
    cross_attention_dim=768,
    down_block_types=["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    downsample_padding=1, flip_sin_to_cos=True, freq_shift=0, in_channels=4, layers_per_block=2,
    mid_block_scale_factor=1, norm_eps=1e-05, norm_num_groups=32, num_class_embeds=None, only_cross_attention=False,
    projection_class_embeddings_input_dim=None, resnet_time_scale_shift="default", upcast_attention=False,
    use_linear_projection=False)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--diffusers-src', required=True, help='folder holding diffusers/ (v0.21.4 src/)')
    p.add_argument('--transformers-src', required=True, help='folder holding transformers/ (diffusers imports it)')
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--runs', type=int, default=3)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--batch', type=int, default=2)
    p.add_argument('--latent', type=int, default=64)
    p.add_argument('--tokens', type=int, default=77)
    a = p.parse_args()
    sys.path.insert(0, HERE)
    import colorize_reference
    colorize_reference.setup_imports(a)
    import torch
    torch.set_num_threads(a.threads)
    import diffusers
    from diffusers import ControlNetModel, UNet2DConditionModel

    t0 = time.perf_counter()
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**SD15_UNET).eval()
    controlnet = ControlNetModel(**SD15_CONTROLNET_CANNY).eval()
    made = time.perf_counter() - t0
    params = sum(x.numel() for x in unet.parameters()), sum(x.numel() for x in controlnet.parameters())
    g = torch.Generator().manual_seed(1)
    n, lat = a.batch, a.latent
    sample = torch.randn(n, 4, lat, lat, generator=g)
    ehs = torch.randn(n, a.tokens, 768, generator=g)
    cond = torch.rand(n, 3, lat * 8, lat * 8, generator=g)
    t = torch.tensor(500)
    processor = type(unet.down_blocks[0].attentions[0].transformer_blocks[0].attn1.processor).__name__

    def step():
        with torch.no_grad():
            down, mid = controlnet(sample, t, encoder_hidden_states=ehs, controlnet_cond=cond,
                                   conditioning_scale=1.0, return_dict=False)
            return unet(sample, t, encoder_hidden_states=ehs, down_block_additional_residuals=down,
                        mid_block_additional_residual=mid).sample

    print('diffusers %s, torch %s, %d threads, attention processor %s; unet %.0fM + controlnet %.0fM parameters '
          'made in %.1f s' % (diffusers.__version__, torch.__version__, torch.get_num_threads(), processor,
                              params[0] / 1e6, params[1] / 1e6, made), flush=True)
    times = []
    for i in range(a.warmup + a.runs):
        s = time.perf_counter()
        out = step()
        dt = time.perf_counter() - s
        print('%s %d: %.2f s' % ('warm-up' if i < a.warmup else 'run', i + 1, dt), flush=True)
        if i >= a.warmup:
            times.append(dt)
    assert out.shape == (n, 4, lat, lat) and torch.isfinite(out).all()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2  # KiB -> GiB
    print('median %.2f s of %d runs (%s); peak resident %.2f GiB' % (
        statistics.median(times), len(times), ', '.join('%.2f' % x for x in times), peak))


if __name__ == '__main__':
    main()
