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
    private final double[] trainedBetas; // null: from the beta schedule
    private final boolean rescaleBetasZeroSnr;
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
        this.trainedBetas = b.trainedBetas;
        this.rescaleBetasZeroSnr = b.rescaleBetasZeroSnr;
        if (trainedBetas != null && trainedBetas.length != trainTimesteps) {
            throw new IllegalArgumentException("trained betas has " + trainedBetas.length
                    + " entries but train timesteps is " + trainTimesteps);
        }
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
        b.trainedBetas = trainedBetas;
        b.rescaleBetasZeroSnr = rescaleBetasZeroSnr;
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
        private double[] trainedBetas;
        private boolean rescaleBetasZeroSnr;

        private Builder() {}

        /**
         * diffusers' {@code trained_betas}: the betas given one per training timestep, used
         * instead of the beta schedule (whose start and end are then ignored, as in diffusers).
         *
         * @param values one beta per training timestep, each finite and in [0, 1]; null to use
         *     the beta schedule again. The length must equal {@link #trainTimesteps(int)} when
         *     {@link #build()} runs.
         * @return this builder
         * @throws IllegalArgumentException if the array is empty or an entry is out of range
         */
        public Builder trainedBetas(double[] values) {
            if (values == null) {
                trainedBetas = null;
                return this;
            }
            if (values.length == 0) {
                throw new IllegalArgumentException("trained betas is empty");
            }
            for (int i = 0; i < values.length; i++) {
                if (!(values[i] >= 0 && values[i] <= 1)) {
                    throw new IllegalArgumentException("trained betas[" + i + "] = " + values[i]
                            + " is not in [0, 1]");
                }
            }
            trainedBetas = values.clone();
            return this;
        }

        /**
         * diffusers' {@code rescale_betas_zero_snr}: rescale the betas so that the last
         * timestep has zero signal-to-noise ratio ({@code rescale_zero_terminal_snr}, Lin et
         * al. 2023, "Common Diffusion Noise Schedules and Sample Steps are Flawed").
         *
         * @param value the setting
         * @return this builder
         */
        public Builder rescaleBetasZeroSnr(boolean value) {
            rescaleBetasZeroSnr = value;
            return this;
        }

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
        double[] betas = betas();
        if (rescaleBetasZeroSnr) {
            betas = rescaleZeroTerminalSnr(betas);
        }
        double[] out = new double[trainTimesteps];
        double product = 1;
        for (int t = 0; t < trainTimesteps; t++) {
            product *= 1 - betas[t];
            out[t] = product;
        }
        return out;
    }

    /** The betas before any rescaling: trained_betas, or the beta schedule's. */
    private double[] betas() {
        if (trainedBetas != null) {
            return trainedBetas.clone();
        }
        return switch (betaSchedule) {
            case LINEAR -> linspace(betaStart, betaEnd, trainTimesteps);
            case SCALED_LINEAR -> {
                double[] b = linspace(Math.sqrt(betaStart), Math.sqrt(betaEnd), trainTimesteps);
                for (int t = 0; t < b.length; t++) {
                    b[t] *= b[t];
                }
                yield b;
            }
            case SQUAREDCOS_CAP_V2 -> {
                // diffusers' betas_for_alpha_bar(T, max_beta=0.999, alpha_transform_type="cosine")
                double[] b = new double[trainTimesteps];
                for (int i = 0; i < trainTimesteps; i++) {
                    double t1 = (double) i / trainTimesteps, t2 = (double) (i + 1) / trainTimesteps;
                    b[i] = Math.min(1 - cosineAlphaBar(t2) / cosineAlphaBar(t1), 0.999);
                }
                yield b;
            }
        };
    }

    private static double cosineAlphaBar(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    /**
     * diffusers' {@code rescale_zero_terminal_snr}: shift and scale sqrt(alphas_cumprod) so
     * that its last entry is 0 and its first unchanged, then turn it back into betas.
     */
    private static double[] rescaleZeroTerminalSnr(double[] betas) {
        int n = betas.length;
        double[] sqrtBar = new double[n];
        double product = 1;
        for (int t = 0; t < n; t++) {
            product *= 1 - betas[t];
            sqrtBar[t] = Math.sqrt(product);
        }
        double first = sqrtBar[0], last = sqrtBar[n - 1];
        if (!(first > last)) {
            throw new IllegalArgumentException("rescale_betas_zero_snr needs sqrt(alphas_cumprod) to fall over the "
                    + "schedule, but its first entry " + first + " is not above its last " + last);
        }
        double scale = first / (first - last);
        double[] bar = new double[n];
        for (int t = 0; t < n; t++) {
            double s = (sqrtBar[t] - last) * scale;
            bar[t] = s * s;
        }
        double[] out = new double[n];
        out[0] = 1 - bar[0];
        for (int t = 1; t < n; t++) {
            out[t] = 1 - bar[t] / bar[t - 1];
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

    /**
     * Whether the betas were rescaled to zero terminal SNR.
     *
     * @return diffusers' {@code rescale_betas_zero_snr}
     */
    public boolean rescaleBetasZeroSnr() {
        return rescaleBetasZeroSnr;
    }

    /**
     * The steps offset added to leading timesteps.
     *
     * @return diffusers' {@code steps_offset}
     */
    public int stepsOffset() {
        return stepsOffset;
    }

    @Override
    public String toString() {
        return "DdimScheduler[T=" + trainTimesteps + ", "
                + (trainedBetas != null ? "trained betas" : betaSchedule + " " + betaStart + ".." + betaEnd)
                + (rescaleBetasZeroSnr ? " rescaled to zero SNR" : "") + ", offset "
                + stepsOffset + ", alphaToOne " + setAlphaToOne + ", " + spacing + ", " + predictionType
                + (clipSample ? ", clip " + clipSampleRange : "") + "]";
    }
}
