package dev.inkwell;

/** What the diffusion model predicts (diffusers' {@code prediction_type}). */
public enum PredictionType {
    /** The noise. */
    EPSILON(0),
    /** The velocity sqrt(a) eps - sqrt(1 - a) x0. */
    V_PREDICTION(1),
    /** The clean sample x0. */
    SAMPLE(2);

    private final int code;

    PredictionType(int code) {
        this.code = code;
    }

    int code() {
        return code;
    }
}
