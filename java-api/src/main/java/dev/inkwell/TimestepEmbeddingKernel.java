package dev.inkwell;

import dev.inkwell.bindings.InkwellNative;
import dev.inkwell.bindings.inkwell_timestep_embedding_params;
import java.lang.foreign.MemorySegment;

/** {@link Layers#timestepEmbedding}: parameter checks and the call to inkwell_timestep_embedding_f32. */
final class TimestepEmbeddingKernel {
    private TimestepEmbeddingKernel() {}

    /** Checks the parameters; returns the output shape [count, dim]. */
    static long[] outputShape(Tensor timesteps, int dim, double downscaleFreqShift, double scale, double maxPeriod) {
        ShapeChecks.rank(timesteps, 1, "timesteps", "[count]");
        ShapeChecks.float32("timestepEmbedding", "timesteps", timesteps);
        if (dim < 1) {
            throw new IllegalArgumentException("timestepEmbedding: dim must be >= 1, got " + dim);
        }
        finite("downscaleFreqShift", downscaleFreqShift);
        finite("scale", scale);
        if (!Double.isFinite(maxPeriod) || maxPeriod <= 0) {
            throw new IllegalArgumentException("timestepEmbedding: maxPeriod must be finite and > 0, got " + maxPeriod);
        }
        int half = dim / 2;
        if (half - downscaleFreqShift == 0) { // the exponent divides by it
            throw new IllegalArgumentException("timestepEmbedding: dim / 2 - downscaleFreqShift must not be 0, got dim "
                    + dim + " and downscaleFreqShift " + downscaleFreqShift);
        }
        return new long[] {timesteps.dim(0), dim};
    }

    private static void finite(String name, double value) {
        if (!Double.isFinite(value)) {
            throw new IllegalArgumentException("timestepEmbedding: " + name + " must be finite, got " + value);
        }
    }

    static void run(Inkwell inkwell, Tensor timesteps, int dim, boolean flipSinToCos, double downscaleFreqShift,
            double scale, double maxPeriod, Tensor out) {
        ShapeChecks.shape(out, outputShape(timesteps, dim, downscaleFreqShift, scale, maxPeriod), "out");
        ShapeChecks.float32("timestepEmbedding", "out", out);
        ShapeChecks.noOverlap("timestepEmbedding", out, "out", timesteps);
        inkwell.run("timestepEmbedding", Inkwell.names("timesteps", "out"), (arena, context) -> {
            MemorySegment p = inkwell_timestep_embedding_params.allocate(arena);
            inkwell_timestep_embedding_params.timesteps(p, timesteps.nativeSegment());
            inkwell_timestep_embedding_params.output(p, out.nativeSegment());
            inkwell_timestep_embedding_params.count(p, timesteps.dim(0));
            inkwell_timestep_embedding_params.dim(p, dim);
            inkwell_timestep_embedding_params.flip_sin_to_cos(p, flipSinToCos ? 1 : 0);
            inkwell_timestep_embedding_params.downscale_freq_shift(p, downscaleFreqShift);
            inkwell_timestep_embedding_params.scale(p, scale);
            inkwell_timestep_embedding_params.max_period(p, maxPeriod);
            return InkwellNative.inkwell_timestep_embedding_f32(context, p);
        }, timesteps, out);
    }
}
