package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The forced SIMD level, in child JVMs (the level is read when the library loads): the
 * system property {@code inkwell.simd} and the environment variable {@code INKWELL_SIMD}
 * lower it, a level the CPU lacks or an unknown name fails the load naming the value, and
 * kernels still run at the forced level.
 */
class SimdLevelPropertyTest {
    private static final List<String> LEVELS = List.of("SCALAR", "SSE4_1", "AVX2", "AVX512");

    record Child(int status, String out) {
        String value(String key) {
            return out.lines().filter(l -> l.startsWith(key + ": ")).map(l -> l.substring(key.length() + 2)).findFirst()
                    .orElseThrow(() -> new AssertionError("no " + key + " in: " + out));
        }
    }

    private static Child run(String property, Map<String, String> env) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-XX:-UsePerfData");
        cmd.add("--enable-native-access=ALL-UNNAMED");
        if (property != null) {
            cmd.add("-Dinkwell.simd=" + property);
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(NativeProbe.class.getName());
        cmd.add("simd");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove("INKWELL_SIMD");
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM did not finish: " + out);
        return new Child(p.exitValue(), out);
    }

    private static int supported() {
        return LEVELS.indexOf(Inkwell.cpuSimdLevelSupported());
    }

    @Test
    void propertyLowersTheLevelAndKernelsRun() throws Exception {
        Child scalar = run("scalar", Map.of());
        assertEquals(0, scalar.status(), scalar.out());
        assertEquals("SCALAR", scalar.value("SIMD"), scalar.out());
        assertEquals(Inkwell.cpuSimdLevelSupported(), scalar.value("SUPPORTED"), scalar.out());
        assertEquals("16x16", scalar.value("CANNY"), scalar.out());
        if (supported() >= 2) {
            Child avx2 = run("AVX2", Map.of()); // any case
            assertEquals("AVX2", avx2.value("SIMD"), avx2.out());
            assertEquals("16x16", avx2.value("CANNY"), avx2.out());
        }
    }

    @Test
    void environmentVariableLowersTheLevelAndThePropertyOverridesIt() throws Exception {
        Child env = run(null, Map.of("INKWELL_SIMD", "scalar"));
        assertEquals("SCALAR", env.value("SIMD"), env.out());
        if (supported() >= 2) {
            Child both = run("avx2", Map.of("INKWELL_SIMD", "scalar"));
            assertEquals("AVX2", both.value("SIMD"), both.out());
        }
    }

    @Test
    void unknownOrUnsupportedLevelFailsTheLoadNamingIt() throws Exception {
        Child bogus = run("avx1024", Map.of());
        assertTrue(bogus.value("LOAD-ERROR").contains("-Dinkwell.simd=avx1024 is not one of scalar, sse4.1, avx2, avx512"),
                bogus.out());
        if (supported() < 3) {
            Child wide = run("avx512", Map.of());
            assertTrue(wide.value("LOAD-ERROR").contains("this CPU has no AVX512"), wide.out());
        } else {
            Child wide = run("avx512", Map.of());
            assertEquals("AVX512", wide.value("SIMD"), wide.out());
        }
    }

    @Test
    void unknownEnvironmentValueWarnsAndRunsTheCpuLevel() throws Exception {
        Child env = run(null, Map.of("INKWELL_SIMD", "fastest"));
        assertEquals(Inkwell.cpuSimdLevelSupported(), env.value("SIMD"), env.out());
        assertTrue(env.out().contains("INKWELL_SIMD=fastest is not one of scalar, sse4.1, avx2, avx512"), env.out());
    }
}
