package dev.inkwell.cli.bench;

import dev.inkwell.Inkwell;
import dev.inkwell.bindings.InkwellNative;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The machine a run measured: CPU model and physical cores (from /proc/cpuinfo), hardware
 * threads and SIMD level (as Inkwell's native library sees them: what {@code Inkwell.create()}
 * uses; the level the kernels run at, and the CPU's own, which differ when -Dinkwell.simd or
 * INKWELL_SIMD forces a lower one), GPU, Java.
 */
record MachineInfo(String cpu, int cores, int hardwareThreads, String simd, int simdBits, String simdSupported, String gpu,
        String java) {

    static MachineInfo here() {
        List<String> cpuinfo;
        try {
            cpuinfo = Files.readAllLines(Path.of("/proc/cpuinfo"));
        } catch (IOException | RuntimeException e) {
            cpuinfo = List.of(); // not Linux, or no access
        }
        String simd = Inkwell.cpuSimdLevel(); // loads the native library
        int bits = switch (simd) {
            case "AVX512" -> 512;
            case "AVX2" -> 256;
            case "SSE4_1" -> 128;
            default -> 32;
        };
        return new MachineInfo(model(cpuinfo), cores(cpuinfo), InkwellNative.inkwell_hardware_threads(), simd, bits,
                Inkwell.cpuSimdLevelSupported(),
                "none (CPU backend)", Runtime.version().toString());
    }

    /** The first "model name", or "unknown CPU". */
    static String model(List<String> cpuinfo) {
        for (String line : cpuinfo) {
            if (line.startsWith("model name")) {
                return line.substring(line.indexOf(':') + 1).trim();
            }
        }
        return "unknown CPU";
    }

    /** Distinct (physical id, core id) pairs; 0 when /proc/cpuinfo does not say. */
    static int cores(List<String> cpuinfo) {
        Set<String> seen = new HashSet<>();
        String socket = "0";
        for (String line : cpuinfo) {
            String value = line.substring(line.indexOf(':') + 1).trim();
            if (line.startsWith("physical id")) {
                socket = value;
            } else if (line.startsWith("core id")) {
                seen.add(socket + "/" + value);
            } else if (line.isBlank()) {
                socket = "0";
            }
        }
        return seen.size();
    }

    String describe() {
        return cpu + ", " + (cores > 0 ? cores + " cores / " : "") + hardwareThreads + " hardware threads, SIMD " + simd
                + " (" + simdBits + "-bit" + (simd.equals(simdSupported) ? "" : ", forced; the CPU has " + simdSupported)
                + "), GPU: " + gpu + ", Java " + java;
    }
}
