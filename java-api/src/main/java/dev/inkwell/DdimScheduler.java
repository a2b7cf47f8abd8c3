package dev.inkwell;

import java.util.Objects;

/**
 * DDIM scheduler settings with diffusers' semantics ({@code DDIMScheduler}), and what is
 * derived from them on the host in double precision: the cumulative alphas and the
 * inference timesteps. Immutable; {@link #stableDiffusion()} is the Stable Diffusion 1.x
 * configuration.
 *
 * <p>Unlike diffusers, which derives the previous timestep as t - T/N (wrong for trailing
 * and linspace spacing), a step goes from one entry of {@link #timesteps(int)} to the next;
 * after the last one the "previous" alpha is {@link #finalAlphaCumprod()}.
 */
public final class DdimScheduler {
    private final int trainTimesteps;
    private final BetaSchedule betaSchedule;
    private final double betaStart;
    private final double betaEnd;
    private final int stepsOffset;
    private final boolean setAlphaToOne;
    private final TimestepSpacing spacing;
    private final PredictionType predictionType;
    private final boolean clipSample;
    private final double clipSampleRange;
    private final double[] alphasCumprod;

    private DdimScheduler(Builder b) {
        this.trainTimesteps = b.trainTimesteps;
        this.betaSchedule = b.betaSchedule;
        this.betaStart = b.betaStart;
        this.betaEnd = b.betaEnd;
        this.stepsOffset = b.stepsOffset;
        this.setAlphaToOne = b.setAlphaToOne;
        this.spacing = b.spacing;
        this.predictionType = b.predictionType;
        this.clipSample = b.clipSample;
        this.clipSampleRange = b.clipSampleRange;
        this.alphasCumprod = cumulativeAlphas();
    }

