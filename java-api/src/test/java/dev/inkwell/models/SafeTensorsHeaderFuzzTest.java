package dev.inkwell.models;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * The fuzz target of the safetensors header parser (Jazzer). A plain {@code mvn verify} runs
 * it on its seeds ({@code src/test/resources/dev/inkwell/models/SafeTensorsHeaderFuzzTestInputs/header/})
 * in its own JVM (the {@code jazzer} surefire execution); {@code JAZZER_FUZZ=1} fuzzes it,
 * coverage-guided, for {@code maxDuration} or {@code -Djazzer.max_duration}: see CONTRIBUTING.md.
 * Every input must give a header that {@link HeaderChecks} re-verifies, or an IOException
 * naming the file.
 */
class SafeTensorsHeaderFuzzTest {
    @FuzzTest(maxDuration = "60s")
    void header(byte[] file) {
        HeaderChecks.check(file);
    }
}
