package dev.inkwell.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.DdimScheduler;
import dev.inkwell.PredictionType;
import dev.inkwell.TimestepSpacing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** scheduler_config.json as diffusers' DDIMScheduler.from_config reads it. */
class SchedulerConfigTest {
    @TempDir
    Path dir;

    private SchedulerConfig read(String json) throws IOException {
        Path f = dir.resolve("scheduler_config.json");
        Files.writeString(f, json);
        return SchedulerConfig.read(f);
    }

    private IOException refused(String json) {
        return assertThrows(IOException.class, () -> read(json));
    }

    /** Stable Diffusion 1.5's file, verbatim: a PNDM config. */
    @Test
    void stableDiffusion15sPndmConfigIsSd15sDdim() throws IOException {
        SchedulerConfig c = read("""
                {"_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0", "beta_end": 0.012,
                 "beta_schedule": "scaled_linear", "beta_start": 0.00085, "num_train_timesteps": 1000,
                 "set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1, "trained_betas": null,
                 "clip_sample": false}""");
        DdimScheduler want = DdimScheduler.stableDiffusion();
        assertArrayEquals(want.alphasCumprod(), c.scheduler().alphasCumprod());
        assertArrayEquals(want.timesteps(20), c.scheduler().timesteps(20));
        assertEquals(want.finalAlphaCumprod(), c.scheduler().finalAlphaCumprod());
        assertFalse(c.scheduler().clipSample());
        assertEquals("PNDMScheduler", c.className());
        assertEquals(1, c.notes().size());
        assertTrue(c.notes().get(0).contains("PNDMScheduler"), c.notes().get(0));
    }

    @Test
    void absentFieldsTakeDdimsDefaultsAndPndmsAlphaToOne() throws IOException {
        SchedulerConfig ddim = read("{\"_class_name\": \"DDIMScheduler\"}");
        assertTrue(ddim.notes().isEmpty());
        assertTrue(ddim.scheduler().clipSample(), "DDIM's clip_sample default is True");
        assertEquals(1.0, ddim.scheduler().finalAlphaCumprod(), "DDIM's set_alpha_to_one default is True");
        assertEquals(0, ddim.scheduler().stepsOffset());
        assertEquals(1 - 0.0001, ddim.scheduler().alphaCumprod(0), 1e-15, "linear 0.0001..0.02");
        SchedulerConfig pndm = read("{\"_class_name\": \"PNDMScheduler\"}");
        assertEquals(pndm.scheduler().alphaCumprod(0), pndm.scheduler().finalAlphaCumprod(),
                "PNDM's set_alpha_to_one default is False and carries over");
    }

    @Test
    void everyDdimFieldIsRead() throws IOException {
        SchedulerConfig c = read("""
                {"num_train_timesteps": 500, "beta_start": 0.001, "beta_end": 0.02, "beta_schedule": "linear",
                 "clip_sample": true, "clip_sample_range": 2.5, "set_alpha_to_one": false, "steps_offset": 0,
                 "prediction_type": "v_prediction", "timestep_spacing": "trailing",
                 "rescale_betas_zero_snr": true, "thresholding": false, "dynamic_thresholding_ratio": 0.995,
                 "sample_max_value": 1.0}""");
        DdimScheduler s = c.scheduler();
        DdimScheduler want = DdimScheduler.builder().trainTimesteps(500).betaSchedule(dev.inkwell.BetaSchedule.LINEAR)
                .betas(0.001, 0.02).clipSample(true, 2.5).setAlphaToOne(false).stepsOffset(0)
                .predictionType(PredictionType.V_PREDICTION).timestepSpacing(TimestepSpacing.TRAILING)
                .rescaleBetasZeroSnr(true).build();
        assertArrayEquals(want.alphasCumprod(), s.alphasCumprod());
        assertArrayEquals(want.timesteps(10), s.timesteps(10));
        assertEquals(PredictionType.V_PREDICTION, s.predictionType());
        assertEquals(2.5, s.clipSampleRange());
        assertEquals(0.0, s.alphaCumprod(499), "zero terminal SNR");
    }

    @Test
    void trainedBetasAreUsed() throws IOException {
        SchedulerConfig c = read("{\"num_train_timesteps\": 3, \"trained_betas\": [0.1, 0.2, 0.5],"
                + " \"beta_schedule\": \"no such schedule is looked at\"}");
        assertEquals(0.9 * 0.8 * 0.5, c.scheduler().alphaCumprod(2), 1e-15);
        IOException e = refused("{\"num_train_timesteps\": 4, \"trained_betas\": [0.1, 0.2, 0.5]}");
        assertTrue(e.getMessage().contains("trained_betas"), e.getMessage());
        e = refused("{\"num_train_timesteps\": 2, \"trained_betas\": [0.1, \"x\"]}");
        assertTrue(e.getMessage().contains("trained_betas[1]"), e.getMessage());
    }

    @Test
    void whatWouldChangeTheMathIsRefusedByName() {
        for (String[] c : new String[][] {
            {"{\"use_karras_sigmas\": true}", "use_karras_sigmas"},
            {"{\"variance_type\": \"fixed_small\"}", "variance_type"},
            {"{\"thresholding\": true}", "thresholding"},
            {"{\"_class_name\": \"EulerDiscreteScheduler\"}", "EulerDiscreteScheduler"},
            {"{\"beta_schedule\": \"sigmoid\"}", "beta_schedule"},
            {"{\"prediction_type\": \"flow\"}", "prediction_type"},
            {"{\"timestep_spacing\": \"karras\"}", "timestep_spacing"},
            {"{\"steps_offset\": 1.5}", "steps_offset"},
            {"{\"beta_start\": NaN}", "beta_start"},
            {"{\"clip_sample\": \"yes\"}", "clip_sample"},
            {"[1, 2]", "not a JSON object"},
            {"{", "not valid JSON"}}) {
            IOException e = refused(c[0]);
            assertTrue(e.getMessage().contains(c[1]) && e.getMessage().contains("scheduler_config.json"),
                    c[0] + " -> " + e.getMessage());
        }
        IOException missing = assertThrows(IOException.class, () -> SchedulerConfig.read(dir.resolve("absent.json")));
        assertTrue(missing.getMessage().contains("absent.json"), missing.getMessage());
    }
}
