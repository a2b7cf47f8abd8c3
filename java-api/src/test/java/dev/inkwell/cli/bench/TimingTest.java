package dev.inkwell.cli.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class TimingTest {
    @Test
    void samplerWarmsUpThenTakesExactlyTheSamplesAskedFor() {
        AtomicLong calls = new AtomicLong();
        Timing.Sampler s = Timing.Sampler.calibrate(calls::incrementAndGet, 5, 3);
        long afterCalibration = calls.get();
        assertTrue(afterCalibration >= 5, "warm-up calls ran: " + afterCalibration);
        for (int i = 0; i < 5; i++) { // two more than asked: ignored
            s.sample();
        }
        Timing t = s.result();
        assertEquals(3, t.samples());
        assertEquals(afterCalibration + 3 * t.callsPerSample(), calls.get(), "each sample is one batch");
        assertTrue(t.minMs() <= t.medianMs() && t.minMs() >= 0, t.toString());
    }

    @Test
    void resultWithoutSamplesTakesOne() {
        AtomicLong calls = new AtomicLong();
        Timing.Sampler s = Timing.Sampler.calibrate(calls::incrementAndGet, 0, 4);
        long before = calls.get();
        Timing t = s.result();
        assertEquals(1, t.samples());
        assertEquals(before + t.callsPerSample(), calls.get());
    }
}
