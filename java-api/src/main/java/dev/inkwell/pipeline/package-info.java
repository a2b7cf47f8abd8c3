/**
 * The colorization pipeline: {@link dev.inkwell.pipeline.ControlNetColorizer} runs ControlNet's
 * Canny line-art colorization (Stable Diffusion 1.x + ControlNet, DDIM with classifier-free
 * guidance) from diffusers-layout model folders, checked by
 * {@link dev.inkwell.pipeline.ModelFolders}; {@link dev.inkwell.pipeline.SchedulerConfig} reads
 * a {@code scheduler_config.json} into a {@link dev.inkwell.DdimScheduler}.
 */
package dev.inkwell.pipeline;
