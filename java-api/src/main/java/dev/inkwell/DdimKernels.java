package dev.inkwell;

import dev.inkwell.bindings.InkwellNative;
import dev.inkwell.bindings.inkwell_add_noise_params;
import dev.inkwell.bindings.inkwell_ddim_step_params;
import dev.inkwell.bindings.inkwell_randn_params;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/** The DDIM step, forward noising and the seeded noise generator: checks and native calls. */
final class DdimKernels {
    private DdimKernels() {}

    /** One step; uncond == null means no guidance. */
    static void step(Inkwell inkwell, DdimScheduler scheduler, int timestep, int prevTimestep, Tensor sample,
            Tensor modelOutput, Tensor uncond, double guidanceScale, double eta, Tensor noise, Tensor prevSample,
            Tensor predOriginal) {
        Objects.requireNonNull(scheduler, "scheduler");
        Objects.requireNonNull(sample, "sample");
        long[] shape = sample.shape();
        ShapeChecks.shape(modelOutput, shape, uncond == null ? "model output" : "conditional model output");
        if (uncond != null) {
            ShapeChecks.shape(uncond, shape, "unconditional model output");
            if (!Double.isFinite(guidanceScale)) {
                throw new IllegalArgumentException("guidance scale must be finite, got " + guidanceScale);
            }
        }
        if (!Double.isFinite(eta) || eta < 0) {
            throw new IllegalArgumentException("eta must be finite and >= 0, got " + eta);
        }
        if (eta > 0) {
            if (noise == null) {
                throw new IllegalArgumentException("eta " + eta + " > 0 needs a noise tensor");
            }
            ShapeChecks.shape(noise, shape, "noise");
        }
        if (timestep < 0 || timestep >= scheduler.trainTimesteps()) {
            throw new IllegalArgumentException("timestep must be 0.." + (scheduler.trainTimesteps() - 1) + ", got " + timestep);
        }
        if (prevTimestep >= timestep) {
            throw new IllegalArgumentException("previous timestep " + prevTimestep + " must be below timestep " + timestep
                    + " (negative for the final step)");
        }
        ShapeChecks.shape(prevSample, shape, "previous sample");
        Tensor usedNoise = eta > 0 ? noise : null;
        ShapeChecks.float32("ddimStep", "sample", sample);
        ShapeChecks.float32("ddimStep", "model output", modelOutput);
        ShapeChecks.float32("ddimStep", "unconditional model output", uncond);
        ShapeChecks.float32("ddimStep", "noise", usedNoise);
        ShapeChecks.float32("ddimStep", "previous sample", prevSample);
        ShapeChecks.float32("ddimStep", "predicted original sample", predOriginal);
        ShapeChecks.noOverlap("ddimStep", prevSample, "previous sample", sample, modelOutput, uncond, usedNoise);
        if (predOriginal != null) {
            ShapeChecks.shape(predOriginal, shape, "predicted original sample");
            ShapeChecks.noOverlap("ddimStep", predOriginal, "predicted original sample", sample, modelOutput, uncond,
                    usedNoise, prevSample);
        }
        double alphaT = scheduler.alphaCumprod(timestep), alphaPrev = scheduler.alphaCumprod(prevTimestep);
        inkwell.run("ddimStep", Inkwell.names("sample", uncond == null ? "model output" : "conditional model output",
                "unconditional model output", "noise", "previous sample", "predicted original sample"), (arena, context) -> {
            MemorySegment p = inkwell_ddim_step_params.allocate(arena);
            inkwell_ddim_step_params.sample(p, sample.nativeSegment());
            inkwell_ddim_step_params.model_output(p, modelOutput.nativeSegment());
            inkwell_ddim_step_params.model_output_uncond(p, uncond == null ? MemorySegment.NULL : uncond.nativeSegment());
            inkwell_ddim_step_params.noise(p, usedNoise == null ? MemorySegment.NULL : usedNoise.nativeSegment());
            inkwell_ddim_step_params.prev_sample(p, prevSample.nativeSegment());
            inkwell_ddim_step_params.pred_original_sample(p, predOriginal == null ? MemorySegment.NULL : predOriginal.nativeSegment());
            inkwell_ddim_step_params.count(p, sample.elementCount());
            inkwell_ddim_step_params.guidance_scale(p, uncond == null ? 1.0 : guidanceScale);
            inkwell_ddim_step_params.alpha_prod_t(p, alphaT);
            inkwell_ddim_step_params.alpha_prod_t_prev(p, alphaPrev);
            inkwell_ddim_step_params.eta(p, eta);
            inkwell_ddim_step_params.prediction_type(p, scheduler.predictionType().code());
            inkwell_ddim_step_params.clip_sample(p, scheduler.clipSample() ? 1 : 0);
            inkwell_ddim_step_params.clip_sample_range(p, scheduler.clipSampleRange());
            return InkwellNative.inkwell_ddim_step_f32(context, p);
        }, sample, modelOutput, uncond, usedNoise, prevSample, predOriginal);
    }

    static void addNoise(Inkwell inkwell, DdimScheduler scheduler, Tensor original, Tensor noise, int timestep, Tensor out) {
        Objects.requireNonNull(scheduler, "scheduler");
        Objects.requireNonNull(original, "original");
        ShapeChecks.shape(noise, original.shape(), "noise");
        ShapeChecks.shape(out, original.shape(), "out");
        ShapeChecks.float32("addNoise", "original", original);
        ShapeChecks.float32("addNoise", "noise", noise);
        ShapeChecks.float32("addNoise", "out", out);
        ShapeChecks.noOverlap("addNoise", out, "out", original, noise);
        if (timestep < 0 || timestep >= scheduler.trainTimesteps()) {
            throw new IllegalArgumentException("timestep must be 0.." + (scheduler.trainTimesteps() - 1) + ", got " + timestep);
        }
        double alpha = scheduler.alphaCumprod(timestep);
        inkwell.run("addNoise", Inkwell.names("original", "noise", "out"), (arena, context) -> {
            MemorySegment p = inkwell_add_noise_params.allocate(arena);
            inkwell_add_noise_params.original(p, original.nativeSegment());
            inkwell_add_noise_params.noise(p, noise.nativeSegment());
            inkwell_add_noise_params.out(p, out.nativeSegment());
            inkwell_add_noise_params.count(p, original.elementCount());
            inkwell_add_noise_params.alpha_prod(p, alpha);
            return InkwellNative.inkwell_add_noise_f32(context, p);
        }, original, noise, out);
    }

    static void randn(Inkwell inkwell, Tensor out, long seed, long offset) {
        Objects.requireNonNull(out, "out");
        ShapeChecks.float32("randn", "out", out);
        if (offset < 0) {
            throw new IllegalArgumentException("noise stream offset must be >= 0, got " + offset);
        }
        inkwell.run("randn", Inkwell.names("out"), (arena, context) -> {
            MemorySegment p = inkwell_randn_params.allocate(arena);
            inkwell_randn_params.out(p, out.nativeSegment());
            inkwell_randn_params.count(p, out.elementCount());
            inkwell_randn_params.seed(p, seed);
            inkwell_randn_params.offset(p, offset);
            return InkwellNative.inkwell_randn_f32(context, p);
        }, out);
    }
}
