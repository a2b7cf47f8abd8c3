package dev.inkwell.pipeline;

import dev.inkwell.ControlNetAnnotator;
import java.util.Objects;

/**
 * The knobs of one colorization, with the defaults of ControlNet's Canny demo
 * ({@code gradio_canny2image.py}) and diffusers' {@code StableDiffusionControlNetPipeline}.
 * Immutable; build with {@link #builder(String)}. Every value is checked on construction, so a built
 * options object is always valid.
 *
 * @param prompt what the picture shows
 * @param addedPrompt appended as {@code prompt + ", " + addedPrompt}, as ControlNet's demo does
 *     (default "best quality, extremely detailed", the demo's); empty: the prompt alone
 * @param negativePrompt what to steer away from (default the demo's list); the unconditional
 *     half of classifier-free guidance
 * @param steps DDIM inference steps, at least 1 (default 20)
 * @param guidanceScale classifier-free guidance scale, finite (default 9); at most 1 means no
 *     guidance (one pass of the conditional half, as diffusers)
 * @param eta DDIM eta, finite and &gt;= 0 (default 0: deterministic)
 * @param seed the start latents' noise stream, and eta's (Inkwell's noise stream, not PyTorch's
 *     generator: the same seed gives other noise than diffusers)
 * @param lowThreshold Canny's low threshold (default 100)
 * @param highThreshold Canny's high threshold (default 200)
 * @param resolution the drawing's short side before rounding to multiples of 64 (default 512,
 *     at least 64)
 * @param controlStrength diffusers' {@code controlnet_conditioning_scale}, finite (default 1)
 * @param guessMode diffusers' {@code guess_mode}: ControlNet sees only the conditional half and
 *     its residuals are scaled by logspace(-1, 0, 13) (default false)
 * @param controlGuidanceStart diffusers' {@code control_guidance_start}: the fraction of steps
 *     before which ControlNet is off, in [0, 1) (default 0)
 * @param controlGuidanceEnd diffusers' {@code control_guidance_end}: the fraction of steps after
 *     which ControlNet is off, in (start, 1] (default 1)
 */
