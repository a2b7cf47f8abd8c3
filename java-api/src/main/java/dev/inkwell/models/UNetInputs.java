package dev.inkwell.models;

import dev.inkwell.ElementType;
import dev.inkwell.Tensor;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/** Checks of the U-Net's and the ControlNet's inputs, each message naming the argument and its shape. */
final class UNetInputs {
    private UNetInputs() {}

    static String describe(Tensor t) {
        return t.elementType() + " " + Arrays.toString(t.shape());
    }

    /** sample: float32 [N, channels, H, W] (any H, W: the U-Net interpolates odd skip sizes as diffusers). */
    static void checkSample(Tensor sample, int channels, String field) {
        if (sample.rank() != 4 || sample.dim(1) != channels || sample.elementType() != ElementType.FLOAT32) {
            throw new IllegalArgumentException("sample is " + describe(sample) + ", expected float32 [N, " + channels
                    + ", H, W] (" + field + " " + channels + ")");
        }
    }

    /** encoder_hidden_states: float32 [n, L, crossDim]. */
    static void checkEncoderHiddenStates(Tensor ehs, long n, int crossDim) {
        if (ehs.rank() != 3 || ehs.dim(0) != n || ehs.dim(2) != crossDim
                || ehs.elementType() != ElementType.FLOAT32) {
            throw new IllegalArgumentException("encoderHiddenStates is " + describe(ehs) + ", expected float32 [" + n
                    + ", L, " + crossDim + "] (the sample's batch; cross_attention_dim " + crossDim + ")");
        }
    }

    static void checkTimestep(double timestep) {
        if (!Double.isFinite(timestep)) {
            throw new IllegalArgumentException("timestep " + timestep + " is not finite");
        }
    }

    /** The ControlNet residuals: one per state, each of its shape or [N, C, 1, 1]; the mid one likewise. */
    static void checkResiduals(List<Tensor> down, Tensor mid, List<long[]> shapes) {
        if (down.size() != shapes.size()) {
            throw new IllegalArgumentException("downBlockAdditionalResiduals has " + down.size()
                    + " tensors, expected " + shapes.size() + " (one per down-block output state)");
        }
        for (int i = 0; i < shapes.size(); i++) {
            Tensor r = Objects.requireNonNull(down.get(i), "downBlockAdditionalResiduals[" + i + "]");
            residual(r, shapes.get(i), "downBlockAdditionalResiduals[" + i + "]");
        }
        long[] last = shapes.getLast();
        residual(mid, last, "midBlockAdditionalResidual");
    }

    private static void residual(Tensor r, long[] shape, String what) {
        long[] pooled = {shape[0], shape[1], 1, 1};
        if (r.elementType() != ElementType.FLOAT32
                || !(Arrays.equals(r.shape(), shape) || Arrays.equals(r.shape(), pooled))) {
            throw new IllegalArgumentException(what + " is " + describe(r) + ", expected float32 "
                    + Arrays.toString(shape) + " or " + Arrays.toString(pooled));
        }
    }
}
