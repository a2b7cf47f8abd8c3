package dev.inkwell;

/** How the noise schedule's betas grow over the training timesteps. */
public enum BetaSchedule {
    /** Evenly spaced betas from start to end. */
    LINEAR,
    /** Evenly spaced sqrt(beta), squared: Stable Diffusion's schedule. */
    SCALED_LINEAR,
    /** diffusers' {@code squaredcos_cap_v2}: the cosine schedule of Nichol and Dhariwal, betas capped at 0.999. */
    SQUAREDCOS_CAP_V2
}