public record ColorizeOptions(String prompt, String addedPrompt, String negativePrompt, int steps,
        double guidanceScale, double eta, long seed, double lowThreshold, double highThreshold, int resolution,
        double controlStrength, boolean guessMode, double controlGuidanceStart, double controlGuidanceEnd) {

    /** ControlNet demo's {@code a_prompt}. */
    public static final String DEFAULT_ADDED_PROMPT = "best quality, extremely detailed";
    /** ControlNet demo's {@code n_prompt}. */
    public static final String DEFAULT_NEGATIVE_PROMPT = "longbody, lowres, bad anatomy, bad hands, missing fingers, "
            + "extra digit, fewer digits, cropped, worst quality, low quality";

    /**
     * Checks every value.
     *
     * @param prompt not null
     * @param addedPrompt not null
     * @param negativePrompt not null
     * @param steps at least 1
     * @param guidanceScale finite
     * @param eta finite, &gt;= 0
     * @param seed any
     * @param lowThreshold finite, &gt;= 0
     * @param highThreshold finite, &gt;= 0
     * @param resolution at least 64
     * @param controlStrength finite
     * @param guessMode any
     * @param controlGuidanceStart 0 &lt;= start &lt; end
     * @param controlGuidanceEnd start &lt; end &lt;= 1
     * @throws NullPointerException if a text is null
     * @throws IllegalArgumentException naming the value out of range
     */
    public ColorizeOptions {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(addedPrompt, "addedPrompt");
        Objects.requireNonNull(negativePrompt, "negativePrompt");
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be at least 1, got " + steps);
        }
        if (!Double.isFinite(guidanceScale)) {
            throw new IllegalArgumentException("guidance scale must be finite, got " + guidanceScale);
        }
        if (!(Double.isFinite(eta) && eta >= 0)) {
            throw new IllegalArgumentException("eta must be finite and >= 0, got " + eta);
        }
        if (!(Double.isFinite(lowThreshold) && lowThreshold >= 0 && Double.isFinite(highThreshold)
                && highThreshold >= 0)) {
            throw new IllegalArgumentException("Canny thresholds must be finite and >= 0, got " + lowThreshold + ", "
                    + highThreshold);
        }
        if (resolution < ControlNetAnnotator.MIN_RESOLUTION) {
            throw new IllegalArgumentException("resolution must be at least " + ControlNetAnnotator.MIN_RESOLUTION
                    + ", got " + resolution);
        }
        if (!Double.isFinite(controlStrength)) {
            throw new IllegalArgumentException("control strength must be finite, got " + controlStrength);
        }
        if (!(controlGuidanceStart >= 0 && controlGuidanceStart < controlGuidanceEnd && controlGuidanceEnd <= 1)) {
            throw new IllegalArgumentException("control guidance must satisfy 0 <= start < end <= 1, got start "
                    + controlGuidanceStart + ", end " + controlGuidanceEnd);
        }
    }

    /**
     * A builder with the defaults.
     *
     * @param prompt what the picture shows
     * @return a new builder
     * @throws NullPointerException if {@code prompt} is null
     */
    public static Builder builder(String prompt) {
        return new Builder(Objects.requireNonNull(prompt, "prompt"));
    }

    /**
     * A builder starting from these options.
     *
     * @return a new builder
     */
    public Builder toBuilder() {
        Builder b = new Builder(prompt);
        b.addedPrompt = addedPrompt;
        b.negativePrompt = negativePrompt;
        b.steps = steps;
        b.guidanceScale = guidanceScale;
        b.eta = eta;
        b.seed = seed;
        b.low = lowThreshold;
        b.high = highThreshold;
        b.resolution = resolution;
        b.strength = controlStrength;
        b.guessMode = guessMode;
        b.start = controlGuidanceStart;
        b.end = controlGuidanceEnd;
        return b;
    }

    /**
     * The prompt the text encoder sees: {@code prompt + ", " + addedPrompt}, or the prompt
     * alone when the added prompt is empty.
     *
     * @return the full prompt
     */
    public String fullPrompt() {
        return addedPrompt.isEmpty() ? prompt : prompt + ", " + addedPrompt;
    }

    /**
     * Whether classifier-free guidance runs (diffusers: {@code guidance_scale > 1}).
     *
     * @return true for a batch of 2 (unconditional first)
     */
    public boolean classifierFreeGuidance() {
        return guidanceScale > 1;
    }

    /**
     * diffusers' {@code controlnet_keep[i]}: 0 when step i lies outside
     * [controlGuidanceStart, controlGuidanceEnd] of the steps, else 1.
     *
     * @param step 0..steps-1
     * @return 0 or 1
     */
    public double controlKeep(int step) {
        boolean off = (double) step / steps < controlGuidanceStart || (double) (step + 1) / steps > controlGuidanceEnd;
        return off ? 0.0 : 1.0;
    }

    /** Builds {@link ColorizeOptions}; setters do not check, {@link #build()} does. */
    public static final class Builder {
        private final String prompt;
        private String addedPrompt = DEFAULT_ADDED_PROMPT;
        private String negativePrompt = DEFAULT_NEGATIVE_PROMPT;
        private int steps = 20;
        private double guidanceScale = 9;
        private double eta = 0;
        private long seed = 0;
        private double low = ControlNetAnnotator.DEFAULT_LOW_THRESHOLD;
        private double high = ControlNetAnnotator.DEFAULT_HIGH_THRESHOLD;
        private int resolution = ControlNetAnnotator.DEFAULT_RESOLUTION;
        private double strength = 1;
        private boolean guessMode;
        private double start = 0;
        private double end = 1;

        private Builder(String prompt) {
            this.prompt = prompt;
        }

        /**
         * Sets the added prompt.
         *
         * @param value appended after ", "; empty for none
         * @return this builder
         */
        public Builder addedPrompt(String value) {
            addedPrompt = value;
            return this;
        }

        /**
         * Sets the negative prompt.
         *
         * @param value the negative prompt; empty for none (the empty text's embedding, as diffusers)
         * @return this builder
         */
        public Builder negativePrompt(String value) {
            negativePrompt = value;
            return this;
        }

        /**
         * Sets the number of DDIM steps.
         *
         * @param value at least 1
         * @return this builder
         */
        public Builder steps(int value) {
            steps = value;
            return this;
        }

        /**
         * Sets the guidance scale.
         *
         * @param value finite; at most 1: no classifier-free guidance
         * @return this builder
         */
        public Builder guidanceScale(double value) {
            guidanceScale = value;
            return this;
        }

        /**
         * Sets DDIM's eta.
         *
         * @param value finite, &gt;= 0
         * @return this builder
         */
        public Builder eta(double value) {
            eta = value;
            return this;
        }

        /**
         * Sets the seed of Inkwell's noise stream.
         *
         * @param value any
         * @return this builder
         */
        public Builder seed(long value) {
            seed = value;
            return this;
        }

        /**
         * Sets Canny's thresholds.
         *
         * @param lowValue low threshold
         * @param highValue high threshold
         * @return this builder
         */
        public Builder cannyThresholds(double lowValue, double highValue) {
            low = lowValue;
            high = highValue;
            return this;
        }

        /**
         * Sets the resolution.
         *
         * @param value at least 64
         * @return this builder
         */
        public Builder resolution(int value) {
            resolution = value;
            return this;
        }

        /**
         * Sets the control strength.
         *
         * @param value finite
         * @return this builder
         */
        public Builder controlStrength(double value) {
            strength = value;
            return this;
        }

        /**
         * Sets guess mode.
         *
         * @param value on or off
         * @return this builder
         */
        public Builder guessMode(boolean value) {
            guessMode = value;
            return this;
        }

        /**
         * Sets the fractions of the steps during which ControlNet guides.
         *
         * @param startValue 0 &lt;= start &lt; end
         * @param endValue start &lt; end &lt;= 1
         * @return this builder
         */
        public Builder controlGuidance(double startValue, double endValue) {
            start = startValue;
            end = endValue;
            return this;
        }

        /**
         * The options.
         *
         * @return the checked options
         * @throws NullPointerException if a text is null
         * @throws IllegalArgumentException naming a value out of range
         */
        public ColorizeOptions build() {
            return new ColorizeOptions(prompt, addedPrompt, negativePrompt, steps, guidanceScale, eta, seed, low, high,
                    resolution, strength, guessMode, start, end);
        }
    }
}
