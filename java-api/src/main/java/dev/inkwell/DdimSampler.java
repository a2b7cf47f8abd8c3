package dev.inkwell;

import java.util.Objects;

/**
 * A DDIM sampling loop with classifier-free guidance that calls the caller's model once per
 * step: the JVM-side replacement for diffusers' pipeline loop. The model writes its
 * conditional and unconditional predictions into tensors the sampler owns; the step, the
 * guidance combine and (for eta &gt; 0) the seeded noise run natively.
 */
public final class DdimSampler {
    /** A diffusion model under classifier-free guidance. */
    @FunctionalInterface
    public interface GuidedModel {
        /** Writes the model's conditional and unconditional outputs for {@code sample} at {@code timestep}. */
        void predict(Tensor sample, int timestep, Tensor condOut, Tensor uncondOut);
    }

    /** Told after each step; for progress output on long runs. */
    @FunctionalInterface
    public interface Progress {
        void stepDone(int step, int steps, int timestep);
    }

    private final Inkwell inkwell;
    private final DdimScheduler scheduler;

    public DdimSampler(Inkwell inkwell, DdimScheduler scheduler) {
        this.inkwell = Objects.requireNonNull(inkwell, "inkwell");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
    }

    /** {@link #sample(Tensor, int, double, double, long, GuidedModel, Progress)} without progress. */
    public Tensor sample(Tensor initialNoise, int steps, double guidanceScale, double eta, long seed, GuidedModel model) {
        return sample(initialNoise, steps, guidanceScale, eta, seed, model, null);
    }

    /**
     * Runs {@code steps} DDIM steps from {@code initialNoise} (x_T) and returns the final
     * sample as a new tensor the caller closes. With eta &gt; 0, step i draws its variance
     * noise from the stream of {@code seed} at offset i * elements, so a run is reproducible.
     */
    public Tensor sample(Tensor initialNoise, int steps, double guidanceScale, double eta, long seed, GuidedModel model,
            Progress progress) {
        Objects.requireNonNull(initialNoise, "initialNoise");
        Objects.requireNonNull(model, "model");
        int[] timesteps = scheduler.timesteps(steps);
        long[] shape = initialNoise.shape();
        // Every buffer in the context's memory (GPU memory for a CUDA context): the model
        // writes cond and uncond there.
        Tensor current = inkwell.newTensor(ElementType.FLOAT32, shape);
        try (Tensor next = inkwell.newTensor(ElementType.FLOAT32, shape);
                Tensor cond = inkwell.newTensor(ElementType.FLOAT32, shape);
                Tensor uncond = inkwell.newTensor(ElementType.FLOAT32, shape);
                Tensor noise = eta > 0 ? inkwell.newTensor(ElementType.FLOAT32, shape) : null) {
            inkwell.copy(initialNoise, current);
            Tensor x = current, y = next;
            for (int i = 0; i < timesteps.length; i++) {
                int t = timesteps[i];
                int prev = i + 1 < timesteps.length ? timesteps[i + 1] : -1;
                model.predict(x, t, cond, uncond);
                if (noise != null) {
                    inkwell.randn(noise, seed, (long) i * x.elementCount());
                }
                inkwell.ddimStepGuided(scheduler, t, prev, x, cond, uncond, guidanceScale, eta, noise, y, null);
                Tensor swap = x;
                x = y;
                y = swap;
                if (progress != null) {
                    progress.stepDone(i + 1, steps, t);
                }
            }
            if (x != current) { // the result is in `next`: copy it into the tensor we return
                inkwell.copy(x, current);
            }
            return current;
        } catch (RuntimeException | Error e) {
            current.close();
            throw e;
        }
    }
}
