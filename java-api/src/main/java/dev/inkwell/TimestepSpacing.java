package dev.inkwell;

/** How inference timesteps are picked from the training timesteps (diffusers' {@code timestep_spacing}). */
public enum TimestepSpacing {
    /** (0, r, 2r, ...) reversed, plus steps_offset, with r = T / N (integer division). */
    LEADING,
    /** round(T, T - r, ...) - 1 with r = T / N (real division). */
    TRAILING,
    /** round(linspace(0, T - 1, N)) reversed. */
    LINSPACE
}
