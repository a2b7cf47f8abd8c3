package dev.inkwell.internal;

import dev.inkwell.InkwellException;
import dev.inkwell.Status;
import dev.inkwell.bindings.InkwellNative;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Finds and loads libinkwell once per class loader, before any binding is touched (the
 * generated bindings look symbols up in the libraries this loader has loaded).
 *
 * <p>Where from, in order: the system property {@value #PATH_PROPERTY} (a file; failing to
 * load it is an error, not a fallback); else the jar's {@code native/<os>-<arch>/} folder,
 * loaded in place when the classes are unpacked (a build tree), or extracted once to a
 * per-user cache (see {@link NativeCache}: {@code $XDG_CACHE_HOME/inkwell} or
 * {@code ~/.cache/inkwell}, else {@code <java.io.tmpdir>/inkwell-<user>}; override with
 * {@code -Dinkwell.cache.dir=DIR}), in a folder named after the libraries' content, reused by
 * every later JVM. The CUDA backend is put beside the core library only when a CUDA context
 * is asked for ({@link #ensureCudaBackendAvailable()}). A failure is kept with its cause and
 * reported on every use.
 */
public final class NativeLibrary {
    /** System property naming the library file to load instead of the one in the jar. */
    public static final String PATH_PROPERTY = "inkwell.library.path";
    /**
     * System property forcing the CPU kernels' SIMD level: {@code scalar}, {@code sse4.1},
     * {@code avx2} or {@code avx512} (any case), applied when the library loads, before any
     * kernel runs; it overrides the environment variable {@code INKWELL_SIMD}. An unknown
     * name, or a level this CPU lacks, makes the load fail with a message saying so (unlike the
     * environment variable, which only warns: the native side has no call to fail there).
     */
    public static final String SIMD_PROPERTY = "inkwell.simd";
    /** System property naming the folder native libraries are extracted to (default: a per-user cache). */
    public static final String CACHE_PROPERTY = NativeCache.DIR_PROPERTY;

    private static final String LIBRARY_FILE = System.mapLibraryName("inkwell");
    /** The optional CUDA backend, opened by the core library when a CUDA context is created. */
    private static final String CUDA_LIBRARY_FILE = System.mapLibraryName("inkwell_cuda");

    /** The CUDA backend in the jar, to be placed beside the extracted core (null: nothing to place). */
    private static NativeCache.Entry pendingCuda;
    /** Whether the core was copied to a private per-process folder (see NativeCache.privateCopy). */
    private static boolean privateFolder;
    /** Whether the core came out of the jar (into the cache or a private folder). */
    private static boolean fromJar;
    private static boolean cudaPlaced;

    private NativeLibrary() {}

    private static final class Holder {
        static final Object LOADED_OR_FAILURE = loadOnce();
    }

    /** Loads the library if needed; returns the file it was loaded from. */
    public static Path ensureLoaded() {
        Object state = Holder.LOADED_OR_FAILURE;
        if (state instanceof Path path) {
            return path;
        }
        Throwable cause = (Throwable) state;
        throw new InkwellException(Status.UNSUPPORTED, failureMessage(cause), cause);
    }

    /**
     * Puts the CUDA backend ({@code libinkwell_cuda.so}) beside the loaded core library when
     * the core was extracted from a jar that carries it, where the core opens it when a CUDA
     * context is created. Does nothing when the libraries are loaded in place or from
     * {@value #PATH_PROPERTY} (the backend is beside them or absent), or the jar has none (the
     * context then fails naming what is missing).
     *
     * @throws InkwellException with {@link Status#UNSUPPORTED} if the library cannot be
     *     loaded or the backend cannot be written beside it
     */
    public static synchronized void ensureCudaBackendAvailable() {
        Path core = ensureLoaded();
        if (cudaPlaced || pendingCuda == null) {
            return;
        }
        Path dir = core.toAbsolutePath().getParent();
        try {
            if (privateFolder) {
                NativeCache.privateFile(dir, pendingCuda);
            } else {
                NativeCache.place(dir, pendingCuda);
            }
        } catch (IOException | RuntimeException e) {
            throw new InkwellException(Status.UNSUPPORTED, "cannot place the CUDA backend " + CUDA_LIBRARY_FILE + " in " + dir
                    + ": " + NativeCache.describe(e), e);
        }
        cudaPlaced = true;
    }

    /**
     * The message for a failed load: the cause, and for denied native access the JVM flag
     * that grants it (the JDK's own message does not name it).
     */
    static String failureMessage(Throwable cause) {
        String message = "cannot load the Inkwell native library: " + NativeCache.describe(cause);
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof IllegalCallerException || String.valueOf(t.getMessage()).contains("native access")) {
                return message + ". Native access is not enabled for Inkwell: start java with "
                        + (NativeLibrary.class.getModule().isNamed()
                                ? "--enable-native-access=dev.inkwell,dev.inkwell.bindings (module path; "
                                        + "--enable-native-access=ALL-UNNAMED on the class path)"
                                : "--enable-native-access=ALL-UNNAMED (class path; "
                                        + "--enable-native-access=dev.inkwell,dev.inkwell.bindings on the module path)")
                        + ", or put 'Enable-Native-Access: ALL-UNNAMED' in an executable jar's manifest";
            }
        }
        return message;
    }

    /** The folder name for this machine, e.g. {@code linux-x86_64}. */
    public static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String osName = os.contains("linux") ? "linux" : os.contains("mac") ? "macos" : os.contains("windows") ? "windows" : os;
        String archName = switch (arch) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> arch;
        };
        return osName + "-" + archName;
    }

    private static Object loadOnce() {
        try {
            Path path = locate();
            try {
                System.load(path.toAbsolutePath().toString());
            } catch (UnsatisfiedLinkError e) {
                if (!fromJar || !String.valueOf(e.getMessage()).contains("another classloader")) {
                    throw e;
                }
                path = loadPrivateCopy();
            }
            checkVersion();
            applySimdProperty();
            return path;
        } catch (Throwable t) { // UnsatisfiedLinkError, IllegalCallerException included: keep it as the cause
            return t;
        }
    }

    /**
     * The JDK loads one library file into one class loader only: a second class loader in
     * this JVM (another copy of these classes) gets a private copy, deleted at exit.
     */
    private static Path loadPrivateCopy() throws IOException {
        URL url = NativeLibrary.class.getResource("/native/" + platform() + "/" + LIBRARY_FILE);
        Path dir = NativeCache.privateCopy(NativeCache.entry(LIBRARY_FILE, url));
        privateFolder = true;
        Path path = dir.resolve(LIBRARY_FILE);
        System.load(path.toString());
        return path;
    }

    private static Path locate() throws IOException {
        String override = System.getProperty(PATH_PROPERTY);
        if (override != null && !override.isBlank()) {
            Path path = Path.of(override);
            if (!Files.isRegularFile(path)) {
                throw new IOException("-D" + PATH_PROPERTY + "=" + override + " is not a file");
            }
            return path;
        }
        String resource = "/native/" + platform() + "/" + LIBRARY_FILE;
        URL url = NativeLibrary.class.getResource(resource);
        if (url == null) {
            throw new IOException("this jar has no " + resource + " (no build for " + platform()
                    + "); build from source or set -D" + PATH_PROPERTY);
        }
        if ("file".equals(url.getProtocol())) { // unpacked classes (a build tree): load in place
            try {
                return Path.of(url.toURI());
            } catch (URISyntaxException e) {
                throw new IOException("bad library location " + url, e);
            }
        }
        // Inside a jar: once per build into the per-user cache, keyed by both libraries'
        // content so the CUDA backend placed later beside the core is of the same build.
        NativeCache.Entry core = NativeCache.entry(LIBRARY_FILE, url);
        URL cudaUrl = NativeLibrary.class.getResource("/native/" + platform() + "/" + CUDA_LIBRARY_FILE);
        NativeCache.Entry cuda = cudaUrl == null ? null : NativeCache.entry(CUDA_LIBRARY_FILE, cudaUrl);
        String key = NativeCache.key(cuda == null ? List.of(core) : List.of(core, cuda));
        Path dir = NativeCache.placeInCache(NativeCache.bases(), key, core);
        pendingCuda = cuda;
        fromJar = true;
        return dir.resolve(LIBRARY_FILE);
    }

    /** Passes {@value #SIMD_PROPERTY} to the native side; an unknown or unsupported level fails the load. */
    private static void applySimdProperty() {
        String name = System.getProperty(SIMD_PROPERTY);
        if (name == null || name.isBlank()) {
            return;
        }
        int level = switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "scalar" -> InkwellNative.INKWELL_SIMD_SCALAR();
            case "sse4.1", "sse4_1" -> InkwellNative.INKWELL_SIMD_SSE4_1();
            case "avx2" -> InkwellNative.INKWELL_SIMD_AVX2();
            case "avx512" -> InkwellNative.INKWELL_SIMD_AVX512();
            default -> throw new IllegalArgumentException(
                    "-D" + SIMD_PROPERTY + "=" + name + " is not one of scalar, sse4.1, avx2, avx512");
        };
        if (InkwellNative.inkwell_cpu_set_simd_level(level) != InkwellNative.INKWELL_OK()) {
            throw new IllegalArgumentException("-D" + SIMD_PROPERTY + "=" + name + ": "
                    + InkwellNative.inkwell_last_error_message().reinterpret(Integer.MAX_VALUE).getString(0));
        }
    }

    private static void checkVersion() {
        int expected = InkwellNative.INKWELL_VERSION_MAJOR() * 10000 + InkwellNative.INKWELL_VERSION_MINOR() * 100
                + InkwellNative.INKWELL_VERSION_PATCH();
        int actual = InkwellNative.inkwell_version();
        if (actual / 100 != expected / 100) {
            throw new IllegalStateException("native library version " + actual + " does not match the Java API's " + expected);
        }
    }
}
