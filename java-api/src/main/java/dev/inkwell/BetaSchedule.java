package dev.inkwell;

/** How the noise schedule's betas grow over the training timesteps. */
public enum BetaSchedule {
    /** Evenly spaced betas from start to end. */
    LINEAR,
    /** Evenly spaced sqrt(beta), squared: Stable Diffusion's schedule. */
    SCALED_LINEAR
}
