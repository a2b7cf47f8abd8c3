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
    /** int32_t inkwell_bench_has_fma(void). */
    static final MethodHandle HAS_FMA;

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
            HAS_FMA = linker.downcallHandle(lib.findOrThrow("inkwell_bench_has_fma"),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT));
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** JNI: returns 0. Same shape as inkwell_noop. */
    static native int noop();

    /** JNI: iterations x 12 independent 8-wide FMA chains; returns their sum. */
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

    static boolean hasFma() {
        try {
            return (int) HAS_FMA.invokeExact() != 0;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
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
