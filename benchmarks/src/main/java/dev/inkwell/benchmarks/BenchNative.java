package dev.inkwell.benchmarks;

import dev.inkwell.internal.NativeLibrary;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * libinkwellbench (benchmarks/src/main/c/inkwell_bench.c): the JNI noop and the FMA peak
 * kernel, reachable through JNI ({@link #noop()}, {@link #fma}) and FFM (the handles).
 * Loaded from the jar's {@code native/<platform>/} (extracted to a temporary file), or from
 * {@code -Dinkwell.bench.library=FILE}.
 */
@SuppressWarnings("restricted") // loading and linking native code is what this class is for
final class BenchNative {
    private BenchNative() {}

    static final Path PATH;
    /** int32_t inkwell_bench_noop(void), critical (no thread-state transition). */
    static final MethodHandle NOOP_CRITICAL;
    /** float inkwell_bench_fma_f32(int64_t iterations, float seed), critical. */
    static final MethodHandle FMA_CRITICAL;
    /** int64_t inkwell_bench_fma_flops(int64_t iterations). */
    static final MethodHandle FMA_FLOPS;
    /** int32_t inkwell_bench_fma_isa(void): 3 AVX-512, 2 AVX2+FMA, 0 scalar. */
    static final MethodHandle FMA_ISA;

    static {
        try {
            PATH = locate();
            System.load(PATH.toString()); // for the JNI functions
            SymbolLookup lib = SymbolLookup.libraryLookup(PATH, Arena.global());
            Linker linker = Linker.nativeLinker();
            Linker.Option critical = Linker.Option.critical(false);
            NOOP_CRITICAL = linker.downcallHandle(lib.findOrThrow("inkwell_bench_noop"),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT), critical);
            FMA_CRITICAL = linker.downcallHandle(lib.findOrThrow("inkwell_bench_fma_f32"),
                    FunctionDescriptor.of(ValueLayout.JAVA_FLOAT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_FLOAT), critical);
            FMA_FLOPS = linker.downcallHandle(lib.findOrThrow("inkwell_bench_fma_flops"),
                    FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
            FMA_ISA = linker.downcallHandle(lib.findOrThrow("inkwell_bench_fma_isa"),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT));
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** JNI: returns 0. Same shape as inkwell_noop. */
    static native int noop();

    /** JNI: iterations x 12 independent FMA chains, as wide as the CPU has ({@link #fmaKernel()}); returns their sum. */
    static native float fma(long iterations, float seed);

    /** Loads the library, or throws {@link AnchorUnavailableException}. */
    static void require() {
        try {
            Class.forName(BenchNative.class.getName(), true, BenchNative.class.getClassLoader());
        } catch (Throwable t) {
            throw AnchorUnavailableException.of("the JNI/FFM helper library libinkwellbench could not load", t);
        }
    }

    static long fmaFlops(long iterations) {
        try {
            return (long) FMA_FLOPS.invokeExact(iterations);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** The FMA kernel {@link #fma} runs: "AVX-512", "AVX2+FMA" or "scalar fallback (no AVX2/FMA here)". */
    static String fmaKernel() {
        int isa;
        try {
            isa = (int) FMA_ISA.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        return switch (isa) {
            case 3 -> "AVX-512";
            case 2 -> "AVX2+FMA";
            default -> "scalar fallback (no AVX2/FMA here)";
        };
    }

    private static Path locate() throws Exception {
        String override = System.getProperty("inkwell.bench.library");
        if (override != null && !override.isBlank()) {
            return Path.of(override).toAbsolutePath();
        }
        String name = System.mapLibraryName("inkwellbench");
        String resource = "/native/" + NativeLibrary.platform() + "/" + name;
        URL url = BenchNative.class.getResource(resource);
        if (url == null) {
            throw new IllegalStateException("no " + resource + " in the benchmarks jar (gcc did not build it for "
                    + NativeLibrary.platform() + "); set -Dinkwell.bench.library=FILE");
        }
        if ("file".equals(url.getProtocol())) {
            return Path.of(url.toURI());
        }
        Path dir = Files.createTempDirectory("inkwell-bench-");
        Path file = dir.resolve(name);
        try (InputStream in = url.openStream()) {
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
        }
        file.toFile().deleteOnExit();
        dir.toFile().deleteOnExit();
        return file;
    }
}