    /** Stable Diffusion 1.x: 1000 steps, scaled-linear betas 0.00085..0.012, offset 1, leading, epsilon. */
    public static DdimScheduler stableDiffusion() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from these settings. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.trainTimesteps = trainTimesteps;
        b.betaSchedule = betaSchedule;
        b.betaStart = betaStart;
        b.betaEnd = betaEnd;
        b.stepsOffset = stepsOffset;
        b.setAlphaToOne = setAlphaToOne;
        b.spacing = spacing;
        b.predictionType = predictionType;
        b.clipSample = clipSample;
        b.clipSampleRange = clipSampleRange;
        return b;
    }

    /** Settings of a scheduler; defaults are Stable Diffusion 1.x's. */
    public static final class Builder {
        private int trainTimesteps = 1000;
        private BetaSchedule betaSchedule = BetaSchedule.SCALED_LINEAR;
        private double betaStart = 0.00085;
        private double betaEnd = 0.012;
        private int stepsOffset = 1;
        private boolean setAlphaToOne = false;
        private TimestepSpacing spacing = TimestepSpacing.LEADING;
        private PredictionType predictionType = PredictionType.EPSILON;
        private boolean clipSample = false;
        private double clipSampleRange = 1.0;

        private Builder() {}

        public Builder trainTimesteps(int value) {
            if (value < 1 || value > 100_000) {
                throw new IllegalArgumentException("train timesteps must be 1..100000, got " + value);
            }
            trainTimesteps = value;
            return this;
        }

        public Builder betaSchedule(BetaSchedule value) {
            betaSchedule = Objects.requireNonNull(value, "beta schedule");
            return this;
        }

        /** 0 &lt; start &lt;= end &lt; 1. */
        public Builder betas(double start, double end) {
            if (!(start > 0 && start <= end && end < 1)) {
                throw new IllegalArgumentException("betas must satisfy 0 < start <= end < 1, got " + start + ", " + end);
            }
            betaStart = start;
            betaEnd = end;
            return this;
        }

        public Builder stepsOffset(int value) {
            if (value < 0) {
                throw new IllegalArgumentException("steps offset must be >= 0, got " + value);
            }
            stepsOffset = value;
            return this;
        }

        public Builder setAlphaToOne(boolean value) {
            setAlphaToOne = value;
            return this;
        }

        public Builder timestepSpacing(TimestepSpacing value) {
            spacing = Objects.requireNonNull(value, "timestep spacing");
            return this;
        }

        public Builder predictionType(PredictionType value) {
            predictionType = Objects.requireNonNull(value, "prediction type");
            return this;
        }

        /** Clamp predicted x0 to [-range, range]; range finite and > 0. */
        public Builder clipSample(boolean clip, double range) {
            if (!Double.isFinite(range) || range <= 0) {
                throw new IllegalArgumentException("clip sample range must be finite and > 0, got " + range);
            }
            clipSample = clip;
            clipSampleRange = range;
            return this;
        }

        public DdimScheduler build() {
            return new DdimScheduler(this);
        }
    }

    private double[] cumulativeAlphas() {
        boolean scaled = betaSchedule == BetaSchedule.SCALED_LINEAR;
        double[] betas = linspace(scaled ? Math.sqrt(betaStart) : betaStart, scaled ? Math.sqrt(betaEnd) : betaEnd,
                trainTimesteps);
        double[] out = new double[trainTimesteps];
        double product = 1;
        for (int t = 0; t < trainTimesteps; t++) {
            double beta = scaled ? betas[t] * betas[t] : betas[t];
            product *= 1 - beta;
            out[t] = product;
        }
        return out;
    }

    /**
     * The inference timesteps for a number of steps, from noisiest to cleanest, as
     * diffusers' {@code set_timesteps} computes them for this spacing.
     */
    public int[] timesteps(int steps) {
        if (steps < 1 || steps > trainTimesteps) {
            throw new IllegalArgumentException("steps must be 1.." + trainTimesteps + ", got " + steps);
        }
        int[] out = new int[steps];
        switch (spacing) {
            case LEADING -> {
                int ratio = trainTimesteps / steps;
                for (int i = 0; i < steps; i++) {
                    out[i] = (steps - 1 - i) * ratio + stepsOffset;
                }
            }
            case TRAILING -> {
                double ratio = (double) trainTimesteps / steps;
                for (int i = 0; i < steps; i++) {
                    out[i] = (int) Math.rint(trainTimesteps - i * ratio) - 1;
                }
            }
            case LINSPACE -> {
                double[] grid = linspace(0, trainTimesteps - 1, steps);
                for (int i = 0; i < steps; i++) {
                    out[i] = (int) Math.rint(grid[steps - 1 - i]);
                }
            }
        }
        for (int t : out) {
            if (t < 0 || t >= trainTimesteps) {
                throw new IllegalArgumentException("steps offset " + stepsOffset + " puts timestep " + t + " outside 0.."
                        + (trainTimesteps - 1) + " for " + steps + " steps");
            }
        }
        return out;
    }

    /** numpy.linspace's arithmetic (start + i * step, the last point exactly stop), so
     *  timesteps and betas round exactly as diffusers' do. */
    private static double[] linspace(double start, double stop, int n) {
        double[] out = new double[n];
        if (n == 1) {
            out[0] = start;
            return out;
        }
        double step = (stop - start) / (n - 1);
        for (int i = 0; i < n; i++) {
            out[i] = start + i * step;
        }
        out[n - 1] = stop;
        return out;
    }

    /** alphas_cumprod[t] for 0 &lt;= t &lt; T; {@link #finalAlphaCumprod()} for t &lt; 0. */
    public double alphaCumprod(int timestep) {
        if (timestep < 0) {
            return finalAlphaCumprod();
        }
        if (timestep >= trainTimesteps) {
            throw new IllegalArgumentException("timestep must be < " + trainTimesteps + ", got " + timestep);
        }
        return alphasCumprod[timestep];
    }

    /** The alpha after the last step: 1 with set_alpha_to_one, else alphas_cumprod[0]. */
    public double finalAlphaCumprod() {
        return setAlphaToOne ? 1.0 : alphasCumprod[0];
    }

    /** A copy of all cumulative alphas. */
    public double[] alphasCumprod() {
        return alphasCumprod.clone();
    }

    public int trainTimesteps() {
        return trainTimesteps;
    }

    public PredictionType predictionType() {
        return predictionType;
    }

    public boolean clipSample() {
        return clipSample;
    }

    public double clipSampleRange() {
        return clipSampleRange;
    }

    public TimestepSpacing timestepSpacing() {
        return spacing;
    }

    @Override
    public String toString() {
        return "DdimScheduler[T=" + trainTimesteps + ", " + betaSchedule + " " + betaStart + ".." + betaEnd + ", offset "
                + stepsOffset + ", alphaToOne " + setAlphaToOne + ", " + spacing + ", " + predictionType
                + (clipSample ? ", clip " + clipSampleRange : "") + "]";
    }
}
