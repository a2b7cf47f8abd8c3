package dev.inkwell.pipeline;

/** Told after each denoising step of a colorization; for progress bars and logs. */
@FunctionalInterface
public interface ColorizeProgress {
    /**
     * Called on the colorizing thread after each step. An exception thrown here ends the run
     * (no image is made).
     *
     * @param step steps done, 1..steps
     * @param steps steps in all
     * @param timestep the DDIM timestep of the step just done
     * @param stepNanos how long the step took (ControlNet, U-Net and the DDIM update)
     */
    void stepDone(int step, int steps, int timestep, long stepNanos);
}
