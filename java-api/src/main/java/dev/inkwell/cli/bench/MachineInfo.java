package dev.inkwell.cli.bench;

import dev.inkwell.Inkwell;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The machine a run measured: CPU model, hardware threads, SIMD level, GPU. */
record MachineInfo(String cpu, int hardwareThreads, String simd, String gpu, String java) {

    static MachineInfo here() {
        String cpu = "unknown CPU";
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    cpu = line.substring(line.indexOf(':') + 1).trim();
                    break;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or no access: keep "unknown CPU"
        }
        return new MachineInfo(cpu, Runtime.getRuntime().availableProcessors(), Inkwell.cpuSimdLevel(),
                "none (CPU backend)", Runtime.version().toString());
    }

    String describe() {
        return cpu + ", " + hardwareThreads + " hardware threads, SIMD " + simd + ", GPU: " + gpu + ", Java " + java;
    }
}
