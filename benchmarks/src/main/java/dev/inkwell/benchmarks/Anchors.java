package dev.inkwell.benchmarks;

import dev.inkwell.Inkwell;

/**
 * Loads the anchor libraries once per JVM (each benchmark runs in its own fork) and sets
 * their thread counts to {@link BenchThreads#count()}. A library that cannot load makes the
 * benchmarks that need it fail in their setup with {@link AnchorUnavailableException},
 * never the whole run.
 */
final class Anchors {
    private Anchors() {}

    private static Object opencv;
    private static Object torch;
    private static Object boofCv;

    /** OpenCV's Java build (org.openpnp:opencv): natives extracted and loaded, threads set. */
    static synchronized void requireOpenCv() {
        if (opencv == null) {
            opencv = attempt(() -> {
                String how = "loadLocally";
                try {
                    // Extracts the platform's libopencv_java*.so to a temp dir and System.loads it.
                    nu.pattern.OpenCV.loadLocally();
                } catch (Throwable t) {
                    how = "loadShared";
                    nu.pattern.OpenCV.loadShared();
                }
                int n = BenchThreads.count();
                org.opencv.core.Core.setNumThreads(n);
                return "OpenCV " + org.opencv.core.Core.VERSION + " (nu.pattern.OpenCV." + how + "), "
                        + org.opencv.core.Core.getNumThreads() + " threads";
            });
        }
        check(opencv, "OpenCV (org.openpnp:opencv) could not load its native library");
    }

    /** BoofCV: pure Java; its concurrent code paths on, with the same thread count. */
    static synchronized void requireBoofCv() {
        if (boofCv == null) {
            boofCv = attempt(() -> {
                boofcv.concurrency.BoofConcurrency.USE_CONCURRENT = true;
                boofcv.concurrency.BoofConcurrency.setMaxThreads(BenchThreads.count());
                return "BoofCV, concurrency on, " + BenchThreads.count() + " threads";
            });
        }
        check(boofCv, "BoofCV could not be initialized");
    }

    /**
     * libtorch through JavaCPP (org.bytedeco:pytorch, CPU build): loaded, at::set_num_threads(n)
     * and the same count for the OpenBLAS inside it.
     */
    static synchronized void requireTorch() {
        if (torch == null) {
            torch = attempt(() -> {
                // Extract every native library first: JavaCPP otherwise loads libtorch.so before
                // libtorch_cpu.so is in its cache, and the dynamic linker then takes a system
                // libtorch_cpu.so (e.g. Debian's python3-torch 1.13) if there is one: a crash.
                String platform = org.bytedeco.javacpp.Loader.getPlatform();
                org.bytedeco.javacpp.Loader.cacheResources(org.bytedeco.openblas.global.openblas.class,
                        "/org/bytedeco/openblas/" + platform + "/");
                org.bytedeco.javacpp.Loader.cacheResources(org.bytedeco.pytorch.global.torch.class,
                        "/org/bytedeco/pytorch/" + platform + "/");
                org.bytedeco.javacpp.Loader.load(org.bytedeco.pytorch.global.torch.class);
                int n = BenchThreads.count();
                org.bytedeco.pytorch.global.torch.set_num_threads(n);
                // This libtorch runs its GEMMs (linear, matmul) in OpenBLAS, whose own thread
                // pool at::set_num_threads does not reach: left at all cores, its threads spin
                // against libtorch's and a [154,768]x[768,320] linear took 60 ms instead of 1.
                org.bytedeco.openblas.global.openblas.blas_set_num_threads(n);
                return "libtorch (org.bytedeco:pytorch " + mavenVersion("org.bytedeco", "pytorch") + ", "
                        + platform + "), " + org.bytedeco.pytorch.global.torch.get_num_threads() + " threads, OpenBLAS "
                        + org.bytedeco.openblas.global.openblas.blas_get_num_threads() + " threads";
            });
        }
        check(torch, "libtorch (org.bytedeco:pytorch) could not load its native libraries");
    }

    /** An Inkwell CPU context with the benchmark thread count. */
    static Inkwell inkwell() {
        try {
            Inkwell inkwell = Inkwell.builder().threads(BenchThreads.count()).build();
            log("Inkwell " + Inkwell.version() + ", " + Inkwell.cpuSimdLevel() + ", " + inkwell.threads() + " threads");
            return inkwell;
        } catch (Throwable t) {
            throw AnchorUnavailableException.of("the Inkwell native library could not load", t);
        }
    }

    /** Runs one Inkwell call in a setup; a kernel missing from this build becomes a clear skip. */
    static void probeInkwell(String kernel, Runnable call) {
        try {
            call.run();
        } catch (Throwable t) {
            throw AnchorUnavailableException.of("Inkwell " + kernel + " is not implemented in this native build", t);
        }
    }

    /** The version in a jar's META-INF/maven pom.properties (kept by the shade plugin), or "?". */
    static String mavenVersion(String group, String artifact) {
        String resource = "/META-INF/maven/" + group + "/" + artifact + "/pom.properties";
        try (java.io.InputStream in = Anchors.class.getResourceAsStream(resource)) {
            if (in == null) {
                return "?";
            }
            java.util.Properties p = new java.util.Properties();
            p.load(in);
            return p.getProperty("version", "?");
        } catch (java.io.IOException e) {
            return "?";
        }
    }

    @FunctionalInterface
    private interface Loading {
        String get() throws Exception;
    }

    /**
     * Setup notes go to stdout under JMH (its log); {@code inkwell bench} turns them off: its
     * stdout is the table or JSON alone, and it prints each anchor's description itself.
     */
    static volatile boolean quiet;

    static void log(String line) {
        if (!quiet) {
            System.out.println("# [inkwell-bench] " + line);
        }
    }

    private static Object attempt(Loading load) {
        try {
            String description = load.get();
            log(description);
            return description;
        } catch (Throwable t) { // UnsatisfiedLinkError, NoClassDefFoundError, ExceptionInInitializerError
            return t;
        }
    }

    private static void check(Object state, String what) {
        if (state instanceof Throwable t) {
            throw AnchorUnavailableException.of(what, t);
        }
    }
}
