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

    /**
     * Stable Diffusion 1.x: 1000 steps, scaled-linear betas 0.00085..0.012, offset 1, leading, epsilon.
     *
     * @return the scheduler
     */
    public static DdimScheduler stableDiffusion() {
        return builder().build();
    }

    /**
     * A builder with Stable Diffusion 1.x's settings.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A builder starting from these settings.
     *
     * @return a new builder
     */
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

        /**
         * The number of training timesteps T.
         *
         * @param value 1..100000
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder trainTimesteps(int value) {
            if (value < 1 || value > 100_000) {
                throw new IllegalArgumentException("train timesteps must be 1..100000, got " + value);
            }
            trainTimesteps = value;
            return this;
        }

        /**
         * How betas go from start to end.
         *
         * @param value the schedule
         * @return this builder
         * @throws NullPointerException if {@code value} is null
         */
        public Builder betaSchedule(BetaSchedule value) {
            betaSchedule = Objects.requireNonNull(value, "beta schedule");
            return this;
        }

        /**
         * The first and last beta.
         *
         * @param start 0 &lt; start &lt;= end
         * @param end end &lt; 1
         * @return this builder
         * @throws IllegalArgumentException unless 0 &lt; start &lt;= end &lt; 1
         */
        public Builder betas(double start, double end) {
            if (!(start > 0 && start <= end && end < 1)) {
                throw new IllegalArgumentException("betas must satisfy 0 < start <= end < 1, got " + start + ", " + end);
            }
            betaStart = start;
            betaEnd = end;
            return this;
        }

        /**
         * diffusers' {@code steps_offset}, added to leading timesteps.
         *
         * @param value at least 0
         * @return this builder
         * @throws IllegalArgumentException if negative
         */
        public Builder stepsOffset(int value) {
            if (value < 0) {
                throw new IllegalArgumentException("steps offset must be >= 0, got " + value);
            }
            stepsOffset = value;
            return this;
        }

        /**
         * diffusers' {@code set_alpha_to_one}: the alpha after the last step is 1, else
         * alphas_cumprod[0].
         *
         * @param value the setting
         * @return this builder
         */
        public Builder setAlphaToOne(boolean value) {
            setAlphaToOne = value;
            return this;
        }

        /**
         * How inference timesteps are spread over the training ones.
         *
         * @param value the spacing
         * @return this builder
         * @throws NullPointerException if {@code value} is null
         */
        public Builder timestepSpacing(TimestepSpacing value) {
            spacing = Objects.requireNonNull(value, "timestep spacing");
            return this;
        }

        /**
         * What the model predicts.
         *
         * @param value the prediction type
         * @return this builder
         * @throws NullPointerException if {@code value} is null
         */
        public Builder predictionType(PredictionType value) {
            predictionType = Objects.requireNonNull(value, "prediction type");
            return this;
        }

        /**
         * Whether to clamp the predicted x0 to [-range, range].
         *
         * @param clip true to clamp
         * @param range finite and &gt; 0
         * @return this builder
         * @throws IllegalArgumentException if {@code range} is not finite or not positive
         */
        public Builder clipSample(boolean clip, double range) {
            if (!Double.isFinite(range) || range <= 0) {
                throw new IllegalArgumentException("clip sample range must be finite and > 0, got " + range);
            }
            clipSample = clip;
            clipSampleRange = range;
            return this;
        }

        /**
         * The scheduler with these settings.
         *
         * @return a new scheduler
         */
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
     *
     * @param steps inference steps, 1..{@link #trainTimesteps()}
     * @return the timesteps, noisiest first
     * @throws IllegalArgumentException if {@code steps} is out of range, or the steps offset
     *     puts a timestep outside 0..T-1
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

    /**
     * The cumulative alpha at a timestep.
     *
     * @param timestep t &lt; T; negative for the step after the last
     * @return alphas_cumprod[t] for 0 &lt;= t &lt; T; {@link #finalAlphaCumprod()} for t &lt; 0
     * @throws IllegalArgumentException if {@code timestep} &gt;= T
     */
    public double alphaCumprod(int timestep) {
        if (timestep < 0) {
            return finalAlphaCumprod();
        }
        if (timestep >= trainTimesteps) {
            throw new IllegalArgumentException("timestep must be < " + trainTimesteps + ", got " + timestep);
        }
        return alphasCumprod[timestep];
    }

    /**
     * The alpha after the last step.
     *
     * @return 1 with set_alpha_to_one, else alphas_cumprod[0]
     */
    public double finalAlphaCumprod() {
        return setAlphaToOne ? 1.0 : alphasCumprod[0];
    }

    /**
     * All cumulative alphas.
     *
     * @return a copy of alphas_cumprod[0..T)
     */
    public double[] alphasCumprod() {
        return alphasCumprod.clone();
    }

    /**
     * The number of training timesteps.
     *
     * @return T
     */
    public int trainTimesteps() {
        return trainTimesteps;
    }

    /**
     * What the model predicts.
     *
     * @return the prediction type
     */
    public PredictionType predictionType() {
        return predictionType;
    }

    /**
     * Whether the predicted x0 is clamped.
     *
     * @return true if clamped to [-{@link #clipSampleRange()}, {@link #clipSampleRange()}]
     */
    public boolean clipSample() {
        return clipSample;
    }

    /**
     * The clamp range of the predicted x0.
     *
     * @return the range (used when {@link #clipSample()} is true)
     */
    public double clipSampleRange() {
        return clipSampleRange;
    }

    /**
     * How inference timesteps are spread.
     *
     * @return the spacing
     */
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
