package dev.inkwell.pipeline;

import dev.inkwell.DdimScheduler;
import dev.inkwell.Device;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * The denoising loop of diffusers' {@code StableDiffusionControlNetPipeline.__call__} (v0.21.4)
 * for one image: per DDIM timestep, ControlNet's residuals, the U-Net's noise prediction with
 * classifier-free guidance as a batch of 2 (unconditional first), and the DDIM update. The
 * models are behind two small interfaces so that the loop can be tested with plain reference
 * models.
 *
 * <p>What it repeats from diffusers, step i of N at timestep t:
 * <ul>
 *   <li>{@code latent_model_input = cat([latents] * 2)} under guidance, else the latents;
 *   <li>{@code cond_scale = controlnet_conditioning_scale * controlnet_keep[i]}; ControlNet runs
 *       on the conditional half only in guess mode (its residuals then padded with zeros for the
 *       unconditional half), else on the whole batch with the control image repeated. When
 *       cond_scale is 0 ControlNet is skipped: its residuals would be 0 and adding 0 changes no
 *       finite activation;
 *   <li>{@code noise_pred = uncond + guidance_scale (text - uncond)} fused into the DDIM step;
 *   <li>the DDIM step to {@code prev_timestep = t - num_train_timesteps // N}, as diffusers'
 *       {@code DDIMScheduler.step} computes it for every spacing (negative: the final alpha).
 * </ul>
 * With eta &gt; 0 step i's variance noise is element (i + 1) n .. (i + 2) n - 1 of the seed's
 * stream (n: the latents' elements), after the start latents' 0 .. n - 1.
 */
final class DenoisingLoop {
    /** diffusers' {@code UNet2DConditionModel.forward} with ControlNet's residuals. */
    @FunctionalInterface
    interface UNet {
        Tensor forward(Tensor sample, double timestep, Tensor encoderHiddenStates, List<Tensor> downResiduals,
                Tensor midResidual);
    }

    /** diffusers' {@code ControlNetModel.forward}. */
    @FunctionalInterface
    interface ControlNet {
        Residuals forward(Tensor sample, double timestep, Tensor encoderHiddenStates, Tensor controlnetCond,
                double conditioningScale, boolean guessMode);
    }

    /** ControlNet's outputs; closing closes every tensor. */
    record Residuals(List<Tensor> down, Tensor mid) implements AutoCloseable {
        Residuals {
            down = List.copyOf(down);
            Objects.requireNonNull(mid, "mid");
        }

        @Override
        public void close() {
            closeAll(down);
            mid.close();
        }
    }

    private final Inkwell inkwell;
    private final DdimScheduler scheduler;
    private final UNet unet;
    private final ControlNet controlnet;

    DenoisingLoop(Inkwell inkwell, DdimScheduler scheduler, UNet unet, ControlNet controlnet) {
        this.inkwell = Objects.requireNonNull(inkwell, "inkwell");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.unet = Objects.requireNonNull(unet, "unet");
        this.controlnet = Objects.requireNonNull(controlnet, "controlnet");
    }

    /**
     * Runs the loop.
     *
     * @param latents x_T, [1, C, h, w] float32 (already times init_noise_sigma, 1 for DDIM)
     * @param condEmbeds the prompt's embeddings [1, L, D]
     * @param uncondEmbeds the negative prompt's [1, L, D]; used only under guidance
     * @param control the control image [1, 3, H, W] in [0, 1]
     * @param o steps, guidance, eta, seed, strength, guess mode, control guidance window
     * @param guessMode the effective guess mode (the options' or ControlNet's global_pool_conditions)
     * @param progress told after each step, or null
     * @param cancelled polled before each step, or null
     * @return the final latents, a new tensor in the context's memory
     * @throws CancellationException if cancelled (or the thread interrupted) between steps
     */
    Tensor run(Tensor latents, Tensor condEmbeds, Tensor uncondEmbeds, Tensor control, ColorizeOptions o,
            boolean guessMode, ColorizeProgress progress, BooleanSupplier cancelled) {
        long[] shape = latents.shape();
        if (shape.length != 4 || shape[0] != 1) {
            throw new IllegalArgumentException("latents must be [1, C, h, w], got " + Arrays.toString(shape));
        }
        int steps = o.steps();
        int[] timesteps = scheduler.timesteps(steps);
        int stride = scheduler.trainTimesteps() / steps;
        boolean cfg = o.classifierFreeGuidance();
        List<AutoCloseable> owned = new ArrayList<>();
        Tensor x = inkwell.copyToDevice(latents);
        try {
            Tensor embeds = cfg ? keep(owned, inkwell.ops().cat(0, uncondEmbeds, condEmbeds)) : condEmbeds;
            Tensor controlBatch = cfg && !guessMode ? keep(owned, inkwell.ops().cat(0, control, control)) : control;
            Tensor controlEmbeds = cfg && guessMode ? condEmbeds : embeds;
            Tensor varianceNoise = o.eta() > 0 ? keep(owned, Tensor.allocate(inkwell, shape)) : null;
            for (int i = 0; i < steps; i++) {
                checkCancelled(cancelled);
                long start = System.nanoTime();
                int t = timesteps[i];
                Tensor next = Tensor.allocate(inkwell, shape);
                try (Tensor input = cfg ? inkwell.ops().cat(0, x, x) : null) {
                    Tensor modelInput = cfg ? input : x;
                    double scale = o.controlStrength() * o.controlKeep(i);
                    try (Residuals r = scale == 0 ? null
                            : controlnet.forward(cfg && guessMode ? x : modelInput, t, controlEmbeds, controlBatch,
                                    scale, guessMode);
                            Residuals padded = r != null && cfg && guessMode ? padUnconditional(r) : null;
                            Tensor noisePred = unet.forward(modelInput, t, embeds,
                                    r == null ? null : (padded != null ? padded : r).down(),
                                    r == null ? null : (padded != null ? padded : r).mid())) {
                        if (varianceNoise != null) {
                            inkwell.randn(varianceNoise, o.seed(), (i + 1L) * x.elementCount());
                        }
                        int prev = t - stride;
                        if (cfg) {
                            Tensor[] halves = halves(noisePred, shape);
                            try (Tensor uncond = halves[0]; Tensor cond = halves[1]) {
                                inkwell.ddimStepGuided(scheduler, t, prev, x, cond, uncond, o.guidanceScale(), o.eta(),
                                        varianceNoise, next, null);
                            }
                        } else {
                            inkwell.ddimStep(scheduler, t, prev, x, noisePred, o.eta(), varianceNoise, next, null);
                        }
                    }
                } catch (RuntimeException | Error e) {
                    next.close();
                    throw e;
                }
                x.close();
                x = next;
                if (progress != null) {
                    progress.stepDone(i + 1, steps, t, System.nanoTime() - start);
                }
            }
            return x;
        } catch (RuntimeException | Error e) {
            x.close();
            throw e;
        } finally {
            closeAll(owned);
        }
    }

    static void checkCancelled(BooleanSupplier cancelled) {
        if (Thread.currentThread().isInterrupted() || (cancelled != null && cancelled.getAsBoolean())) {
            throw new CancellationException("colorization cancelled");
        }
    }

    private static <T extends AutoCloseable> T keep(List<AutoCloseable> owned, T t) {
        owned.add(t);
        return t;
    }

    /** diffusers' guess mode under guidance: {@code cat([zeros_like(d), d])} for each residual. */
    private Residuals padUnconditional(Residuals r) {
        List<Tensor> down = new ArrayList<>();
        try {
            for (Tensor d : r.down()) {
                down.add(withZeroHalf(d));
            }
            return new Residuals(down, withZeroHalf(r.mid()));
        } catch (RuntimeException | Error e) {
            closeAll(down);
            throw e;
        }
    }

    private Tensor withZeroHalf(Tensor d) {
        try (Tensor zeros = Tensor.allocate(d.shape()); // host memory, zero-filled
                Tensor z = inkwell.device() == Device.CPU ? null : inkwell.copyToDevice(zeros)) {
            return inkwell.ops().cat(0, z == null ? zeros : z, d);
        }
    }

    /** The two halves of a [2, ...] batch as [1, ...] tensors: borrowed slices on the CPU, copies on a device. */
    private Tensor[] halves(Tensor batch, long[] half) {
        long[] s = batch.shape();
        if (s.length != half.length || s[0] != 2 || !Arrays.equals(Arrays.copyOfRange(s, 1, s.length),
                Arrays.copyOfRange(half, 1, half.length))) {
            throw new IllegalStateException("the U-Net returned " + Arrays.toString(s) + ", expected [2"
                    + Arrays.toString(Arrays.copyOfRange(half, 1, half.length)).replace("[", ", "));
        }
        if (batch.device() == Device.CPU) {
            MemorySegment m = batch.segment();
            long bytes = m.byteSize() / 2;
            return new Tensor[] {Tensor.wrap(m.asSlice(0, bytes), half), Tensor.wrap(m.asSlice(bytes, bytes), half)};
        }
        float[] all = batch.toArray();
        int n = all.length / 2;
        try (Tensor a = Tensor.fromArray(Arrays.copyOfRange(all, 0, n), half);
                Tensor b = Tensor.fromArray(Arrays.copyOfRange(all, n, all.length), half)) {
            Tensor da = inkwell.copyToDevice(a);
            try {
                return new Tensor[] {da, inkwell.copyToDevice(b)};
            } catch (RuntimeException | Error e) {
                da.close();
                throw e;
            }
        }
    }

    static void closeAll(List<? extends AutoCloseable> list) {
        for (AutoCloseable c : list) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                throw new IllegalStateException("closing " + c + ": " + e, e);
            }
        }
    }
}
