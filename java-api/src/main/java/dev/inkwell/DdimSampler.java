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
        /**
         * Writes the model's conditional and unconditional outputs for {@code sample} at
         * {@code timestep}.
         *
         * @param sample the current sample x_t (the sampler's; read it, do not close it)
         * @param timestep the timestep t
         * @param condOut receives the conditional prediction, shaped like the sample
         * @param uncondOut receives the unconditional prediction, shaped like the sample
         */
        void predict(Tensor sample, int timestep, Tensor condOut, Tensor uncondOut);
    }

    /** Told after each step; for progress output on long runs. */
    @FunctionalInterface
    public interface Progress {
        /**
         * Called after each step.
         *
         * @param step steps done, 1..steps
         * @param steps steps in all
         * @param timestep the timestep of the step just done
         */
        void stepDone(int step, int steps, int timestep);
    }

    private final Inkwell inkwell;
    private final DdimScheduler scheduler;

    /**
     * A sampler running its steps on a context.
     *
     * @param inkwell the context the steps run on (its device holds the sampler's buffers)
     * @param scheduler the schedule of timesteps and alphas
     * @throws NullPointerException if either is null
     */
    public DdimSampler(Inkwell inkwell, DdimScheduler scheduler) {
        this.inkwell = Objects.requireNonNull(inkwell, "inkwell");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
    }

    /**
     * {@link #sample(Tensor, int, double, double, long, GuidedModel, Progress)} without progress.
     *
     * @param initialNoise x_T, float32
     * @param steps inference steps, 1..trainTimesteps
     * @param guidanceScale classifier-free guidance scale, finite
     * @param eta DDIM eta, finite and &gt;= 0 (0: deterministic)
     * @param seed the noise stream used when eta &gt; 0
     * @param model the model called once per step
     * @return the final sample, a new tensor in the context's memory that the caller closes
     * @throws IllegalArgumentException as the full overload
     */
    public Tensor sample(Tensor initialNoise, int steps, double guidanceScale, double eta, long seed, GuidedModel model) {
        return sample(initialNoise, steps, guidanceScale, eta, seed, model, null);
    }

    /**
     * Runs {@code steps} DDIM steps from {@code initialNoise} (x_T) and returns the final
     * sample as a new tensor the caller closes. With eta &gt; 0, step i draws its variance
     * noise from the stream of {@code seed} at offset i * elements, so a run is reproducible.
     *
     * @param initialNoise x_T, float32 (host memory or the context's)
     * @param steps inference steps, 1..trainTimesteps
     * @param guidanceScale classifier-free guidance scale, finite
     * @param eta DDIM eta, finite and &gt;= 0 (0: deterministic)
     * @param seed the noise stream used when eta &gt; 0
     * @param model the model called once per step
     * @param progress told after each step, or null
     * @return the final sample, a new tensor in the context's memory that the caller closes
     * @throws NullPointerException if {@code initialNoise} or {@code model} is null
     * @throws IllegalArgumentException if steps, guidance scale or eta is out of range, or
     *     the noise is not float32
     * @throws IllegalStateException if the context or the noise is closed
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
